/**
 * TRAIN jobs' training_runs rows, and the job changes that go with them, in plain SQL: each statement changes
 * the job only from the state the caller expects, so a cancel that lands in between always wins. (Claiming
 * and requeueing a job are the runtime's: platform/jobs/single.ts.)
 */
import type { Pool, PoolClient } from 'pg';
import { TrainingRun } from '../entities/TrainingRun';
import type { TrainingDevice, TrainingOptions, TrainingTask } from './options';

type Queryable = Pool | PoolClient;

/** A TRAIN job's params: the request, checked (src/training/jobs.ts). */
export interface TrainingParams {
  task: TrainingTask;
  name: string;
  datasetId: string | null;
  /** Absolute folder on the server, when not a dataset. */
  dataFolder: string | null;
  options: TrainingOptions;
  device: TrainingDevice;
}

/** What the trainer has reported so far, saved as one snapshot (the latest line of each kind). */
export interface RunSnapshot {
  device: string | null;
  progress: Record<string, unknown> | null;
  data: Record<string, unknown> | null;
  warnings: string[];
  epoch: number | null;
  epochs: number | null;
}

/** A fresh training_runs row for this attempt (a job requeued by a clean stop runs again from the start). */
export async function beginRun(db: Queryable, jobId: string, worker: string): Promise<void> {
  await db.query(
    `INSERT INTO training_runs (job_id, worker) VALUES ($1, $2)
     ON CONFLICT (job_id) DO UPDATE SET worker = $2, pid = NULL, device = NULL, progress = NULL, data = NULL,
       warnings = '[]', metrics = NULL, model_path = NULL, manifest_path = NULL, log = NULL, exit_code = NULL,
       updated_at = now()`,
    [jobId, worker],
  );
}

export async function setPid(db: Queryable, jobId: string, pid: number): Promise<void> {
  await db.query(`UPDATE training_runs SET pid = $2, updated_at = now() WHERE job_id = $1`, [jobId, pid]);
}

/** The snapshot, and epochs as the job's done/total (so `progress` and the CLI's bar work as for any job). */
export async function saveSnapshot(db: Queryable, jobId: string, snapshot: RunSnapshot): Promise<void> {
  await db.query(
    `WITH run AS (
       UPDATE training_runs SET device = $2, progress = $3, data = $4, warnings = $5, updated_at = now() WHERE job_id = $1
     )
     UPDATE jobs SET done = COALESCE($6, done), total = COALESCE($7, total) WHERE id = $1 AND state = 'RUNNING'`,
    [
      jobId,
      snapshot.device,
      JSON.stringify(snapshot.progress),
      JSON.stringify(snapshot.data),
      JSON.stringify(snapshot.warnings),
      snapshot.epoch,
      snapshot.epochs,
    ],
  );
}

/** The trainer has ended: its exit code and the last lines of its stderr, whatever the outcome. */
export async function saveExit(db: Queryable, jobId: string, exit: { code: number | null; log: string[] }): Promise<void> {
  await db.query(`UPDATE training_runs SET exit_code = $2, log = $3, updated_at = now() WHERE job_id = $1`, [
    jobId,
    exit.code,
    exit.log.join('\n') || null,
  ]);
}

/** RUNNING -> COMPLETED with the model's files and metrics; false when the job was cancelled meanwhile. */
export async function completeRun(
  db: Queryable,
  jobId: string,
  result: { modelPath: string; manifestPath: string; metrics: Record<string, unknown> | null },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH run AS (
       UPDATE training_runs SET model_path = $2, manifest_path = $3, metrics = $4, updated_at = now() WHERE job_id = $1
     )
     UPDATE jobs SET state = 'COMPLETED', finished_at = now(), done = COALESCE(total, done) WHERE id = $1 AND state = 'RUNNING'`,
    [jobId, result.modelPath, result.manifestPath, JSON.stringify(result.metrics)],
  );
  return rowCount === 1;
}

export async function loadRun(db: Queryable, jobId: string): Promise<TrainingRun | null> {
  const { rows } = await db.query(
    `SELECT job_id AS "jobId", worker, pid, device, progress, data, warnings, metrics, model_path AS "modelPath",
            manifest_path AS "manifestPath", log, exit_code AS "exitCode", updated_at AS "updatedAt"
     FROM training_runs WHERE job_id = $1`,
    [jobId],
  );
  return rows[0] ? Object.assign(new TrainingRun(), rows[0]) : null;
}
