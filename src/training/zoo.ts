/**
 * Generator zoos: K generators (GAN- and DAE-style) whose Table 1 knobs are drawn, seeded, from the request's
 * ranges (zoo-knobs.ts), each trained briefly by the Python trainer on a server dataset, registered as models
 * `<zoo>-m<index>` and grouped under the zoo's name.
 *
 * A TRAIN_ZOO item job whose items are the members, one per unit: progress counts members, a cancel stops the
 * trainer of the member in training, and a unit run again after a crash trains only the members without an
 * outcome (a member that was registered just before the crash is found and recorded, not trained again).
 *
 * The guard: a trained draw whose output on held-out images is (nearly) the identity or (nearly) constant, or
 * not finite, is degenerate (`degeneracy` below, docs/zoo.md). It is kept as a DEGENERATE draw with its
 * statistics, its files are not registered, and the member's next draw is trained instead, up to guard.draws.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { checkSeed } from '../distortions/apply';
import { getDataset } from '../datasets/service';
import { ItemOutcome, JobState } from '../entities/Job';
import { ModelZoo, ModelZooState, ZooDraw, ZooDrawState } from '../entities/ModelZoo';
import type { App } from '../platform/app';
import { inTransaction } from '../platform/database';
import { badUserInput, checkText, notFound, requireIntInRange } from '../platform/errors';
import { defineItemJob, PlanError } from '../platform/jobs/items';
import * as jobs from '../platform/jobs/store';
import { packageRoot } from '../platform/paths';
import { ManifestError, MODEL_NAME_PATTERN } from '../models/manifest';
import { registerModelFile } from '../models/registry';
import { MODEL_SETTINGS } from '../models/settings';
import { exportDataset } from './export';
import { failureMessage, installModel, TRAINING_SETTINGS, TRAINING_TIME_LIMIT_S } from './jobs';
import { checkOptionValues, trainerArgs, TrainingDevice, TrainingTask, type TrainingOptions } from './options';
import { startTrainer, type TrainerExit } from './runner';
import { checkRanges, drawKnobs, KNOB_OPTIONS, knobOptions, sizeNeeds, type KnobRanges, type Knobs } from './zoo-knobs';
import { hashU32 } from '../synth/random';

export const TRAIN_ZOO = 'TRAIN_ZOO';

export const ZOO_LIMITS = {
  size: { min: 1, max: 256, default: 24 },
  draws: { min: 1, max: 10, default: 3 },
} as const;

/** What a zoo member trains with unless the request says otherwise: BAPPS trained each member briefly (one epoch). */
export const ZOO_DEFAULT_OPTIONS: TrainingOptions = { epochs: 1, imageSize: 64, batchSize: 8 };

export interface ZooGuard {
  /** Degenerate below: the RMS change the member makes to a clean held-out image, in [0, 1] units. */
  minRmsChange: number;
  /** Degenerate below: the output's contrast (std) over the input's. */
  minContrastRatio: number;
  /** Draws per member before it is given up (the first and its replacements). */
  draws: number;
}

export const DEFAULT_GUARD: ZooGuard = { minRmsChange: 0.002, minContrastRatio: 0.05, draws: ZOO_LIMITS.draws.default };

export interface TrainZooInput {
  name: string;
  datasetId: string;
  size?: number | null;
  seed: number;
  ranges?: Record<string, unknown> | null;
  options?: Record<string, unknown> | null;
  guard?: { [K in keyof ZooGuard]?: number | null } | null;
  device?: TrainingDevice | null;
}

export interface ZooParams {
  zooId: string;
  name: string;
  datasetId: string;
  size: number;
  seed: number;
  ranges: KnobRanges;
  options: TrainingOptions;
  guard: ZooGuard;
  device: TrainingDevice;
}

/** A member's model name: `<zoo>-m007`. */
export function memberName(zoo: string, index: number): string {
  return `${zoo}-m${String(index).padStart(3, '0')}`;
}

/** The trainer's seed of one draw of one member (its own, so members do not share initialisations). */
function memberSeed(seed: number, index: number, draw: number): number {
  return hashU32(seed, 0x3000 + draw, index);
}

