/**
 * Training as a job (kind TRAIN): the mutation checks the request and queues one pg-boss unit; a worker
 * process takes it (one training at a time per worker), exports the dataset if the request names one,
 * runs the Python trainer (runner.ts) and streams its progress into the job; on success the model's files
 * move into the models folder and the model is registered.
 *
 * Stopping: cancelJob sets the job CANCELLED and the worker, which checks every second, stops the trainer.
 * A worker that stops cleanly (the function registerTrainingWorkers returns) stops its trainers and puts
 * their jobs back in the queue, to run again from the start. A worker that dies takes its trainers with it
 * (guard.js), and its jobs are marked FAILED by the next worker that looks: a worker holds a PostgreSQL
 * advisory lock per running job on a connection of its own, which the server drops when the worker dies.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type PgBoss from 'pg-boss';
import type { App } from '../app';
import { packageRoot } from '../config/paths';
import { JobKind, JobState } from '../entities';
import { assertUuid, getDataset } from '../datasets/service';
import { ManifestError } from '../models/manifest';
import { registerModelFile } from '../models/registry';
import { badUserInput } from '../schema/errors';
import { createJob, failJob, jobState, notifyJob, WORKER_ID } from '../jobs/store';
import { exportDataset } from './export';
import { checkModelName, checkTrainingOptions, trainerArgs, TrainingDevice, TrainingTask } from './options';
import { startTrainer, type TrainerEvent, type TrainerExit, type TrainerProcess } from './runner';
import * as store from './store';
import type { RunSnapshot, TrainingParams } from './store';

export const TRAIN_QUEUE = 'medpsim-train';

/**
 * pg-boss hands a unit out again once it has been active for its expiry, and allows less than 24 h: a run
 * gets 23 h, its unit half an hour more, so a unit is never handed out twice while its trainer runs.
 */
export const TRAINING_TIME_LIMIT_S = 23 * 3600;
const UNIT_EXPIRE_S = TRAINING_TIME_LIMIT_S + 1800;

/** Advisory-lock key space (the first int4 key) of training runs; the second key is hashtext(job id). */
const LOCK_SPACE = 7_301_120;

const CANCEL_CHECK_MS = 1000;
const SNAPSHOT_EVERY_MS = 250;
const MAX_WARNINGS = 50;

export interface StartTrainingInput {
  task: TrainingTask;
  datasetId?: string | null;
  dataFolder?: string | null;
  name: string;
  options?: Record<string, unknown> | null;
  device?: TrainingDevice | null;
}

const queues = new WeakMap<PgBoss, Promise<void>>();

/** The queue, created once per process (an API-only process queues units too). */
function ensureQueue(boss: PgBoss): Promise<void> {
  let created = queues.get(boss);
  if (!created) {
    created = boss.createQueue(TRAIN_QUEUE, {
      name: TRAIN_QUEUE,
      retryLimit: 3, // a unit fails only when the database does; the run's own failures end the job instead
      retryDelay: 5,
      expireInSeconds: UNIT_EXPIRE_S,
      retentionDays: 7,
    });
    created.catch(() => queues.delete(boss));
    queues.set(boss, created);
  }
  return created;
}

/** Checks the whole request (every bad field is BAD_USER_INPUT naming it), then queues the job. */
export async function startTraining(app: App, input: StartTrainingInput): Promise<string> {
  if (!Object.values(TrainingTask).includes(input.task)) {
    throw badUserInput('task', `must be one of ${Object.values(TrainingTask).join(', ')}`);
  }
  const device = input.device ?? TrainingDevice.AUTO;
  if (!Object.values(TrainingDevice).includes(device)) {
    throw badUserInput('device', `must be one of ${Object.values(TrainingDevice).join(', ')}`);
  }
  if (!input.datasetId === !input.dataFolder) throw badUserInput('datasetId', 'give datasetId or dataFolder (one of them)');
  const name = checkModelName(input.name);
  const options = checkTrainingOptions(input.task, input.options ?? {});

  let dataFolder: string | null = null;
  if (input.dataFolder) {
    dataFolder = path.resolve(input.dataFolder);
    const stat = await fs.stat(dataFolder).catch(() => null);
    if (!stat) throw badUserInput('dataFolder', `folder not found on the server: ${dataFolder}`);
    if (!stat.isDirectory()) throw badUserInput('dataFolder', `not a folder: ${dataFolder}`);
  }
  if (input.datasetId) {
    const dataset = await getDataset(app, assertUuid('datasetId', input.datasetId));
    const { rows } = await app.pool.query(`SELECT 1 FROM images WHERE dataset_id = $1 LIMIT 1`, [dataset.id]);
    if (rows.length === 0) throw badUserInput('datasetId', `dataset "${dataset.name}" has no images`);
  }

  const params: TrainingParams = { task: input.task, name, datasetId: input.datasetId ?? null, dataFolder, options, device };
  await ensureQueue(app.boss);
  const client = await app.pool.connect();
  let jobId: string;
  try {
    await client.query('BEGIN');
    // The job and its unit in one transaction: a job is never left queued without a unit to run it.
    jobId = await createJob(client, JobKind.TRAIN, params);
    const db = { executeSql: async (text: string, values: unknown[]) => client.query(text, values) };
    await app.boss.send(TRAIN_QUEUE, { jobId }, { db });
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (code === '23505' && constraint === 'jobs_active_training_name') {
      throw badUserInput('name', `a training of "${name}" is already queued or running; cancel it or choose another name`);
    }
    throw error;
  } finally {
    client.release();
  }
  return jobId;
}

