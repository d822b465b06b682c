/**
 * Several worker processes share one queue; one is killed (SIGKILL, as in a crash) in the middle of an
 * import; the job still completes, with every file imported exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { synthesizeDataset } from '../../src/synth/dataset';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { MAIN, startProcess, type Child } from '../helpers/processes';
import { startFolderImport } from '../../src/datasets/service';

let t: TestApp;
const workers: Child[] = [];

beforeAll(async () => {
  t = await startTestApp({ work: false });
});

afterAll(async () => {
  for (const worker of workers) worker.process.kill('SIGKILL');
  await t?.close();
});

it('survives a worker killed mid-import without importing anything twice', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-workers-'));
  await synthesizeDataset({ outDir: folder, count: 120, width: 512, height: 512, seed: 11 });

  const env = {
    DATABASE_URL: t.databaseUrl,
    MEDPSIM_DATA_DIR: t.dataDir,
    MEDPSIM_ROLE: 'worker',
    MEDPSIM_IMPORT_CHUNK: '4',
    MEDPSIM_WORKER_CONCURRENCY: '2',
    MEDPSIM_JOB_EXPIRE_SECONDS: '2',
  };
  for (let i = 0; i < 2; i++) {
    const worker = startProcess(MAIN, [], env);
    workers.push(worker);
    await worker.waitFor(/worker ready/);
  }

  const jobId = await startFolderImport(t.app, { path: folder, datasetName: 'shared' });
  for (;;) {
    const { rows } = await t.app.pool.query(`SELECT done FROM jobs WHERE id = $1`, [jobId]);
    if (rows[0].done >= 12) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  workers[0].process.kill('SIGKILL');

  const job = await waitForJob(t, jobId, 120_000);
  expect(job).toMatchObject({ state: 'COMPLETED', total: 120, done: 120, skipped: 0, failed: 0 });

  const images = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT source_path)::int AS paths FROM images`);
  expect(images.rows[0]).toEqual({ n: 120, paths: 120 });
  const items = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT worker)::int AS workers FROM job_items WHERE job_id = $1`, [jobId]);
  expect(items.rows[0]).toEqual({ n: 120, workers: 2 });
  // The killed worker's chunks were handed out again.
  const retried = await t.app.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'medpsim-import-chunk' AND retry_count > 0`);
  expect(retried.rows[0].n).toBeGreaterThan(0);
});
