/**
 * Folder imports as jobs. The mutation creates the job and queues a "plan" unit; the planner lists the
 * folder and queues "chunk" units of a few dozen files in the same transaction that records the total;
 * chunk workers import file by file. Every item's outcome is recorded once (jobs/store.ts), and an image
 * row is unique per (dataset, path), so a unit retried after a crash or restart imports nothing twice.
 */
import path from 'node:path';
import type PgBoss from 'pg-boss';
import type { App } from '../app';
import { JobKind, JobState } from '../entities';
import * as jobs from '../jobs/store';
import { QUEUES } from '../jobs/queue';
import { isSyntheticDatasetRoot } from '../synth/dataset';
import { importFileItem, skipExisting } from './import-item';
import { LayoutError, scanFolder, type ImportItem, type Split } from './layout';

export interface ImportParams {
  datasetId: string;
  root: string;
  /** Split/label for files that are not in split/label folders. */
  split: Split | null;
  label: string | null;
}

interface ChunkData {
  jobId: string;
  items: ImportItem[];
}

/** Creates the job and queues its planning; returns at once. */
export async function queueImport(app: App, params: ImportParams): Promise<string> {
  const jobId = await jobs.createJob(app.pool, JobKind.IMPORT, { ...params });
  await app.boss.send(QUEUES.importPlan, { jobId });
  return jobId;
}

async function loadParams(app: App, jobId: string): Promise<ImportParams | null> {
  const { rows } = await app.pool.query<{ params: ImportParams }>(`SELECT params FROM jobs WHERE id = $1`, [jobId]);
  return rows[0]?.params ?? null;
}

async function planImport(app: App, jobId: string): Promise<void> {
  const { rows } = await app.pool.query<{ planned: boolean; state: JobState; params: ImportParams }>(
    `SELECT planned, state, params FROM jobs WHERE id = $1`,
    [jobId],
  );
  const job = rows[0];
  if (!job || job.planned || job.state !== JobState.QUEUED) return;

  let items: ImportItem[];
  try {
    ({ items } = await scanFolder(job.params.root));
  } catch (error) {
    // The folder went away or cannot be read: retrying will not help.
    await jobs.failJob(app.pool, jobId, error instanceof LayoutError ? error.message : `cannot list folder: ${(error as Error).message}`);
    await jobs.notifyJob(app.pool, jobId);
    return;
  }
  const synthetic = await isSyntheticDatasetRoot(job.params.root);
  const withDefaults = items.map((item) => ({
    ...item,
    split: item.split ?? job.params.split,
    label: item.label ?? job.params.label,
  }));

  const client = await app.pool.connect();
  try {
    await client.query('BEGIN');
    const claimed = await client.query(
      `UPDATE jobs SET planned = true, total = $2, state = 'RUNNING', started_at = now()
       WHERE id = $1 AND NOT planned AND state = 'QUEUED'`,
      [jobId, withDefaults.length],
    );
    if (claimed.rowCount === 1) {
      if (synthetic) await client.query(`UPDATE datasets SET synthetic = true WHERE id = $1`, [job.params.datasetId]);
      await client.query(`UPDATE datasets SET source_root = $2 WHERE id = $1`, [job.params.datasetId, job.params.root]);
      const chunkSize = app.config.importChunkSize;
      const units: PgBoss.JobInsert<ChunkData>[] = [];
      for (let start = 0; start < withDefaults.length; start += chunkSize) {
        units.push({ name: QUEUES.importChunk, data: { jobId, items: withDefaults.slice(start, start + chunkSize) } });
      }
      // Queued in the same transaction as "planned", so a crash cannot leave a planned job without its chunks.
      const db = { executeSql: async (text: string, values: unknown[]) => client.query(text, values) };
      if (units.length > 0) await app.boss.insert(units, { db });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  await jobs.completeIfFinished(app.pool, jobId); // an empty folder completes at once
  await jobs.notifyJob(app.pool, jobId);
}

/** Notifies at most every 100 ms per job, so a fast import does not flood subscribers. */
function throttledNotifier(app: App, jobId: string) {
  let last = 0;
  return async (force = false) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    await jobs.notifyJob(app.pool, jobId);
  };
}

/** Whether the job is still running, asked of the database at most every 250 ms. */
function runningCheck(app: App, jobId: string) {
  let checkedAt = 0;
  let running = true;
  return async () => {
    if (Date.now() - checkedAt >= 250) {
      running = (await jobs.jobState(app.pool, jobId)) === JobState.RUNNING;
      checkedAt = Date.now();
    }
    return running;
  };
}

async function importChunk(app: App, data: ChunkData): Promise<void> {
  const params = await loadParams(app, data.jobId);
  if (!params) return;
  const synthetic = await isSyntheticDatasetRoot(params.root);
  const notify = throttledNotifier(app, data.jobId);
  const stillRunning = runningCheck(app, data.jobId);

  const recorded = await jobs.itemsWithOutcome(app.pool, data.jobId, data.items.map((item) => item.path));
  const queue = await skipExisting(app, data.jobId, params.datasetId, data.items.filter((item) => !recorded.has(item.path)));
  await notify();

  // Two files in flight: libvips already spreads one decode over the cores.
  const workerCount = Math.min(2, queue.length);
  const runOne = async (): Promise<void> => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      if (!(await stillRunning())) return; // cancelled, or failed elsewhere
      await importFileItem(app, {
        jobId: data.jobId,
        datasetId: params.datasetId,
        absolutePath: path.join(params.root, item.path),
        item,
        synthetic,
      });
      await notify();
    }
  };
  await Promise.all(Array.from({ length: workerCount }, runOne));
  await jobs.completeIfFinished(app.pool, data.jobId);
  await notify(true);
}

/**
 * Runs one unit; when it has failed for the last time (pg-boss will not retry it), the job fails with the
 * unit's error instead of waiting for items that will never come.
 */
function lastAttemptFailsJob<T extends { jobId: string }>(app: App, handle: (data: T) => Promise<void>) {
  return async ([unit]: PgBoss.JobWithMetadata<T>[]) => {
    try {
      await handle(unit.data);
    } catch (error) {
      if (unit.retryCount >= unit.retryLimit) {
        await jobs.failJob(app.pool, unit.data.jobId, `${unit.name} failed: ${(error as Error).message}`);
        await jobs.notifyJob(app.pool, unit.data.jobId);
      }
      throw error;
    }
  };
}

export async function registerImportWorkers(app: App): Promise<void> {
  const options = { batchSize: 1, pollingIntervalSeconds: 0.5, includeMetadata: true as const };
  await app.boss.work(QUEUES.importPlan, options, lastAttemptFailsJob(app, (data: { jobId: string }) => planImport(app, data.jobId)));
  for (let i = 0; i < app.config.workerConcurrency; i++) {
    await app.boss.work(QUEUES.importChunk, options, lastAttemptFailsJob(app, (data: ChunkData) => importChunk(app, data)));
  }
}
