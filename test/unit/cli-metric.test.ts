/** `medpsim metric`, as scripts call it (built CLI, real files): the value printed, the data range, errors. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { makeDicom } from '../helpers/dicom-fixtures';
import { CLI, startProcess, stopProcesses } from '../helpers/processes';

afterAll(stopProcesses);

const dir = mkdtempSync(path.join(tmpdir(), 'medpsim-metric-'));

async function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = startProcess(CLI, args, {});
  return { code: await child.exited, output: child.output().trim() };
}

async function greyPng(name: string, pixels: Uint8Array, width: number, height: number): Promise<string> {
  const file = path.join(dir, name);
  writeFileSync(file, await sharp(Buffer.from(pixels), { raw: { width, height, channels: 1 } }).png().toBuffer());
  return file;
}

const W = 48;
const H = 40;
const clean = Uint8Array.from({ length: W * H }, (_, i) => 50 + (i % W) * 3);
const noisy = clean.map((v, i) => v + ((i * 31) % 9) - 4);

it('prints PSNR as computed from the pixels, and inf for identical images', async () => {
  const a = await greyPng('a.png', clean, W, H);
  const b = await greyPng('b.png', noisy, W, H);
  let sum = 0;
  for (let i = 0; i < clean.length; i++) sum += (clean[i] - noisy[i]) ** 2;
  const psnr = 10 * Math.log10((255 * 255) / (sum / clean.length));
  const run = await cli(['metric', 'psnr', a, b]);
  expect(run.code).toBe(0);
  expect(Number(run.output)).toBeCloseTo(psnr, 5); // the engine sees float32 samples (v / 255): ~1e-7 dB from their rounding
  expect(await cli(['metric', 'psnr', a, a])).toEqual({ code: 0, output: 'inf' });
  const json = await cli(['metric', 'ms_ssim', a, b, '-p', 'scales=2', '--json']);
  expect(JSON.parse(json.output)).toMatchObject({ metric: 'ms_ssim', params: { scales: 2 }, version: 1, dataBits: 8, value: expect.any(Number) });
});

it('takes the data range from DICOM BitsStored, and refuses a range the data exceeds', async () => {
  const pixels = Array.from({ length: 16 * 12 }, (_, i) => (i * 397) % 4096);
  const file = path.join(dir, 'twelve.dcm');
  writeFileSync(file, await makeDicom({ width: 16, height: 12, bitsStored: 12, pixels }));
  const run = await cli(['metric', 'mse', file, file, '--json']);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.output)).toMatchObject({ value: 0, dataBits: 12 });
  const eight = await cli(['metric', 'mse', file, file, '--data-bits', '8']);
  expect(eight.code).toBe(1);
  expect(eight.output).toContain('outside the data range');
});

it('names what is wrong: an unknown metric, images of two sizes, an image too small', async () => {
  const a = await greyPng('c.png', clean, W, H);
  const small = await greyPng('small.png', clean.subarray(0, 10 * 8), 10, 8);
  const unknown = await cli(['metric', 'lpipz', a, a]);
  expect(unknown.code).toBe(1);
  expect(unknown.output).toContain('unknown metric "lpipz"');
  expect((await cli(['metric', 'mse', a, small])).output).toContain('images differ in shape: 48x40x1 vs 10x8x1');
  expect((await cli(['metric', 'ssim', small, small])).output).toContain('needs at least 11 x 11');
});
