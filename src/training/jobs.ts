/**
 * Training as a job (kind TRAIN), one unit on the job runtime (platform/jobs/single.ts): the mutation checks
 * the request and queues the job; a worker process takes it (one training at a time per worker), exports
 * the dataset if the request names one, runs the Python trainer (runner.ts) and streams its progress into
 * the job; on success the model's files move into the models folder and the model is registered.
 *
 * Stopping goes through the unit's signal: a cancelled job, or a worker that stops cleanly, stops the
 * trainer (the runtime then queues the job again after a clean stop, to run from the start). A worker that
 * dies takes its trainers with it (guard.js), and the runtime's reaper fails its job with a message.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { App } from '../platform/app';
import { defineSettings } from '../platform/config';
import { badUserInput } from '../platform/errors';
import { folderInsideRoots } from '../platform/files';
import { defineSingleJob } from '../platform/jobs/single';
import type { UnitContext } from '../platform/jobs/runtime';
import { failJob, failRunning, jobState, notifyJob, WORKER_ID } from '../platform/jobs/store';
import { JobState } from '../platform/jobs/states';
import { packageRoot } from '../platform/paths';
import { getDataset } from '../datasets/service';
import { ManifestError } from '../models/manifest';
import { registerModelFile } from '../models/registry';
import { MODEL_SETTINGS } from '../models/settings';
import { exportDataset } from './export';
import { checkModelName, checkTrainingOptions, trainerArgs, TrainingDevice, TrainingTask } from './options';
import { startTrainer, type TrainerEvent, type TrainerExit } from './runner';
import * as store from './store';
import type { RunSnapshot, TrainingParams } from './store';

export const TRAIN = 'TRAIN';

export const TRAINING_SETTINGS = defineSettings('training', (env) => ({
  /** The Python with torch that runs the trainer. */
  python: env.MEDPSIM_PYTHON || '/usr/bin/python3',
}));

/**
 * pg-boss fails a unit still active after its expiry, which must be under 24 h: a run gets 23 h, its unit
 * half an hour more, so a unit is never failed while its trainer runs.
 */
export const TRAINING_TIME_LIMIT_S = 23 * 3600;
const UNIT_EXPIRE_S = TRAINING_TIME_LIMIT_S + 1800;

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

  const dataFolder = input.dataFolder ? await folderInsideRoots(app.config, input.dataFolder, 'dataFolder') : null;
  if (input.datasetId) {
    const dataset = await getDataset(app, input.datasetId, 'datasetId');
    const { rows } = await app.pool.query(`SELECT 1 FROM images WHERE dataset_id = $1 LIMIT 1`, [dataset.id]);
    if (rows.length === 0) throw badUserInput('datasetId', `dataset "${dataset.name}" has no images`);
  }

  const params: TrainingParams = { task: input.task, name, datasetId: input.datasetId ?? null, dataFolder, options, device };
  try {
    return await app.jobs.queue(TRAIN, params);
  } catch (error) {
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (code === '23505' && constraint === 'jobs_active_training_name') {
      throw badUserInput('name', `a training of "${name}" is already queued or running; cancel it or choose another name`);
    }
    throw error;
  }
}

function workFolder(app: App, jobId: string): string {
  return path.join(app.config.dataDir, 'tmp', `train-${jobId}`);
}

export const trainingJob = defineSingleJob<TrainingParams>({
  kind: TRAIN,
  description: 'Trains a model with the Python trainer (classifier, DAE or GAN) and registers it.',
  noun: 'training',
  expireSeconds: UNIT_EXPIRE_S,
  run: runTraining,
  async failLost(app, jobId) {
    const run = await store.loadRun(app.pool, jobId);
    const message = `the worker running this training (${run?.worker ?? 'unknown'}) stopped without finishing it; start the training again`;
    const failed = await failRunning(app.pool, jobId, message);
    if (failed) {
      await fs.rm(workFolder(app, jobId), { recursive: true, force: true });
      await notifyJob(app.pool, jobId);
    }
    return failed;
  },
});

async function runTraining(unit: UnitContext, params: TrainingParams): Promise<void> {
  const { app, jobId } = unit;
  const work = workFolder(app, jobId);
  try {
    await fs.rm(work, { recursive: true, force: true }); // left by an earlier attempt
    await store.beginRun(app.pool, jobId, WORKER_ID);
    const outcome = await train(unit, params, work);
    if (outcome) await finish(unit, outcome);
  } finally {
    await fs.rm(work, { recursive: true, force: true }).catch(() => {});
  }
}

interface Outcome {
  exit: TrainerExit;
  timedOut: boolean;
}

/** Runs the trainer to its end; null when the unit was told to stop before it started. */
async function train(unit: UnitContext, params: TrainingParams, work: string): Promise<Outcome | null> {
  const { app, jobId, signal } = unit;
  let dataFolder = params.dataFolder!;
  if (params.datasetId) {
    dataFolder = path.join(work, 'data');
    await exportDataset(app, params.datasetId, dataFolder);
  }
  // A large export takes a while: no trainer for a job cancelled, or a worker stopping, meanwhile.
  if (signal.aborted) return null;
  // The trainer writes into the work folder; only a finished model moves into the models folder, so a
  // failed or cancelled run never leaves half a model where a good one of the same name was.
  const args = ['-m', 'medpsim_training', ...trainerArgs(params, dataFolder, path.join(work, 'out'))];
  const snapshots = snapshotWriter(app, jobId);
  const python = app.settings(TRAINING_SETTINGS).python;
  const trainer = startTrainer({ program: python, args, cwd: path.join(packageRoot(), 'training') }, snapshots.onEvent);
  let timedOut = false;
  const limit = setTimeout(() => {
    timedOut = true;
    void trainer.stop();
  }, TRAINING_TIME_LIMIT_S * 1000);
  const stop = () => void trainer.stop();
  signal.addEventListener('abort', stop);
  try {
    if (trainer.pid > 0) await store.setPid(app.pool, jobId, trainer.pid);
    const exit = await trainer.exited;
    await snapshots.flush();
    await store.saveExit(app.pool, jobId, exit);
    return { exit, timedOut };
  } finally {
    clearTimeout(limit);
    signal.removeEventListener('abort', stop);
  }
}

async function finish(unit: UnitContext, { exit, timedOut }: Outcome): Promise<void> {
  const { app, jobId, signal } = unit;
  if ((await jobState(app.pool, jobId)) !== JobState.RUNNING) return; // cancelled: it stays so
  if (exit.code !== 0 || !exit.done) {
    if (signal.aborted) return; // the worker stops: the runtime queues the job again
    await failJob(
      app.pool,
      jobId,
      timedOut ? `stopped after the time limit of ${TRAINING_TIME_LIMIT_S / 3600} h for one training` : failureMessage(exit),
    );
    return;
  }
  // Done, even if the worker is stopping now: the model is kept.
  const model = await installModel(exit.done, app.settings(MODEL_SETTINGS).modelsDir);
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
export async function installModel(done: TrainerEvent, modelsDir: string): Promise<{ modelPath: string; manifestPath: string; metrics: Record<string, unknown> | null }> {
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
