/**
 * The native LPIPS-style feature distance (needs the addon: `npm run build:native`): against the formula
 * written out per pixel in JavaScript (the worker's implementation before it moved to the engine), its
 * argument checks, and through the inference worker, which loads the addon on its own thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InferencePool } from '../../src/models/inference';
import { nativeEngine } from '../../src/platform/native';
import { tinyOnnxModel } from '../helpers/models';

interface Layer {
  data: Float32Array;
  channels: number;
  pixels: number;
}

/** LPIPS's formula as the reference, in double: per pixel the norms over channels, then the weighted differences. */
function referenceDistance(a: Layer[], b: Layer[], weights: Array<Float32Array | null>): number {
  let total = 0;
  a.forEach(({ data: x, channels, pixels }, layer) => {
    const y = b[layer].data;
    const w = weights[layer];
    let sum = 0;
    for (let p = 0; p < pixels; p++) {
      let nx = 0;
      let ny = 0;
      for (let c = 0; c < channels; c++) {
        nx += x[c * pixels + p] ** 2;
        ny += y[c * pixels + p] ** 2;
      }
      const sx = 1 / (Math.sqrt(nx) + 1e-10);
      const sy = 1 / (Math.sqrt(ny) + 1e-10);
      for (let c = 0; c < channels; c++) {
        const d = x[c * pixels + p] * sx - y[c * pixels + p] * sy;
        sum += (w ? w[c] : 1) * d * d;
      }
    }
    total += sum / pixels;
  });
  return total;
}

/** mulberry32: seeded uniform numbers in [0, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ReLU-like features (a third of them 0, as after a ReLU) and a perturbed copy; spread is the perturbation. */
function featurePair(rand: () => number, channels: number, pixels: number, spread: number): [Layer, Layer] {
  const a = Float32Array.from({ length: channels * pixels }, () => Math.max(0, rand() * 3 - 1));
  const b = a.map((v) => Math.max(0, v + spread * (rand() - 0.5)));
  return [
    { data: a, channels, pixels },
    { data: b, channels, pixels },
  ];
}

const distance = (a: Layer[], b: Layer[], weights: Array<Float32Array | null>) =>
  nativeEngine().featureDistance(
    a.map((layer) => layer.data),
    b.map((layer) => layer.data),
    a.map(({ channels, pixels }) => ({ channels, pixels })),
    weights,
  );

// Both sides compute in double from the same float samples, each pixel's channels in the same order; only
// the order of the sum over pixels differs, so they agree to ~1e-15. 1e-10 leaves room and still catches
// any float accumulation (~1e-7 and worse).
const TOLERANCE = 1e-10;

it('matches the per-pixel formula on seeded maps: several layers, odd sizes, with and without weights', () => {
  const rand = random(42);
  // (channels, pixels): odd counts on both axes, one channel, one pixel, and a ResNet50-like deep layer.
  const shapes = [
    [1, 37],
    [3, 1],
    [7, 13 * 11],
    [65, 9 * 7],
    [257, 5 * 3],
    [2048, 7 * 7],
  ];
  for (const spread of [1, 0.01, 1e-4]) {
    const pairs = shapes.map(([channels, pixels]) => featurePair(rand, channels, pixels, spread));
    const a = pairs.map(([x]) => x);
    const b = pairs.map(([, y]) => y);
    const unweighted = shapes.map(() => null);
    const weighted = shapes.map(([channels], i) => (i % 2 === 0 ? Float32Array.from({ length: channels }, () => rand()) : null));
    for (const weights of [unweighted, weighted]) {
      const expected = referenceDistance(a, b, weights);
      const actual = distance(a, b, weights);
      expect(expected).toBeGreaterThan(0);
      expect(Math.abs(actual - expected) / expected).toBeLessThan(TOLERANCE);
    }
    // Layer by layer too (a wrong layer could hide in the sum).
    shapes.forEach((_, i) => {
      const expected = referenceDistance([a[i]], [b[i]], [weighted[i]]);
      expect(Math.abs(distance([a[i]], [b[i]], [weighted[i]]) - expected)).toBeLessThanOrEqual(TOLERANCE * expected);
    });
  }
});

it('gives 0 for identical maps and for no layers, and handles all-zero feature vectors as LPIPS does', () => {
  const [x] = featurePair(random(7), 9, 25, 0);
  expect(distance([x], [x], [null])).toBe(0);
  expect(distance([], [], [])).toBe(0);
  // A pixel whose features are all 0 stays 0 after normalisation (0 / 1e-10): its difference is the other's unit vector.
  const zeros: Layer = { data: new Float32Array(9 * 25), channels: 9, pixels: 25 };
  expect(distance([zeros], [x], [null])).toBeCloseTo(referenceDistance([zeros], [x], [null]), 12);
  expect(distance([zeros], [zeros], [null])).toBe(0);
});

