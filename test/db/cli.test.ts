/** The CLI as pipelines use it: against a running server, with machine-readable output. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFolderImport } from '../../src/datasets/service';
import { startTestApp, type TestApp } from '../helpers/app';
import { CLI, runCli, startProcess, stopProcesses } from '../helpers/processes';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ http: true });
});

afterAll(async () => {
  await stopProcesses();
  await t?.close();
});

const cli = (args: string[], env: Record<string, string> = {}) => runCli({ url: t.server!.url, token: t.token }, args, env);

it('synthesizes phantoms, imports them as a job and lists the dataset', async () => {
  const folder = path.join(mkdtempSync(path.join(tmpdir(), 'medpsim-cli-')), 'phantoms');
  const synth = await cli(['synth', folder, '--count', '8', '--size', '64', '--seed', '5', '--json']);
  expect(synth.code).toBe(0);
  expect(JSON.parse(synth.output)).toMatchObject({ files: 8 });

  const imported = await cli(['import', folder, '--dataset', 'cli-demo', '--json']);
  expect(imported.code).toBe(0);
  expect(JSON.parse(imported.output)).toMatchObject({ state: 'COMPLETED', total: 8, done: 8, failed: 0 });

  const listed = await cli(['datasets', '--json']);
  const datasets = JSON.parse(listed.output);
  expect(datasets).toEqual([expect.objectContaining({ name: 'cli-demo', synthetic: true, imageCount: 8 })]);
});

it('uploads a local folder over HTTP, and a rerun sends nothing again', async () => {
  const folder = path.join(mkdtempSync(path.join(tmpdir(), 'medpsim-cli-')), 'phantoms');
  expect((await cli(['synth', folder, '--count', '6', '--size', '64', '--seed', '8'])).code).toBe(0);
  const first = await cli(['import', folder, '--dataset', 'uploaded', '--upload', '--json']);
  expect(first.code).toBe(0);
  expect(JSON.parse(first.output)).toEqual({ dataset: 'uploaded', files: 6, uploaded: 6, alreadyThere: 0, failed: [] });
  const again = await cli(['import', folder, '--dataset', 'uploaded', '--upload', '--json']);
  expect(JSON.parse(again.output)).toMatchObject({ uploaded: 0, alreadyThere: 6 });
  // The layout's split and label, each file's path as its source path, and the phantoms' synthetic mark.
  const { rows } = await t.app.pool.query(
    `SELECT i.split, i.label, i.source_path, i.synthetic, d.synthetic AS dataset_synthetic FROM images i JOIN datasets d ON d.id = i.dataset_id
     WHERE d.name = 'uploaded' ORDER BY i.source_path`,
  );
  expect(rows).toHaveLength(6);
  for (const row of rows) {
    expect(row.source_path).toBe(`${row.split}/${row.label}/${path.basename(row.source_path)}`);
    expect(row).toMatchObject({ synthetic: true, dataset_synthetic: true });
  }
});

it('says what a job it follows is waiting for', async () => {
  const apiOnly = await startTestApp({ http: true, work: false });
  try {
    const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-cli-queued-'));
    const jobId = await startFolderImport(apiOnly.app, { path: folder, datasetName: 'queued' });
    const child = startProcess(CLI, ['job', jobId, '--watch'], { MEDPSIM_URL: apiOnly.server!.url, MEDPSIM_TOKEN: apiOnly.token });
    await child.waitFor(/waiting for a worker to take job .* \(is a worker running\? MEDPSIM_ROLE=api serves but runs no jobs\)/, 20_000);
    child.process.kill('SIGINT');
    await child.exited;
  } finally {
    await apiOnly.close();
  }
});

it('reports server-side errors and an unreachable server clearly', async () => {
  const missing = await cli(['import', path.join(tmpdir(), 'no-such-folder'), '--dataset', 'x']);
  expect(missing.code).toBe(1);
  expect(missing.output).toContain(`path: folder not found on the server: ${path.join(tmpdir(), 'no-such-folder')}`);

  const child = startProcess(CLI, ['datasets', '--server', 'http://127.0.0.1:9'], {});
  expect(await child.exited).toBe(1);
  expect(child.output()).toContain('no medpsim server at http://127.0.0.1:9');
});
