import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import sharp from 'sharp';
import WebSocket from 'ws';
import { synthesizeDataset } from '../../src/synth/dataset';
import { greyJpeg, grey16Png, pngSamples, pngBombHeader } from '../helpers/files';
import { CATALOG } from '../../src/distortions/catalog';
import { startTestApp, type TestApp } from '../helpers/app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    http: true,
    env: { MEDPSIM_MAX_UPLOAD_BYTES: '200000', MEDPSIM_MAX_QUERY_DEPTH: '8', MEDPSIM_MAX_QUERY_COMPLEXITY: '2000' },
  });
});

afterAll(async () => {
  await t?.close();
});

const body = (response: Response): Promise<any> => response.json();

function upload(bytes: Buffer | string, query: string) {
  return t.request(`/upload?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
}

describe('Apollo Sandbox and CORS', () => {
  it('serves the Sandbox landing page to browsers', async () => {
    const response = await t.request(`/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/sandbox/i);
  });

  it('allows Sandbox origin and answers introspection', async () => {
    const response = await t.request(`/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://studio.apollographql.com' },
      body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
    expect(await body(response)).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });
});

describe('upload route', () => {
  it('stores an upload once and serves it as PNG', async () => {
    const jpeg = await greyJpeg(48, 32, 3);
    const first = await upload(jpeg, 'dataset=uploads&filename=person7_virus_1.jpeg&split=train&label=PNEUMONIA');
    expect(first.status).toBe(201);
    const { image } = await body(first);
    expect(image).toMatchObject({ width: 48, height: 32, bitDepth: 8, channels: 1, split: 'train', label: 'PNEUMONIA', patientId: 'person7' });

    const again = await upload(jpeg, 'dataset=uploads&filename=person7_virus_1.jpeg');
    expect(again.status).toBe(200);
    expect((await body(again)).image.id).toBe(image.id);

    const png = await t.request(`/images/${image.id}.png`);
    expect(png.headers.get('content-type')).toBe('image/png');
    const decoded = await pngSamples(Buffer.from(await png.arrayBuffer()));
    expect(decoded).toMatchObject({ width: 48, height: 32, depth: 'uchar' });
    const original = await sharp(jpeg).toColourspace('b-w').raw().toBuffer();
    expect(decoded.data).toEqual(Array.from(original));
  });

  it('refuses uploads over the size limit, empty bodies, non-images, bombs and missing parameters', async () => {
    const tooLarge = await upload(Buffer.alloc(300_000, 1), 'dataset=uploads&filename=big.raw');
    expect(tooLarge.status).toBe(413);
    expect((await body(tooLarge)).error.code).toBe('PAYLOAD_TOO_LARGE');

    const empty = await upload(Buffer.alloc(0), 'dataset=uploads');
    expect(empty.status).toBe(400);

    const text = await upload('hello', 'dataset=uploads&filename=a.txt');
    expect(text.status).toBe(422);
    expect((await body(text)).error.code).toBe('UNSUPPORTED_FORMAT');

    const bomb = await upload(pngBombHeader(), 'dataset=uploads&filename=bomb.png');
    expect(bomb.status).toBe(413);
    expect((await body(bomb)).error.code).toBe('TOO_LARGE');

    const noDataset = await upload(await greyJpeg(8, 8), 'filename=a.jpeg');
    expect(noDataset.status).toBe(400);
    expect((await body(noDataset)).error.message).toContain('dataset');

    const badSplit = await upload(await greyJpeg(8, 8), 'dataset=uploads&split=nope');
    expect(badSplit.status).toBe(400);
    expect((await body(badSplit)).error).toMatchObject({ code: 'BAD_USER_INPUT' });

    // and the server still serves
    expect((await t.request(`/health`)).status).toBe(200);
  });
});

describe('image route', () => {
  let id: string;
  let pixels: Uint16Array;

  beforeAll(async () => {
    const made = await grey16Png(20, 10);
    pixels = made.pixels;
    const response = await upload(made.png, 'dataset=deep&filename=deep.png');
    id = (await body(response)).image.id;
  });

  it('serves 16-bit images at 16 bit, unchanged', async () => {
    const png = Buffer.from(await (await t.request(`/images/${id}.png`)).arrayBuffer());
    const decoded = await pngSamples(png);
    expect(decoded.depth).toBe('ushort');
    expect(decoded.data).toEqual(Array.from(pixels));
  });

  it('serves a windowed 8-bit rendition on request', async () => {
    const response = await t.request(`/images/${id}.png?depth=8&center=2048&width=4096`);
    const decoded = await pngSamples(Buffer.from(await response.arrayBuffer()));
    expect(decoded).toMatchObject({ width: 20, height: 10, depth: 'uchar' });
    // window [0, 4096): value v -> 255 * v / 4096, within rounding
    for (let i = 0; i < pixels.length; i++) expect(Math.abs(decoded.data[i] - (255 * pixels[i]) / 4096)).toBeLessThanOrEqual(1);
  });

  it('gives the URL through GraphQL and rejects bad parameters', async () => {
    const { data } = await t.gql(`query ($id: ID!) { image(id: $id) { url(depth: 8, windowCenter: 100, windowWidth: 50) } }`, { id });
    // A signed link (tested in test/db/access.test.ts), with the rendition's parameters after the signature.
    expect(data!.image.url).toMatch(new RegExp(`^${t.server!.url}/images/${id}\\.png\\?exp=\\d+&sig=[\\w-]{43}&depth=8&center=100&width=50$`));
    const signed = await fetch(data!.image.url);
    expect(signed.status).toBe(200);
    expect((await pngSamples(Buffer.from(await signed.arrayBuffer()))).depth).toBe('uchar');
    expect((await t.request(`/images/${id}.png?depth=12`)).status).toBe(400);
    expect((await t.request(`/images/${id}.png?depth=8&center=1`)).status).toBe(400);
    expect((await t.request(`/images/${id}.png?depth=8&center=1&width=-5`)).status).toBe(400);
    expect((await t.request(`/images/00000000-0000-4000-8000-000000000000.png`)).status).toBe(404);
    expect((await t.request(`/images/not-a-uuid.png`)).status).toBe(400);
  });
});

describe('distortion catalog', () => {
  it('lists every kind with its parameters and severity mapping', async () => {
    const { data, errors } = await t.gql(
      `{ distortionCatalog { name family random needsColor params { name unit min max default integer allowed
         severity { from to curve perMinSide } } } }`,
    );
    expect(errors).toBeUndefined();
    const kinds = data!.distortionCatalog;
    expect(kinds).toHaveLength(CATALOG.length);
    expect(kinds.find((kind: { name: string }) => kind.name === 'gaussian_blur')).toEqual({
      name: 'gaussian_blur',
      family: 'blur',
      random: false,
      needsColor: false,
      params: [{ name: 'sigma', unit: 'px', min: 0, max: 50, default: 1.5, integer: false, allowed: null,
        severity: { from: 0, to: 0.012, curve: 'linear', perMinSide: true } }],
    });
    expect(kinds.find((kind: { name: string }) => kind.name === 'saturation').needsColor).toBe(true);
  });
});

describe('query limits', () => {
  it('refuses too deep and too complex queries with typed errors', async () => {
    const deep = await t.gql(`{ datasets { images { edges { node { dataset { images { edges { node { id } } } } } } } } }`);
    expect(deep.errors![0].extensions!.code).toBe('QUERY_TOO_DEEP');
    const complex = await t.gql(`{ datasets { images(first: 500) { edges { node { id width height sourcePath } } } } }`);
    expect(complex.errors![0].extensions!.code).toBe('QUERY_TOO_COMPLEX');
  });
});

describe('job progress subscription', () => {
  it('streams progress over graphql-ws until the job completes', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-sub-'));
    await synthesizeDataset({ outDir: folder, count: 12, width: 64, height: 64, seed: 3 });
    const started = await t.gql(
      `mutation ($input: ImportDatasetInput!) { importDataset(input: $input) { id } }`,
      { input: { path: folder, datasetName: 'subscribed' } },
    );
    const jobId = started.data!.importDataset.id;

    const client = createClient({ url: t.server!.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${t.token}` } });
    const states: Array<{ state: string; done: number; total: number | null }> = [];
    for await (const result of client.iterate<{ jobProgress: { state: string; done: number; total: number | null } }>({
      query: `subscription ($id: ID!) { jobProgress(id: $id) { state done total } }`,
      variables: { id: jobId },
    })) {
      expect(result.errors).toBeUndefined();
      states.push(result.data!.jobProgress);
    }
    await client.dispose();
    expect(states.at(-1)).toEqual({ state: 'COMPLETED', done: 12, total: 12 });
    const dones = states.map((state) => state.done);
    expect([...dones].sort((a, b) => a - b)).toEqual(dones); // monotone
  });

  it('rejects a subscription to an unknown job', async () => {
    const client = createClient({ url: t.server!.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${t.token}` } });
    const results = [];
    for await (const result of client.iterate({
      query: `subscription { jobProgress(id: "00000000-0000-4000-8000-000000000000") { state } }`,
    })) {
      results.push(result);
    }
    await client.dispose();
    expect(results[0].errors![0].extensions).toMatchObject({ code: 'NOT_FOUND' });
  });
});
