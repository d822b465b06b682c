/**
 * Metrics of stored images through GraphQL: the catalog, values of originals and distorted images, the data
 * range from the bit depth, maps, and every kind of bad input as a typed error. (The metrics' values against
 * scikit-image and the papers' definitions are tested in native/tests/metric_tests*.cpp.)
 */
import sharp from 'sharp';
import { nativeEngine } from '../../src/platform/native';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { grey16Png } from '../helpers/files';
import { buildSet, importPhantoms } from '../helpers/testsets';

let t: TestApp;
const ids: Record<string, string> = {};
let noisy: Uint8Array;
let clean: Uint8Array;

const body = (response: Response): Promise<any> => response.json();

async function upload(name: string, png: Buffer): Promise<string> {
  return (await body(await t.upload(`dataset=metrics&filename=${name}`, png))).image.id;
}

beforeAll(async () => {
  t = await startTestApp({ http: true });
  const width = 96;
  const height = 80;
  clean = new Uint8Array(width * height);
  noisy = new Uint8Array(width * height);
  for (let i = 0; i < clean.length; i++) {
    const x = i % width;
    const y = Math.floor(i / width);
    clean[i] = 60 + x + ((x >> 3) + (y >> 3)) % 2 * 40;
    noisy[i] = Math.min(255, Math.max(0, clean[i] + ((i * 7919) % 23) - 11));
  }
  const png = (pixels: Uint8Array, w = width, h = height) => sharp(Buffer.from(pixels), { raw: { width: w, height: h, channels: 1 } }).png().toBuffer();
  ids.clean = await upload('clean.png', await png(clean));
  ids.noisy = await upload('noisy.png', await png(noisy));
  ids.small = await upload('small.png', await png(clean.subarray(0, 40 * 30), 40, 30));
  ids.deep = await upload('deep.png', (await grey16Png(96, 80)).png);
});

afterAll(async () => {
  await t?.close();
});

const COMPARE = `query ($a: ImageRefInput!, $b: ImageRefInput!, $metrics: [MetricInput!]!, $dataBits: Int, $maps: Boolean) {
  compareImages(a: $a, b: $b, metrics: $metrics, dataBits: $dataBits, maps: $maps) {
    metric params version value infinite dataBits note map { width height min max dataUrl } } }`;

const compare = (a: Record<string, unknown>, b: Record<string, unknown>, metrics: unknown[], extra: Record<string, unknown> = {}) =>
  t.gql<any>(COMPARE, { a, b, metrics, ...extra });

it('lists the catalog with its pinned settings and versions', async () => {
  const { data, errors } = await t.gql<any>(`{ metricCatalog { name family direction channels minSide version toolkits needsModel params { name min max default integer } } }`);
  expect(errors).toBeUndefined();
  const names = data.metricCatalog.map((metric: { name: string }) => metric.name);
  expect(names).toEqual(['mse', 'psnr', 'ssim', 'ms_ssim', 'gmsd', 'haarpsi', 'vif', 'fsim', 'lpips']);
  expect(data.metricCatalog.find((metric: { name: string }) => metric.name === 'lpips')).toMatchObject({ family: 'deep', direction: 'distance', channels: 'model', needsModel: true });
  const msssim = data.metricCatalog.find((metric: { name: string }) => metric.name === 'ms_ssim');
  expect(msssim).toMatchObject({ direction: 'similarity', channels: 'per_channel', minSide: 161, params: [{ name: 'scales', min: 1, max: 5, default: 5, integer: true }] });
  expect(data.metricCatalog.find((metric: { name: string }) => metric.name === 'ssim').toolkits).toContain('skimage.metrics.structural_similarity');
});

it('scores two stored originals: MSE and PSNR as computed here from the pixels, every metric away from identity', async () => {
  const metrics = ['mse', 'psnr', 'ssim', 'gmsd', 'haarpsi', 'vif', 'fsim'].map((name) => ({ name }));
  metrics.push({ name: 'ms_ssim', params: { scales: 2 } } as { name: string });
  const { data, errors } = await compare({ imageId: ids.clean }, { imageId: ids.noisy }, metrics);
  expect(errors).toBeUndefined();
  const byName = Object.fromEntries(data.compareImages.map((v: { metric: string; value: number }) => [v.metric, v]));
  let sum = 0;
  for (let i = 0; i < clean.length; i++) sum += ((clean[i] - noisy[i]) / 255) ** 2;
  const mse = sum / clean.length;
  expect(byName.mse.value).toBeCloseTo(mse, 9);
  expect(byName.psnr.value).toBeCloseTo(10 * Math.log10(1 / mse), 6);
  expect(byName.mse).toMatchObject({ version: 1, dataBits: 8, infinite: false, map: null });
  if (!nativeEngine().backends().cuda) expect(byName.mse.note).toContain('AUTO fell back to CPU');
  expect(byName.ms_ssim.params).toEqual({ scales: 2 });
  for (const name of ['ssim', 'ms_ssim', 'haarpsi', 'vif', 'fsim']) {
    expect(byName[name].value).toBeGreaterThan(0);
    expect(byName[name].value).toBeLessThan(0.999);
  }
  expect(byName.gmsd.value).toBeGreaterThan(0.001);
});

