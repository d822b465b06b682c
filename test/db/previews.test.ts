/**
 * Previews are interactive work with a bounded cost: refused above their estimated cost, run in a lane of
 * their own (refused with TOO_BUSY when it is full), stopped between steps when the client goes away or
 * their time runs out.
 */
import { previewLane } from '../../src/distortions/settings';
import { startTestApp, type TestApp } from '../helpers/app';
import { greyJpeg } from '../helpers/files';

const PREVIEW = `mutation ($id: ID!, $steps: [DistortionStepInput!]!) { previewDistortion(imageId: $id, steps: $steps) { width steps } }`;
// Eight bilateral steps on 256x256 (an 81 x 81 window): about 0.56 s each by the catalog's estimate, 4.5 s in all
// (under the 10 s limit), and about as long when they run.
const SLOW = Array.from({ length: 8 }, () => ({ kind: 'bilateral', params: { sigma_spatial: 20, sigma_range: 0.2 } }));

async function uploadImage(t: TestApp, size: number): Promise<string> {
  const response = await t.upload(`dataset=previews&filename=p${size}.jpeg`, await greyJpeg(size, size, size));
  return ((await response.json()) as any).image.id;
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('previews', () => {
  let t: TestApp;
  let image: string;

  beforeAll(async () => {
    t = await startTestApp({ http: true, work: false, env: { MEDPSIM_PREVIEW_QUEUE: '0' } });
    image = await uploadImage(t, 256);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('are refused above their estimated cost, with the estimate', async () => {
    const big = await uploadImage(t, 512);
    const heavy = Array.from({ length: 5 }, () => ({ kind: 'bilateral', params: { sigma_spatial: 20 } })); // ~11 s estimated on 512²
    const refused = await t.gql(PREVIEW, { id: big, steps: heavy });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'steps', maxSeconds: 10 });
    expect(refused.errors![0].extensions!.estimatedSeconds).toBeGreaterThan(10);
    expect(refused.errors![0].message).toMatch(/run it as a job \(distortImages\)/);
    expect((await t.gql(PREVIEW, { id: big, steps: [{ kind: 'gaussian_noise', severity: 0.4 }] })).data!.previewDistortion.width).toBe(512);
  });

  it('leave image downloads room: a rendition is served while a long preview runs', async () => {
    const lane = previewLane(t.app);
    const preview = t.gql(PREVIEW, { id: image, steps: SLOW.slice(0, 4) }).then(() => 'preview');
    await until('the preview to start', () => lane.busy === 1);
    const { data } = await t.gql(`query ($id: ID!) { image(id: $id) { url(depth: 8) } }`, { id: image });
    const download = fetch(data!.image.url).then(async (response) => (response.ok && (await response.arrayBuffer()).byteLength > 0 ? 'download' : 'failed'));
    expect(await Promise.race([download, preview])).toBe('download');
    await preview;
  });

  it('stop between steps when the client goes away, and refuse others while the lane is full', async () => {
    const lane = previewLane(t.app);
    const client = new AbortController();
    const gone = t
      .request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: PREVIEW, variables: { id: image, steps: SLOW } }), signal: client.signal })
      .catch((error) => error);
    await until('the slow preview to start', () => lane.busy === 1);
    const busy = await t.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: PREVIEW, variables: { id: image, steps: [{ kind: 'contrast', severity: 0.5 }] } }),
    });
    expect(busy.status).toBe(503);
    expect(((await busy.json()) as any).errors[0].extensions.code).toBe('TOO_BUSY');

    client.abort();
    expect((await gone).name).toBe('AbortError');
    await until('the preview to stop', () => lane.stats.cancelled === 1);
    expect(lane.stats.completed).toBe(2); // the two previews of the tests above, not this slow one
    expect(lane.busy).toBe(0);
    expect((await t.gql(PREVIEW, { id: image, steps: [{ kind: 'contrast', severity: 0.5 }] })).data!.previewDistortion.width).toBe(256);
  });
});

it('stop when their time runs out', async () => {
  const t = await startTestApp({ http: true, work: false, env: { MEDPSIM_PREVIEW_TIMEOUT_SECONDS: '1' } });
  try {
    const image = await uploadImage(t, 256);
    const { errors } = await t.gql(PREVIEW, { id: image, steps: SLOW });
    expect(errors?.[0].extensions?.code).toBe('TIMEOUT');
    expect(errors![0].message).toMatch(/^timed out after [0-7] of 8 steps$/);
  } finally {
    await t.close();
  }
});
