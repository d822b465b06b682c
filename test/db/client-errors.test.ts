/**
 * Errors a client sees for its own mistakes: typed, 4xx, without server internals; and what a request may
 * store (lengths, NUL characters) or send (content types) checked before anything happens.
 */
import { startTestApp, type TestApp } from '../helpers/app';
import { greyJpeg } from '../helpers/files';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ http: true, env: { MEDPSIM_MAX_QUERY_DEPTH: '6' } });
});

afterAll(async () => {
  await t?.close();
});

async function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const response = await t.request('/graphql', { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as any };
}

describe('GraphQL requests', () => {
  it('answers malformed JSON and oversized bodies with 400 and 413, as GraphQL errors', async () => {
    expect(await post('{"query": "{ __typename }"')).toEqual({
      status: 400,
      body: { errors: [{ message: 'the request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] },
    });
    const big = await post(JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(1_500_000) } }));
    expect(big.status).toBe(413);
    expect(big.body.errors[0]).toEqual({ message: 'the GraphQL request is larger than 1 MB (variables included)', extensions: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('refuses NUL characters in any argument, inline or in variables', async () => {
    const inVariable = await t.gql(`mutation ($name: String!) { createDataset(name: $name) { id } }`, { name: 'a\u0000b' });
    expect(inVariable.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$name' });
    const nested = await t.gql(`mutation ($input: ImportDatasetInput!) { importDataset(input: $input) { id } }`, { input: { path: '/tmp', datasetName: 'x\u0000' } });
    expect(nested.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$input.datasetName' });
    const inline = await post(JSON.stringify({ query: '{ model(name: "a\\u0000b") { name } }' }));
    expect(inline.status).toBe(400);
    expect(inline.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM datasets`);
    expect(rows[0].n).toBe(0);
  });

  it('limits what is stored and echoes long values back cut', async () => {
    const longName = await t.gql(`mutation ($name: String!) { createDataset(name: $name) { id } }`, { name: 'n'.repeat(5000) });
    expect(longName.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name', max: 200 });
    const longLabel = await t.gql(`mutation ($label: String!) { createToken(input: { label: $label, role: ANALYST }) { secret } }`, { label: 'l'.repeat(5000) });
    expect(longLabel.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'label', max: 100 });
    const multiline = await t.gql(`mutation { createDataset(name: "two\\nlines") { id } }`);
    expect(multiline.errors?.[0].message).toMatch(/one line/);
    const longId = await t.gql(`query ($id: ID!) { dataset(id: $id) { name } }`, { id: 'i'.repeat(5000) });
    expect(longId.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(longId.errors![0].message.length).toBeLessThan(200);
  });

  it('answers query limits with 400 and never sends a stack trace', async () => {
    const deep = await post(JSON.stringify({ query: '{ datasets { images { edges { node { dataset { images { edges { node { id } } } } } } } } }' }));
    expect(deep.status).toBe(400);
    expect(deep.body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
    for (const query of ['{ nope }', '{ dataset(id: "x") { name } }', '{ job(id: "00000000-0000-4000-8000-000000000000") { id } }']) {
      const { body } = await post(JSON.stringify({ query }));
      expect(body.errors[0].extensions.code).toBeDefined();
      expect(JSON.stringify(body)).not.toMatch(/stacktrace|\/work\/|node_modules|at [A-Za-z]+ \(/);
    }
  });
});

describe('what one request may cost', () => {
  it('refuses documents over the token limit while parsing (5,000 aliases of a page of images)', async () => {
    const aliases = Array.from({ length: 5000 }, (_, i) => `a${i}: datasets { images(first: 500) { edges { node { id } } } }`).join(' ');
    const refused = await post(JSON.stringify({ query: `{ ${aliases} }` }));
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toMatchObject({ message: 'the query has more than 5000 tokens, over the limit (MEDPSIM_MAX_QUERY_TOKENS)', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });

  it('replaces a response over the size limit by an error', async () => {
    const small = await startTestApp({ http: true, env: { MEDPSIM_MAX_RESPONSE_BYTES: '2048' } });
    try {
      const { errors, data } = await small.gql(`{ distortionCatalog { name description params { name description } } }`);
      expect(data).toBeUndefined();
      expect(errors?.[0].extensions).toEqual({ code: 'RESPONSE_TOO_LARGE', maxBytes: 2048 });
      expect((await small.gql(`{ __typename }`)).data).toEqual({ __typename: 'Query' });
    } finally {
      await small.close();
    }
  });
});

describe('uploads', () => {
  it('take only content types a cross-origin page cannot send without a preflight', async () => {
    const jpeg = await greyJpeg(8, 8, 1);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      const response = await t.request('/upload?dataset=typed&filename=a.jpeg', { method: 'POST', headers: type ? { 'content-type': type } : {}, body: jpeg });
      expect(response.status).toBe(415);
      expect(((await response.json()) as any).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    const image = await t.request('/upload?dataset=typed&filename=a.jpeg', { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: jpeg });
    expect(image.status).toBe(201);
  });

  it('say when the image is there already and differs, and change split and label only when asked', async () => {
    const jpeg = await greyJpeg(8, 8, 2);
    const first = (await (await t.upload('dataset=relabel&filename=b.jpeg&label=NORMAL', jpeg)).json()) as any;
    expect(first).toMatchObject({ created: true, differences: {}, note: null, image: { label: 'NORMAL' } });
    const again = await t.upload('dataset=relabel&filename=b.jpeg&label=PNEUMONIA&split=test', jpeg);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({
      created: false,
      updated: false,
      image: { id: first.image.id, label: 'NORMAL', split: null },
      differences: { label: { stored: 'NORMAL', given: 'PNEUMONIA' }, split: { stored: null, given: 'test' } },
      note: expect.stringMatching(/differs in split, label; it was left as it was \(update=true changes split and label\)/),
    });
    const updated = (await (await t.upload('dataset=relabel&filename=b.jpeg&label=PNEUMONIA&split=test&update=true', jpeg)).json()) as any;
    expect(updated).toMatchObject({ created: false, updated: true, differences: {}, image: { id: first.image.id, label: 'PNEUMONIA', split: 'test' } });
    const bad = await t.upload('dataset=relabel&filename=b.jpeg&path=../../etc/passwd', jpeg);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'path' });
  });
});
