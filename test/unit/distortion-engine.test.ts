/** The native engine through its TypeScript entry points (needs the addon: `npm run build:native`). */
import sharp from 'sharp';
import { applyDistortion } from '../../src/distortions/apply';
import { NATIVE_KINDS } from '../../src/distortions/catalog';
import { nativeEngine } from '../../src/platform/native';
import type { FloatImage } from '../../src/platform/native';
import { renderPhantom } from '../../src/synth/phantom';

function phantom(width: number, height: number): FloatImage {
  return { data: renderPhantom({ width, height, label: 'PNEUMONIA', seed: 4 }), width, height, channels: 1 };
}

/** A tinted RGB version, for the colour kinds. */
function tinted(grey: FloatImage): FloatImage {
  const data = new Float32Array(grey.data.length * 3);
  grey.data.forEach((value, i) => {
    data[i] = value;
    data[grey.data.length + i] = value * 0.85;
    data[2 * grey.data.length + i] = value * 0.7;
  });
  return { ...grey, data, channels: 3 };
}

function mse(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return sum / a.length;
}

const image = phantom(128, 112);
const colour = tinted(image);
const inputFor = (kind: string) => (NATIVE_KINDS.find((k) => k.name === kind)!.needsColor ? colour : image);

it('registers exactly the catalog kinds, with the catalog parameter names', () => {
  expect(nativeEngine().kinds().map(({ name, family, random, needsColor, params }) => ({ name, family, random, needsColor, params }))).toEqual(
    NATIVE_KINDS.map((kind) => ({
      name: kind.name,
      family: kind.family,
      random: kind.random,
      needsColor: kind.needsColor,
      params: kind.params.map((param) => param.name),
    })),
  );
});

describe.each(NATIVE_KINDS.map((kind) => [kind.name]))('%s', (kind) => {
  it('is the exact identity at severity 0 and grows with severity', async () => {
    const input = inputFor(kind);
    const none = await applyDistortion(input, [{ kind, severity: 0 }], 1, 'CPU');
    expect(none.image.data).toEqual(input.data);
    expect(none.image.data).not.toBe(input.data);

    const errors: number[] = [];
    for (const severity of [0.25, 0.5, 1]) {
      const result = await applyDistortion(input, [{ kind, severity }], 1, 'CPU');
      expect(result.image.data.length).toBe(input.data.length);
      for (const value of result.image.data) expect(value >= 0 && value <= 1).toBe(true);
      errors.push(mse(result.image.data, input.data));
    }
    expect(errors[0]).toBeGreaterThan(0);
    expect(errors[1]).toBeGreaterThan(errors[0]);
    expect(errors[2]).toBeGreaterThan(errors[1]);
  });

  it('gives the same bits for the same seed on 1 and 4 threads', async () => {
    const steps = [{ kind, params: Object.fromEntries(NATIVE_KINDS.find((k) => k.name === kind)!.params.map((p) => [p.name, p.default])) }];
    const input = inputFor(kind);
    const [one] = await nativeEngine().distort([{ ...input, seed: 99n }], steps, { threads: 1 });
    const [four] = await nativeEngine().distort([{ ...input, seed: 99n }], steps, { threads: 4 });
    expect(four).toEqual(one);
    if (NATIVE_KINDS.find((k) => k.name === kind)!.random) {
      const [other] = await nativeEngine().distort([{ ...input, seed: 100n }], steps, { threads: 1 });
      expect(other).not.toEqual(one);
    }
  });
});

describe('against a real JPEG codec', () => {
  // Two implementations (float DCT here, libjpeg's integer one there) round a few coefficients differently;
  // they must agree far more closely than either agrees with the source.
  it.each([95, 90, 75, 50, 20, 5])('quality %i: close to libjpeg (4:4:4, Annex K tables)', async (quality) => {
    const { width, height } = image;
    const grey = Buffer.from(image.data.map((v) => Math.round(v * 255)));
    const eightBit: FloatImage = { ...image, data: new Float32Array(grey).map((v) => v / 255) };
    const codec = await sharp(grey, { raw: { width, height, channels: 1 } })
      .jpeg({ quality, chromaSubsampling: '4:4:4', quantisationTable: 0, trellisQuantisation: false, overshootDeringing: false, optimiseScans: false, optimiseCoding: false })
      .toBuffer();
    const decoded = await sharp(codec).toColourspace('b-w').raw().toBuffer();
    const ours = await applyDistortion(eightBit, [{ kind: 'jpeg', params: { quality } }], 0, 'CPU');
    let agreement = 0;
    let codecError = 0;
    let withinOne = 0;
    for (let i = 0; i < decoded.length; i++) {
      const diff = Math.abs(Math.round(ours.image.data[i] * 255) - decoded[i]);
      agreement += diff;
      withinOne += diff <= 1 ? 1 : 0;
      codecError += Math.abs(decoded[i] - grey[i]);
    }
    expect(agreement / decoded.length).toBeLessThan(0.3 * (codecError / decoded.length));
    expect(withinOne / decoded.length).toBeGreaterThan(0.9);
  });
});

describe('colour kinds', () => {
  it('refuse greyscale images, naming the step', async () => {
    await expect(applyDistortion(image, [{ kind: 'contrast', severity: 0.2 }, { kind: 'saturation', severity: 0.5 }], 1, 'CPU')).rejects.toMatchObject({
      field: 'steps[1].kind',
      message: 'steps[1].kind: saturation acts on colour; this image is greyscale (1 channel)',
    });
  });
});

