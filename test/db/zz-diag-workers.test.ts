// TEMPORARY diagnostic (to be deleted): where does the kill land relative to the crashing worker's units?
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { synthesizeDataset } from '../../src/synth/dataset';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { MAIN, startProcess, stopProcesses } from '../helpers/processes';
import { startFolderImport } from '../../src/datasets/service';

let t: TestApp;
beforeAll(async () => { t = await startTestApp({ work: false }); });
afterAll(async () => { await stopProcesses(); await t?.close(); });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MODE = process.env.DIAG_MODE ?? 'as-test'; // as-test | delay | idle

it('diag', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-workers-'));
  const total = 120;
  await synthesizeDataset({ outDir: folder, count: total, width: 256, height: 256, seed: 11 });
  const env = { DATABASE_URL: t.databaseUrl, MEDPSIM_DATA_DIR: t.dataDir, MEDPSIM_ROLE: 'worker', MEDPSIM_IMPORT_CHUNK: '4', MEDPSIM_WORKER_CONCURRENCY: '2', MEDPSIM_JOB_EXPIRE_SECONDS: '2' };
  const startWorker = async () => { const w = startProcess(MAIN, [], env); await w.waitFor(/worker ready/); return w; };
  const [crashing, restarting] = [await startWorker(), await startWorker()];
  const jobId = await startFolderImport(t.app, { path: folder, datasetName: 'shared' });
  const done = async () => (await t.app.pool.query(`SELECT done FROM jobs WHERE id=$1`, [jobId])).rows[0].done;
  while ((await done()) < 12) await sleep(10);
  const crashingId = `${hostname()}:${crashing.process.pid}`;
  let checkedAt = '';
  for (;;) {
    const cond = MODE === 'idle'
      ? `NOT EXISTS (SELECT 1 FROM job_units WHERE worker = $1) AND EXISTS (SELECT 1 FROM job_items WHERE worker = $1)`
      : `EXISTS (SELECT 1 FROM job_units WHERE worker = $1) AND EXISTS (SELECT 1 FROM job_items WHERE worker = $1)`;
    const { rows } = await t.app.pool.query(`SELECT ${cond} AS ready, clock_timestamp()::text AS at`, [crashingId]);
    if (rows[0].ready) { checkedAt = rows[0].at; break; }
    await sleep(5);
  }
  if (MODE === 'delay') await sleep(Number(process.env.DIAG_DELAY ?? 30));
  const { rows: [{ at: killedAt }] } = await t.app.pool.query(`SELECT clock_timestamp()::text AS at`);
  crashing.process.kill('SIGKILL');
  while ((await done()) < 60) await sleep(10);
  restarting.process.kill('SIGINT');
  await restarting.exited;
  await startWorker();
  const job = await waitForJob(t, jobId, 100_000);
  // crashing's chunks: fetch time (pg-boss started_on of the first run) to its last recorded item
  const { rows: chunks } = await t.app.pool.query(`
    SELECT j.id, j.retry_count, j.started_on, (SELECT max(ji.created_at) FROM job_items ji, jsonb_array_elements(j.data->'items') it
      WHERE ji.job_id = $1 AND ji.item = it->>'path') AS last_item,
      (SELECT count(*) FROM job_items ji, jsonb_array_elements(j.data->'items') it WHERE ji.job_id=$1 AND ji.item = it->>'path' AND ji.worker=$2)::int AS by_crashing
    FROM pgboss.job j WHERE j.name = 'medpsim-import-chunk' ORDER BY j.started_on`, [jobId, crashingId]);
  const mine = chunks.filter((c) => c.by_crashing > 0);
  const kill = new Date(killedAt).getTime();
  const lines = mine.map((c) => `${c.id.slice(0, 8)} retry=${c.retry_count} start=${new Date(c.started_on).getTime() - kill}ms lastItem=${new Date(c.last_item).getTime() - kill}ms byCrashing=${c.by_crashing}`);
  const busy = mine.map((c) => new Date(c.last_item).getTime() - new Date(c.started_on).getTime());
  const retried = chunks.filter((c) => c.retry_count > 0).length;
  console.log(`MODE=${MODE} check->kill ${kill - new Date(checkedAt).getTime()}ms job=${job.state} done=${job.done} retried=${retried}\n` +
    `crashing chunk durations (ms): ${busy.join(' ')}\n` + lines.join('\n'));
}, 120_000);
