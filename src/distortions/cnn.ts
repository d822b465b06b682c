/**
 * The CNN-based kinds (family cnn): the image is corrupted first (seeded, by the native engine's own
 * kinds), then run through a registered ONNX model (a GAN generator or a DAE), and the model's output is
 * mixed with the image. Each channel goes through the single-channel model as one item of a batch; the
 * image is padded (reflect-101) to the size multiple the model needs and the output cropped back.
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
  /** One batch through the model: input and output are [batch, 1, height, width]. */
  run(model: ResolvedModel, input: Float32Array, dims: number[]): Promise<Float32Array>;
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
    async run(model, input, dims) {
      const result = await pool.run(model.path, { [model.inputName]: { data: input, dims } }, [model.outputName]);
      return result.outputs[model.outputName].data;
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

/** The planes of `image` as a [channels, 1, H', W'] batch, H' and W' padded up to `multiple` by reflect-101. */
export function padToMultiple(image: FloatImage, multiple: number): { data: Float32Array; dims: number[] } {
  const { width, height, channels } = image;
  const paddedWidth = Math.ceil(width / multiple) * multiple;
  const paddedHeight = Math.ceil(height / multiple) * multiple;
  const reflect = (i: number, n: number) => {
    if (n === 1) return 0;
    const period = 2 * n - 2;
    const r = ((i % period) + period) % period;
    return r < n ? r : period - r;
  };
  const data = new Float32Array(channels * paddedWidth * paddedHeight);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < paddedHeight; y++) {
      const source = c * width * height + reflect(y, height) * width;
      const target = (c * paddedHeight + y) * paddedWidth;
      data.set(image.data.subarray(source, source + width), target);
      for (let x = width; x < paddedWidth; x++) data[target + x] = image.data[source + reflect(x, width)];
    }
  }
  return { data, dims: [channels, 1, paddedHeight, paddedWidth] };
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
  let corrupted = image;
  if (corruptSteps.length > 0) {
    const [data] = await nativeEngine().distort([{ ...image, seed: BigInt(seed) }], corruptSteps);
    corrupted = { ...image, data };
  }
  const batch = padToMultiple(corrupted, model.sizeMultiple);
  const output = await runner.run(model, batch.data, batch.dims);
  const [, , paddedHeight, paddedWidth] = batch.dims;
  if (output.length !== batch.data.length) {
    throw new Error(`model ${model.name} returned ${output.length} values for an input of ${batch.data.length}`);
  }
  const { width, height, channels } = image;
  const result = new Float32Array(image.data.length);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (c * height + y) * width + x;
        const generated = output[(c * paddedHeight + y) * paddedWidth + x];
        if (!Number.isFinite(generated)) throw new Error(`model ${model.name} produced a non-finite value`);
        const value = (1 - mix) * image.data[i] + mix * generated;
        result[i] = value < 0 ? 0 : value > 1 ? 1 : value;
      }
    }
  }
  return { ...image, data: result };
}
