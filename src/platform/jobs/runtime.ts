/**
 * The one job runtime. A job is a `jobs` row (state, counters, params) plus units of work queued in
 * pg-boss, in the same PostgreSQL database, so that any number of worker processes share them. Domains
 * define their kinds with defineItemJob (a planner and chunks of items: import, distortion) or
 * defineSingleJob (one unit: a training run); the runtime does the rest the same way for every kind:
 *
 * - queueing: the job row and its first unit in one transaction;
 * - taking units: the runtime's own pollers (`concurrency` per queue) claim a unit with pg-boss's fetch and
 *   its lease in one transaction, and settle it (complete, fail to be retried, hand back) in the one that
 *   ends the lease (leases.ts), so a unit is never active in pg-boss without a worker whose death shows;
 * - cancel: a watchdog reads the states of this process's jobs every 250 ms and aborts the units of jobs
 *   that finished elsewhere (cancelJob, or failed by another worker) through their AbortSignal;
 * - a clean stop (SIGINT/SIGTERM): no new units are taken, running ones (and one claimed meanwhile) are
 *   aborted and put back before it returns;
 * - a worker that died: its units are found by every worker's reaper (leases.ts) within
 *   MEDPSIM_JOB_EXPIRE_SECONDS and handed out again (or, for kinds that cannot resume, failed);
 * - a unit that fails its last retry fails its job;
 * - progress: notifyJob after each change, which jobProgress subscriptions in any process hear.
 */
import type { PoolClient } from 'pg';
import { inTransaction } from '../database';
import type PgBoss from 'pg-boss';
import type { App } from '../app';
import { executor, Leases, type Claimed, type Lease, type LostUnit } from './leases';
import { FINISHED_STATES, JobState, registerJobKind } from './states';
import * as store from './store';

/** PostgreSQL's code for connections ended by a server shutdown (ours, at exit, included). */
export const ADMIN_SHUTDOWN = '57P01';

/** Why a unit was told to stop. */
export type StopReason = 'cancelled' | 'stopping' | 'lease-lost';

const WATCHDOG_MS = 250;
/** How often an idle poller asks for a unit (a poller that found one asks again at once). */
const POLL_MS = 500;

/** A unit's new pg-boss state, set in the transaction that deletes its lease row (leases.ts settle). */
type Settlement = (db: PoolClient) => Promise<void>;

export interface UnitData {
  jobId: string;
  [key: string]: unknown;
}

export interface UnitContext {
  app: App;
  jobId: string;
  /** Aborted (with a StopReason) when the unit must stop: cancelled, worker stopping, lease lost. */
  signal: AbortSignal;
}

export interface UnitQueue {
  name: string;
  /** Units of this queue one worker process runs at once. */
  concurrency(app: App): number;
  /** pg-boss fails (and retries) a unit still running after this long; below 24 h. */
  expireSeconds: number;
  retryLimit: number;
  retryDelaySeconds: number;
  run(unit: UnitContext, data: UnitData): Promise<void>;
}

export interface JobDefinition {
  kind: string;
  description: string;
  queues: UnitQueue[];
  /** The queue of the unit sent with a new job. */
  firstQueue: string;
  /** Puts an aborted unit back on a clean stop of its worker (in the transaction of `db`). */
  handBack(app: App, db: PoolClient, queue: string, data: UnitData): Promise<void>;
  /** A unit whose worker died: 'retry' hands it out again; 'drop' ends it (the job was failed). */
  lost(app: App, jobId: string): Promise<'retry' | 'drop'>;
}

/** Registers the kind (for the GraphQL enum) and returns the definition. */
export function defineJob(definition: JobDefinition): JobDefinition {
  registerJobKind(definition.kind, definition.description);
  return definition;
}

/** Sends a unit in a transaction (pg-boss takes a db to run its insert on). */
export function sendUnit(app: App, db: PoolClient, queue: string, data: UnitData): Promise<string | null> {
  return app.boss.send(queue, data, { db: { executeSql: (text: string, values: unknown[]) => db.query(text, values) } });
}

interface RunningUnit {
  jobId: string;
  controller: AbortController;
  done: Promise<void>;
}

export class JobRuntime {
  private readonly byKind = new Map<string, JobDefinition>();
  private readonly byQueue = new Map<string, { definition: JobDefinition; queue: UnitQueue }>();
  private readonly running = new Map<string, RunningUnit>();
  private readonly leases: Leases;
  private timers: NodeJS.Timeout[] = [];
  private pollers: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();
  private stopping = false;
  private working = false;
  private watching = false;
  /** The reaper's round in progress, if any: a clean stop waits for it. */
  private reaping: Promise<string[]> | null = null;