it('gives identical images their ideal values (PSNR infinite, as null) and maps at the image size', async () => {
  const { data, errors } = await compare({ imageId: ids.clean }, { imageId: ids.clean }, [{ name: 'psnr' }, { name: 'ssim' }], { maps: true });
  expect(errors).toBeUndefined();
  const [psnr, ssim] = data.compareImages;
  expect(psnr).toMatchObject({ value: null, infinite: true });
  expect(ssim.value).toBeCloseTo(1, 12);
  expect(ssim.map).toMatchObject({ width: 96, height: 80, min: 1, max: 1 });
  const png = Buffer.from(ssim.map.dataUrl.replace('data:image/png;base64,', ''), 'base64');
  expect(await sharp(png).metadata()).toMatchObject({ width: 96, height: 80, channels: 1 });
});

it('scores a stored distorted image against its source', async () => {
  const job = await t.gql<any>(`mutation ($ids: [ID!]) { distortImages(input: { imageIds: $ids, specs: [[{ kind: gaussian_blur, params: { sigma: 1.5 } }]] }) { id } }`, { ids: [ids.clean] });
  expect(job.errors).toBeUndefined();
  await waitForJob(t, job.data.distortImages.id);
  const { rows } = await t.app.pool.query(`SELECT id FROM distorted_images WHERE image_id = $1`, [ids.clean]);
  const { data, errors } = await compare({ imageId: ids.clean }, { distortionId: rows[0].id }, [{ name: 'ssim' }, { name: 'mse' }]);
  expect(errors).toBeUndefined();
  expect(data.compareImages[0].value).toBeLessThan(0.99);
  expect(data.compareImages[1].value).toBeGreaterThan(0);
});

