/**
 * What the server may touch: only folders inside MEDPSIM_IMPORT_ROOTS (after `..` and symlinks), only
 * regular files of a bounded size inside them (symlinks, FIFOs, nested folders and oversized files are
 * failed items with a reason), failure messages without file contents, server paths outside the roots
 * hidden from roles that do not give them, and a private blob store.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Role } from '../../src/platform/context';
import { synthesizeDataset } from '../../src/synth/dataset';
import { startTestApp, tokenFor, waitForJob, type TestApp } from '../helpers/app';
import { greyJpeg } from '../helpers/files';

let t: TestApp;
let base: string;
let root: string;

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'medpsim-roots-'));
  root = path.join(base, 'in');
  mkdirSync(root);
  mkdirSync(path.join(base, 'inx')); // a sibling whose name starts like the root's
  t = await startTestApp({ http: true, env: { MEDPSIM_IMPORT_ROOTS: root, MEDPSIM_MAX_UPLOAD_BYTES: '100000' } });
});

afterAll(async () => {
  await t?.close();
});

const IMPORT = `mutation ($input: ImportDatasetInput!) { importDataset(input: $input) { id } }`;

async function jobCount(): Promise<number> {
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM jobs`);
  return rows[0].n;
}

describe('import roots', () => {
  it('refuses every folder outside the roots, before a job exists, naming the roots', async () => {
    const outside = path.join(base, 'inx');
    symlinkSync(outside, path.join(root, 'link-out'));
    const cases = ['/etc', '', '   ', outside, path.join(root, '..', 'inx'), path.join(root, 'link-out'), 'relative/path'];
    const before = await jobCount();
    for (const given of cases) {
      const { errors } = await t.gql(IMPORT, { input: { path: given, datasetName: 'refused' } });
      expect(errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'path' });
      expect(errors?.[0].message).toContain(`${root} (MEDPSIM_IMPORT_ROOTS)`);
    }
    expect(await jobCount()).toBe(before);
    // Training from a folder, and models, by the same rule.
    const training = await t.gql(`mutation { startTraining(input: { task: DAE, name: "x", dataFolder: "/etc" }) { id } }`);
    expect(training.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dataFolder' });
    const model = await t.gql(`mutation { registerModel(path: "/etc/hostname") { change } }`);
    expect(model.errors?.[0].message).toMatch(/outside the folders this server may read/);
  });

  it('reads only regular files inside the root, reporting everything else with a reason', async () => {
    const folder = path.join(root, 'mixed');
    mkdirSync(path.join(folder, 'NORMAL', 'deeper'), { recursive: true });
    writeFileSync(path.join(folder, 'NORMAL', 'good.jpeg'), await greyJpeg(16, 16, 3));
    writeFileSync(path.join(folder, 'NORMAL', 'deeper', 'hidden.jpeg'), await greyJpeg(16, 16, 4));
    symlinkSync('/etc/passwd', path.join(folder, 'NORMAL', 'passwd.jpeg'));
    execFileSync('mkfifo', [path.join(folder, 'NORMAL', 'pipe.jpeg')]);
    const big = path.join(folder, 'NORMAL', 'sparse.jpeg');
    writeFileSync(big, '');
    truncateSync(big, 1_000_000_000); // 1 GB, sparse: refused by its size, never read
    writeFileSync(path.join(folder, 'NORMAL', 'binary.jpeg'), Buffer.from([0x01, 0x02, 0x03, 0xfe, 0xfd, 0x00, 0x42, 0x43, 0x44]));

    const started = await t.gql(IMPORT, { input: { path: folder, datasetName: 'mixed' } });
    const job = await waitForJob(t, started.data!.importDataset.id, 30_000);
    expect(job).toMatchObject({ state: 'COMPLETED', done: 1 });
    const { data } = await t.gql(`query ($id: ID!) { job(id: $id) { failures { item code message } } }`, { id: job.id });
    const failures = Object.fromEntries(data!.job.failures.map((failure: any) => [failure.item, failure]));
    expect(failures).toMatchObject({
      'NORMAL/deeper/': { code: 'NESTED_FOLDER' },
      'NORMAL/passwd.jpeg': { code: 'SYMLINK' },
      'NORMAL/pipe.jpeg': { code: 'NOT_A_FILE', message: 'not a regular file (a FIFO)' },
      'NORMAL/sparse.jpeg': { code: 'FILE_TOO_LARGE', message: '1000000000 bytes, over the limit of 100000 bytes (MEDPSIM_MAX_UPLOAD_BYTES)' },
      'NORMAL/binary.jpeg': { code: 'UNSUPPORTED_FORMAT' },
    });
    // No message quotes the files' contents.
    expect(failures['NORMAL/binary.jpeg'].message).not.toMatch(/01 02 03|fe fd/);
    expect(JSON.stringify(data)).not.toMatch(/root:x:0/);
  });
});

it('keeps the synthetic mark of phantoms copied without their marker file', async () => {
  const phantoms = path.join(base, 'phantoms');
  await synthesizeDataset({ outDir: phantoms, count: 2, width: 32, height: 32, seed: 1, flat: true });
  const copy = path.join(root, 'copied');
  mkdirSync(copy);
  for (const file of readdirSync(phantoms).filter((name) => name.endsWith('.jpeg'))) copyFileSync(path.join(phantoms, file), path.join(copy, file));
  const started = await t.gql(IMPORT, { input: { path: copy, datasetName: 'copied' } });
  expect(await waitForJob(t, started.data!.importDataset.id)).toMatchObject({ state: 'COMPLETED', done: 2 });
  const { rows } = await t.app.pool.query(
    `SELECT bool_and(i.synthetic) AS images, bool_and(d.synthetic) AS dataset FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'copied'`,
  );
  expect(rows[0]).toEqual({ images: true, dataset: true });
});

describe('server paths', () => {
  it('are shown outside the roots only to ADMIN and PIPELINE', async () => {
    const analyst = await tokenFor(t.app, Role.ANALYST);
    const started = await t.gql(IMPORT, { input: { path: root, datasetName: 'paths' } });
    const jobId = started.data!.importDataset.id;
    await waitForJob(t, jobId, 30_000);
    const modelFile = path.join(t.app.config.dataDir, 'tmp', 'model.onnx');
    await t.app.pool.query(`UPDATE jobs SET error = $2 WHERE id = $1`, [jobId, `cannot read /var/lib/secret.key nor ${modelFile}; ${root}/a is fine`]);
    const query = `query ($id: ID!) { job(id: $id) { params error } datasets { name sourceRoot } }`;
    const asAnalyst = (await t.gql(query, { id: jobId }, analyst)).data!;
    expect(asAnalyst.job.params.root).toBe(root); // inside the roots: as it is
    expect(asAnalyst.datasets.find((d: any) => d.name === 'paths').sourceRoot).toBe(root);
    expect(asAnalyst.job.error).toBe(`cannot read <server path> nor <data folder>/tmp/model.onnx; ${root}/a is fine`);
    const asAdmin = (await t.gql(query, { id: jobId })).data!;
    expect(asAdmin.job.error).toContain('/var/lib/secret.key');
  });
});

it('keeps the blob store private to the server user', async () => {
  const response = await t.upload('dataset=private&filename=p.jpeg', await greyJpeg(16, 16, 9));
  const { image } = (await response.json()) as any;
  const blobs = path.join(t.dataDir, 'blobs');
  const file = t.app.blobs.pathOf(image.contentHash);
  expect(statSync(blobs).mode & 0o777).toBe(0o700);
  expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  expect(statSync(file).mode & 0o777).toBe(0o600);
});