describe('results written into the caller\'s arrays (`out`)', () => {
  const steps = [{ kind: 'gaussian_blur', params: { sigma: 2 } }, { kind: 'gaussian_noise', params: { sigma: 0.05 } }];

  it('gives the bits of a fresh result, in the array it was given, whatever that held', async () => {
    const engine = nativeEngine();
    const grey = { ...image, seed: 3n };
    const colour = { ...tinted(image), seed: 4n };
    const fresh = await engine.distort([grey, colour], steps);
    const outs = [new Float32Array(grey.data.length).fill(NaN), new Float32Array(colour.data.length).fill(7)];
    const results = await engine.distort([{ ...grey, out: outs[0] }, { ...colour, out: outs[1] }], steps, { threads: 2 });
    expect(results[0]).toBe(outs[0]);
    expect(results[1]).toBe(outs[1]);
    expect(Buffer.from(outs[0].buffer)).toEqual(Buffer.from(fresh[0].buffer));
    expect(Buffer.from(outs[1].buffer)).toEqual(Buffer.from(fresh[1].buffer));
    // Reused for the next call: the same bits again, and the input untouched.
    const before = Buffer.from(grey.data.buffer).toString('hex');
    await engine.distort([{ ...grey, out: outs[0] }], steps);
    expect(Buffer.from(outs[0].buffer)).toEqual(Buffer.from(fresh[0].buffer));
    expect(Buffer.from(grey.data.buffer).toString('hex')).toBe(before);
  });

  it('refuses an out that is the wrong size or shares memory with an input or another out', () => {
    const engine = nativeEngine();
    const item = { ...image, seed: 1n };
    const shared = new Float32Array(image.data.length * 2);
    const halves = [shared.subarray(0, image.data.length), shared.subarray(image.data.length / 2, image.data.length * 3 / 2)];
    expect(() => engine.distort([{ ...item, out: new Float32Array(5) }], steps)).toThrow('items[0].out holds 5 samples');
    expect(() => engine.distort([{ ...item, out: item.data }], steps)).toThrow('items[0].out shares memory with items[0].data');
    expect(() => engine.distort([item, { ...item, out: item.data.subarray(0) }], steps)).toThrow('items[1].out shares memory with items[0].data');
    expect(() => engine.distort([{ ...item, out: halves[0] }, { ...item, out: halves[1] }], steps)).toThrow(
      'items[0].out shares memory with items[1].out',
    );
    expect(() => engine.distort([{ ...item, out: new Uint8Array(4) as unknown as Float32Array }], steps)).toThrow('items[0].out must be a Float32Array');
  });
});

describe('bad input never crashes the process', () => {
  it('rejects malformed arguments with errors', async () => {
    const engine = nativeEngine();
    const item = { ...image, seed: 1n };
    expect(() => engine.distort([{ ...item, data: new Float32Array(3) }], [{ kind: 'contrast', params: { factor: 1 } }])).toThrow(/holds 3 samples/);
    expect(() => engine.distort([{ ...item, width: -1 }], [{ kind: 'contrast', params: { factor: 1 } }])).toThrow(/width/);
    expect(() => engine.distort([item], [{ kind: 'nope', params: {} }])).toThrow(/unknown distortion kind/);
    expect(() => engine.distort([item], [])).toThrow(/steps/);
    expect(() => engine.distort([{ ...item, seed: -1n }], [{ kind: 'contrast', params: { factor: 1 } }])).toThrow(/seed/);
    expect(() => engine.distort([item], [{ kind: 'contrast', params: { factor: 1 } }], { backend: 'cuda' })).toThrow(/CUDA/);
    await expect(engine.distort([item], [{ kind: 'contrast', params: { factor: NaN } }])).rejects.toThrow(/factor/);
    await expect(engine.distort([item], [{ kind: 'contrast', params: {} }])).rejects.toThrow(/factor/);
    await expect(engine.distort([item], [{ kind: 'saturation', params: { factor: 0.5 } }])).rejects.toThrow(/3-channel/);
  });

  it('survives a fuzz of random specs and sizes', async () => {
    let state = 12345;
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let rejected = 0;
    for (let round = 0; round < 300; round++) {
      const kind = NATIVE_KINDS[Math.floor(random() * NATIVE_KINDS.length)];
      const width = 1 + Math.floor(random() * 40);
      const height = 1 + Math.floor(random() * 40);
      const channels = random() < 0.5 ? 1 : 3;
      const params = Object.fromEntries(
        kind.params.map((param) => [param.name, random() < 0.2 ? [NaN, -1e9, 1e9, Infinity][Math.floor(random() * 4)] : param.min + random() * (param.max - param.min)]),
      );
      const data = new Float32Array(width * height * channels).map(() => random());
      try {
        const [out] = await nativeEngine().distort([{ data, width, height, channels, seed: BigInt(round) }], [{ kind: kind.name, params }]);
        expect(out.length).toBe(data.length);
      } catch (error) {
        expect(String((error as Error).message)).toMatch(/[a-z_]+/); // an Error from the addon's realm
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
    expect(rejected).toBeLessThan(300);
  });
});
