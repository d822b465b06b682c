/** `medpsim distort` and `medpsim distortions`, as scripts call them (built CLI, real files). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CATALOG } from '../../src/distortions/catalog';
import { grey16Png, pngSamples } from '../helpers/files';
import { writeTinyModel } from '../helpers/models';
import { CLI, startProcess, stopProcesses } from '../helpers/processes';

afterAll(stopProcesses);

async function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = startProcess(CLI, args, {});
  return { code: await child.exited, output: child.output() };
}

const dir = mkdtempSync(path.join(tmpdir(), 'medpsim-distort-'));

it('distorts a 16-bit image into a 16-bit image, the same for the same seed', async () => {
  const { png, pixels } = await grey16Png(64, 48);
  const input = path.join(dir, 'in.png');
  writeFileSync(input, png);
  const run = (output: string, seed: string) =>
    cli(['distort', input, '-o', path.join(dir, output), '--kind', 'gaussian_noise', '--severity', '0.5', '--seed', seed, '--backend', 'cpu', '--json']);

  const first = await run('a.png', '7');
  expect(first.code).toBe(0);
  expect(JSON.parse(first.output)).toMatchObject({ bitDepth: 16, backend: 'CPU', steps: [{ kind: 'gaussian_noise', params: { sigma: 0.1 } }] });
  const samples = await pngSamples(readFileSync(path.join(dir, 'a.png')));
  expect(samples).toMatchObject({ depth: 'ushort', channels: 1, width: 64, height: 48 });
  expect(samples.data).not.toEqual(Array.from(pixels));

  await run('b.png', '7');
  await run('c.png', '8');
  expect(readFileSync(path.join(dir, 'b.png')).equals(readFileSync(path.join(dir, 'a.png')))).toBe(true);
  expect(readFileSync(path.join(dir, 'c.png')).equals(readFileSync(path.join(dir, 'a.png')))).toBe(false);
});

it('runs a CNN-based kind with the model file given', async () => {
  const { png, pixels } = await grey16Png(20, 12);
  const input = path.join(dir, 'cnn-in.png');
  writeFileSync(input, png);
  const model = writeTinyModel(dir, 'half', { factor: 0.5, manifest: { task: 'gan-generator' } });
  const args = ['distort', input, '-o', path.join(dir, 'cnn.png'), '--kind', 'gan_generator', '-p', 'mix=1', '--json'];
  const result = await cli([...args, '--model', model]);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.output).steps[0]).toMatchObject({ kind: 'gan_generator', model: 'half' });
  const { data } = await pngSamples(readFileSync(path.join(dir, 'cnn.png')));
  data.forEach((value, i) => expect(Math.abs(value - Math.round(pixels[i] * 0.5))).toBeLessThanOrEqual(1));
  const noModel = await cli(args);
  expect(noModel.code).toBe(1);
  expect(noModel.output).toContain('steps[0].model: gan_generator needs the name of a registered gan-generator model');
});

it('explains bad arguments and exits 1', async () => {
  const input = path.join(dir, 'in.png');
  const outOfRange = await cli(['distort', input, '-o', path.join(dir, 'x.png'), '--kind', 'gaussian_blur', '--param', 'sigma=-3']);
  expect(outOfRange.code).toBe(1);
  expect(outOfRange.output).toContain('steps[0].params.sigma: must be in [0, 50] px, got -3');
  const unknown = await cli(['distort', input, '-o', path.join(dir, 'x.png'), '--kind', 'blurry']);
  expect(unknown.output).toContain('unknown distortion kind "blurry"');
  const both = await cli(['distort', input, '-o', path.join(dir, 'x.png'), '--kind', 'contrast', '-p', 'factor=2', '-s', '0.5']);
  expect(both.output).toContain('give --param or --severity, not both');
});

it('prints the catalog as JSON', async () => {
  const { code, output } = await cli(['distortions', '--json']);
  expect(code).toBe(0);
  expect(JSON.parse(output)).toHaveLength(CATALOG.length);
});
