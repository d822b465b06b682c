/**
 * The job runtime's lease connection: a worker whose lease connection is lost (here: terminated by the
 * server) stops its units at once and hands them out again, and the job still completes with every item
 * done exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFolderImport } from '../../src/datasets/service';
import { synthesizeDataset } from '../../src/synth/dataset';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { MEDPSIM_IMPORT_CHUNK: '20', MEDPSIM_JOB_EXPIRE_SECONDS: '1' } });
});

afterAll(async () => {
  await t?.close();
});

it('survives the loss of its lease connection in the middle of an import', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-leases-'));
  const total = 60;
  await synthesizeDataset({ outDir: folder, count: total, width: 256, height: 256, seed: 4 });
  const jobId = await startFolderImport(t.app, { path: folder, datasetName: 'leases' });

  // The connection that holds this worker's unit locks, terminated while it runs a chunk that has done some
  // items and has at least three to go (two run at once), so that the chunk must stop half-way (one statement).
  let unitId: string | null = null;
  while (!unitId) {
    const { rows } = await t.app.pool.query(
      `WITH chunks AS (
         SELECT u.unit_id, u.lock_key, jsonb_array_length(j.data->'items') AS size,
                (SELECT count(*) FROM job_items i WHERE i.job_id = u.job_id
                   AND i.item IN (SELECT entry->>'path' FROM jsonb_array_elements(j.data->'items') entry)) AS recorded
         FROM job_units u JOIN pgboss.job j ON j.id = u.unit_id
         WHERE u.queue = 'medpsim-import-chunk')
       SELECT c.unit_id, pg_terminate_backend(l.pid) AS ok
       FROM chunks c JOIN pg_locks l ON l.locktype = 'advisory' AND l.classid = 7301121 AND l.objid = c.lock_key
       WHERE c.recorded BETWEEN 1 AND c.size - 3 LIMIT 1`,
    );
    unitId = rows[0]?.ok ? rows[0].unit_id : null;
    if (!unitId) await new Promise((resolve) => setTimeout(resolve, 2));
  }

  const job = await waitForJob(t, jobId, 60_000);
  expect(job).toMatchObject({ state: 'COMPLETED', total, done: total, failed: 0 });
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT source_path)::int AS paths FROM images`);
  expect(rows[0]).toEqual({ n: total, paths: total });
  // A unit was stopped and handed out again (pg-boss counts the retry); no lease is left behind.
  const unit = await t.app.pool.query(`SELECT retry_count FROM pgboss.job WHERE id = $1`, [unitId]);
  expect(unit.rows[0].retry_count).toBeGreaterThan(0);
  // The job completes when its last item is recorded; the unit that recorded it settles (its lease row goes
  // with it, in one transaction) just after, so the count is awaited, not read at once.
  const leases = async () => (await t.app.pool.query(`SELECT count(*)::int AS n FROM job_units`)).rows[0].n as number;
  for (const deadline = Date.now() + 10_000; (await leases()) > 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(await leases()).toBe(0);
});