  constructor(
    private readonly app: App,
    definitions: JobDefinition[],
  ) {
    this.leases = new Leases(app.db.url, app.pool, (error) => {
      console.error("[jobs] lease connection lost; stopping this worker's units:", error.message);
      for (const unit of this.running.values()) unit.controller.abort('lease-lost');
    });
    for (const definition of definitions) {
      this.byKind.set(definition.kind, definition);
      for (const queue of definition.queues) this.byQueue.set(queue.name, { definition, queue });
    }
  }

  /** Creates every queue (an API-only process queues units too). */
  async createQueues(): Promise<void> {
    for (const { queue } of this.byQueue.values()) {
      const options = { name: queue.name, retryLimit: queue.retryLimit, retryDelay: queue.retryDelaySeconds, expireInSeconds: queue.expireSeconds, retentionDays: 7 };
      await this.app.boss.createQueue(queue.name, options); // nothing if it exists...
      await this.app.boss.updateQueue(queue.name, options); // ...so that a queue made by an older version gets today's settings
    }
  }

  /**
   * Creates the job and its first unit in one transaction (the caller's, when it gives one, so that the job
   * exists exactly when the caller's rows do); returns the job id at once.
   */
  async queue(kind: string, params: object, transaction?: PoolClient): Promise<string> {
    const definition = this.byKind.get(kind);
    if (!definition) throw new Error(`no job kind ${kind} (is its module in src/modules.ts?)`);
    const create = async (db: PoolClient) => {
      const jobId = await store.createJob(db, kind, params);
      await sendUnit(this.app, db, definition.firstQueue, { jobId });
      return jobId;
    };
    return transaction ? create(transaction) : inTransaction(this.app.pool, create);
  }

  /** Starts taking units of every kind, the watchdog and the reaper. */
  async startWorkers(): Promise<void> {
    this.working = true;
    for (const entry of this.byQueue.values()) {
      for (let i = 0; i < entry.queue.concurrency(this.app); i++) this.pollers.push(this.poll(entry.definition, entry.queue));
    }
    this.timers.push(setInterval(() => void this.watch(), WATCHDOG_MS));
    this.timers.push(setInterval(() => void this.reapRound(), this.app.config.reapSeconds * 1000));
    for (const timer of this.timers) timer.unref();
    void this.reapRound(); // units of a worker that died before this one started
  }

