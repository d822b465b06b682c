/**
 * Jobs made of items (files to import, images to distort): the mutation creates the job and queues a
 * "plan" unit; the planner lists the items and queues "chunk" units of a few dozen in the same transaction
 * that records the total; chunk workers run item by item. Every item's outcome is recorded once
 * (store.ts), so a unit retried after a crash or restart does nothing twice. A unit that fails for the
 * last time fails the job, instead of leaving it waiting for items that will never come.
 */
import type PgBoss from 'pg-boss';
import type { App } from '../app';
import { JobState, type JobKind } from '../entities';
import * as jobs from './store';

/** The job cannot run at all (e.g. its folder is gone): it fails with this message, without retries. */
export class PlanError extends Error {}

export interface ItemJob<P, I> {
  kind: JobKind;
  /** The item's name in the job's outcomes (e.g. the file path). */
  key(item: I): string;
  /** Items per queued unit: the unit of retry. */
  chunkSize(app: App): number;
  /** Items processed at once within a unit. */
  inFlight: number;
  /** Lists the items; runs once per job (throw PlanError for a job that cannot run). */
  plan(app: App, jobId: string, params: P): Promise<I[]>;
  /** Settles items of a unit without running them (e.g. already imported); returns the rest. */
  settle?(app: App, jobId: string, params: P, items: I[]): Promise<I[]>;
  /** Runs one item and records its outcome (jobs.recordOutcome or a statement built on it). */
  run(app: App, jobId: string, params: P, item: I): Promise<void>;
}

interface ChunkData<I> {
  jobId: string;
  items: I[];
}

function queueNames(kind: JobKind) {
  const name = kind.toLowerCase();
  return { plan: `medpsim-${name}-plan`, chunk: `medpsim-${name}-chunk` };
}

export function itemJobQueues(kind: JobKind): string[] {
  const names = queueNames(kind);
  return [names.plan, names.chunk];
}

/** Creates the job and queues its planning; returns at once. */
export async function queueItemJob<P extends object>(app: App, kind: JobKind, params: P): Promise<string> {
  const jobId = await jobs.createJob(app.pool, kind, { ...params });
  await app.boss.send(queueNames(kind).plan, { jobId });
  return jobId;
}

async function loadJob<P>(app: App, jobId: string) {
  const { rows } = await app.pool.query<{ planned: boolean; state: JobState; params: P }>(
    `SELECT planned, state, params FROM jobs WHERE id = $1`,
    [jobId],
  );
  return rows[0] ?? null;
}

async function planJob<P, I>(app: App, definition: ItemJob<P, I>, jobId: string): Promise<void> {
  const job = await loadJob<P>(app, jobId);
  if (!job || job.planned || job.state !== JobState.QUEUED) return;

  let items: I[];
  try {
    items = await definition.plan(app, jobId, job.params);
  } catch (error) {
    if (!(error instanceof PlanError)) throw error; // retried by the queue
    await jobs.failJob(app.pool, jobId, error.message);
    await jobs.notifyJob(app.pool, jobId);
    return;
  }

  const client = await app.pool.connect();
  try {
    await client.query('BEGIN');
    const claimed = await client.query(
      `UPDATE jobs SET planned = true, total = $2, state = 'RUNNING', started_at = now()
       WHERE id = $1 AND NOT planned AND state = 'QUEUED'`,
      [jobId, items.length],
    );
    if (claimed.rowCount === 1 && items.length > 0) {
      const size = definition.chunkSize(app);
      const units: PgBoss.JobInsert<ChunkData<I>>[] = [];
      for (let start = 0; start < items.length; start += size) {
        units.push({ name: queueNames(definition.kind).chunk, data: { jobId, items: items.slice(start, start + size) } });
      }
      // Queued in the transaction that sets "planned": a crash cannot leave a planned job without its units.
      const db = { executeSql: async (text: string, values: unknown[]) => client.query(text, values) };
      await app.boss.insert(units, { db });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  await jobs.completeIfFinished(app.pool, jobId); // a job with no items completes at once
  await jobs.notifyJob(app.pool, jobId);
}

/** Notifies at most every 100 ms per job, so a fast job does not flood subscribers. */
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

async function runChunk<P, I>(app: App, definition: ItemJob<P, I>, data: ChunkData<I>): Promise<void> {
  const job = await loadJob<P>(app, data.jobId);
  if (!job || job.state !== JobState.RUNNING) return;
  const notify = throttledNotifier(app, data.jobId);
  const stillRunning = runningCheck(app, data.jobId);

  const recorded = await jobs.itemsWithOutcome(app.pool, data.jobId, data.items.map((item) => definition.key(item)));
  let queue = data.items.filter((item) => !recorded.has(definition.key(item)));
  if (definition.settle) queue = await definition.settle(app, data.jobId, job.params, queue);
  await notify();

  const runOne = async (): Promise<void> => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      if (!(await stillRunning())) return; // cancelled, or failed elsewhere
      await definition.run(app, data.jobId, job.params, item);
      await notify();
    }
  };
  await Promise.all(Array.from({ length: Math.min(definition.inFlight, queue.length) }, runOne));
  await jobs.completeIfFinished(app.pool, data.jobId);
  await notify(true);
}

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

export async function registerItemJob<P, I>(app: App, definition: ItemJob<P, I>): Promise<void> {
  const names = queueNames(definition.kind);
  const options = { batchSize: 1, pollingIntervalSeconds: 0.5, includeMetadata: true as const };
  await app.boss.work(names.plan, options, lastAttemptFailsJob(app, (data: { jobId: string }) => planJob(app, definition, data.jobId)));
  for (let i = 0; i < app.config.workerConcurrency; i++) {
    await app.boss.work(names.chunk, options, lastAttemptFailsJob(app, (data: ChunkData<I>) => runChunk(app, definition, data)));
  }
}
