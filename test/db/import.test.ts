import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { synthesizeDataset } from '../../src/synth/dataset';
import { makeDicom } from '../helpers/dicom-fixtures';
import { greyJpeg, grey16Png, pngBombHeader, writeTree } from '../helpers/files';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';

let t: TestApp;
let root: string;

const IMPORT = `mutation ($input: ImportDatasetInput!) { importDataset(input: $input) { id state kind } }`;
const JOB = `query ($id: ID!) { job(id: $id) { id state total done skipped failed progress error elapsedSeconds
  failures { item code message } } }`;

async function importFolder(folder: string, datasetName: string, extra: Record<string, unknown> = {}) {
  const response = await t.gql(IMPORT, { input: { path: folder, datasetName, ...extra } });
  expect(response.errors).toBeUndefined();
  const job = response.data!.importDataset;
  expect(job.kind).toBe('IMPORT');
  await waitForJob(t, job.id);
  return (await t.gql(JOB, { id: job.id })).data!.job;
}

beforeAll(async () => {
  t = await startTestApp({ http: true, env: { MEDPSIM_IMPORT_CHUNK: '4', MEDPSIM_MAX_PIXELS: '4000000' } });
  root = mkdtempSync(path.join(tmpdir(), 'medpsim-import-'));
});

afterAll(async () => {
  await t?.close();
});