function checkGuard(input: TrainZooInput['guard']): ZooGuard {
  const given = Object.entries(input ?? {}).filter(([, value]) => value !== null && value !== undefined);
  const guard: ZooGuard = { ...DEFAULT_GUARD, ...Object.fromEntries(given) };
  for (const name of ['minRmsChange', 'minContrastRatio'] as const) {
    const value = guard[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
      throw badUserInput(`guard.${name}`, `must be a number in [0, 1], got ${JSON.stringify(value)}`, { min: 0, max: 1 });
    }
  }
  guard.draws = requireIntInRange('guard.draws', guard.draws, ZOO_LIMITS.draws.min, ZOO_LIMITS.draws.max);
  return guard;
}

/** The fixed trainer options of every member: train-gan's allow-list without the options the knobs set. */
function checkZooOptions(input: Record<string, unknown> | null | undefined, ranges: KnobRanges): TrainingOptions {
  for (const name of Object.keys(input ?? {})) {
    if (KNOB_OPTIONS.has(name)) throw badUserInput(`options.${name}`, `is drawn per member: give its range in ranges instead`);
    if (name === 'seed') throw badUserInput('options.seed', "each member's seed comes from the zoo's seed: give seed instead");
  }
  // The size against the largest draw, below, rather than against train-gan's default generator.
  const options = { ...ZOO_DEFAULT_OPTIONS, ...checkOptionValues(TrainingTask.GAN, input ?? {}) };
  const size = Number(options.imageSize);
  const needs = sizeNeeds(ranges);
  if (size % needs.multiple !== 0) {
    throw badUserInput('options.imageSize', `must be a multiple of ${needs.multiple} for the largest generator the ranges allow (gLayers up to ${(ranges.gLayers as number[])[1]}); ${size} is not`, { multiple: needs.multiple });
  }
  const adversarial = (ranges.wAdv as number[])[1] > 0;
  if (adversarial && size < needs.discriminator) {
    throw badUserInput('options.imageSize', `must be at least ${needs.discriminator} for dLayers up to ${(ranges.dLayers as number[])[1]}; got ${size}`, { min: needs.discriminator });
  }
  return options;
}

/** Checks the whole request (each bad field is BAD_USER_INPUT naming it), stores the zoo and queues its job. */
export async function trainGeneratorZoo(app: App, input: TrainZooInput): Promise<string> {
  const name = checkText('name', input.name, 90);
  if (!MODEL_NAME_PATTERN.test(name)) throw badUserInput('name', `must be letters, digits, ".", "_" and "-", starting with a letter or digit (members are ${memberName(name, 0)}, ...); got "${name}"`);
  const size = requireIntInRange('size', input.size ?? ZOO_LIMITS.size.default, ZOO_LIMITS.size.min, ZOO_LIMITS.size.max);
  const seed = checkSeed(input.seed);
  const ranges = checkRanges(input.ranges);
  const options = checkZooOptions(input.options, ranges);
  const guard = checkGuard(input.guard);
  const device = input.device ?? TrainingDevice.AUTO;
  if (!Object.values(TrainingDevice).includes(device)) throw badUserInput('device', `must be one of ${Object.values(TrainingDevice).join(', ')}`);
  const dataset = await getDataset(app, input.datasetId, 'datasetId');
  const { rows: images } = await app.pool.query(`SELECT 1 FROM images WHERE dataset_id = $1 LIMIT 1`, [dataset.id]);
  if (images.length === 0) throw badUserInput('datasetId', `dataset "${dataset.name}" has no images`);

  return inTransaction(app.pool, async (db) => {
    const { rows: taken } = await db.query(
      `SELECT (SELECT name FROM model_zoos WHERE name = $1) AS zoo,
              (SELECT name FROM models WHERE name = ANY($2) ORDER BY name LIMIT 1) AS model`,
      [name, Array.from({ length: size }, (_, index) => memberName(name, index))],
    );
    if (taken[0].zoo) throw badUserInput('name', `a zoo named "${name}" exists; choose another name`);
    if (taken[0].model) throw badUserInput('name', `model "${taken[0].model}" is registered under this zoo's member names; choose another name`);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO model_zoos (name, dataset_id, size, seed, ranges, options, guard) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [name, dataset.id, size, seed, JSON.stringify(ranges), JSON.stringify(options), JSON.stringify(guard)],
    ).catch((error) => {
      if ((error as { code?: string }).code === '23505') throw badUserInput('name', `a zoo named "${name}" exists; choose another name`);
      throw error;
    });
    const zooId = rows[0].id;
    const params: ZooParams = { zooId, name, datasetId: dataset.id, size, seed, ranges, options, guard, device };
    const jobId = await app.jobs.queue(TRAIN_ZOO, params, db);
    await db.query(`UPDATE model_zoos SET job_id = $2 WHERE id = $1`, [zooId, jobId]);
    return zooId;
  });
}