/** The trainer's interpreter and where models go; MEDPSIM_PYTHON is read when the workers start. */
export interface TrainingSettings {
  python: string;
  modelsDir: string;
}

export function trainingSettings(app: App, overrides: Partial<TrainingSettings> = {}): TrainingSettings {
  return {
    python: process.env.MEDPSIM_PYTHON || '/usr/bin/python3',
    modelsDir: app.config.modelsDir,
    ...overrides,
  };
}

/**
 * Starts this process's training worker (one run at a time) and the check for runs whose worker died.
 * Returns the function that stops it: call it before the queue stops (app close, SIGINT/SIGTERM).
 */
export async function registerTrainingWorkers(app: App, overrides: Partial<TrainingSettings> = {}): Promise<() => Promise<void>> {
  const settings = trainingSettings(app, overrides);
  await ensureQueue(app.boss);
  const worker: TrainingWorker = { settings, trainers: new Map(), handlers: new Set(), stopping: false };

  const reap = () => reapLostRuns(app).catch((error) => console.error('[training] checking for lost runs:', (error as Error).message));
  void reap();
  // A dead worker's unit would come back only after its expiry (a day); this notices much sooner.
  const reaper = setInterval(reap, app.config.jobExpireSeconds * 1000);
  reaper.unref();

  await app.boss.work<{ jobId: string }>(TRAIN_QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([unit]) => {
    // Fetched while stopping: failing the unit hands it out again (after retryDelay), to a worker that is up.
    if (worker.stopping) throw new Error('this worker is stopping');
    const handler = runJob(app, worker, unit.data.jobId);
    worker.handlers.add(handler);
    try {
      await handler;
    } finally {
      worker.handlers.delete(handler);
    }
  });

  return async () => {
    worker.stopping = true;
    clearInterval(reaper);
    await app.boss.offWork(TRAIN_QUEUE);
    for (const trainer of worker.trainers.values()) void trainer.stop();
    await Promise.allSettled([...worker.handlers]);
  };
}

interface TrainingWorker {
  settings: TrainingSettings;
  /** Running trainers by job id. */
  trainers: Map<string, TrainerProcess>;
  handlers: Set<Promise<void>>;
  stopping: boolean;
}

function workFolder(app: App, jobId: string): string {
  return path.join(app.config.dataDir, 'tmp', `train-${jobId}`);
}