/** The error a call throws, by name and message: the addon's errors come from the main realm, not jest's, so instanceof does not work. */
function thrown(call: () => unknown): { name: string; message: string } | null {
  try {
    call();
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  return null;
}

it('refuses malformed arguments with a TypeError or RangeError naming them', () => {
  const engine = nativeEngine();
  const data = new Float32Array(6);
  const shape = { channels: 2, pixels: 3 };
  const call = (...args: unknown[]) => thrown(() => (engine.featureDistance as (...a: unknown[]) => number)(...args));
  const usage = 'featureDistance(layersA, layersB, shapes, weights): all four must be arrays';
  expect(call()).toEqual({ name: 'TypeError', message: usage });
  expect(call([data], [data], [shape])).toEqual({ name: 'TypeError', message: usage });
  expect(call(data, [data], [shape], [null])).toEqual({ name: 'TypeError', message: usage });
  expect(call([data], [data, data], [shape], [null])).toEqual({
    name: 'RangeError',
    message: 'featureDistance: layersA, layersB, shapes and weights must have one entry per layer; their lengths are 1, 2, 1, 1',
  });
  expect(call([data], [new Float32Array(5)], [shape], [null])).toEqual({ name: 'RangeError', message: 'featureDistance: layersB[0] holds 5 values, its shape says 6' });
  expect(call([new Float64Array(6)], [data], [shape], [null])).toEqual({ name: 'TypeError', message: 'featureDistance: layersA[0] must be a Float32Array' });
  expect(call([data], [data], [shape], [new Float32Array(3)])).toEqual({ name: 'RangeError', message: 'featureDistance: weights[0] holds 3 values, its shape says 2' });
  expect(call([data], [data], [shape], [[1, 1]])).toEqual({ name: 'TypeError', message: 'featureDistance: weights[0] must be a Float32Array' });
  expect(call([data], [data], [{ channels: 0, pixels: 6 }], [null])).toEqual({ name: 'TypeError', message: 'featureDistance: shapes[0].channels must be a positive integer' });
  expect(call([data], [data], [{ channels: 1.5, pixels: 4 }], [null])).toEqual({ name: 'TypeError', message: 'featureDistance: shapes[0].channels must be a positive integer' });
  expect(call([data], [data], [{ channels: 2 }], [null])).toEqual({ name: 'TypeError', message: 'featureDistance: shapes[0].pixels must be a number' });
  expect(call([data], [data], [7], [null])).toEqual({ name: 'TypeError', message: 'featureDistance: shapes[0] must be an object' });
  expect(engine.featureDistance([data], [data], [shape], [null])).toBe(0); // still usable
});

describe('through the inference worker', () => {
  let dir: string;
  let pool: InferencePool;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'medpsim-feature-distance-'));
    writeFileSync(path.join(dir, 'times3.onnx'), tinyOnnxModel(3));
    pool = new InferencePool({ provider: 'cpu' });
  });

  afterAll(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('computes the distances of the pairs from the model outputs, with and without weights', async () => {
    // The tiny model's one output, input x 3, is a 1-channel feature map: each normalised value is the sign
    // of the sample, so the distance counts the pixels whose signs differ.
    const width = 9;
    const height = 7;
    const rand = random(3);
    const images = [0, 1, 2].map((i) => ({ key: `image-${i}`, data: Float32Array.from({ length: width * height }, () => rand() - 0.5), width, height, channels: 1 as const }));
    const pairs: Array<[number, number]> = [
      [0, 1],
      [0, 2],
      [1, 1],
    ];
    const features = images.map((image) => ({ data: image.data.map((v) => Math.fround(v * 3)), channels: 1, pixels: width * height }));
    const job = { inputName: 'input', inputSize: null, inputChannels: 1 as const, layers: ['output'], images, pairs };
    for (const weights of [null, { output: Float32Array.of(0.25) }]) {
      const result = await pool.distances(path.join(dir, 'times3.onnx'), { ...job, weights });
      const expected = pairs.map(([i, j]) => referenceDistance([features[i]], [features[j]], [weights?.output ?? null]));
      expect(expected[0]).toBeGreaterThan(0);
      expect(result.distances).toHaveLength(3);
      result.distances.forEach((value, k) => expect(Math.abs(value - expected[k])).toBeLessThanOrEqual(TOLERANCE * expected[k]));
    }
  });
});