/** The guard's statistics of a trained draw, as the trainer reports them (metrics.guard). */
export interface GuardStats {
  rmsChange: number | null;
  contrastRatio: number | null;
  finite: boolean;
  images: number;
  on: string;
}

/** Why a draw is degenerate, or null when it is a member. */
export function degeneracy(stats: GuardStats | undefined, guard: ZooGuard): string | null {
  if (!stats) return 'the trainer reported no guard statistics';
  if (!stats.finite) return 'its output is not finite (the training diverged)';
  if (stats.rmsChange !== null && stats.rmsChange < guard.minRmsChange) {
    return `nearly the identity: it changes a held-out image by ${stats.rmsChange.toPrecision(3)} RMS (< ${guard.minRmsChange})`;
  }
  if (stats.contrastRatio !== null && stats.contrastRatio < guard.minContrastRatio) {
    return `nearly constant: its output keeps ${stats.contrastRatio.toPrecision(3)} of the input's contrast (< ${guard.minContrastRatio})`;
  }
  return null;
}

interface MemberItem {
  index: number;
  /** Its model name, also the item's key in the job's outcomes. */
  name: string;
}

/**
 * A member's work folder, one per attempt: the trainer of a worker that died may still be stopping (guard.js
 * gives it a grace period) when the next attempt starts, and must not write into the new one's files.
 */
function workFolder(app: App, jobId: string, index: number): string {
  return path.join(app.config.dataDir, 'tmp', `zoo-${jobId}-${index}-${randomBytes(4).toString('hex')}`);
}

/** Removes the work folders whose names start with `zoo-<jobId>-<member>`: earlier attempts' at a member, or all. */
async function removeWorkFolders(app: App, jobId: string, member: number | null): Promise<void> {
  const tmp = path.join(app.config.dataDir, 'tmp');
  const prefix = member === null ? `zoo-${jobId}-` : `zoo-${jobId}-${member}-`;
  const entries = await fs.readdir(tmp).catch(() => [] as string[]);
  await Promise.all(entries.filter((name) => name.startsWith(prefix)).map((name) => fs.rm(path.join(tmp, name), { recursive: true, force: true })));
}

/**
 * Once every member has its outcome, or the job was cancelled: every work folder of the job, also one a killed
 * worker left half-removed after recording its member (no attempt at that member comes again to clear it).
 */
async function removeWorkFoldersIfFinished(app: App, jobId: string): Promise<void> {
  const { rows } = await app.pool.query<{ finished: boolean }>(
    `SELECT state NOT IN ('QUEUED', 'RUNNING') OR (total IS NOT NULL AND done + skipped + failed >= total) AS finished FROM jobs WHERE id = $1`,
    [jobId],
  );
  if (rows[0]?.finished ?? true) await removeWorkFolders(app, jobId, null);
}

/** Runs the trainer for one draw; null when the unit was told to stop meanwhile. */
async function trainDraw(app: App, params: ZooParams, args: string[], signal: AbortSignal): Promise<TrainerExit | null> {
  const python = app.settings(TRAINING_SETTINGS).python;
  const trainer = startTrainer({ program: python, args: ['-m', 'medpsim_training', ...args], cwd: path.join(packageRoot(), 'training') }, () => {});
  const stop = () => void trainer.stop();
  const limit = setTimeout(stop, TRAINING_TIME_LIMIT_S * 1000);
  signal.addEventListener('abort', stop);
  try {
    const exit = await trainer.exited;
    return signal.aborted ? null : exit;
  } finally {
    clearTimeout(limit);
    signal.removeEventListener('abort', stop);
  }
}

