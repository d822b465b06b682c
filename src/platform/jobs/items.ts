/**
 * Jobs made of items (files to import, images to distort): the job's first unit is a "plan" unit; the
 * planner lists the items and queues "chunk" units of a few dozen in the same transaction that records the
 * total; chunk units run item by item. Every item's outcome is recorded once (store.ts), so a unit run
 * again after a crash, a restart or a lost worker does nothing twice.
 */
import type PgBoss from 'pg-boss';
import type { App } from '../app';
import { inTransaction } from '../database';
import { defineJob, sendUnit, type JobDefinition, type UnitContext, type UnitData } from './runtime';
import { JobState } from './states';
import * as jobs from './store';

/** The job cannot run at all (e.g. its folder is gone): it fails with this message, without retries. */
export class PlanError extends Error {}

export interface ItemJob<P, I> {
  kind: string;
  description: string;
  /** The item's name in the job's outcomes (e.g. the file path). */
  key(item: I): string;
  /** Items per queued unit: the unit of retry. */
  chunkSize(app: App): number;
  /** Items processed at once within a unit. */
  inFlight: number;
  /** Chunk units one worker process runs at once (default: MEDPSIM_WORKER_CONCURRENCY). */
  concurrency?(app: App): number;
  /** pg-boss's limit on one chunk unit, below 24 h (default an hour: a chunk of a few dozen items takes seconds). */
  expireSeconds?: number;
  /** Lists the items; runs once per job (throw PlanError for a job that cannot run). */
  plan(app: App, jobId: string, params: P): Promise<I[]>;
  /** Settles items of a unit without running them (e.g. already imported); returns the rest. */
  settle?(app: App, jobId: string, params: P, items: I[]): Promise<I[]>;
  /**
   * Runs one item and records its outcome (jobs.recordOutcome or a statement built on it). An item that
   * takes long returns early, without an outcome, once `signal` aborts: the unit is run again for it.
   */
  run(app: App, jobId: string, params: P, item: I, signal: AbortSignal): Promise<void>;
}

interface ChunkData<I> extends UnitData {
  items: I[];
}

/** A chunk of a few dozen items takes seconds; one still running after an hour is stuck. */
const UNIT_EXPIRE_S = 3600;

async function loadJob<P>(app: App, jobId: string) {
  const { rows } = await app.pool.query<{ planned: boolean; state: JobState; params: P }>(
    `SELECT planned, state, params FROM jobs WHERE id = $1`,
    [jobId],
  );
  return rows[0] ?? null;
}

async function planJob<P, I>(app: App, definition: ItemJob<P, I>, chunkQueue: string, jobId: string): Promise<void> {
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

  await inTransaction(app.pool, async (db) => {
    const claimed = await db.query(
      `UPDATE jobs SET planned = true, total = $2, state = 'RUNNING', started_at = now()
       WHERE id = $1 AND NOT planned AND state = 'QUEUED'`,
      [jobId, items.length],
    );
    if (claimed.rowCount !== 1 || items.length === 0) return;
    const size = definition.chunkSize(app);
    const units: PgBoss.JobInsert<ChunkData<I>>[] = [];
    for (let start = 0; start < items.length; start += size) {
      units.push({ name: chunkQueue, data: { jobId, items: items.slice(start, start + size) } });
    }
    // Queued in the transaction that sets "planned": a crash cannot leave a planned job without its units.
    await app.boss.insert(units, { db: { executeSql: (text: string, values: unknown[]) => db.query(text, values) } });
  });
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

async function runChunk<P, I>(unit: UnitContext, definition: ItemJob<P, I>, data: ChunkData<I>): Promise<void> {
  const { app, jobId, signal } = unit;
  const job = await loadJob<P>(app, jobId);
  if (!job || job.state !== JobState.RUNNING) return;
  const notify = throttledNotifier(app, jobId);

  const recorded = await jobs.itemsWithOutcome(app.pool, jobId, data.items.map((item) => definition.key(item)));
  let queue = data.items.filter((item) => !recorded.has(definition.key(item)));
  if (definition.settle) queue = await definition.settle(app, jobId, job.params, queue);
  await notify();

  const runOne = async (): Promise<void> => {
    for (let item = queue.shift(); item && !signal.aborted; item = queue.shift()) {
      await definition.run(app, jobId, job.params, item, signal);
      await notify();
    }
  };
  await Promise.all(Array.from({ length: Math.min(definition.inFlight, queue.length) }, runOne));
  await jobs.completeIfFinished(app.pool, jobId);
  await notify(true);
}

export function defineItemJob<P, I>(definition: ItemJob<P, I>): JobDefinition {
  const name = definition.kind.toLowerCase();
  const plan = `medpsim-${name}-plan`;
  const chunk = `medpsim-${name}-chunk`;
  const common = { expireSeconds: UNIT_EXPIRE_S, retryLimit: 5, retryDelaySeconds: 1 };
  return defineJob({
    kind: definition.kind,
    description: definition.description,
    firstQueue: plan,
    queues: [
      { name: plan, ...common, concurrency: () => 1, run: (unit) => planJob(unit.app, definition, chunk, unit.jobId) },
      {
        name: chunk,
        ...common,
        expireSeconds: definition.expireSeconds ?? UNIT_EXPIRE_S,
        concurrency: definition.concurrency ?? ((app) => app.config.workerConcurrency),
        run: (unit, data) => runChunk(unit, definition, data as ChunkData<I>),
      },
    ],
    // The same items again, for the next worker that is up; those already done are skipped there.
    async handBack(app, db, queue, data) {
      const state = await jobs.jobState(db, data.jobId);
      if (state === JobState.QUEUED || state === JobState.RUNNING) await sendUnit(app, db, queue, data);
    },
    lost: async () => 'retry',
  });
}
