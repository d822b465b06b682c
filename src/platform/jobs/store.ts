/**
 * Job rows and their counters, in plain SQL: each change is one atomic statement, safe when several
 * worker processes work on chunks of the same job at once.
 */
import os from 'node:os';
import type { Pool, PoolClient } from 'pg';
import { notify } from '../notifications';
import { ItemOutcome, JobState } from './states';

export const JOB_CHANNEL = 'medpsim_jobs';

/** Names this process in job_items, so one can see which worker did what. */
export const WORKER_ID = `${os.hostname()}:${process.pid}`;

type Queryable = Pool | PoolClient;

export async function createJob(db: Queryable, kind: string, params: object): Promise<string> {
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

/**
 * One statement that records an item's outcome once and moves the matching counter, so a retried item is
 * never counted twice. `outcome` is an SQL expression; `prelude` CTEs (their parameters from $6 on) may
 * decide it in the same statement, e.g. from an INSERT ... RETURNING. Parameters: $1 job id, $2 item,
 * $3 worker, $4 failure code, $5 failure message. Returns the outcome, or no row if already recorded.
 */
export function recordOutcomeSql(outcome: string, prelude?: string): string {
  return `WITH ${prelude ? `${prelude},` : ''}
    recorded AS (
      INSERT INTO job_items (job_id, item, outcome, code, message, worker)
      SELECT $1::uuid, $2::text, ${outcome}, $4::text, $5::text, $3::text
      ON CONFLICT (job_id, item) DO NOTHING
      RETURNING outcome
    )
    UPDATE jobs SET
      done = done + (SELECT count(*) FROM recorded WHERE outcome = 'DONE'),
      skipped = skipped + (SELECT count(*) FROM recorded WHERE outcome = 'SKIPPED'),
      failed = failed + (SELECT count(*) FROM recorded WHERE outcome = 'FAILED')
    WHERE id = $1 AND EXISTS (SELECT 1 FROM recorded)
    RETURNING (SELECT outcome FROM recorded) AS outcome`;
}

export function recordOutcomeParams(jobId: string, item: string, failure?: { code: string; message: string }): unknown[] {
  return [jobId, item, WORKER_ID, failure?.code ?? null, failure?.message ?? null];
}

/** Records an item's outcome once; returns false when it had been recorded before (a retried chunk). */
export async function recordOutcome(
  db: Queryable,
  jobId: string,
  item: string,
  outcome: ItemOutcome,
  failure?: { code: string; message: string },
): Promise<boolean> {
  const { rowCount } = await db.query(recordOutcomeSql('$6::text'), [...recordOutcomeParams(jobId, item, failure), outcome]);
  return rowCount === 1;
}

/** Items of the list that already have an outcome in this job (done before a retry). */
export async function itemsWithOutcome(db: Queryable, jobId: string, items: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ item: string }>(`SELECT item FROM job_items WHERE job_id = $1 AND item = ANY($2)`, [
    jobId,
    items,
  ]);
  return new Set(rows.map((row) => row.item));
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

/** RUNNING -> FAILED only (a job whose worker died, not one queued again meanwhile); false otherwise. */
export async function failRunning(db: Queryable, jobId: string, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE jobs SET state = 'FAILED', error = $2, finished_at = now() WHERE id = $1 AND state = 'RUNNING'`,
    [jobId, error],
  );
  return rowCount === 1;
}

/** Cancels a job that has not finished; its remaining items are left unprocessed. */
export async function cancelJob(db: Queryable, jobId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE jobs SET state = 'CANCELLED', finished_at = now() WHERE id = $1 AND state IN ('QUEUED', 'RUNNING')`,
    [jobId],
  );
  return rowCount === 1;
}

export function notifyJob(db: Queryable, jobId: string): Promise<void> {
  return notify(db, JOB_CHANNEL, jobId);
}

/** QUEUED -> RUNNING for a job run as one unit; returns its params, or null when it is not queued. */
export async function claimJob<P>(db: Queryable, jobId: string): Promise<P | null> {
  const { rows } = await db.query<{ params: P }>(
    `UPDATE jobs SET state = 'RUNNING', started_at = now(), done = 0, total = NULL, error = NULL
     WHERE id = $1 AND state = 'QUEUED' RETURNING params`,
    [jobId],
  );
  return rows[0]?.params ?? null;
}

/** RUNNING -> QUEUED, to run again from the start; false when it was not RUNNING. */
export async function requeueJob(db: Queryable, jobId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE jobs SET state = 'QUEUED', started_at = NULL, done = 0, total = NULL WHERE id = $1 AND state = 'RUNNING'`,
    [jobId],
  );
  return rowCount === 1;
}

/** Progress of a job run as one unit (while it is RUNNING). */
export async function setProgress(db: Queryable, jobId: string, done: number, total: number | null): Promise<void> {
  await db.query(`UPDATE jobs SET done = $2, total = COALESCE($3, total) WHERE id = $1 AND state = 'RUNNING'`, [jobId, done, total]);
}

/** RUNNING -> COMPLETED for a job run as one unit; false when it was not RUNNING (e.g. cancelled meanwhile). */
export async function completeRunning(db: Queryable, jobId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE jobs SET state = 'COMPLETED', finished_at = now(), done = COALESCE(total, done) WHERE id = $1 AND state = 'RUNNING'`,
    [jobId],
  );
  return rowCount === 1;
}
