/**
 * Job rows and their counters, in plain SQL: each change is one atomic statement, safe when several
 * worker processes work on chunks of the same job at once.
 */
import os from 'node:os';
import type { Pool, PoolClient } from 'pg';
import { ItemOutcome, JobKind, JobState } from '../entities';

export const JOB_CHANNEL = 'medpsim_jobs';

/** Names this process in job_items, so one can see which worker did what. */
export const WORKER_ID = `${os.hostname()}:${process.pid}`;

type Queryable = Pool | PoolClient;

export async function createJob(db: Queryable, kind: JobKind, params: Record<string, unknown>): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO jobs (kind, params) VALUES ($1, $2) RETURNING id`,
    [kind, JSON.stringify(params)],
  );
  return rows[0].id;
}

export async function jobState(db: Queryable, jobId: string): Promise<JobState | null> {
  const { rows } = await db.query<{ state: JobState }>(`SELECT state FROM jobs WHERE id = $1`, [jobId]);
  return rows[0]?.state ?? null;
}

export async function markRunning(db: Queryable, jobId: string): Promise<void> {
  await db.query(
    `UPDATE jobs SET state = 'RUNNING', started_at = COALESCE(started_at, now())
     WHERE id = $1 AND state IN ('QUEUED', 'RUNNING')`,
    [jobId],
  );
}

/** Records an item's outcome once; returns false when it had been recorded before (a retried chunk). */
export async function recordOutcome(
  db: Queryable,
  jobId: string,
  item: string,
  outcome: ItemOutcome,
  failure?: { code: string; message: string },
): Promise<boolean> {
  const column = { DONE: 'done', SKIPPED: 'skipped', FAILED: 'failed' }[outcome];
  const { rowCount } = await db.query(
    `WITH inserted AS (
       INSERT INTO job_items (job_id, item, outcome, code, message, worker) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (job_id, item) DO NOTHING RETURNING 1
     )
     UPDATE jobs SET ${column} = ${column} + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM inserted)`,
    [jobId, item, outcome, failure?.code ?? null, failure?.message ?? null, WORKER_ID],
  );
  return rowCount === 1;
}

export async function hasOutcome(db: Queryable, jobId: string, item: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM job_items WHERE job_id = $1 AND item = $2`, [jobId, item]);
  return rowCount === 1;
}

/** Completes the job once every item has an outcome; true if this call completed it. */
export async function completeIfFinished(db: Queryable, jobId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE jobs SET state = 'COMPLETED', finished_at = now()
     WHERE id = $1 AND state = 'RUNNING' AND total IS NOT NULL AND done + skipped + failed >= total`,
    [jobId],
  );
  return rowCount === 1;
}

export async function failJob(db: Queryable, jobId: string, error: string): Promise<void> {
  await db.query(
    `UPDATE jobs SET state = 'FAILED', error = $2, finished_at = now(), started_at = COALESCE(started_at, now())
     WHERE id = $1 AND state IN ('QUEUED', 'RUNNING')`,
    [jobId, error],
  );
}

/** Cancels a job that has not finished; its remaining items are left unprocessed. */
export async function cancelJob(db: Queryable, jobId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE jobs SET state = 'CANCELLED', finished_at = now() WHERE id = $1 AND state IN ('QUEUED', 'RUNNING')`,
    [jobId],
  );
  return rowCount === 1;
}

export async function notifyJob(db: Queryable, jobId: string): Promise<void> {
  await db.query(`SELECT pg_notify($1, $2)`, [JOB_CHANNEL, jobId]);
}
