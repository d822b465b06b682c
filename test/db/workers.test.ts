/**
 * Several worker processes share one queue; one is killed (SIGKILL, as in a crash) and another stopped
 * (SIGINT, as in a restart) in the middle of an import; a third takes over; the job completes, with every
 * file imported exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { synthesizeDataset } from '../../src/synth/dataset';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { MAIN, startProcess, stopProcesses } from '../helpers/processes';
import { startFolderImport } from '../../src/datasets/service';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ work: false });
});

afterAll(async () => {
  await stopProcesses();
  await t?.close();
});

async function doneCount(jobId: string): Promise<number> {
  const { rows } = await t.app.pool.query(`SELECT done FROM jobs WHERE id = $1`, [jobId]);
  return rows[0].done;
}

async function waitUntilDone(jobId: string, count: number): Promise<void> {
  while ((await doneCount(jobId)) < count) await new Promise((resolve) => setTimeout(resolve, 10));
}

it('survives a crashed and a restarted worker without importing anything twice', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-workers-'));
  const total = 200;
  await synthesizeDataset({ outDir: folder, count: total, width: 512, height: 512, seed: 11 });

  const env = {
    DATABASE_URL: t.databaseUrl,
    MEDPSIM_DATA_DIR: t.dataDir,
    MEDPSIM_ROLE: 'worker',
    MEDPSIM_IMPORT_CHUNK: '4',
    MEDPSIM_WORKER_CONCURRENCY: '2',
    MEDPSIM_JOB_EXPIRE_SECONDS: '2',
  };
  const startWorker = async () => {
    const worker = startProcess(MAIN, [], env);
    await worker.waitFor(/worker ready/);
    return worker;
  };
  const [crashing, restarting] = [await startWorker(), await startWorker()];

  const jobId = await startFolderImport(t.app, { path: folder, datasetName: 'shared' });
  await waitUntilDone(jobId, 12);
  crashing.process.kill('SIGKILL');
  await waitUntilDone(jobId, 60);
  restarting.process.kill('SIGINT');
  expect(await restarting.exited).toBe(0);
  const doneBeforeTakeover = await doneCount(jobId);
  expect(doneBeforeTakeover).toBeLessThan(total);
  await startWorker();

  const job = await waitForJob(t, jobId, 120_000);
  expect(job).toMatchObject({ state: 'COMPLETED', total, done: total, skipped: 0, failed: 0 });

  const images = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT source_path)::int AS paths FROM images`);
  expect(images.rows[0]).toEqual({ n: total, paths: total });
  const items = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT worker)::int AS workers FROM job_items WHERE job_id = $1`, [jobId]);
  expect(items.rows[0]).toEqual({ n: total, workers: 3 });
  // The killed worker's chunks were handed out again.
  const retried = await t.app.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'medpsim-import-chunk' AND retry_count > 0`);
  expect(retried.rows[0].n).toBeGreaterThan(0);
});