async function recordDraw(
  app: App,
  params: ZooParams,
  row: { index: number; draw: number; state: 'MEMBER' | 'DEGENERATE'; knobs: Knobs; options: TrainingOptions; guard: GuardStats | undefined; reason: string | null; model: string | null; sha256: string | null; summary: unknown },
  jobId: string,
): Promise<void> {
  const insert = `INSERT INTO model_zoo_draws (zoo_id, index, draw, state, knobs, options, guard, reason, model_name, sha256, summary)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (zoo_id, index, draw) DO NOTHING`;
  const values = [
    params.zooId,
    row.index,
    row.draw,
    row.state,
    JSON.stringify(row.knobs),
    JSON.stringify(row.options),
    row.guard ? JSON.stringify(row.guard) : null,
    row.reason,
    row.model,
    row.sha256,
    row.summary ? JSON.stringify(row.summary) : null,
  ];
  if (row.state === 'DEGENERATE') {
    await app.pool.query(insert, values);
    return;
  }
  // The member and its item's outcome in one statement: a crash leaves both or neither.
  await app.pool.query(
    jobs.recordOutcomeSql(`'DONE'`, `member AS (${insert.replace(/\$(\d+)/g, (_, n) => `$${Number(n) + 5}`)} RETURNING 1)`),
    [...jobs.recordOutcomeParams(jobId, memberName(params.name, row.index)), ...values],
  );
}

async function trainMember(app: App, jobId: string, params: ZooParams, item: MemberItem, signal: AbortSignal): Promise<void> {
  const { index, name } = item;
  const { rows: earlier } = await app.pool.query<{ draw: number; state: string; reason: string | null }>(
    `SELECT draw, state, reason FROM model_zoo_draws WHERE zoo_id = $1 AND index = $2 ORDER BY draw`,
    [params.zooId, index],
  );
  if (earlier.some((row) => row.state === 'MEMBER')) {
    // Registered just before a crash (the outcome is recorded in the member's statement, so this is rare).
    await jobs.recordOutcome(app.pool, jobId, name, ItemOutcome.DONE);
    await removeWorkFoldersIfFinished(app, jobId);
    return;
  }
  const reasons = earlier.map((row) => `draw ${row.draw}: ${row.reason}`);
  const work = workFolder(app, jobId, index);
  try {
    await removeWorkFolders(app, jobId, index); // earlier attempts' (a killed worker's trainer may have written there)
    const data = path.join(work, 'data');
    await exportDataset(app, params.datasetId, data);
    for (let draw = earlier.length; draw < params.guard.draws; draw++) {
      if (signal.aborted) return;
      const knobs = drawKnobs(params.ranges, params.seed, index, draw);
      const options: TrainingOptions = { ...params.options, ...knobOptions(knobs), seed: memberSeed(params.seed, index, draw) };
      const out = path.join(work, `draw-${draw}`);
      const args = [
        ...trainerArgs({ task: TrainingTask.GAN, name, device: params.device, options }, data, out),
        '--zoo-member',
        JSON.stringify({ zoo: params.name, index, draw, seed: params.seed, knobs }),
      ];
      const exit = await trainDraw(app, params, args, signal);
      if (!exit) return; // stopped: no outcome, the unit runs again
      if (exit.code !== 0 || !exit.done) {
        await jobs.recordOutcome(app.pool, jobId, name, ItemOutcome.FAILED, { code: 'TRAINER', message: `draw ${draw}: ${failureMessage(exit)}` });
        return;
      }
      const metrics = (exit.done.metrics ?? {}) as { guard?: GuardStats };
      const summary = { metrics: exit.done.metrics ?? null, seconds: exit.done.seconds ?? null };
      const reason = degeneracy(metrics.guard, params.guard);
      if (reason) {
        await recordDraw(app, params, { index, draw, state: 'DEGENERATE', knobs, options, guard: metrics.guard, reason, model: null, sha256: null, summary }, jobId);
        reasons.push(`draw ${draw}: ${reason}`);
        continue; // replaced by the next draw
      }
      const model = await installModel(exit.done, app.settings(MODEL_SETTINGS).modelsDir);
      let sha256: string;
      try {
        sha256 = (await registerModelFile(app, model.modelPath)).model.sha256;
      } catch (error) {
        if (!(error instanceof ManifestError)) throw error;
        await jobs.recordOutcome(app.pool, jobId, name, ItemOutcome.FAILED, { code: 'REGISTER', message: error.message });
        return;
      }
      await recordDraw(app, params, { index, draw, state: 'MEMBER', knobs, options, guard: metrics.guard, reason: null, model: name, sha256, summary }, jobId);
      return;
    }
    await jobs.recordOutcome(app.pool, jobId, name, ItemOutcome.FAILED, {
      code: 'DEGENERATE',
      message: `every one of ${params.guard.draws} draws was degenerate: ${reasons.join('; ')}`,
    });
  } finally {
    await fs.rm(work, { recursive: true, force: true }).catch(() => {});
    await removeWorkFoldersIfFinished(app, jobId).catch(() => {});
  }
}

