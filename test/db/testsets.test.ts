/**
 * Test sets through GraphQL: built from a definition and seed by a job, every choice stored, rebuilt to the
 * same content hash, browsed with signed image links; definitions out of range refused, naming the field.
 */
import sharp from 'sharp';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { buildSet, CREATE_SET, importPhantoms, SET_FIELDS } from '../helpers/testsets';

let t: TestApp;
let datasetId: string;

beforeAll(async () => {
  t = await startTestApp({ http: true });
  datasetId = await importPhantoms(t, 6, 256);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

const twoAfc = (overrides: Record<string, unknown> = {}) => ({
  name: 'blur and noise',
  kind: 'TWO_AFC',
  datasetId,
  references: 6,
  size: 96,
  patchesPerImage: 2,
  pool: [{ kinds: ['gaussian_blur'], severityMin: 0.2, severityMax: 0.8 }, { kinds: ['gaussian_noise', 'jpeg'] }, { family: 'noise', weight: 2 }],
  sentinels: 2,
  practice: 2,
  seed: 7,
  ...overrides,
});

const ITEMS = `query ($id: ID!) { testSet(id: $id) { counts { role category count }
  items(first: 100) { id position role category split imageId region p0Spec p1Spec kinds identical expected width height bitDepth windowCenter windowWidth
    images { ref p0 p1 } } } }`;

let built: Record<string, any>;

it('builds a 2AFC set of patches from a definition, storing every choice', async () => {
  built = await buildSet(t, twoAfc());
  expect(built).toMatchObject({ kind: 'TWO_AFC', state: 'READY', version: 1, itemCount: 10, failedItems: 0, lockedAt: null });
  expect(built.contentHash).toMatch(/^[0-9a-f]{64}$/);
  expect(built.definition).toMatchObject({ schema: 1, unit: { mode: 'PATCH', size: 96, patchesPerImage: 2 }, pairing: 'SAME_CATEGORY' });

  const { data, errors } = await t.gql(ITEMS, { id: built.id });
  expect(errors).toBeUndefined();
  const items = data!.testSet.items;
  expect(items.map((item: any) => item.role)).toEqual([...Array(6).fill('ITEM'), 'SENTINEL', 'SENTINEL', 'PRACTICE', 'PRACTICE']);
  // Two patches of each of three images, at different places.
  const main = items.slice(0, 6);
  expect(new Set(main.map((item: any) => item.imageId)).size).toBe(3);
  expect(main[0].imageId).toBe(main[1].imageId);
  expect([main[0].region.x, main[0].region.y]).not.toEqual([main[1].region.x, main[1].region.y]);
  for (const item of items) {
    expect(item).toMatchObject({ width: 96, height: 96, bitDepth: 16 });
    expect(item.region).toMatchObject({ mode: 'PATCH', size: 96 });
    expect(item.region.x + 96).toBeLessThanOrEqual(256);
    expect(item.region.bodyFraction).toBeGreaterThanOrEqual(0.75); // phantoms have a body everywhere but their borders
    expect(item.p0Spec.resolved.length).toBe(item.p0Spec.steps.length);
    expect(item.windowWidth).toBeGreaterThan(0);
  }
  // BAPPS pairing: p1 from p0's category; compositions are "mixed", the noise family "traditional".
  for (const item of main) expect(['traditional', 'mixed']).toContain(item.category);
  for (const item of main) {
    const entries = [item.p0Spec.entry, item.p1Spec.entry];
    const categoryOf = (entry: number) => (entry === 1 ? 'mixed' : 'traditional');
    expect(categoryOf(entries[0])).toBe(categoryOf(entries[1]));
  }
  // Sentinels: the same kind weak against strong, with the weak one expected closer.
  for (const sentinel of items.filter((item: any) => item.role === 'SENTINEL')) {
    const severities = [sentinel.p0Spec.steps[0].severity, sentinel.p1Spec.steps[0].severity];
    expect(sentinel.kinds).toEqual(['gaussian_noise']);
    expect(sentinel.expected).toBe(severities[0] < severities[1] ? 'P0' : 'P1');
  }
  // The images, through their signed links: 8-bit renditions of the 96x96 patch.
  const png = Buffer.from(await (await fetch(main[0].images.p1)).arrayBuffer());
  expect(await sharp(png).metadata()).toMatchObject({ width: 96, height: 96 });
  const sixteen = await t.gql(`query ($id: ID!) { testSet(id: $id) { items(first: 1) { images(depth: 16) { ref } } } }`, { id: built.id });
  const ref16 = Buffer.from(await (await fetch(sixteen.data!.testSet.items[0].images.ref)).arrayBuffer());
  expect((await sharp(ref16).metadata()).depth).toBe('ushort');
});

it('rebuilds a set exactly from its definition and seed (the same content hash), and another seed differs', async () => {
  const clone = await t.gql(`mutation ($id: ID!) { cloneTestSet(id: $id) { id version parentId jobId } }`, { id: built.id });
  expect(clone.errors).toBeUndefined();
  expect(clone.data!.cloneTestSet).toMatchObject({ version: 2, parentId: built.id });
  await waitForJob(t, clone.data!.cloneTestSet.jobId, 120_000);
  const rebuilt = await t.gql(`query ($id: ID!) { testSet(id: $id) { ${SET_FIELDS} } }`, { id: clone.data!.cloneTestSet.id });
  expect(rebuilt.data!.testSet).toMatchObject({ state: 'READY', contentHash: built.contentHash });

  const other = await buildSet(t, twoAfc({ seed: 8 }));
  expect(other.contentHash).not.toBe(built.contentHash);
});

it('builds JND pairs, a share of them identical, and whole images resized', async () => {
  const jnd = await buildSet(t, { ...twoAfc(), kind: 'JND', identicalShare: 0.5, references: 12, patchesPerImage: 2, sentinels: 5, practice: 0, size: 64 });
  expect(jnd.state).toBe('READY');
  const { rows } = await t.app.pool.query(`SELECT role, identical, expected, ref_hash, p0_hash, p1_hash FROM test_set_items WHERE test_set_id = $1 ORDER BY position`, [jnd.id]);
  for (const row of rows) {
    expect(row.ref_hash).toBeNull();
    expect(row.p0_hash === row.p1_hash).toBe(row.identical);
  }
  expect(rows.filter((row) => row.role === 'SENTINEL').map((row) => row.expected)).toEqual(['SAME', 'SAME', 'SAME', 'SAME', 'DIFFERENT']);
  expect(rows.some((row) => row.role === 'ITEM' && row.identical)).toBe(true);
  expect(rows.some((row) => row.role === 'ITEM' && !row.identical)).toBe(true);

  const whole = await buildSet(t, { ...twoAfc(), unit: 'WHOLE', size: 64, patchesPerImage: null, references: 3, sentinels: 0, practice: 0 });
  const items = await t.app.pool.query(`SELECT width, height, region FROM test_set_items WHERE test_set_id = $1`, [whole.id]);
  expect(items.rows[0]).toMatchObject({ width: 64, height: 64, region: { mode: 'WHOLE', size: 256, resizedTo: 64 } });
});

it('refuses definitions out of range, naming the field', async () => {
  const refused = async (definition: Record<string, unknown>) => {
    const { errors } = await t.gql(CREATE_SET, { definition });
    expect(errors).toHaveLength(1);
    return errors![0].extensions!;
  };
  expect(await refused(twoAfc({ size: 512 }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'size' }); // larger than the images
  expect(await refused(twoAfc({ size: 2048 }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'size', min: 32, max: 1024 });
  expect(await refused(twoAfc({ pool: [] }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'pool' });
  expect(await refused(twoAfc({ references: 0 }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'references' });
  expect(await refused(twoAfc({ references: 100 }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'references', needed: 50, available: 6 });
  expect(await refused(twoAfc({ pool: [{ kinds: ['gan_generator'] }] }))).toMatchObject({ field: 'pool[0].model' });
  expect(await refused(twoAfc({ pool: [{ kinds: ['gan_generator'], model: 'no-such-model' }] }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'pool[0][0].model' });
  expect(await refused(twoAfc({ pool: [{ family: 'cnn' }] }))).toMatchObject({ field: 'pool[0].family' });
  expect(await refused(twoAfc({ pool: [{ kinds: ['saturation'] }] }))).toMatchObject({ field: 'pool[0].kinds' }); // colour on grey X-rays
  expect(await refused(twoAfc({ pool: [{ kinds: ['contrast'], severityMin: 0.9, severityMax: 0.1 }] }))).toMatchObject({ field: 'pool[0].severityMin' });
  expect(await refused(twoAfc({ identicalShare: 0.2 }))).toMatchObject({ field: 'identicalShare' });
  expect(await refused(twoAfc({ datasetId: '00000000-0000-0000-0000-000000000000' }))).toMatchObject({ code: 'NOT_FOUND' });
});

it('leaves a set whose build was cancelled FAILED, and deletable', async () => {
  await t.app.jobs.stopWorkers(); // nobody takes the job before it is cancelled
  const created = await t.gql(CREATE_SET, { definition: twoAfc({ references: 6, seed: 99 }) });
  const { id, jobId } = created.data!.createTestSet;
  await t.gql(`mutation ($id: ID!) { cancelJob(id: $id) { state } }`, { id: jobId });
  await t.app.jobs.startWorkers();
  expect((await waitForJob(t, jobId)).state).toBe('CANCELLED');
  const set = await t.gql(`query ($id: ID!) { testSet(id: $id) { state contentHash } }`, { id });
  expect(set.data!.testSet).toEqual({ state: 'FAILED', contentHash: null });
  const deleted = await t.gql(`mutation ($id: ID!) { deleteTestSet(id: $id) { id } }`, { id });
  expect(deleted.errors).toBeUndefined();
  expect((await t.gql(`query ($id: ID!) { testSet(id: $id) { id } }`, { id })).errors![0].extensions).toMatchObject({ code: 'NOT_FOUND' });
});