describe('folder import in the Kermany layout', () => {
  let dataset: string;
  let job: Record<string, any>;

  beforeAll(async () => {
    const folder = path.join(root, 'kermany');
    await synthesizeDataset({
      outDir: folder,
      splits: { train: { NORMAL: 3, PNEUMONIA: 5 }, test: { NORMAL: 2, PNEUMONIA: 2 }, val: { NORMAL: 1, PNEUMONIA: 1 } },
      width: 96,
      height: 80,
      seed: 7,
    });
    // Bad items beside the good ones: each must fail alone, with a reason.
    const jpeg = await greyJpeg(64, 64);
    writeTree(folder, {
      'train/NORMAL/truncated.jpeg': jpeg.subarray(0, jpeg.length >> 1),
      'train/NORMAL/readme.txt': 'not an image',
      'train/PNEUMONIA/bomb.png': pngBombHeader(),
      'test/NORMAL/no-pixels.dcm': await makeDicom({ width: 8, height: 8, omitPixelData: true }),
    });
    job = await importFolder(folder, 'kermany-synth');
    dataset = (await t.gql(`{ datasets { id name synthetic } }`)).data!.datasets.find(
      (d: { name: string }) => d.name === 'kermany-synth',
    ).id;
  });

  it('completes with every good file imported and every bad one failed with its reason', () => {
    expect(job).toMatchObject({ state: 'COMPLETED', total: 18, done: 14, skipped: 0, failed: 4, progress: 1, error: null });
    expect(job.elapsedSeconds).toBeGreaterThan(0);
    const reasons = Object.fromEntries(job.failures.map((f: { item: string; code: string }) => [f.item, f.code]));
    expect(reasons).toEqual({
      'train/NORMAL/truncated.jpeg': 'CORRUPT',
      'train/NORMAL/readme.txt': 'UNSUPPORTED_FORMAT',
      'train/PNEUMONIA/bomb.png': 'TOO_LARGE',
      'test/NORMAL/no-pixels.dcm': 'NO_PIXEL_DATA',
    });
    for (const failure of job.failures) expect(failure.message.length).toBeGreaterThan(10);
  });

  it('keeps split, label, patient id, size, depth, hash; marks the synthetic dataset', async () => {
    const { data } = await t.gql(
      `query ($id: ID!) { dataset(id: $id) { synthetic imageCount counts { split label count }
         images(first: 100, filter: { split: "train", label: "PNEUMONIA" }) { edges { node {
           split label sourcePath patientId width height channels bitDepth format contentHash synthetic } } } } }`,
      { id: dataset },
    );
    expect(data!.dataset.synthetic).toBe(true);
    expect(data!.dataset.imageCount).toBe(14);
    expect(data!.dataset.counts).toEqual([
      { split: 'test', label: 'NORMAL', count: 2 },
      { split: 'test', label: 'PNEUMONIA', count: 2 },
      { split: 'train', label: 'NORMAL', count: 3 },
      { split: 'train', label: 'PNEUMONIA', count: 5 },
      { split: 'val', label: 'NORMAL', count: 1 },
      { split: 'val', label: 'PNEUMONIA', count: 1 },
    ]);
    const nodes = data!.dataset.images.edges.map((edge: { node: Record<string, any> }) => edge.node);
    expect(nodes).toHaveLength(5);
    for (const node of nodes) {
      expect(node).toMatchObject({ split: 'train', label: 'PNEUMONIA', width: 96, height: 80, channels: 1, bitDepth: 8, format: 'jpeg', synthetic: true });
      expect(node.contentHash).toMatch(/^[0-9a-f]{64}$/);
      expect(node.patientId).toMatch(/^person\d+$/);
      expect(node.sourcePath).toMatch(/^train\/PNEUMONIA\/person\d+_(bacteria|virus)_\d+\.jpeg$/);
    }
  });

  it('pages with cursors in source-path order', async () => {
    const page = async (after: string | null) =>
      (
        await t.gql(
          `query ($id: ID!, $after: String) { dataset(id: $id) { images(first: 5, after: $after) {
             edges { cursor node { sourcePath } } pageInfo { hasNextPage endCursor } } } }`,
          { id: dataset, after },
        )
      ).data!.dataset.images;
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const result = await page(after);
      seen.push(...result.edges.map((edge: { node: { sourcePath: string } }) => edge.node.sourcePath));
      if (!result.pageInfo.hasNextPage) break;
      after = result.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(14);
    expect([...seen].sort()).toEqual(seen);
    expect(new Set(seen).size).toBe(14);
  });

  it('stores each distinct file once, named by its hash', async () => {
    const blobs: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(path.join(dir, entry.name));
        else blobs.push(entry.name);
      }
    };
    walk(path.join(t.dataDir, 'blobs'));
    const { rows } = await t.app.pool.query(`SELECT DISTINCT content_hash FROM images`);
    expect(blobs.filter((name) => name.endsWith('.png')).sort()).toEqual(rows.map((row) => `${row.content_hash}.png`).sort());
  });

  it('imports nothing twice when the same folder is imported again', async () => {
    const again = await importFolder(path.join(root, 'kermany'), 'kermany-synth');
    expect(again).toMatchObject({ state: 'COMPLETED', total: 18, done: 0, skipped: 14, failed: 4 });
    const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM images WHERE dataset_id = $1`, [dataset]);
    expect(rows[0].n).toBe(14);
  });
});

describe('flat folders, 16-bit and DICOM files', () => {
  it('keeps 16-bit PNGs at 16 bit and decodes DICOM without storing who the patient is', async () => {
    const folder = path.join(root, 'flat');
    const { png } = await grey16Png(40, 30);
    writeTree(folder, {
      'deep.png': png,
      'chest.dcm': await makeDicom({
        width: 32,
        height: 24,
        bitsStored: 12,
        photometric: 'MONOCHROME1',
        identifying: {
          PatientName: 'Kim^Minji',
          PatientID: 'SNU-0042',
          PatientBirthDate: '19800101',
          PatientAddress: '1 Gwanak-ro, Seoul',
          InstitutionName: 'Seoul National University Hospital',
          AccessionNumber: 'ACC123456',
          ReferringPhysicianName: 'Lee^Doctor',
        },
      }),
    });
    const job = await importFolder(folder, 'flat', { split: 'test', label: 'NORMAL' });
    expect(job).toMatchObject({ state: 'COMPLETED', done: 2, failed: 0 });

    const { rows } = await t.app.pool.query(`SELECT * FROM images WHERE source_path IN ('deep.png', 'chest.dcm') ORDER BY source_path`);
    const [dicom, deep] = rows;
    expect(deep).toMatchObject({ bit_depth: 16, channels: 1, width: 40, height: 30, split: 'test', label: 'NORMAL', format: 'png' });
    expect(dicom).toMatchObject({ bit_depth: 16, channels: 1, width: 32, height: 24, format: 'dicom' });
    expect(dicom.patient_id).toMatch(/^anon-[0-9a-f]{16}$/);

    const stored = await sharp(await t.app.blobs.read(deep.content_hash)).metadata();
    expect(stored.depth).toBe('ushort');

    // Nothing identifying anywhere in the database.
    const dump = JSON.stringify((await t.app.pool.query(`SELECT * FROM images`)).rows) +
      JSON.stringify((await t.app.pool.query(`SELECT * FROM jobs`)).rows) +
      JSON.stringify((await t.app.pool.query(`SELECT * FROM job_items`)).rows) +
      JSON.stringify((await t.app.pool.query(`SELECT * FROM datasets`)).rows);
    for (const secret of ['Kim', 'Minji', 'SNU-0042', '19800101', 'Gwanak', 'Seoul National', 'ACC123456', 'Lee^Doctor']) {
      expect(dump).not.toContain(secret);
    }
  });
});

describe('cancelling', () => {
  it('stops a running import; what was imported stays, nothing more is', async () => {
    const folder = path.join(root, 'to-cancel');
    await synthesizeDataset({ outDir: folder, count: 150, width: 256, height: 256, seed: 9 });
    const started = await t.gql(IMPORT, { input: { path: folder, datasetName: 'cancelled' } });
    const id = started.data!.importDataset.id;
    while ((await t.app.pool.query(`SELECT done FROM jobs WHERE id = $1`, [id])).rows[0].done < 5) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const cancelled = await t.gql(`mutation ($id: ID!) { cancelJob(id: $id) { state finishedAt } }`, { id });
    expect(cancelled.data!.cancelJob.state).toBe('CANCELLED');
    expect(cancelled.data!.cancelJob.finishedAt).not.toBeNull();

    await new Promise((resolve) => setTimeout(resolve, 1500)); // chunks in flight notice within 250 ms
    const settled = (await t.gql(JOB, { id })).data!.job;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const later = (await t.gql(JOB, { id })).data!.job;
    expect(later).toMatchObject({ state: 'CANCELLED', done: settled.done });
    expect(later.done).toBeLessThan(150);
    const { rows } = await t.app.pool.query(
      `SELECT count(*)::int AS n FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'cancelled'`,
    );
    expect(rows[0].n).toBe(later.done);

    const again = await t.gql(`mutation ($id: ID!) { cancelJob(id: $id) { state } }`, { id });
    expect(again.data!.cancelJob.state).toBe('CANCELLED'); // cancelling twice is harmless

    const listed = await t.gql(`{ jobs(first: 50, state: CANCELLED) { id } }`);
    expect(listed.data!.jobs).toEqual([{ id }]);
    const tooMany = await t.gql(`{ jobs(first: 0) { id } }`);
    expect(tooMany.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});

describe('bad requests', () => {
  it('names the field for a missing folder, a bad split and a negative page size', async () => {
    const missing = await t.gql(IMPORT, { input: { path: '/no/such/folder', datasetName: 'x' } });
    expect(missing.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'path' });
    expect(missing.errors![0].message).toContain('/no/such/folder');

    const split = await t.gql(IMPORT, { input: { path: root, datasetName: 'x', split: 'training' } });
    expect(split.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'split', allowed: ['train', 'test', 'val'] });

    const { data } = await t.gql(`{ datasets { id } }`);
    const page = await t.gql(`query ($id: ID!) { dataset(id: $id) { images(first: -1) { edges { cursor } } } }`, {
      id: data!.datasets[0].id,
    });
    expect(page.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first', min: 1, max: 500 });
    expect(page.errors![0].message).toBe('first: must be an integer in [1, 500], got -1');

    const cursor = await t.gql(`query ($id: ID!) { dataset(id: $id) { images(after: "@@") { edges { cursor } } } }`, {
      id: data!.datasets[0].id,
    });
    expect(cursor.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('answers NOT_FOUND for unknown ids and BAD_USER_INPUT for malformed ones', async () => {
    const unknown = await t.gql(`{ dataset(id: "00000000-0000-4000-8000-000000000000") { id } }`);
    expect(unknown.errors![0].extensions!.code).toBe('NOT_FOUND');
    const malformed = await t.gql(`{ job(id: "42") { id } }`);
    expect(malformed.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});
