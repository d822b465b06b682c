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
import { freeze, MAIN, startProcess, stopProcesses, thaw, type Child } from '../helpers/processes';
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

const CHUNK_QUEUE = 'medpsim-import-chunk';
const CRASHING = 'medpsim-crashing-worker';

/** SQL: the pgboss.job row `j` is a chunk with an item that has no outcome yet in job $2. */
const UNFINISHED = `EXISTS (SELECT 1 FROM jsonb_array_elements(j.data->'items') AS it
  WHERE NOT EXISTS (SELECT 1 FROM job_items AS ji WHERE ji.job_id = $2 AND ji.item = it->>'path'))`;

/**
 * Kills the worker (SIGKILL, as in a crash) at a moment that is established, not hoped for: while it holds
 * the lease of a chunk with items still to do, and after it has done some items. Returns that chunk's unit.
 *
 * The race this replaces: the test used to check "the worker has a job_units row and has done items", then
 * send SIGKILL. A worker's chunk records its last item (items.ts runChunk), then completes the job if it can
 * and notifies, and only then gives up its job_units row (runtime.ts runUnit, the lease's end); between two
 * units a poller may also sleep, so the worker often holds nothing at all. The check could therefore pass
 * on (a) a row whose chunk had every item done, or (b) a row deleted in the milliseconds between the
 * check's answer and the signal (the worker's two chunks of its first round end together, right when the
 * job passes 12 done). In (b) nothing was left to reap; in (a) the reaped unit had nothing to do, so the
 * job completed without waiting for it and it need not have been fetched again before the count was read
 * (pg-boss counts retry_count when a retried unit is fetched, not when it is failed). Either way the job
 * completed and the test saw 0 retried chunks (reproduced: killed 16 and 26 ms after its two chunks' last
 * items, every retry_count 0).
 *
 * Here the worker is frozen (SIGSTOP, every thread stopped) and its database sessions have nothing in
 * flight, so what the database shows of it is what it will have done when it dies; only then is the
 * condition read, and the worker killed while still frozen (else thawed, and tried again).
 */
async function killHoldingUnfinishedChunk(worker: Child, jobId: string): Promise<string> {
  const workerId = `${hostname()}:${worker.process.pid}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    await freeze(worker.process);
    // Statements it sent before the stop finish (or wait in an open transaction, which the kill rolls back);
    // a statement can only still start if it sat unread in its backend's socket all through this poll.
    for (;;) {
      const { rows } = await t.app.pool.query(
        `SELECT count(*)::int AS sessions, count(*) FILTER (WHERE state IN ('active', 'fastpath function call'))::int AS busy
         FROM pg_stat_activity WHERE application_name = $1`,
        [CRASHING],
      );
      if (rows[0].sessions === 0) throw new Error('no database session of the crashing worker (is PGAPPNAME honoured?)');
      if (rows[0].busy === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // One statement, one snapshot. `unleased`: a unit pg-boss shows as taken (active) with no job_units row
    // would be one whose worker's death no reaper sees (it would wait for pg-boss's expiry, an hour). The
    // runtime claims a unit and writes its lease in one transaction, and ends the lease in the one that
    // settles the unit (leases.ts), so there is none, whoever runs what at this moment.
    const { rows } = await t.app.pool.query<{ unit_id: string | null; unleased: boolean; items: boolean }>(
      `SELECT
         (SELECT u.unit_id FROM job_units AS u JOIN pgboss.job AS j ON j.name = u.queue AND j.id = u.unit_id
          WHERE u.worker = $1 AND u.queue = $3 AND j.state = 'active' AND ${UNFINISHED} LIMIT 1) AS unit_id,
         EXISTS (SELECT 1 FROM pgboss.job AS j WHERE j.name LIKE 'medpsim-import-%' AND j.state = 'active'
                 AND NOT EXISTS (SELECT 1 FROM job_units AS u WHERE u.unit_id = j.id)) AS unleased,
         EXISTS (SELECT 1 FROM job_items WHERE job_id = $2 AND worker = $1) AS items`,
      [workerId, jobId, CHUNK_QUEUE],
    );
    const { unit_id: unitId, unleased, items } = rows[0];
    expect(unleased).toBe(false);
    if (unitId && items) {
      worker.process.kill('SIGKILL'); // delivered to a stopped process too
      await worker.exited;
      return unitId;
    }
    thaw(worker.process);
    if (Date.now() > deadline) throw new Error('the crashing worker never held an unfinished chunk after doing items');
    await new Promise((resolve) => setTimeout(resolve, 5)); // let it run a little, then look again
  }
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
  const startWorker = async (name: string) => {
    // PGAPPNAME names the worker's database sessions (node-postgres reads it), for pg_stat_activity.
    const worker = startProcess(MAIN, [], { ...env, PGAPPNAME: name });
    await worker.waitFor(/worker ready/);
    return worker;
  };
  const [crashing, restarting] = [await startWorker(CRASHING), await startWorker('medpsim-restarting-worker')];

  const jobId = await startFolderImport(t.app, { path: folder, datasetName: 'shared' });
  await waitUntilDone(jobId, 12);
  const unitId = await killHoldingUnfinishedChunk(crashing, jobId);
  await waitUntilDone(jobId, 60);
  restarting.process.kill('SIGINT');
  expect(await restarting.exited).toBe(0);
  const doneBeforeTakeover = await doneCount(jobId);
  expect(doneBeforeTakeover).toBeLessThan(total);
  const third = await startWorker('medpsim-third-worker');

  const job = await waitForJob(t, jobId, 100_000);
  expect(job).toMatchObject({ state: 'COMPLETED', total, done: total, skipped: 0, failed: 0 });
  // The unit that records the last item completes the job (items.ts runChunk) and ends its lease only
  // afterwards (runtime.ts runUnit, when it settles the unit), so a live worker may still hold a lease when
  // COMPLETED is seen. A clean stop waits for its units and releases their leases: after it, no worker is alive, and a
  // row still there is one that was left behind.
  third.process.kill('SIGINT');
  expect(await third.exited).toBe(0);

  const images = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT source_path)::int AS paths FROM images`);
  expect(images.rows[0]).toEqual({ n: total, paths: total });
  const items = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT worker)::int AS workers FROM job_items WHERE job_id = $1`, [jobId]);
  expect(items.rows[0]).toEqual({ n: total, workers: 3 });
  // The chunk the killed worker held unfinished was found by a reaper and handed out again (pg-boss counts a
  // retry when the unit is fetched again, which its unfinished items needed for the job to complete); no
  // lease is left behind.
  const retried = await t.app.pool.query(`SELECT retry_count FROM pgboss.job WHERE name = 'medpsim-import-chunk' AND id = $1`, [unitId]);
  expect(retried.rows[0].retry_count).toBeGreaterThan(0);
  const leases = await t.app.pool.query(`SELECT unit_id, queue, worker FROM job_units`);
  expect(leases.rows).toEqual([]);
}, 120_000); // four worker processes on a loaded 2-core CI machine
