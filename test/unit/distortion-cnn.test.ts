/**
 * The CNN-based step around the model: corruption (the native kinds, same seed), padding to the model's
 * size multiple, cropping and mixing (src/imaging/planes.ts, which the inference worker runs). The model here
 * is the identity function, so every expected value is known exactly; real ONNX models run through the
 * inference worker in test/db/models-distortions.test.ts.
 */
import { applyCnnStep, type ModelRunner, type ResolvedModel } from '../../src/distortions/cnn';
import { cropAndMix, padToMultiple } from '../../src/imaging/planes';
import { nativeEngine } from '../../src/platform/native';
import { resolveStep } from '../../src/distortions/spec';
import type { FloatImage } from '../../src/platform/native';
import { UserInputError } from '../../src/platform/errors';

const model: ResolvedModel = { name: 'identity', path: '/dev/null', sha256: '0'.repeat(64), sizeMultiple: 8, inputName: 'input', outputName: 'output' };
const seen: number[][] = [];
/** The inference worker's steps (pad, run, crop and mix) around `run`, the identity by default. */
const runnerOf = (run: (input: Float32Array) => Float32Array): ModelRunner => ({
  resolve: async () => model,
  generate: async (_model, image, corrupted, mix) => {
    const batch = padToMultiple({ ...image, data: corrupted ?? image.data }, model.sizeMultiple);
    seen.push(batch.dims);
    return cropAndMix(run(batch.data), batch.dims, image, mix, model.name);
  },
});
const identityRunner = runnerOf((input) => new Float32Array(input));

function image(width: number, height: number, channels: 1 | 3): FloatImage {
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 37) % 101) / 100;
  return { data, width, height, channels };
}

const step = (params: Record<string, number>) => resolveStep({ kind: 'gan_generator', params, model: 'identity' }, { width: 13, height: 10 });

describe('padToMultiple', () => {
  it('pads each plane to the multiple by reflect-101 and batches the channels', () => {
    const source = image(5, 3, 3);
    const { data, dims } = padToMultiple(source, 4);
    expect(dims).toEqual([3, 1, 4, 8]);
    const reflect = (i: number, n: number) => (i < n ? i : 2 * n - 2 - i);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 8; x++) {
          expect(data[(c * 4 + y) * 8 + x]).toBe(source.data[(c * 3 + reflect(y, 3)) * 5 + reflect(x, 5)]);
        }
      }
    }
  });
});

describe('cropAndMix', () => {
  it('crops the padded output and mixes it with the image; at mix 1 it does not read the image', () => {
    const source = image(5, 3, 1);
    const batch = padToMultiple(source, 4);
    const doubled = batch.data.map((v) => v * 2);
    const half = cropAndMix(doubled, batch.dims, source, 0.5, 'm');
    half.forEach((value, i) => expect(value).toBeCloseTo(Math.min(1, 0.5 * source.data[i] + source.data[i]), 6));
    expect(Array.from(cropAndMix(batch.data, batch.dims, { ...source, data: new Float32Array(0) }, 1, 'm'))).toEqual(Array.from(source.data));
  });
});

describe('applyCnnStep', () => {
  it('with an identity model and no corruption returns the image, cropped back from the padded batch', async () => {
    const source = image(13, 10, 1);
    seen.length = 0;
    const out = await applyCnnStep(source, step({ corruption: 0, mix: 1 }), model, 1, identityRunner, 'steps[0]');
    expect(seen).toEqual([[1, 1, 16, 16]]);
    expect(Array.from(out.data)).toEqual(Array.from(source.data));
  });

  it('corrupts with the native kind of the same seed, and mixes with the original', async () => {
    const source = image(13, 10, 1);
    const [noisy] = await nativeEngine().distort([{ ...source, seed: 7n }], [{ kind: 'gaussian_noise', params: { sigma: 0.1 } }]);
    const full = await applyCnnStep(source, step({ corruption: 2, level: 0.1, mix: 1 }), model, 7, identityRunner, 'steps[0]');
    expect(Array.from(full.data)).toEqual(Array.from(noisy));
    const half = await applyCnnStep(source, step({ corruption: 2, level: 0.1, mix: 0.5 }), model, 7, identityRunner, 'steps[0]');
    half.data.forEach((value, i) => expect(value).toBeCloseTo(0.5 * source.data[i] + 0.5 * noisy[i], 6));
  });

  it('runs each channel of a colour image through the model; colour removal makes them equal', async () => {
    const source = image(9, 6, 3);
    seen.length = 0;
    const out = await applyCnnStep(source, step({ corruption: 3, mix: 1 }), model, 1, identityRunner, 'steps[0]');
    expect(seen).toEqual([[3, 1, 8, 16]]);
    const plane = 9 * 6;
    for (let i = 0; i < plane; i++) {
      expect(out.data[i]).toBeCloseTo(out.data[plane + i], 6);
      expect(out.data[i]).toBeCloseTo(out.data[2 * plane + i], 6);
    }
  });

  it('refuses colour removal on a greyscale image, naming the parameter', async () => {
    const error = await applyCnnStep(image(8, 8, 1), step({ corruption: 3 }), model, 1, identityRunner, 'steps[1]').catch((e) => e);
    expect(error).toBeInstanceOf(UserInputError);
    expect(error.message).toContain('steps[1].params.corruption');
  });

  it('rejects a model whose output is not the size of its input, or not finite', async () => {
    await expect(applyCnnStep(image(8, 8, 1), step({}), model, 1, runnerOf((i) => i.subarray(1)), 's')).rejects.toThrow('returned 63 values');
    await expect(applyCnnStep(image(8, 8, 1), step({}), model, 1, runnerOf((i) => i.map(() => NaN)), 's')).rejects.toThrow('non-finite');
  });
});