  /**
   * A clean stop: takes no new units, aborts the running ones and puts them back, then returns. The
   * pollers are awaited, not only the units running when it began: a unit claimed while it stops (a fetch
   * under way) is handed back by its poller before the connections close.
   */
  async stopWorkers(): Promise<void> {
    if (!this.working) return;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const wake of this.sleepers) wake();
    for (const unit of this.running.values()) unit.controller.abort('stopping');
    await Promise.allSettled(this.pollers);
    this.pollers = [];
    // A reaper round under way finishes (each of its units is one transaction; see leases.ts).
    await this.reaping;
    await this.leases.close();
    this.working = false;
    this.stopping = false;
  }

  /** One reaper round at a time, none once stopping; stopWorkers waits for the one in progress. */
  private reapRound(): Promise<string[]> {
    if (this.stopping) return Promise.resolve([]);
    this.reaping ??= this.reap().finally(() => (this.reaping = null));
    return this.reaping;
  }

  /** Units whose worker died: handed out again, or dropped with their job failed. Returns their ids. */
  async reap(): Promise<string[]> {
    try {
      const retried: LostUnit[] = [];
      const lost = await this.leases.reap(
        (unitId) => this.running.has(unitId),
        // In the transaction that deletes the unit's row (leases.ts).
        async (unit, db) => {
          const entry = this.byQueue.get(unit.queue);
          const action = entry ? await entry.definition.lost(this.app, unit.jobId) : 'drop';
          if (action === 'drop') {
            await this.app.boss.cancel(unit.queue, unit.unitId, { db: executor(db) });
          } else {
            await this.app.boss.fail(unit.queue, unit.unitId, { error: 'its worker stopped without finishing it' }, { db: executor(db) });
            retried.push(unit);
          }
        },
      );
      for (const unit of retried) {
        const after = await this.app.boss.getJobById(unit.queue, unit.unitId);
        if (after?.state === 'failed') await this.failJob(unit.jobId, `${unit.queue}: its workers stopped without finishing it ${after.retryCount + 1} times`);
      }
      return lost.map((unit) => unit.unitId);
    } catch (error) {
      console.error('[jobs] looking for units of workers that died:', (error as Error).message);
      return [];
    }
  }

  /** One of a queue's `concurrency` pollers: claims a unit, runs and settles it, until the workers stop. */
  private async poll(definition: JobDefinition, queue: UnitQueue): Promise<void> {
    while (!this.stopping) {
      let claimed: Claimed<PgBoss.JobWithMetadata<UnitData>> | null = null;
      try {
        claimed = await this.leases.claim(
          queue.name,
          (db) => this.app.boss.fetch<UnitData>(queue.name, { batchSize: 1, includeMetadata: true, db }),
          (unitId) => this.running.has(unitId),
        );
      } catch (error) {
        if (!this.stopping) console.error(`[jobs] taking a unit of ${queue.name}:`, (error as Error).message);
      }
      if (claimed) await this.runUnit(definition, queue, claimed.unit, claimed.lease);
      else await this.sleep(POLL_MS);
    }
  }

  /** Waits, or less when the workers stop. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private async runUnit(definition: JobDefinition, queue: UnitQueue, unit: PgBoss.JobWithMetadata<UnitData>, lease: Lease): Promise<void> {
    const controller = new AbortController();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.running.set(unit.id, { jobId: unit.data.jobId, controller, done });
    try {
      // Claimed while stopping: back in the queue for a worker that is up, without running it.
      const settlement = this.stopping ? this.handBack(definition, queue, unit) : await this.runLeased(definition, queue, unit, controller);
      await lease.settle(settlement);
    } catch (error) {
      console.error(`[jobs] settling unit ${unit.id} of ${queue.name}:`, (error as Error).message);
    } finally {
      this.running.delete(unit.id);
      finish(); // after the unit was settled (put back, on a clean stop): stopWorkers waits for this
    }
  }

  /** Runs the unit; returns its new pg-boss state, set in the transaction that ends its lease. */
  private async runLeased(definition: JobDefinition, queue: UnitQueue, unit: PgBoss.JobWithMetadata<UnitData>, controller: AbortController): Promise<Settlement> {
    try {
      await queue.run({ app: this.app, jobId: unit.data.jobId, signal: controller.signal }, unit.data);
    } catch (error) {
      if (controller.signal.reason !== 'stopping') {
        if (unit.retryCount >= unit.retryLimit) await this.failJob(unit.data.jobId, `${queue.name} failed: ${(error as Error).message}`);
        return this.fail(queue, unit, error as Error); // retried by pg-boss
      }
    }
    if (controller.signal.reason === 'stopping') return this.handBack(definition, queue, unit);
    if (controller.signal.reason === 'lease-lost' && (await definition.lost(this.app, unit.data.jobId)) === 'retry') {
      return this.fail(queue, unit, new Error('this worker lost its lease on the unit')); // handed out again
    }
    return async (db) => {
      await this.app.boss.complete(queue.name, unit.id, null as unknown as object, { db: executor(db) });
    };
  }

  private fail(queue: UnitQueue, unit: PgBoss.JobWithMetadata<UnitData>, error: Error): Settlement {
    return async (db) => {
      await this.app.boss.fail(queue.name, unit.id, { message: error.message }, { db: executor(db) });
    };
  }

  /** The unit's work queued again (definition.handBack) and the unit completed, in one transaction. */
  private handBack(definition: JobDefinition, queue: UnitQueue, unit: PgBoss.JobWithMetadata<UnitData>): Settlement {
    return async (db) => {
      await definition.handBack(this.app, db, queue.name, unit.data);
      await this.app.boss.complete(queue.name, unit.id, null as unknown as object, { db: executor(db) });
    };
  }

  private async failJob(jobId: string, message: string): Promise<void> {
    await store.failJob(this.app.pool, jobId, message);
    await store.notifyJob(this.app.pool, jobId);
  }

  /** Aborts the units of jobs that finished elsewhere (cancelled, or failed by another worker). */
  private async watch(): Promise<void> {
    if (this.watching || this.running.size === 0) return;
    this.watching = true;
    try {
      const jobIds = [...new Set([...this.running.values()].map((unit) => unit.jobId))];
      const { rows } = await this.app.pool.query<{ id: string; state: JobState }>(`SELECT id, state FROM jobs WHERE id = ANY($1::uuid[])`, [jobIds]);
      const states = new Map(rows.map((row) => [row.id, row.state]));
      for (const unit of this.running.values()) {
        const state = states.get(unit.jobId);
        if (state === undefined || FINISHED_STATES.includes(state)) unit.controller.abort('cancelled');
      }
    } catch {
      // The next round tries again; a database that stays away fails the units by itself.
    } finally {
      this.watching = false;
    }
  }
}
