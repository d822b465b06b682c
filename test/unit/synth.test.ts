import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { parseSynthOptions, SynthUsageError } from '../../src/cli/synth';
import {
  isSyntheticDatasetRoot,
  SYNTHETIC_IMAGE_DESCRIPTION,
  SYNTHETIC_MARKER_FILE,
  resolveCounts,
  synthesizeDataset,
  type SplitCounts,
} from '../../src/synth/dataset';
import { renderPhantom, renderPhantomLayers, type PhantomOptions } from '../../src/synth/phantom';
import { fillGaussianNoise, hashU32, RandomStream } from '../../src/synth/random';

const SIZE = 128;

function tempDir(name: string): string {
  return mkdtempSync(path.join(tmpdir(), `medpsim-synth-${name}-`));
}

/** Relative paths of all files under dir, sorted. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(dir, path.posix.join(prefix, entry.name)) : [path.posix.join(prefix, entry.name)]))
    .sort();
}

function meanOver(image: Float32Array, mask: Uint8Array): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < image.length; i++) {
    if (mask[i]) {
      sum += image[i];
      n++;
    }
  }
  if (n === 0) throw new Error('empty mask');
  return sum / n;
}

function phantom(overrides: Partial<PhantomOptions> = {}) {
  return renderPhantomLayers({ width: SIZE, height: SIZE, label: 'NORMAL', seed: 1, ...overrides });
}

describe('random', () => {
  it('is a pure function of (seed, stream, index)', () => {
    const a = new RandomStream(42, 1);
    const b = new RandomStream(42, 1);
    const drawsA = Array.from({ length: 100 }, () => a.uniform());
    expect(Array.from({ length: 100 }, () => b.uniform())).toEqual(drawsA);
    expect(hashU32(42, 1, 7)).toBe(hashU32(42, 1, 7));
    expect(hashU32(42, 1, 7)).not.toBe(hashU32(43, 1, 7));
    expect(hashU32(42, 1, 7)).not.toBe(hashU32(42, 2, 7));
    // Seeds beyond 32 bits keep their high part.
    expect(hashU32(2 ** 40 + 5, 1, 0)).not.toBe(hashU32(5, 1, 0));
    // Pinned values: the sequence must not change silently across platforms or refactors.
    expect([hashU32(0, 0, 0), hashU32(1, 2, 3), hashU32(123456789, 7, 1000)]).toEqual([1292288024, 2870917030, 294303909]);
  });

  it('draws uniforms in (0, 1) and normals with the right moments', () => {
    const rng = new RandomStream(7, 3);
    const n = 20000;
    let sum = 0;
    let sumSquares = 0;
    let lowest = 1;
    let highest = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      lowest = Math.min(lowest, u);
      highest = Math.max(highest, u);
      const z = rng.normal();
      sum += z;
      sumSquares += z * z;
    }
    expect(lowest).toBeGreaterThan(0);
    expect(highest).toBeLessThan(1);
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(sumSquares / n) - 1)).toBeLessThan(0.03);
  });

  it('fills Gaussian noise with the requested standard deviation, deterministically', () => {
    const a = new Float32Array(50001);
    const b = new Float32Array(50001);
    fillGaussianNoise(a, 5, 9, 2);
    fillGaussianNoise(b, 5, 9, 2);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(sd).toBeGreaterThan(1.9);
    expect(sd).toBeLessThan(2.1);
  });
});

describe('renderPhantom', () => {
  it('gives identical pixels for the same seed and different pixels for another', () => {
    const a = renderPhantom({ width: SIZE, height: SIZE, label: 'PNEUMONIA', seed: 5 });
    const b = renderPhantom({ width: SIZE, height: SIZE, label: 'PNEUMONIA', seed: 5 });
    const c = renderPhantom({ width: SIZE, height: SIZE, label: 'PNEUMONIA', seed: 6 });
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it('returns a row-major image in [0, 1] of the requested size, non-square too', () => {
    const image = renderPhantom({ width: 96, height: 80, label: 'NORMAL', seed: 2 });
    expect(image).toHaveLength(96 * 80);
    let min = Infinity;
    let max = -Infinity;
    for (const v of image) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(image.every(Number.isFinite)).toBe(true);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    // Uses the range: dark background and lungs, bright mediastinum.
    expect(max - min).toBeGreaterThan(0.6);
  });

  it.each([1, 2, 3, 4, 5, 6])('seed %i: lungs are darker than the mediastinum and cover a plausible area', (seed) => {
    const { image, lungMask, mediastinumMask } = phantom({ seed });
    const lungs = meanOver(image, lungMask);
    const mediastinum = meanOver(image, mediastinumMask);
    expect(mediastinum - lungs).toBeGreaterThan(0.25);
    const lungFraction = lungMask.reduce((s, v) => s + v, 0) / lungMask.length;
    expect(lungFraction).toBeGreaterThan(0.15);
    expect(lungFraction).toBeLessThan(0.45);
    // Two lung fields: both halves of the image hold lung.
    let left = 0;
    let right = 0;
    lungMask.forEach((v, i) => {
      if (v) (i % SIZE < SIZE / 2 ? left++ : right++);
    });
    expect(Math.min(left, right) / Math.max(left, right)).toBeGreaterThan(0.5);
  });

  it.each(['focal', 'diffuse'] as const)('%s pneumonia adds opacity inside the lungs of the same anatomy and nowhere darkens', (pattern) => {
    for (const seed of [11, 12, 13]) {
      const normal = phantom({ seed });
      const sick = phantom({ seed, label: 'PNEUMONIA', pattern });
      expect(sick.pattern).toBe(pattern);
      expect(meanOver(sick.image, normal.lungMask) - meanOver(normal.image, normal.lungMask)).toBeGreaterThan(0.01);
      let darkest = 0;
      for (let i = 0; i < normal.image.length; i++) darkest = Math.min(darkest, sick.image[i] - normal.image[i]);
      expect(darkest).toBeGreaterThanOrEqual(-1e-6);
      // Only lung air is replaced: the mediastinum stays as it was.
      expect(meanOver(sick.image, normal.mediastinumMask)).toBeCloseTo(meanOver(normal.image, normal.mediastinumMask), 2);
    }
  });

  it('chooses a pattern from the seed when none is given, and both occur', () => {
    const patterns = new Set(Array.from({ length: 12 }, (_, seed) => phantom({ seed, label: 'PNEUMONIA' }).pattern));
    expect(patterns).toEqual(new Set(['focal', 'diffuse']));
    expect(phantom({ label: 'NORMAL' }).pattern).toBeNull();
  });

  it('keeps the anatomy of anatomySeed while the acquisition follows seed', () => {
    const first = phantom({ seed: 21, anatomySeed: 99 });
    const followUp = phantom({ seed: 22, anatomySeed: 99 });
    const stranger = phantom({ seed: 22, anatomySeed: 100 });
    const overlap = (a: Uint8Array, b: Uint8Array) => {
      let both = 0;
      let either = 0;
      a.forEach((v, i) => {
        both += v & b[i];
        either += v | b[i];
      });
      return both / either;
    };
    expect(overlap(first.lungMask, followUp.lungMask)).toBeGreaterThan(overlap(first.lungMask, stranger.lungMask));
  });

  it('scales with the image: the same seed at twice the size looks the same', () => {
    const small = renderPhantom({ width: SIZE, height: SIZE, label: 'NORMAL', seed: 8 });
    const large = renderPhantom({ width: 2 * SIZE, height: 2 * SIZE, label: 'NORMAL', seed: 8 });
    let difference = 0;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const i = 2 * y * 2 * SIZE + 2 * x;
        const down = (large[i] + large[i + 1] + large[i + 2 * SIZE] + large[i + 2 * SIZE + 1]) / 4;
        difference += Math.abs(down - small[y * SIZE + x]);
      }
    }
    expect(difference / (SIZE * SIZE)).toBeLessThan(0.04);
  });

  it('rejects sizes and labels it cannot render', () => {
    expect(() => renderPhantom({ width: 8, height: SIZE, label: 'NORMAL', seed: 1 })).toThrow(/width/);
    expect(() => renderPhantom({ width: SIZE, height: 1.5, label: 'NORMAL', seed: 1 })).toThrow(/height/);
    expect(() => renderPhantom({ width: SIZE, height: SIZE, label: 'OTHER' as 'NORMAL', seed: 1 })).toThrow(/label/);
  });
});

const SPLITS: SplitCounts = { train: { NORMAL: 4, PNEUMONIA: 7 }, test: { NORMAL: 2, PNEUMONIA: 3 }, val: { NORMAL: 1, PNEUMONIA: 2 } };
const NORMAL_NAME = /^((?:NORMAL2-)?IM-\d{4,})-\d{4}\.jpeg$/;
const PNEUMONIA_NAME = /^(person\d+)_(bacteria|virus)_(\d+)\.jpeg$/;

describe('synthesizeDataset', () => {
  let root: string;
  let files: string[];
  let progress: Array<[number, number]>;

  beforeAll(async () => {
    root = path.join(tempDir('kermany'), 'out');
    progress = [];
    const summary = await synthesizeDataset({
      outDir: root,
      splits: SPLITS,
      width: SIZE,
      height: SIZE,
      seed: 7,
      concurrency: 3,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(summary).toMatchObject({ outDir: root, files: 19, counts: SPLITS, bitDepth: 8, width: SIZE, height: SIZE, seed: 7 });
    files = listFiles(root);
  });

  it('writes the Kermany layout with the release file-name patterns and the requested counts', () => {
    expect(files).toContain(SYNTHETIC_MARKER_FILE);
    const images = files.filter((file) => file !== SYNTHETIC_MARKER_FILE);
    expect(images).toHaveLength(19);
    for (const [split, labels] of Object.entries(SPLITS)) {
      for (const [label, count] of Object.entries(labels)) {
        const here = images.filter((file) => file.startsWith(`${split}/${label}/`)).map((file) => path.posix.basename(file));
        expect(here).toHaveLength(count);
        for (const name of here) expect(name).toMatch(label === 'NORMAL' ? NORMAL_NAME : PNEUMONIA_NAME);
      }
    }
    expect(progress.at(-1)).toEqual([19, 19]);
    expect(progress.map(([done]) => done)).toEqual(Array.from({ length: 19 }, (_, k) => k + 1));
  });

  it('keeps each patient in one split and one label, with one pneumonia kind', () => {
    const seen = new Map<string, string>();
    for (const file of files.filter((f) => f !== SYNTHETIC_MARKER_FILE)) {
      const [split, label, name] = file.split('/');
      const normal = NORMAL_NAME.exec(name);
      const pneumonia = PNEUMONIA_NAME.exec(name);
      const patient = normal ? normal[1] : pneumonia![1];
      const group = `${split}/${label}/${pneumonia ? pneumonia[2] : ''}`;
      expect(seen.get(patient) ?? group).toBe(group);
      seen.set(patient, group);
    }
    // Fewer patients than images: some patients have several images.
    expect(seen.size).toBeLessThan(19);
    // Running image numbers of PNEUMONIA files are unique, as in the release.
    const numbers = files.map((f) => PNEUMONIA_NAME.exec(path.posix.basename(f))?.[3]).filter(Boolean);
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('marks the dataset and every image as synthetic', async () => {
    const marker = JSON.parse(readFileSync(path.join(root, SYNTHETIC_MARKER_FILE), 'utf8'));
    expect(marker).toMatchObject({ generator: 'medpsim-synth', synthetic: true, complete: true, seed: 7, counts: SPLITS, files: 19 });
    expect(marker.notice).toMatch(/synthetic.*not patient data/);
    expect(await isSyntheticDatasetRoot(root)).toBe(true);
    expect(await isSyntheticDatasetRoot(path.join(root, 'train'))).toBe(false);
    expect(await isSyntheticDatasetRoot(path.join(root, 'missing'))).toBe(false);
    for (const file of files.filter((f) => f !== SYNTHETIC_MARKER_FILE)) {
      const metadata = await sharp(path.join(root, file)).metadata();
      expect(metadata).toMatchObject({ format: 'jpeg', width: SIZE, height: SIZE, channels: 1 });
      expect(metadata.exif?.toString('latin1')).toContain(SYNTHETIC_IMAGE_DESCRIPTION);
    }
  });

  it('writes byte-identical files for the same seed and different ones for another', async () => {
    const again = path.join(tempDir('again'), 'out');
    await synthesizeDataset({ outDir: again, splits: SPLITS, width: SIZE, height: SIZE, seed: 7, concurrency: 1 });
    expect(listFiles(again)).toEqual(files);
    for (const file of files) expect(readFileSync(path.join(again, file)).equals(readFileSync(path.join(root, file)))).toBe(true);

    const other = path.join(tempDir('other'), 'out');
    await synthesizeDataset({ outDir: other, splits: SPLITS, width: SIZE, height: SIZE, seed: 8 });
    const otherFiles = listFiles(other);
    const common = otherFiles.filter((file) => file !== SYNTHETIC_MARKER_FILE && files.includes(file));
    expect(common.length).toBeGreaterThan(0);
    for (const file of common) expect(readFileSync(path.join(other, file)).equals(readFileSync(path.join(root, file)))).toBe(false);
  });

  it('writes 16-bit greyscale PNGs that use more than 8 bits', async () => {
    const dir = path.join(tempDir('png16'), 'out');
    await synthesizeDataset({ outDir: dir, count: 3, width: SIZE, height: 96, bitDepth: 16, seed: 4 });
    const images = listFiles(dir).filter((file) => file !== SYNTHETIC_MARKER_FILE);
    expect(images).toHaveLength(3);
    for (const file of images) {
      expect(file).toMatch(/\.png$/);
      const metadata = await sharp(path.join(dir, file)).metadata();
      expect(metadata).toMatchObject({ format: 'png', depth: 'ushort', channels: 1, width: SIZE, height: 96 });
      expect(metadata.exif?.toString('latin1')).toContain(SYNTHETIC_IMAGE_DESCRIPTION);
      const { data, info } = await sharp(path.join(dir, file)).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      expect(info.channels).toBe(1);
      const samples = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
      const max = samples.reduce((m, v) => Math.max(m, v), 0);
      expect(max).toBeGreaterThan(255 * 64);
      // Not 8-bit values scaled up: low bits vary.
      expect(samples.some((v) => v % 257 !== 0)).toBe(true);
    }
  });

  it('writes a flat folder and splits --count like the Kermany release', async () => {
    const dir = path.join(tempDir('flat'), 'out');
    const summary = await synthesizeDataset({ outDir: dir, count: 20, width: 64, height: 64, seed: 9, flat: true });
    // 624/5856 of 20 in test, 16/5856 in val (rounds to 0), the rest in train; NORMAL shares 1349/5232, 234/624.
    expect(summary.counts).toEqual({ train: { NORMAL: 5, PNEUMONIA: 13 }, test: { NORMAL: 1, PNEUMONIA: 1 }, val: { NORMAL: 0, PNEUMONIA: 0 } });
    const names = listFiles(dir).filter((file) => file !== SYNTHETIC_MARKER_FILE);
    expect(names).toHaveLength(20);
    expect(names.filter((name) => NORMAL_NAME.test(name))).toHaveLength(6);
    expect(names.filter((name) => PNEUMONIA_NAME.test(name))).toHaveLength(14);
  });

  it("fills every split for the README's --count 200", () => {
    expect(resolveCounts({ outDir: 'x', count: 200 })).toEqual({ train: { NORMAL: 46, PNEUMONIA: 132 }, test: { NORMAL: 8, PNEUMONIA: 13 }, val: { NORMAL: 1, PNEUMONIA: 0 } });
  });

  it('refuses to write into a folder with other content, and rejects bad options', async () => {
    const busy = tempDir('busy');
    writeFileSync(path.join(busy, 'patient.dcm'), 'real data');
    await expect(synthesizeDataset({ outDir: busy, count: 1, width: 32, height: 32 })).rejects.toThrow(/not empty/);
    await expect(synthesizeDataset({ outDir: tempDir('x'), count: 2, splits: SPLITS })).rejects.toThrow(/either/);
    await expect(synthesizeDataset({ outDir: tempDir('x'), count: 0 })).rejects.toThrow(/nothing to generate/);
    await expect(synthesizeDataset({ outDir: tempDir('x'), count: 1, bitDepth: 12 as 8 })).rejects.toThrow(/bitDepth/);
  });
});

describe('synth command options', () => {
  it('maps the command line onto dataset options', () => {
    expect(parseSynthOptions('out', { size: '256', bitDepth: '16', seed: '5', flat: true, count: '10' })).toEqual({
      outDir: 'out',
      width: 256,
      height: 256,
      bitDepth: 16,
      seed: 5,
      flat: true,
      count: 10,
    });
    expect(parseSynthOptions('out', { width: '300', height: '200', trainNormal: '2', valPneumonia: '1' })).toMatchObject({
      width: 300,
      height: 200,
      bitDepth: 8,
      splits: { train: { NORMAL: 2, PNEUMONIA: 0 }, test: { NORMAL: 0, PNEUMONIA: 0 }, val: { NORMAL: 0, PNEUMONIA: 1 } },
    });
  });

  it.each([
    [{ bitDepth: '12' }, '--bit-depth must be 8 or 16'],
    [{ size: '16' }, '--size must be between 32 and 8192'],
    [{ width: '9000' }, '--width must be between 32 and 8192'],
    [{ size: '64', width: '64' }, 'either --size or --width/--height'],
    [{ count: '5', testNormal: '1' }, 'either --count or per-split counts (--test-normal)'],
    [{ count: 'ten' }, "--count must be a non-negative integer, got 'ten'"],
    [{ count: '0' }, '--count must be at least 1'],
    [{ trainNormal: '0' }, 'add up to no images'],
    [{ seed: '-1' }, '--seed must be a non-negative integer'],
  ])('%j is refused: %s', (options, message) => {
    expect(() => parseSynthOptions('out', options)).toThrow(SynthUsageError);
    expect(() => parseSynthOptions('out', options)).toThrow(message);
  });
});
