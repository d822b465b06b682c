/**
 * Applying a distortion spec to an image: resolve the steps for the image's size, refuse colour kinds on
 * greyscale images, and run the native kernels and the CNN-based steps (identity steps are skipped:
 * severity 0 is an exact copy).
 */
import { createHash } from 'node:crypto';
import type { FloatImage } from '../platform/native';
import { findKind } from './catalog';
import { nativeEngine } from '../platform/native';
import { badUserInput } from '../platform/errors';
import { applyCnnStep, type ModelRunner } from './cnn';
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

/**
 * Runs a chain: consecutive native steps in one call to the engine, CNN-based steps through `models`
 * (required when the chain has one). The steps come back with the SHA-256 of each model that ran.
 */
export async function applyDistortion(
  source: FloatImage,
  stepInputs: StepInput[],
  seed: number,
  backend: Backend,
  models?: ModelRunner,
): Promise<AppliedDistortion> {
  checkSeed(seed);
  const steps = resolveChain(stepInputs, source);
  steps.forEach((step, index) => {
    if (findKind(step.kind)!.needsColor && source.channels !== 3) {
      throw badUserInput(`steps[${index}].kind`, `${step.kind} acts on colour; this image is greyscale (1 channel)`);
    }
  });
  let image = source; // the kernels never write their input
  let pending: ResolvedStep[] = [];
  const runPending = async () => {
    if (pending.length === 0) return;
    const [data] = await nativeEngine().distort(
      [{ ...image, seed: BigInt(seed) }],
      pending.map((step) => ({ kind: step.kind, params: step.params })),
      { backend: backend === 'CUDA' ? 'cuda' : 'cpu' },
    );
    image = { ...image, data };
    pending = [];
  };
  for (const [index, step] of steps.entries()) {
    if (step.identity) continue;
    const task = findKind(step.kind)!.model;
    if (!task) {
      pending.push(step);
      continue;
    }
    await runPending();
    const field = `steps[${index}]`;
    if (!models) throw badUserInput(`${field}.kind`, `${step.kind} runs a registered model, which is not available here`);
    const model = await models.resolve(step.model!, task, `${field}.model`);
    step.modelSha256 = model.sha256;
    image = await applyCnnStep(image, step, model, seed, models, field);
  }
  await runPending();
  // Only identity steps: an exact copy, never the caller's own array.
  if (image === source) image = { ...source, data: new Float32Array(source.data) };
  return { image, steps };
}
