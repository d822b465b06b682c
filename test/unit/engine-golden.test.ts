/**
 * Stored distorted images must not change under a speed-up or on another machine: the SHA-256 of every native
 * kind's output, at severity 0.5 with a fixed seed, on a grey and a colour test image, on one thread and on
 * three, must be the one recorded in test/fixtures/engine-golden.json (the engine picks its AVX2 or baseline
 * loops at run time; both must give these bits). A deliberate change of results updates the file:
 *
 *   MEDPSIM_UPDATE_GOLDEN=1 npx jest test/unit/engine-golden.test.ts
 *
 * and says why in its commit (CPU, CUDA and the trainer's Python noise change together).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NATIVE_KINDS } from '../../src/distortions/catalog';
import { resolveStep } from '../../src/distortions/spec';
import { nativeEngine } from '../../src/platform/native';

const GOLDEN = path.join(__dirname, '..', 'fixtures', 'engine-golden.json');
const IMAGES = [
  { width: 67, height: 45, channels: 1 as const },
  { width: 40, height: 33, channels: 3 as const },
];

/** A smooth gradient with seeded texture: every kind changes it, nothing clips it to a constant. */
function testImage(width: number, height: number, channels: 1 | 3): Float32Array {
  const data = new Float32Array(width * height * channels);
  let state = 20261203;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        data[(c * height + y) * width + x] = 0.2 + 0.5 * (x / width) * (0.6 + 0.4 * (y / height)) + 0.1 * (c / 3) + 0.15 * (state / 2 ** 32);
      }
    }
  }
  return data;
}

async function hashes(): Promise<Record<string, string>> {
  const engine = nativeEngine();
  const out: Record<string, string> = {};
  for (const image of IMAGES) {
    const data = testImage(image.width, image.height, image.channels);
    for (const kind of NATIVE_KINDS) {
      if (kind.needsColor && image.channels !== 3) continue;
      const step = resolveStep({ kind: kind.name, severity: 0.5 }, image);
      for (const threads of [1, 3]) {
        const [result] = await engine.distort([{ ...image, data: data.slice(), seed: 7n }], [{ kind: step.kind, params: step.params }], { threads, backend: 'cpu' });
        const digest = createHash('sha256').update(Buffer.from(result.buffer, result.byteOffset, result.byteLength)).digest('hex');
        const key = `${kind.name} ${image.width}x${image.height}x${image.channels}`;
        if (threads === 1) out[key] = digest;
        else expect({ key, threads, digest }).toEqual({ key, threads, digest: out[key] }); // threads never change the bits
      }
    }
  }
  return out;
}

it('gives every kind the recorded bits (any thread count, any instruction set)', async () => {
  const actual = await hashes();
  if (process.env.MEDPSIM_UPDATE_GOLDEN) writeFileSync(GOLDEN, `${JSON.stringify(actual, null, 2)}\n`);
  const expected = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, string>;
  expect(actual).toEqual(expected);
});
