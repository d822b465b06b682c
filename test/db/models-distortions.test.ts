/**
 * CNN-based distortion kinds through GraphQL: registered ONNX models run by onnxruntime in the inference
 * workers. A one-node model (output = factor x input) makes every expected sample exact; a GAN generator
 * trained by the training package (when torch is there) runs in a stored distortion job.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { grey16Png, pngSamples } from '../helpers/files';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { makeTinyDataset, runTraining, TINY_TRAININGS, torchAvailable, writeTinyModel } from '../helpers/models';

let t: TestApp;
let imageId: string;
let source: number[];
let modelsDir: string;

const body = (response: Response): Promise<any> => response.json();

beforeAll(async () => {
  modelsDir = path.join(mkdtempSync(path.join(tmpdir(), 'medpsim-cnn-')), 'onnx');
  mkdirSync(modelsDir);
  writeTinyModel(modelsDir, 'half', { factor: 0.5, manifest: { task: 'gan-generator' } });
  writeTinyModel(modelsDir, 'double-dae', { factor: 2, manifest: { task: 'dae' } });
  t = await startTestApp({ http: true, env: { MEDPSIM_MODELS_DIR: modelsDir, MEDPSIM_ONNX_PROVIDER: 'cpu' } });
  const { png } = await grey16Png(24, 18);
  const response = await t.upload(`dataset=cnn&filename=x.png`, png);
  imageId = (await body(response)).image.id;
  source = (await pngSamples(png)).data;
});

afterAll(async () => {
  await t?.close();
});

const PREVIEW = `mutation ($id: ID!, $steps: [DistortionStepInput!]!, $seed: Float) {
  previewDistortion(imageId: $id, steps: $steps, seed: $seed) { dataUrl width height channels bitDepth steps } }`;

async function preview(steps: unknown[]) {
  const { data, errors } = await t.gql(PREVIEW, { id: imageId, steps, seed: 3 });
  if (errors) return { errors };
  const png = Buffer.from(data!.previewDistortion.dataUrl.replace('data:image/png;base64,', ''), 'base64');
  return { preview: data!.previewDistortion, samples: (await pngSamples(png)).data };
}

it('runs a registered generator on the image, mixed with the original, and records the model and its hash', async () => {
  const { preview: result, samples } = await preview([{ kind: 'gan_generator', params: { mix: 0.5 }, model: 'half' }]);
  expect(result.steps).toEqual([
    {
      kind: 'gan_generator',
      params: { corruption: 0, level: 0.1, mix: 0.5 },
      severity: null,
      identity: false,
      model: 'half',
      modelSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    },
  ]);
  // 0.5 x + 0.5 (0.5 x) = 0.75 x, on 16-bit levels.
  samples!.forEach((value, i) => expect(Math.abs(value - Math.round(0.75 * source[i]))).toBeLessThanOrEqual(1));
});

it('chains a native kind before a model step, and mix 0 is an exact copy that runs no model', async () => {
  const { samples: chained } = await preview([
    { kind: 'lightness_shift', params: { delta: 0.1 } },
    { kind: 'dae_reconstruction', params: { mix: 1 }, model: 'double-dae' },
  ]);
  chained!.forEach((value, i) => {
    const expected = Math.min(65535, Math.round(2 * Math.min(65535, source[i] + 0.1 * 65535)));
    expect(Math.abs(value - expected)).toBeLessThanOrEqual(2);
  });
  const { samples: copy } = await preview([{ kind: 'gan_generator', params: { mix: 0 }, model: 'no-such-model' }]);
  expect(copy).toEqual(source);
});

it('names the step field for a missing, unknown or wrong-task model', async () => {
  const error = async (steps: unknown[]) => ((await preview(steps)).errors ?? [])[0];
  expect((await error([{ kind: 'gan_generator', severity: 0.5 }])).extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'steps[0].model',
  });
  expect((await error([{ kind: 'gan_generator', severity: 0.5, model: 'nope' }])).extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'steps[0].model',
  });
  const wrongTask = await error([{ kind: 'gan_generator', severity: 0.5, model: 'double-dae' }]);
  expect(wrongTask.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'steps[0].model' });
  expect(wrongTask.message).toContain('dae');
  expect((await error([{ kind: 'gaussian_blur', severity: 0.5, model: 'half' }])).extensions).toMatchObject({ field: 'steps[0].model' });
  const job = await t.gql(
    `mutation ($input: DistortImagesInput!) { distortImages(input: $input) { id } }`,
    { input: { imageIds: [imageId], sweep: { kind: 'gan_generator', severities: [0.5], model: 'nope' } } },
  );
  expect(job.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'specs[0][0].model' });
});

const withTorch = torchAvailable() ? it : process.env.CI ? it : it.skip;
if (!torchAvailable() && !process.env.CI) console.warn('torch not importable by /usr/bin/python3: the trained-GAN test is SKIPPED');

withTorch(
  'stores a severity sweep of a trained GAN generator (corrupted with white noise first) as a job',
  async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'medpsim-gan-'));
    makeTinyDataset(path.join(work, 'data'));
    await runTraining([...TINY_TRAININGS['gan-generator'], '--data', path.join(work, 'data'), '--out-dir', work, '--name', 'gan-tiny']);
    const registered = await t.gql(`mutation ($path: String!) { registerModel(path: $path) { change model { name task } } }`, {
      path: path.join(work, 'gan-tiny.onnx'),
    });
    expect(registered.errors).toBeUndefined();
    expect(registered.data!.registerModel.model).toEqual({ name: 'gan-tiny', task: 'GAN_GENERATOR' });
    const { data, errors } = await t.gql(
      `mutation ($input: DistortImagesInput!) { distortImages(input: $input) { id } }`,
      {
        input: {
          imageIds: [imageId],
          seed: 11,
          specs: [0.5, 1].map((mix) => [{ kind: 'gan_generator', params: { corruption: 2, level: 0.05, mix }, model: 'gan-tiny' }]),
        },
      },
    );
    expect(errors).toBeUndefined();
    const job = await waitForJob(t, data!.distortImages.id);
    expect(job).toMatchObject({ state: 'COMPLETED', done: 2, failed: 0 });
    const stored = await t.gql(`query ($id: ID!) { image(id: $id) { distortions { steps width height } } }`, { id: imageId });
    const steps = stored.data!.image.distortions.map((d: { steps: Array<{ model: string; modelSha256: string }> }) => d.steps[0]);
    expect(steps).toHaveLength(2);
    for (const step of steps) expect(step).toMatchObject({ model: 'gan-tiny', modelSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  },
  180_000,
);
