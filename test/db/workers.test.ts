/**
 * Several worker processes share one queue; one is killed (SIGKILL, as in a crash) while it runs a unit,
 * and another stopped (SIGINT, as in a restart) in the middle of an import; a third takes over; the job
 * completes, with every file imported exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
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
  const total = 120;
  await synthesizeDataset({ outDir: folder, count: total, width: 256, height: 256, seed: 11 });

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
  // Killed while it holds a unit (and after it has done some items): its unit must be handed out again.
  const crashingId = `${hostname()}:${crashing.process.pid}`;
  for (;;) {
    const { rows } = await t.app.pool.query(
      `SELECT EXISTS (SELECT 1 FROM job_units WHERE worker = $1) AND EXISTS (SELECT 1 FROM job_items WHERE worker = $1) AS ready`,
      [crashingId],
    );
    if (rows[0].ready) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  crashing.process.kill('SIGKILL');
  await waitUntilDone(jobId, 60);
  restarting.process.kill('SIGINT');
  expect(await restarting.exited).toBe(0);
  const doneBeforeTakeover = await doneCount(jobId);
  expect(doneBeforeTakeover).toBeLessThan(total);
  await startWorker();

  const job = await waitForJob(t, jobId, 100_000);
  expect(job).toMatchObject({ state: 'COMPLETED', total, done: total, skipped: 0, failed: 0 });

  const images = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT source_path)::int AS paths FROM images`);
  expect(images.rows[0]).toEqual({ n: total, paths: total });
  const items = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT worker)::int AS workers FROM job_items WHERE job_id = $1`, [jobId]);
  expect(items.rows[0]).toEqual({ n: total, workers: 3 });
  // The killed worker's units were found by the reaper and handed out again; none is left behind.
  const retried = await t.app.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'medpsim-import-chunk' AND retry_count > 0`);
  expect(retried.rows[0].n).toBeGreaterThan(0);
  const leases = await t.app.pool.query(`SELECT count(*)::int AS n FROM job_units`);
  expect(leases.rows[0].n).toBe(0);
}, 120_000); // four worker processes on a loaded 2-core CI machine