export const trainZooJob = defineItemJob<ZooParams, MemberItem>({
  kind: TRAIN_ZOO,
  description: 'Trains a zoo of generators with knobs drawn from ranges (trainGeneratorZoo), one member per item.',
  key: (item) => item.name,
  chunkSize: () => 1, // a member is the unit of retry: a crash retrains only the member in training
  inFlight: 1,
  concurrency: () => 1, // one trainer per worker: it uses every core (or the GPU)
  expireSeconds: TRAINING_TIME_LIMIT_S + 1800,
  async plan(app, _jobId, params) {
    const { rows } = await app.pool.query(`SELECT 1 FROM model_zoos WHERE id = $1`, [params.zooId]);
    if (rows.length === 0) throw new PlanError('the zoo was deleted');
    return Array.from({ length: params.size }, (_, index) => ({ index, name: memberName(params.name, index) }));
  },
  run: trainMember,
});

const ZOO_COLUMNS = `z.id, z.name, z.job_id AS "jobId", z.dataset_id AS "datasetId", z.size, z.seed::float8 AS seed, z.ranges, z.options, z.guard,
  z.created_at AS "createdAt"`;

/** Every zoo, by name. */
export async function listZoos(app: App): Promise<ModelZoo[]> {
  const { rows } = await app.pool.query(`SELECT ${ZOO_COLUMNS} FROM model_zoos z ORDER BY z.name`);
  return rows.map((row) => Object.assign(new ModelZoo(), row));
}

/** The zoo of this name (or id); NOT_FOUND when there is none. */
export async function findZoo(app: App, name: string, by: 'name' | 'id' = 'name'): Promise<ModelZoo> {
  const { rows } = await app.pool.query(`SELECT ${ZOO_COLUMNS} FROM model_zoos z WHERE z.${by} = $1`, [name]);
  if (rows.length === 0) throw notFound('model zoo', String(name).slice(0, 100));
  return Object.assign(new ModelZoo(), rows[0]);
}

/** TRAINING while its job is queued or running, then what the job ended as (READY when it completed). */
export async function zooState(app: App, zoo: ModelZoo): Promise<ModelZooState> {
  const state = zoo.jobId ? await jobs.jobState(app.pool, zoo.jobId) : JobState.COMPLETED;
  if (state === JobState.QUEUED || state === JobState.RUNNING) return ModelZooState.TRAINING;
  if (state === JobState.CANCELLED) return ModelZooState.CANCELLED;
  return state === JobState.FAILED ? ModelZooState.FAILED : ModelZooState.READY;
}

/** The zoo's draws of one state (members, or the degenerate draws the guard replaced), by index and draw. */
export async function zooDraws(app: App, zooId: string, state: ZooDrawState): Promise<ZooDraw[]> {
  const { rows } = await app.pool.query(
    `SELECT zoo_id AS "zooId", index, draw, state, knobs, options, guard, reason, model_name AS "modelName", sha256, summary
     FROM model_zoo_draws WHERE zoo_id = $1 AND state = $2 ORDER BY index, draw`,
    [zooId, state],
  );
  return rows.map((row) => Object.assign(new ZooDraw(), row));
}
