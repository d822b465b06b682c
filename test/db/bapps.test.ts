/**
 * A study exported in the BAPPS layout (downloaded as a zip) and imported back as test sets: the files are
 * where LPIPS's loaders look for them, the .npy values are the included raters' fractions (read back by
 * numpy itself when it is installed), judgments.csv has every judgment, and the import keeps the values.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { acceptInvitation, createRater } from '../../src/access/raters';
import { nextPresentation, submitJudgment } from '../../src/studies/judgments';
import { RandomStream } from '../../src/synth/random';
import { decodeNpy } from '../../src/testsets/npy';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { buildSet, importPhantoms } from '../helpers/testsets';

let t: TestApp;
let studyId: string;
let twoAfcId: string;

beforeAll(async () => {
  t = await startTestApp({ http: true });
  const datasetId = await importPhantoms(t, 6, 256);
  const common = { datasetId, size: 64, patchesPerImage: 2, pool: [{ kinds: ['gaussian_blur'] }, { kinds: ['jpeg', 'gaussian_noise'] }], seed: 2 };
  twoAfcId = (await buildSet(t, { ...common, name: 'afc', kind: 'TWO_AFC', references: 8, sentinels: 1 })).id;
  const jndId = (await buildSet(t, { ...common, name: 'jnd', kind: 'JND', references: 4 })).id;
  const raterIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const invitation = await createRater(t.app, { displayName: `reader ${i}` });
    await acceptInvitation(t.app, invitation.code);
    raterIds.push(invitation.rater.id);
  }
  const { data } = await t.gql(`mutation ($input: CreateStudyInput!) { createStudy(input: $input) { id } }`, {
    input: { name: 'export me', testSetIds: [twoAfcId, jndId], raterIds, seed: 4, protocol: { judgmentsPerItem: 3, retestShare: 0 } },
  });
  studyId = data!.createStudy.id;
  const random = new RandomStream(9, 0);
  for (const raterId of raterIds) {
    for (let next = await nextPresentation(t.app, raterId, studyId); next; next = await nextPresentation(t.app, raterId, studyId)) {
      const answer = next.kind === 'TWO_AFC' ? (random.chance(0.5) ? 'LEFT' : 'RIGHT') : random.chance(0.4) ? 'SAME' : 'DIFFERENT';
      await submitJudgment(t.app, raterId, { presentationId: next.id, answer, responseMs: 1000 + random.int(0, 2000), clientKey: next.id });
    }
  }
}, 180_000);

afterAll(async () => {
  await t?.close();
});

let root: string;

it('exports the BAPPS layout, originals, judgments.csv and a manifest, as a zip', async () => {
  const started = await t.gql(`mutation ($id: ID!) { exportStudy(studyId: $id) { id kind state } }`, { id: studyId });
  expect(started.errors).toBeUndefined();
  const job = await waitForJob(t, started.data!.exportStudy.id);
  expect(job.state).toBe('COMPLETED');
  const response = await t.request(`/exports/${job.id}.zip`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/zip');
  const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-export-'));
  writeFileSync(path.join(folder, 'export.zip'), Buffer.from(await response.arrayBuffer()));
  execFileSync('python3', ['-m', 'zipfile', '-e', path.join(folder, 'export.zip'), folder]);
  root = path.join(folder, `medpsim-study-${studyId}`);

  const aggregates = (await t.gql(`query ($id: ID!) { study(id: $id) { itemJudgments { items { itemId kind fraction judgments } } } }`, { id: studyId })).data!.study
    .itemJudgments.items;
  const manifest = JSON.parse(readFileSync(path.join(root, 'manifest.json'), 'utf8'));
  expect(manifest.testSets.map((set: any) => set.contentHash)).toEqual(expect.arrayContaining([expect.stringMatching(/^[0-9a-f]{64}$/)]));
  expect(manifest.raters.included).toHaveLength(3);
  expect(manifest.items).toHaveLength(12); // 8 triplets and 4 pairs, all judged
  for (const entry of manifest.items) {
    const aggregate = aggregates.find((item: any) => item.itemId === entry.itemId);
    const value = decodeNpy(readFileSync(path.join(root, entry.files.judgment)));
    expect(value).toMatchObject({ descr: '<f4', shape: [1] });
    expect(value.data[0]).toBeCloseTo(aggregate.fraction, 6);
    for (const slot of aggregate.kind === 'TWO_AFC' ? ['ref', 'p0', 'p1'] : ['p0', 'p1']) {
      const png = readFileSync(path.join(root, entry.files[slot]));
      expect(await sharp(png).metadata()).toMatchObject({ width: 64, height: 64, depth: 'uchar' }); // windowed to 8 bit
      expect((await sharp(readFileSync(path.join(root, 'originals', entry.files[slot]))).metadata()).depth).toBe('ushort');
    }
  }
  // LPIPS pairs files by sorted name within each folder: every folder of a category lists the same names.
  const category = path.join(root, '2afc', 'train');
  for (const name of readdirSync(category)) {
    const stems = ['ref', 'p0', 'p1', 'judge'].map((sub) => readdirSync(path.join(category, name, sub)).map((file) => file.replace(/\.\w+$/, '')).sort());
    for (const list of stems) expect(list).toEqual(stems[0]);
  }
  // numpy reads the .npy files as LPIPS does (np.load), where numpy is installed.
  if (spawnSync('python3', ['-c', 'import numpy']).status === 0) {
    const out = execFileSync('python3', ['-c', `import numpy, sys; print(float(numpy.load(sys.argv[1]).reshape((1,1,1))[0,0,0]))`, path.join(root, manifest.items[0].files.judgment)]);
    expect(Number(out.toString())).toBeCloseTo(manifest.items[0].fraction, 6);
  }
  const csv = readFileSync(path.join(root, 'judgments.csv'), 'utf8').trim().split('\n');
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM judgments WHERE study_id = $1`, [studyId]);
  expect(csv).toHaveLength(rows[0].n + 1);
  expect(csv[0]).toContain('rater,simulated,rater_excluded');
  expect(csv.slice(1).filter((line) => line.split(',')[9] === 'true').length).toBeGreaterThan(0); // sentinel rows flagged
});

it('imports a BAPPS-layout folder back as a test set with its judgments', async () => {
  const IMPORT = `mutation ($path: String!, $kind: TestSetKind!) { importBappsTestSet(path: $path, name: "round trip", kind: $kind) { id jobId origin } }`;
  const imported = await t.gql(IMPORT, { path: root, kind: 'TWO_AFC' });
  expect(imported.errors).toBeUndefined();
  await waitForJob(t, imported.data!.importBappsTestSet.jobId);
  const set = (await t.gql(`query ($id: ID!) { testSet(id: $id) { state origin itemCount items { category split sourceName importedJudgment width channels images { ref } } } }`, { id: imported.data!.importBappsTestSet.id })).data!.testSet;
  expect(set).toMatchObject({ state: 'READY', origin: 'IMPORTED', itemCount: 8 });
  const manifest = JSON.parse(readFileSync(path.join(root, 'manifest.json'), 'utf8'));
  const fractions = manifest.items.filter((item: any) => item.files.ref).map((item: any) => item.fraction).sort();
  expect(set.items.map((item: any) => item.importedJudgment).sort().map((v: number) => Number(v.toFixed(5)))).toEqual(fractions.map((v: number) => Number(v.toFixed(5))));
  expect(set.items[0]).toMatchObject({ width: 64, channels: 1 });

  const jnd = await t.gql(IMPORT, { path: root, kind: 'JND' });
  await waitForJob(t, jnd.data!.importBappsTestSet.jobId);
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM test_set_items WHERE test_set_id = $1`, [jnd.data!.importBappsTestSet.id]);
  expect(rows[0].n).toBe(4);

  const outside = await t.gql(IMPORT, { path: '/etc', kind: 'TWO_AFC' });
  expect(outside.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'path' });
  const noLayout = await t.gql(IMPORT, { path: path.join(root, 'originals', '2afc'), kind: 'TWO_AFC' });
  expect(noLayout.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'path' });
});
