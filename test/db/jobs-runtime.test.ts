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
  t = await startTestApp({ env: { MEDPSIM_IMPORT_CHUNK: '4', MEDPSIM_JOB_EXPIRE_SECONDS: '1' } });
});

afterAll(async () => {
  await t?.close();
});

it('survives the loss of its lease connection in the middle of an import', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-leases-'));
  const total = 60;
  await synthesizeDataset({ outDir: folder, count: total, width: 256, height: 256, seed: 4 });
  const jobId = await startFolderImport(t.app, { path: folder, datasetName: 'leases' });

  // The connection that holds this worker's unit locks, terminated while it holds a chunk's (one statement).
  let unitId: string | null = null;
  while (!unitId) {
    const { rows } = await t.app.pool.query(
      `SELECT u.unit_id, pg_terminate_backend(l.pid) AS ok
       FROM job_units u JOIN pg_locks l ON l.locktype = 'advisory' AND l.classid = 7301121 AND l.objid = u.lock_key
       WHERE u.queue = 'medpsim-import-chunk' LIMIT 1`,
    );
    unitId = rows[0]?.ok ? rows[0].unit_id : null;
    if (!unitId) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  const job = await waitForJob(t, jobId, 60_000);
  expect(job).toMatchObject({ state: 'COMPLETED', total, done: total, failed: 0 });
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n, count(DISTINCT source_path)::int AS paths FROM images`);
  expect(rows[0]).toEqual({ n: total, paths: total });
  // A unit was stopped and handed out again (pg-boss counts the retry); no lease is left behind.
  const unit = await t.app.pool.query(`SELECT retry_count FROM pgboss.job WHERE id = $1`, [unitId]);
  expect(unit.rows[0].retry_count).toBeGreaterThan(0);
  expect((await t.app.pool.query(`SELECT count(*)::int AS n FROM job_units`)).rows[0].n).toBe(0);
});