/** The job's advisory lock on a connection of its own, or null when a live worker holds it. */
async function lockRun(app: App, jobId: string): Promise<{ release(): Promise<void> } | null> {
  const client = new pg.Client({ connectionString: app.db.url });
  // A lost connection loses the lock: the run may then be reaped (FAILED), which stops its trainer.
  client.on('error', (error) => console.error(`[training] lock connection of job ${jobId} lost:`, error.message));
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked`, [
      LOCK_SPACE,
      jobId,
    ]);
    if (rows[0].locked) return { release: () => client.end().catch(() => {}) };
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  await client.end().catch(() => {});
  return null;
}

/** RUNNING jobs that no live worker holds: their worker died. Each becomes FAILED. */
export async function reapLostRuns(app: App): Promise<string[]> {
  const { rows } = await app.pool.query<{ id: string }>(`SELECT id FROM jobs WHERE kind = $1 AND state = 'RUNNING'`, [JobKind.TRAIN]);
  const reaped: string[] = [];
  for (const { id } of rows) {
    const lock = await lockRun(app, id);
    if (!lock) continue;
    try {
      if (await failLost(app, id)) reaped.push(id);
    } finally {
      await lock.release();
    }
  }
  return reaped;
}

/** Fails a RUNNING job whose lock the caller holds (so its worker is dead); false if it was not RUNNING. */
async function failLost(app: App, jobId: string): Promise<boolean> {
  const run = await store.loadRun(app.pool, jobId);
  const message = `the worker running this training (${run?.worker ?? 'unknown'}) stopped without finishing it; start the training again`;
  const failed = await store.failRunning(app.pool, jobId, message);
  if (failed) {
    await fs.rm(workFolder(app, jobId), { recursive: true, force: true });
    await notifyJob(app.pool, jobId);
  }
  return failed;
}

async function runJob(app: App, worker: TrainingWorker, jobId: string): Promise<void> {
  const lock = await lockRun(app, jobId);
  if (!lock) return; // a live worker runs it (a unit handed out again)
  try {
    const params = await store.claimJob(app.pool, jobId);
    if (!params) {
      // Not queued: cancelled (nothing to do), or RUNNING with nobody holding the lock (its worker died).
      if ((await jobState(app.pool, jobId)) === JobState.RUNNING) await failLost(app, jobId);
      return;
    }
    await notifyJob(app.pool, jobId);
    await runClaimed(app, worker, jobId, params);
  } finally {
    await lock.release();
  }
}

async function runClaimed(app: App, worker: TrainingWorker, jobId: string, params: TrainingParams): Promise<void> {
  const work = workFolder(app, jobId);
  try {
    await fs.rm(work, { recursive: true, force: true }); // left by an earlier attempt
    await store.beginRun(app.pool, jobId, WORKER_ID);
    const outcome = await train(app, worker, jobId, params, work);
    if (outcome) await finish(app, worker, jobId, outcome);
    else if (worker.stopping && (await store.requeueJob(app.pool, jobId))) await app.boss.send(TRAIN_QUEUE, { jobId });
  } catch (error) {
    // An error of ours (the export, the database): the job fails with it rather than staying RUNNING.
    await failJob(app.pool, jobId, `training failed: ${(error as Error).message}`);
  } finally {
    await fs.rm(work, { recursive: true, force: true }).catch(() => {});
    await notifyJob(app.pool, jobId).catch(() => {});
  }
}

interface Outcome {
  exit: TrainerExit;
  timedOut: boolean;
}

/** Runs the trainer to its end; null when the job was cancelled, or the worker stopped, before it started. */
async function train(app: App, worker: TrainingWorker, jobId: string, params: TrainingParams, work: string): Promise<Outcome | null> {
  let dataFolder = params.dataFolder!;
  if (params.datasetId) {
    dataFolder = path.join(work, 'data');
    await exportDataset(app, params.datasetId, dataFolder);
  }
  // A large export takes a while: no trainer for a job cancelled, or a worker stopping, meanwhile.
  if (worker.stopping || (await jobState(app.pool, jobId)) !== JobState.RUNNING) return null;
  // The trainer writes into the work folder; only a finished model moves into the models folder, so a
  // failed or cancelled run never leaves half a model where a good one of the same name was.
  const args = ['-m', 'medpsim_training', ...trainerArgs(params, dataFolder, path.join(work, 'out'))];
  const snapshots = snapshotWriter(app, jobId);
  const trainer = startTrainer({ program: worker.settings.python, args, cwd: path.join(packageRoot(), 'training') }, snapshots.onEvent);
  worker.trainers.set(jobId, trainer);
  let timedOut = false;
  const limit = setTimeout(() => {
    timedOut = true;
    void trainer.stop();
  }, TRAINING_TIME_LIMIT_S * 1000);
  // Cancelled (or failed by another worker): stop the trainer. Also when the worker stops meanwhile.
  const check = setInterval(async () => {
    const state = await jobState(app.pool, jobId).catch(() => JobState.RUNNING);
    if (state !== JobState.RUNNING || worker.stopping) void trainer.stop();
  }, CANCEL_CHECK_MS);
  try {
    if (trainer.pid > 0) await store.setPid(app.pool, jobId, trainer.pid);
    const exit = await trainer.exited;
    await snapshots.flush();
    await store.saveExit(app.pool, jobId, exit);
    return { exit, timedOut };
  } finally {
    clearTimeout(limit);
    clearInterval(check);
    worker.trainers.delete(jobId);
  }
}

async function finish(app: App, worker: TrainingWorker, jobId: string, { exit, timedOut }: Outcome): Promise<void> {
  if ((await jobState(app.pool, jobId)) !== JobState.RUNNING) return; // cancelled: it stays so
  if (exit.code !== 0 || !exit.done) {
    if (worker.stopping) {
      // A clean stop of the worker: the job runs again, from the start, on the next worker that is up.
      if (await store.requeueJob(app.pool, jobId)) await app.boss.send(TRAIN_QUEUE, { jobId });
    } else if (timedOut) {
      await failJob(app.pool, jobId, `stopped after the time limit of ${TRAINING_TIME_LIMIT_S / 3600} h for one training`);
    } else {
      await failJob(app.pool, jobId, failureMessage(exit));
    }
    return;
  }
  // Done, even if the worker is stopping now: the model is kept.
  const model = await installModel(exit.done, worker.settings.modelsDir);
  try {
    await registerModelFile(app, model.modelPath); // the model registry (src/models/registry.ts)
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    await failJob(app.pool, jobId, `the model was written to ${model.modelPath} but cannot be registered: ${error.message}`);
    return;
  }
  await store.completeRun(app.pool, jobId, model);
}

/** The trainer's own message when it gave one ("error" line), else the end of its stderr. */
export function failureMessage(exit: TrainerExit): string {
  if (exit.error) return exit.error;
  const last = exit.log.filter((line) => line.trim()).slice(-3).join('\n');
  const how = exit.code === 127 ? 'could not be started' : exit.code !== null && exit.code > 128 ? `was killed (exit code ${exit.code})` : `exited with code ${exit.code}`;
  return `the trainer ${how}${exit.code === 0 ? ' without a "done" line' : ''}${last ? `: ${last}` : ''}`;
}

/** Moves the model's files into the models folder; the manifest last, as it is what makes a model. */
async function installModel(done: TrainerEvent, modelsDir: string): Promise<{ modelPath: string; manifestPath: string; metrics: Record<string, unknown> | null }> {
  const files = done.files as Record<string, string> | null;
  if (!files?.onnx || !files.manifest) throw new Error('the trainer reported no model files');
  await fs.mkdir(modelsDir, { recursive: true });
  const target = (file: string) => path.join(modelsDir, path.basename(file));
  for (const key of ['checkpoint', 'parity', 'onnx', 'manifest']) {
    if (files[key]) await moveFile(files[key], target(files[key]));
  }
  const manifest = JSON.parse(await fs.readFile(target(files.manifest), 'utf8')) as { metrics?: Record<string, unknown> };
  return { modelPath: target(files.onnx), manifestPath: target(files.manifest), metrics: manifest.metrics ?? null };
}

/** rename, or copy then rename on another file system: the target name never shows a partial file. */
async function moveFile(source: string, target: string): Promise<void> {
  try {
    await fs.rename(source, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const temp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.copyFile(source, temp);
    await fs.rename(temp, target);
    await fs.rm(source, { force: true });
  }
}

/**
 * Keeps the latest of each kind of line and saves them at most every 250 ms (a trainer with --log-every 1
 * writes many lines a second), notifying jobProgress subscribers after each save.
 */
function snapshotWriter(app: App, jobId: string) {
  const snapshot: RunSnapshot = { device: null, progress: null, data: null, warnings: [], epoch: null, epochs: null };
  let dirty = false;
  let timer: NodeJS.Timeout | null = null;
  let lastSave = 0;
  let saving = Promise.resolve();

  const save = (): Promise<void> => {
    timer = null;
    if (!dirty) return saving;
    dirty = false;
    lastSave = Date.now();
    const copy = { ...snapshot, warnings: [...snapshot.warnings] };
    saving = saving
      .then(() => store.saveSnapshot(app.pool, jobId, copy))
      .then(() => notifyJob(app.pool, jobId))
      // Progress is informative: a failed save must not end a training of hours.
      .catch((error) => console.error(`[training] saving progress of job ${jobId}:`, (error as Error).message));
    return saving;
  };

  return {
    onEvent(event: TrainerEvent) {
      const { command: _command, ...line } = event;
      if (event.event === 'start') {
        snapshot.device = typeof event.device === 'string' ? event.device : null;
        const epochs = (event.config as { epochs?: unknown } | undefined)?.epochs;
        if (typeof epochs === 'number') [snapshot.epoch, snapshot.epochs] = [0, epochs]; // the bar's total from the start
      }
      else if (event.event === 'epoch' || event.event === 'progress') snapshot.progress = line;
      else if (event.event === 'metrics' && event.stage === 'data') snapshot.data = (event.data as Record<string, unknown>) ?? null;
      else if (event.event === 'warning' && snapshot.warnings.length < MAX_WARNINGS) snapshot.warnings.push(String(event.message));
      else return;
      if (event.event === 'epoch') {
        snapshot.epoch = Number(event.epoch);
        snapshot.epochs = Number(event.epochs);
      }
      dirty = true;
      timer ??= setTimeout(save, Math.max(0, lastSave + SNAPSHOT_EVERY_MS - Date.now()));
    },
    async flush() {
      if (timer) clearTimeout(timer);
      await save();
    },
  };
}
