/**
 * Every GraphQL example in README.md, one operation at a time: it must validate against the built schema,
 * and it must run, over HTTP (subscriptions over graphql-ws), against a server with synthetic phantoms
 * imported. Variables are filled by what they stand for ($id of a job or an image, $dataset). Examples with
 * a placeholder for something this test cannot have (a server path, "…", a model that needs training) may
 * answer BAD_USER_INPUT or NOT_FOUND, and nothing else.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, print, validate, visit, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startFolderImport } from '../../src/datasets/service';
import { MODULES } from '../../src/modules';
import { buildMedpsimSchema } from '../../src/schema/build';
import { synthesizeDataset } from '../../src/synth/dataset';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const README = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const PLACEHOLDERS = ['/abs/path', '…', 'gan-gaussian'];

/** Each operation of each ```graphql block, as a document of its own. */
function examples(): Array<{ name: string; document: DocumentNode; source: string }> {
  const found: Array<{ name: string; document: DocumentNode; source: string }> = [];
  for (const [, block] of README.matchAll(/```graphql\n([\s\S]*?)```/g)) {
    for (const definition of parse(block).definitions) {
      const operation = definition as OperationDefinitionNode;
      const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation] };
      const source = print(document);
      found.push({ name: operation.name?.value ?? source.slice(0, 60).replace(/\s+/g, ' '), document, source });
    }
  }
  return found;
}

/** What each variable stands for, from the field it is an argument of. */
function variablesFor(document: DocumentNode, ids: { job: string; image: string; dataset: string }): Record<string, string> {
  const variables: Record<string, string> = {};
  let field = '';
  visit(document, {
    Field: (node) => void (field = node.name.value),
    Argument: (node) => {
      if (node.value.kind !== Kind.VARIABLE) return;
      const name = node.value.name.value;
      if (field === 'job' || field === 'jobProgress') variables[name] = ids.job;
      else if (field === 'image' || field === 'previewDistortion') variables[name] = ids.image;
      else variables[name] = ids.dataset;
    },
    ObjectField: (node) => {
      if (node.value.kind === Kind.VARIABLE && node.name.value === 'datasetId') variables[node.value.name.value] = ids.dataset;
    },
  });
  return variables;
}

let t: TestApp;
let schema: GraphQLSchema;
const ids = { job: '', image: '', dataset: '' };

beforeAll(async () => {
  // No workers: jobs the examples start are queued, not run (a training would take minutes).
  t = await startTestApp({ http: true, work: false });
  schema = await buildMedpsimSchema(MODULES);
  const phantoms = path.join(mkdtempSync(path.join(tmpdir(), 'medpsim-readme-')), 'phantoms');
  await synthesizeDataset({ outDir: phantoms, count: 8, width: 64, height: 64, seed: 2 });
  const worker = await startTestApp({ databaseUrl: t.databaseUrl, dataDir: t.dataDir });
  try {
    ids.job = await startFolderImport(t.app, { path: phantoms, datasetName: 'demo' });
    await waitForJob(t, ids.job);
  } finally {
    await worker.close();
  }
  const { rows } = await t.app.pool.query(`SELECT id, dataset_id FROM images ORDER BY source_path LIMIT 1`);
  [ids.image, ids.dataset] = [rows[0].id, rows[0].dataset_id];
});

afterAll(async () => {
  await t?.close();
});

it('has GraphQL examples', () => {
  expect(examples().length).toBeGreaterThanOrEqual(15);
});

it.each(examples().map((example) => [example.name, example] as const))('%s validates and runs', async (_name, example) => {
  expect(validate(schema, example.document).map((error) => error.message)).toEqual([]);
  const variables = variablesFor(example.document, ids);
  const operation = example.document.definitions[0] as OperationDefinitionNode;
  let errors: Array<{ message: string; extensions?: Record<string, any> }> | undefined;
  if (operation.operation === 'subscription') {
    const client = createClient({ url: `${t.server!.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${t.token}` } });
    try {
      for await (const result of client.iterate({ query: example.source, variables })) {
        errors = result.errors as typeof errors;
        break; // the current state is enough
      }
    } finally {
      await client.dispose();
    }
  } else {
    ({ errors } = await t.gql(example.source, variables));
  }
  if (PLACEHOLDERS.some((placeholder) => example.source.includes(placeholder))) {
    for (const error of errors ?? []) expect(['BAD_USER_INPUT', 'NOT_FOUND']).toContain(error.extensions?.code);
  } else {
    expect(errors).toBeUndefined();
  }
});
