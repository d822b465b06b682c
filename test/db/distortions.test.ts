/** Distortions through GraphQL: previews, jobs (specs and severity sweeps), stored results, bad input. */
import sharp from 'sharp';
import { grey16Png } from '../helpers/files';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { pngSamples } from '../helpers/files';

let t: TestApp;
let imageId: string;
let datasetId: string;

const body = (response: Response): Promise<any> => response.json();

beforeAll(async () => {
  t = await startTestApp({ http: true });
  const { png } = await grey16Png(64, 48);
  const response = await t.upload(`dataset=distort&filename=deep.png`, png);
  ({ id: imageId, datasetId } = (await body(response)).image);
});

afterAll(async () => {
  await t?.close();
});

const PREVIEW = `mutation ($id: ID!, $steps: [DistortionStepInput!]!, $seed: Float) {
  previewDistortion(imageId: $id, steps: $steps, seed: $seed) { dataUrl width height channels bitDepth backend note steps } }`;

it('previews a chain on a 16-bit image without storing it, and says why it ran on the CPU', async () => {
  const { data, errors } = await t.gql(PREVIEW, {
    id: imageId,
    steps: [{ kind: 'gaussian_blur', severity: 0.5 }, { kind: 'jpeg', params: { quality: 40 } }],
    seed: 5,
  });
  expect(errors).toBeUndefined();
  const preview = data!.previewDistortion;
  expect(preview).toMatchObject({ width: 64, height: 48, channels: 1, bitDepth: 16, backend: 'CPU' });
  expect(preview.note).toContain('AUTO fell back to CPU');
  expect(preview.steps).toEqual([
    { kind: 'gaussian_blur', params: { sigma: expect.closeTo(0.288, 10) }, severity: 0.5, identity: false },
    { kind: 'jpeg', params: { quality: 40 }, severity: null, identity: false },
  ]);
  const png = Buffer.from(preview.dataUrl.replace('data:image/png;base64,', ''), 'base64');
  expect((await sharp(png).metadata()).depth).toBe('ushort');
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM distorted_images`);
  expect(rows[0].n).toBe(0);
});

it('refuses bad specs with the field and range', async () => {
  const bad = async (steps: unknown[], seed = 0) => (await t.gql(PREVIEW, { id: imageId, steps, seed })).errors![0];
  expect((await bad([{ kind: 'gaussian_blur', params: { sigma: 99 } }])).extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'steps[0].params.sigma',
    min: 0,
    max: 50,
  });
  expect((await bad([{ kind: 'saturation', severity: 0.5 }])).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'steps[0].kind' });
  expect((await bad([{ kind: 'contrast', severity: 2 }])).extensions).toMatchObject({ field: 'steps[0].severity', min: 0, max: 1 });
  expect((await bad([{ kind: 'contrast' }], -1)).extensions).toMatchObject({ field: 'seed' });
  expect((await bad([])).extensions).toMatchObject({ field: 'steps' });
  expect((await bad([{ kind: 'not_a_kind' }])).extensions!.code).toBe('BAD_USER_INPUT'); // enum validation
});

it('runs a severity sweep over a dataset as a job and stores each result once', async () => {
  const DISTORT = `mutation ($input: DistortImagesInput!) { distortImages(input: $input) { id kind state } }`;
  const input = { datasetId, sweep: { kind: 'gaussian_noise', severities: [0, 0.3, 0.6] }, seed: 11, backend: 'CPU' };
  const started = await t.gql(DISTORT, { input });
  expect(started.errors).toBeUndefined();
  expect(started.data!.distortImages.kind).toBe('DISTORT');
  const job = await waitForJob(t, started.data!.distortImages.id);
  expect(job).toMatchObject({ state: 'COMPLETED', total: 3, done: 3, failed: 0 });

  const { data } = await t.gql(
    `query ($id: ID!) { image(id: $id) { distortions { id steps seed backend width height channels bitDepth contentHash url } } }`,
    { id: imageId },
  );
  const results = data!.image.distortions;
  expect(results).toHaveLength(3);
  expect(results.map((r: { steps: Array<{ params: { sigma: number } }> }) => r.steps[0].params.sigma).sort()).toEqual([0, 0.06, 0.12]);
  for (const result of results) expect(result).toMatchObject({ seed: 11, backend: 'CPU', width: 64, height: 48, channels: 1, bitDepth: 16 });

  const png = Buffer.from(await (await fetch(results[0].url)).arrayBuffer());
  expect((await pngSamples(png)).depth).toBe('ushort');

  // The same sweep again: nothing new is stored.
  const again = await t.gql(DISTORT, { input });
  expect(await waitForJob(t, again.data!.distortImages.id)).toMatchObject({ state: 'COMPLETED', done: 0, skipped: 3 });
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM distorted_images`);
  expect(rows[0].n).toBe(3);
});

it('checks a job request before queuing it', async () => {
  const DISTORT = `mutation ($input: DistortImagesInput!) { distortImages(input: $input) { id } }`;
  const missing = await t.gql(DISTORT, { input: { imageIds: ['00000000-0000-4000-8000-000000000000'], specs: [[{ kind: 'contrast' }]] } });
  expect(missing.errors![0].extensions!.code).toBe('NOT_FOUND');
  const neither = await t.gql(DISTORT, { input: { imageIds: [imageId] } });
  expect(neither.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'specs' });
  const cuda = await t.gql(DISTORT, { input: { imageIds: [imageId], specs: [[{ kind: 'contrast' }]], backend: 'CUDA' } });
  expect(cuda.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'backend' });
  expect(cuda.errors![0].message).toContain('CUDA is not available');
  const badLimit = await t.gql(DISTORT, { input: { datasetId, limit: 0, specs: [[{ kind: 'contrast' }]] } });
  expect(badLimit.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limit', min: 1 });
  const both = await t.gql(DISTORT, { input: { datasetId, imageIds: [imageId], specs: [[{ kind: 'contrast' }]] } });
  expect(both.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'imageIds' });
  const badSpec = await t.gql(DISTORT, { input: { imageIds: [imageId], specs: [[{ kind: 'shift', params: { dx: 1e6 } }]] } });
  expect(badSpec.errors![0].extensions).toMatchObject({ field: 'specs[0][0].params.dx' });
});
