/**
 * The CNN-based kinds (family cnn): the image is corrupted first (seeded, by the native engine's own
 * kinds), then run through a registered ONNX model (a GAN generator or a DAE), and the model's output is
 * mixed with the image. Each channel goes through the single-channel model as one item of a batch; the
 * image is padded (reflect-101) to the size multiple the model needs and the output cropped back, on the
 * inference worker thread (src/imaging/planes.ts), not on the event loop.
 */
import type { FloatImage } from '../platform/native';
import { badUserInput } from '../platform/errors';
import type { InferencePool } from '../models/inference';
import type { ModelManifest, ModelTaskName } from '../models/manifest';
import { CORRUPTIONS } from './catalog';
import { nativeEngine } from '../platform/native';
import type { ResolvedStep } from './spec';

/** A registered model as the engine needs it. */
export interface ResolvedModel {
  name: string;
  /** The .onnx file. */
  path: string;
  sha256: string;
  /** Height and width must be multiples of this. */
  sizeMultiple: number;
  inputName: string;
  outputName: string;
}

/** Finds registered models and runs them (off the event loop): the server's registry and inference pool. */
export interface ModelRunner {
  /** The model `name` for a step of a kind that needs a model of `task`; BAD_USER_INPUT naming `field` otherwise. */
  resolve(name: string, task: ModelTaskName, field: string): Promise<ResolvedModel>;
  /**
   * The model on `corrupted` (handed over) or, when null, on the image itself, each channel padded to the
   * model's size multiple, the output cropped back and mixed with the image: clamp01((1 - mix) x + mix model).
   */
  generate(model: ResolvedModel, image: FloatImage, corrupted: Float32Array | null, mix: number): Promise<Float32Array>;
}

/** A model's files as the registry (or a path on the command line) gives them. */
export interface ModelFiles {
  path: string;
  sha256: string;
  task: ModelTaskName;
  manifest: ModelManifest;
}

/**
 * A runner over an inference pool; `find` looks a model up by the name a step gives (BAD_USER_INPUT naming
 * `field` when there is none). The task is checked here, the input's size multiple read from the manifest.
 */
export function poolRunner(pool: InferencePool, find: (name: string, field: string) => Promise<ModelFiles>): ModelRunner {
  return {
    async resolve(name, task, field) {
      const model = await find(name, field);
      if (model.task !== task) throw badUserInput(field, `model "${name}" is a ${model.task} model; this kind runs a ${task} model`);
      const [input] = model.manifest.inputs;
      const [output] = model.manifest.outputs;
      const { sizeMultiple } = (input.preprocessing ?? {}) as { sizeMultiple?: number };
      return { name, path: model.path, sha256: model.sha256, sizeMultiple: sizeMultiple ?? 1, inputName: input.name, outputName: output.name };
    },
    generate(model, image, corrupted, mix) {
      const { inputName, outputName, sizeMultiple } = model;
      return pool.image(model.path, { name: model.name, inputName, outputName, sizeMultiple, image, corrupted, mix });
    },
  };
}

const MAX_DOWNSAMPLING = 8;

/** The step's input corruption, by the native kinds it stands for. */
function corruptionSteps(code: number, level: number, channels: number, field: string) {
  const corruption = CORRUPTIONS[code];
  switch (corruption) {
    case 'none':
      return [];
    case 'pink_noise':
      return [{ kind: 'pink_noise', params: { sigma: level } }];
    case 'white_noise':
      return [{ kind: 'gaussian_noise', params: { sigma: level } }];
    case 'colour_removal':
      // On a greyscale image this would silently do nothing.
      if (channels !== 3) throw badUserInput(field, 'colour_removal (3) needs an RGB image; this one is greyscale');
      return [{ kind: 'saturation', params: { factor: 0 } }];
    case 'downsampling':
      return [{ kind: 'resolution_loss', params: { factor: 1 + (MAX_DOWNSAMPLING - 1) * level } }];
  }
  throw badUserInput(field, `unknown corruption code ${code}`, { allowed: CORRUPTIONS.map((_, index) => index) });
}

/** Runs one CNN-based step: corruption, model, crop, mix. */
export async function applyCnnStep(
  image: FloatImage,
  step: ResolvedStep,
  model: ResolvedModel,
  seed: number,
  runner: ModelRunner,
  field: string,
): Promise<FloatImage> {
  const { corruption, level, mix } = step.params;
  const corruptSteps = corruptionSteps(corruption, level, image.channels, `${field}.params.corruption`);
  // The corrupted planes are the engine's fresh output: handed to the runner, not copied.
  const corrupted = corruptSteps.length > 0 ? (await nativeEngine().distort([{ ...image, seed: BigInt(seed) }], corruptSteps))[0] : null;
  return { ...image, data: await runner.generate(model, image, corrupted, mix) };
}
