/**
 * Jobs run as one unit from start to end (a training run): the unit claims the job (QUEUED -> RUNNING)
 * and runs it. It cannot resume half-way, so a clean stop of its worker puts the job back in the queue to
 * run again from the start, and a worker that died fails it with a message saying so.
 */
import type { App } from '../app';
import { defineJob, sendUnit, type JobDefinition, type UnitContext } from './runtime';
import { JobState } from './states';
import * as jobs from './store';

export interface SingleJob<P> {
  kind: string;
  description: string;
  /** What one run is called in messages, e.g. "training". */
  noun: string;
  /** pg-boss's limit on one unit, below 24 h: the run's own time limit must be shorter. */
  expireSeconds: number;
  /** Runs one claimed job; it completes or fails the job itself. Returns early once unit.signal aborts. */
  run(unit: UnitContext, params: P): Promise<void>;
  /** Fails a job whose worker died (and cleans up after it); false when it was not RUNNING. */
  failLost(app: App, jobId: string): Promise<boolean>;
}

export function defineSingleJob<P>(definition: SingleJob<P>): JobDefinition {
  const queue = `medpsim-${definition.kind.toLowerCase()}`;

  const run = async (unit: UnitContext): Promise<void> => {
    const { app, jobId } = unit;
    const params = await jobs.claimJob<P>(app.pool, jobId);
    if (!params) {
      // Not queued: cancelled (nothing to do), or RUNNING although nobody runs it (its worker died).
      if ((await jobs.jobState(app.pool, jobId)) === JobState.RUNNING) await definition.failLost(app, jobId);
      return;
    }
    await jobs.notifyJob(app.pool, jobId);
    try {
      await definition.run(unit, params);
    } catch (error) {
      // An error of ours (the database, the file system): the job fails with it rather than staying RUNNING.
      await jobs.failJob(app.pool, jobId, `${definition.noun} failed: ${(error as Error).message}`);
    } finally {
      await jobs.notifyJob(app.pool, jobId).catch(() => {});
    }
  };

  return defineJob({
    kind: definition.kind,
    description: definition.description,
    firstQueue: queue,
    // retryLimit: a unit fails only when the database does; the run's own failures end the job instead.
    queues: [{ name: queue, concurrency: () => 1, expireSeconds: definition.expireSeconds, retryLimit: 3, retryDelaySeconds: 5, run }],
    async handBack(app, db, name, data) {
      const state = await jobs.jobState(db, data.jobId);
      if (state === JobState.QUEUED || (await jobs.requeueJob(db, data.jobId))) await sendUnit(app, db, name, data);
      await jobs.notifyJob(db, data.jobId);
    },
    async lost(app, jobId) {
      await definition.failLost(app, jobId);
      return 'drop';
    },
  });
}