it('takes the data range from the bit depth and refuses a range the data exceeds', async () => {
  // 16-bit PNG holding 12-bit data: the default range is 16 bits; 12 bits fits the data, 8 bits does not.
  const full = await compare({ imageId: ids.deep }, { imageId: ids.deep }, [{ name: 'ssim' }]);
  expect(full.data.compareImages[0].dataBits).toBe(16);
  expect(full.data.compareImages[0].value).toBeCloseTo(1, 9);
  const twelve = await compare({ imageId: ids.deep }, { imageId: ids.deep }, [{ name: 'ssim' }], { dataBits: 12 });
  expect(twelve.data.compareImages[0].dataBits).toBe(12);
  const eight = await compare({ imageId: ids.deep }, { imageId: ids.deep }, [{ name: 'ssim' }], { dataBits: 8 });
  expect(eight.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dataBits', metric: 'ssim' });
  expect(eight.errors![0].message).toContain('outside the data range');
  const tooMany = await compare({ imageId: ids.clean }, { imageId: ids.noisy }, [{ name: 'ssim' }], { dataBits: 12 });
  expect(tooMany.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dataBits', min: 1, max: 8 });
});

it('refuses bad input with the field and what is allowed', async () => {
  const error = async (a: Record<string, unknown>, b: Record<string, unknown>, metrics: unknown[]) => (await compare(a, b, metrics)).errors![0];
  expect((await error({ imageId: ids.clean }, { imageId: ids.small }, [{ name: 'mse' }])).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'b' });
  expect((await error({ imageId: ids.clean }, { imageId: ids.small }, [{ name: 'mse' }])).message).toContain('images differ in shape: 96x80x1 vs 40x30x1');
  expect((await error({ imageId: ids.clean }, { imageId: ids.noisy }, [{ name: 'ms_ssim', params: { scales: 9 } }])).extensions).toMatchObject({
    field: 'metrics[0].params.scales',
    min: 1,
    max: 5,
  });
  expect((await error({ imageId: ids.clean }, { imageId: ids.noisy }, [{ name: 'ssim', params: { sigma: 2 } }])).extensions).toMatchObject({ field: 'metrics[0].params.sigma' });
  const tooSmall = await error({ imageId: ids.clean }, { imageId: ids.noisy }, [{ name: 'mse' }, { name: 'ms_ssim' }]);
  expect(tooSmall.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metrics[1]' });
  expect(tooSmall.message).toContain('needs at least 161 x 161');
  expect((await error({ imageId: ids.clean }, { imageId: ids.noisy }, [])).extensions).toMatchObject({ field: 'metrics' });
  if (!nativeEngine().backends().cuda) {
    const cuda = await t.gql<any>(`query ($a: ImageRefInput!) { compareImages(a: $a, b: $a, metrics: [{ name: ssim }], backend: CUDA) { value } }`, { a: { imageId: ids.clean } });
    expect(cuda.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'backend' });
  }
  expect((await error({ imageId: ids.clean }, { imageId: ids.noisy }, [{ name: 'lpipz' }])).extensions!.code).toBe('BAD_USER_INPUT'); // enum
  expect((await error({ imageId: ids.clean }, { imageId: ids.noisy }, [{ name: 'lpips' }])).extensions).toMatchObject({ field: 'metrics[0].model' });
  expect((await error({ imageId: ids.clean }, { imageId: ids.noisy }, [{ name: 'lpips', model: 'nope' }])).message).toContain('no registered model named "nope"');
  expect((await error({ imageId: ids.clean }, { imageId: ids.noisy }, [{ name: 'ssim', model: 'nope' }])).extensions).toMatchObject({ field: 'metrics[0].model' });
  expect((await error({ imageId: ids.clean, distortionId: ids.noisy }, { imageId: ids.noisy }, [{ name: 'mse' }])).extensions).toMatchObject({ field: 'a' });
  expect((await error({ itemId: ids.clean }, { imageId: ids.noisy }, [{ name: 'mse' }])).extensions).toMatchObject({ field: 'a.slot' });
  expect((await error({ imageId: '00000000-0000-4000-8000-000000000000' }, { imageId: ids.noisy }, [{ name: 'mse' }])).extensions!.code).toBe('NOT_FOUND');
  expect((await error({ imageId: 'nope' }, { imageId: ids.noisy }, [{ name: 'mse' }])).extensions!.code).toBe('BAD_USER_INPUT');
});

describe('scoring jobs', () => {
  let datasetId: string;
  let twoAfc: Record<string, any>;
  const METRICS = [{ name: 'mse' }, { name: 'ssim' }, { name: 'ms_ssim', params: { scales: 2 } }, { name: 'psnr' }];
  const SCORE = `mutation ($id: ID!, $metrics: [MetricInput!]!) { scoreTestSet(testSetId: $id, metrics: $metrics) { id } }`;
  const ITEM_SCORES = `query ($id: ID!) { testSet(id: $id) { items(first: 10) { id scores { metric params version dataBits d0 d1 } } } }`;

  const scoreSet = async (id: string, metrics: unknown[]) => {
    const started = await t.gql<any>(SCORE, { id, metrics });
    expect(started.errors).toBeUndefined();
    return waitForJob(t, started.data.scoreTestSet.id);
  };
  const rowCount = async () => (await t.app.pool.query(`SELECT count(*)::int AS n FROM metric_scores`)).rows[0].n;

  beforeAll(async () => {
    datasetId = await importPhantoms(t, 3, 128, 'score-phantoms');
    const definition = { name: 'to score', kind: 'TWO_AFC', datasetId, references: 3, size: 64, patchesPerImage: 1, pool: [{ kinds: ['gaussian_blur', 'gaussian_noise'] }], sentinels: 0, practice: 0, seed: 3 };
    twoAfc = await buildSet(t, definition);
  }, 120_000);

  it("scores a 2AFC set: d(ref, p0) and d(ref, p1) per item, the same values compareImages computes", async () => {
    const job = await scoreSet(twoAfc.id, METRICS);
    expect(job).toMatchObject({ state: 'COMPLETED', total: 3, done: 3, failed: 0 });
    expect(await rowCount()).toBe(3 * 2 * 4);
    const { data, errors } = await t.gql<any>(ITEM_SCORES, { id: twoAfc.id });
    expect(errors).toBeUndefined();
    const item = data.testSet.items[0];
    expect(item.scores.map((s: { metric: string }) => s.metric).sort()).toEqual(['ms_ssim', 'mse', 'psnr', 'ssim']);
    const now = await compare({ itemId: item.id, slot: 'ref' }, { itemId: item.id, slot: 'p1' }, METRICS);
    expect(now.errors).toBeUndefined();
    for (const value of now.data.compareImages) {
      const stored = item.scores.find((s: { metric: string }) => s.metric === value.metric);
      expect(stored).toMatchObject({ version: 1, dataBits: 16, params: value.params });
      expect(stored.d1).toBe(value.value);
      expect(stored.d0).not.toBe(stored.d1);
    }
  });

  it('computes only what is missing on a rerun, and recomputes a changed metric version beside the old values', async () => {
    const before = await rowCount();
    const again = await scoreSet(twoAfc.id, METRICS);
    expect(again).toMatchObject({ state: 'COMPLETED', done: 0, skipped: 3 });
    expect(await rowCount()).toBe(before);
    // Values of another version of mse (as if the metric had changed) are neither shown nor reused.
    await t.app.pool.query(`UPDATE metric_scores SET version = 99 WHERE metric = 'mse'`);
    const shown = await t.gql<any>(ITEM_SCORES, { id: twoAfc.id });
    expect(shown.data.testSet.items[0].scores.map((s: { metric: string }) => s.metric)).not.toContain('mse');
    const rerun = await scoreSet(twoAfc.id, [{ name: 'mse' }, { name: 'ssim' }]);
    expect(rerun).toMatchObject({ state: 'COMPLETED', done: 3 });
    expect(await rowCount()).toBe(before + 6);
    const after = await t.gql<any>(ITEM_SCORES, { id: twoAfc.id });
    expect(after.data.testSet.items[0].scores.find((s: { metric: string }) => s.metric === 'mse').version).toBe(1);
  });

  it('scores a JND set as d(p0, p1)', async () => {
    const jnd = await buildSet(t, { name: 'jnd to score', kind: 'JND', datasetId, references: 3, size: 64, patchesPerImage: 1, pool: [{ kinds: ['gaussian_blur'], severityMin: 0.5 }], sentinels: 0, practice: 0, identicalShare: 0.34, seed: 4 });
    expect((await scoreSet(jnd.id, [{ name: 'ssim' }])).failed).toBe(0);
    const { data } = await t.gql<any>(`query ($id: ID!) { testSet(id: $id) { items(first: 10) { identical scores { metric d0 d1 } } } }`, { id: jnd.id });
    for (const item of data.testSet.items) {
      expect(item.scores).toEqual([{ metric: 'ssim', d0: expect.any(Number), d1: null }]);
      if (item.identical) expect(item.scores[0].d0).toBeCloseTo(1, 9);
      else expect(item.scores[0].d0).toBeLessThan(1);
    }
  });

  it('scores a list of pairs, failing only the pairs a metric refuses', async () => {
    const started = await t.gql<any>(`mutation ($pairs: [ImagePairInput!]!, $metrics: [MetricInput!]!) { scorePairs(pairs: $pairs, metrics: $metrics) { id } }`, {
      pairs: [
        { a: { imageId: ids.clean }, b: { imageId: ids.noisy } },
        { a: { imageId: ids.clean }, b: { imageId: ids.small } },
      ],
      metrics: [{ name: 'gmsd' }],
    });
    expect(started.errors).toBeUndefined();
    const job = await waitForJob(t, started.data.scorePairs.id);
    expect(job).toMatchObject({ state: 'COMPLETED', done: 1, failed: 1 });
    const { rows } = await t.app.pool.query(`SELECT item, code, message FROM job_items WHERE job_id = $1 AND outcome = 'FAILED'`, [job.id]);
    expect(rows).toEqual([{ item: 'pair 1', code: 'METRIC_ERROR', message: expect.stringContaining('differ in shape') }]);
    const stored = await t.gql<any>(`query ($pairs: [ImagePairInput!]!) { pairScores(pairs: $pairs) { pair metric value infinite dataBits } }`, {
      pairs: [{ a: { imageId: ids.clean }, b: { imageId: ids.noisy } }, { a: { imageId: ids.clean }, b: { imageId: ids.small } }],
    });
    expect(stored.data.pairScores).toEqual([{ pair: 0, metric: 'gmsd', value: expect.any(Number), infinite: false, dataBits: 8 }]);
  });

  it('refuses to score a set that is not ready, or without metrics', async () => {
    const missing = await t.gql<any>(SCORE, { id: '00000000-0000-4000-8000-000000000000', metrics: METRICS });
    expect(missing.errors![0].extensions!.code).toBe('NOT_FOUND');
    const none = await t.gql<any>(SCORE, { id: twoAfc.id, metrics: [] });
    expect(none.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metrics' });
  });
});
