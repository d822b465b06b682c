/**
 * Applying a distortion spec to an image: resolve the steps for the image's size, refuse colour kinds on
 * greyscale images, and run the native kernels and the CNN-based steps (identity steps are skipped:
 * severity 0 is an exact copy).
 */
import { createHash } from 'node:crypto';
import type { FloatImage } from '../platform/native';
import { findKind } from './catalog';
import { nativeEngine } from '../platform/native';
import { AppError, badUserInput } from '../platform/errors';
import { applyCnnStep, type ModelRunner } from './cnn';
import type { DetectorResponse } from '../imaging/detector-response';
import { resolveChain, type ResolvedStep, type StepInput } from './spec';

export type BackendChoice = 'AUTO' | 'CPU' | 'CUDA';
export type Backend = 'CPU' | 'CUDA';

export const MAX_SEED = Number.MAX_SAFE_INTEGER;

export function checkSeed(seed: number, field = 'seed'): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw badUserInput(field, `must be an integer in [0, ${MAX_SEED}], got ${seed}`, { min: 0, max: MAX_SEED });
  }
  return seed;
}

/** AUTO takes CUDA when the engine has it and a GPU is there, else the CPU, and says why. */
export function chooseBackend(choice: BackendChoice): { backend: Backend; note: string | null } {
  const available = nativeEngine().backends();
  if (choice === 'CPU') return { backend: 'CPU', note: null };
  if (available.cuda) return { backend: 'CUDA', note: null };
  if (choice === 'CUDA') throw badUserInput('backend', `CUDA is not available: ${available.cudaReason}`);
  return { backend: 'CPU', note: `AUTO fell back to CPU: ${available.cudaReason}` };
}

/** Identifies (steps, seed) so that the same distortion of one image is stored once. */
export function specKey(steps: ResolvedStep[], seed: number): string {
  const canonical = steps.map((step) => ({
    kind: step.kind,
    params: Object.fromEntries(Object.entries(step.params).sort(([a], [b]) => a.localeCompare(b))),
    // A retrained model under the same name is another distortion.
    ...(step.model ? { model: step.model, modelSha256: step.modelSha256 } : {}),
  }));
  return createHash('sha256').update(JSON.stringify({ steps: canonical, seed })).digest('hex');
}

/** Steps as clients see and the store keeps them: the model (and its hash) only where a step ran one. */
export function describeSteps(steps: ResolvedStep[]) {
  return steps.map(({ kind, params, severity, identity, model, modelSha256 }) => ({
    kind,
    params,
    severity,
    identity,
    ...(model ? { model, modelSha256: modelSha256 ?? null } : {}),
  }));
}

export interface AppliedDistortion {
  image: FloatImage;
  steps: ResolvedStep[];
}

/** Estimated CPU seconds (one core) of resolved steps on an image of this size, from the catalog's costs. */
export function estimatedSeconds(steps: ResolvedStep[], image: { width: number; height: number; channels: number }): number {
  const samples = image.width * image.height * image.channels;
  return steps.reduce((total, step) => total + (step.identity ? 0 : (findKind(step.kind)!.cost(step.params) * samples) / 1e9), 0);
}

/** Refuses steps estimated to take longer than maxSeconds on this image (a preview's limit). */
export function assertWithinCost(stepInputs: StepInput[], image: { width: number; height: number; channels: number }, maxSeconds: number): void {
  // The cost does not depend on the detector response: the default stands in for the image's.
  const estimate = estimatedSeconds(resolveChain(stepInputs, image), image);
  if (estimate <= maxSeconds) return;
  throw badUserInput(
    'steps',
    `these steps would take about ${estimate.toFixed(1)} s on this ${image.width}x${image.height} image, over the limit of ${maxSeconds} s ` +
      'for a preview (MEDPSIM_PREVIEW_MAX_SECONDS): lower the severity or run it as a job (distortImages)',
    { estimatedSeconds: Number(estimate.toFixed(2)), maxSeconds },
  );
}

/** Stopped between two steps (its client went away, or its time ran out). */
export class DistortionStopped extends AppError {
  constructor(reason: unknown, done?: number, of?: number) {
    const timedOut = (reason as Error | undefined)?.name === 'TimeoutError';
    const after = done === undefined ? 'before it started' : `after ${done} of ${of} steps`;
    super(timedOut ? 'TIMEOUT' : 'CANCELLED', `${timedOut ? 'timed out' : 'cancelled'} ${after}`);
  }
}

/**
 * Runs a chain: consecutive native steps in one call to the engine, CNN-based steps through `models`
 * (required when the chain has one). The steps come back with the SHA-256 of each model that ran. With a
 * signal, every step is a call of its own and the chain stops between two steps once the signal aborts.
 * `response` is the source's detector response (the detector-domain kinds' defaults; DEFAULT_RESPONSE without).
 */
export async function applyDistortion(
  source: FloatImage,
  stepInputs: StepInput[],
  seed: number,
  backend: Backend,
  models?: ModelRunner,
  options: { signal?: AbortSignal; response?: DetectorResponse | null } = {},
): Promise<AppliedDistortion> {
  checkSeed(seed);
  const steps = resolveChain(stepInputs, { ...source, response: options.response });
  const { signal } = options;
  let done = 0;
  const stopIfAborted = () => {
    if (signal?.aborted) throw new DistortionStopped(signal.reason, done, steps.length);
  };
  steps.forEach((step, index) => {
    if (findKind(step.kind)!.needsColor && source.channels !== 3) {
      throw badUserInput(`steps[${index}].kind`, `${step.kind} acts on colour; this image is greyscale (1 channel)`);
    }
  });
  let image = source; // the kernels never write their input
  let pending: ResolvedStep[] = [];
  const runPending = async () => {
    if (pending.length === 0) return;
    stopIfAborted();
    const [data] = await nativeEngine().distort(
      [{ ...image, seed: BigInt(seed) }],
      pending.map((step) => ({ kind: step.kind, params: step.params })),
      { backend: backend === 'CUDA' ? 'cuda' : 'cpu' },
    );
    image = { ...image, data };
    done += pending.length;
    pending = [];
  };
  for (const [index, step] of steps.entries()) {
    if (step.identity) {
      done++;
      continue;
    }
    const task = findKind(step.kind)!.model;
    if (!task) {
      pending.push(step);
      if (signal) await runPending(); // one call per step, so that it can stop between two
      continue;
    }
    await runPending();
    stopIfAborted();
    const field = `steps[${index}]`;
    if (!models) throw badUserInput(`${field}.kind`, `${step.kind} runs a registered model, which is not available here`);
    const model = await models.resolve(step.model!, task, `${field}.model`);
    step.modelSha256 = model.sha256;
    image = await applyCnnStep(image, step, model, seed, models, field);
    done++;
  }
  await runPending();
  // Only identity steps: an exact copy, never the caller's own array.
  if (image === source) image = { ...source, data: new Float32Array(source.data) };
  return { image, steps };
}
