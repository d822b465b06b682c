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
import { acceptInvitation, createRater } from '../../src/access/raters';
import { Role } from '../../src/platform/context';
import { ruleOf } from '../../src/schema/guards';
import { nextPresentation } from '../../src/studies/judgments';
import { createStudy } from '../../src/studies/service';
import { createTestSet } from '../../src/testsets/service';
import { MODULES } from '../../src/modules';
import { buildMedpsimSchema } from '../../src/schema/build';
import { synthesizeDataset } from '../../src/synth/dataset';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const README = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const PLACEHOLDERS = ['/abs/path', '…', 'gan-gaussian', 'classifier-resnet50'];

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

type Ids = { job: string; image: string; dataset: string; testSet: string; study: string; rater: string; presentation: string };

/** What each variable stands for, from the argument or input field it is given to (and its field). */
function variablesFor(document: DocumentNode, ids: Ids): Record<string, string> {
  const variables: Record<string, string> = {};
  let field = '';
  let argument = '';
  const byName: Record<string, keyof Ids> = {
    datasetId: 'dataset',
    testSetIds: 'testSet',
    raterIds: 'rater',
    studyId: 'study',
    presentationId: 'presentation',
    imageId: 'image',
    testSetId: 'testSet',
  };
  const byField: Record<string, keyof Ids> = {
    job: 'job',
    jobProgress: 'job',
    image: 'image',
    previewDistortion: 'image',
    testSet: 'testSet',
    cloneTestSet: 'testSet',
    study: 'study',
  };
  visit(document, {
    VariableDefinition: () => false, // the $name in the operation's header, not a use
    Field: (node) => void (field = node.name.value),
    Argument: (node) => void (argument = node.name.value),
    ObjectField: (node) => void (argument = node.name.value),
    Variable: (node) => {
      variables[node.name.value] ??= ids[byName[argument] ?? byField[field] ?? 'dataset'];
    },
  });
  return variables;
}

let t: TestApp;
let schema: GraphQLSchema;
const ids: Ids = { job: '', image: '', dataset: '', testSet: '', study: '', rater: '', presentation: '' };
let raterToken = '';

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
    const { rows } = await t.app.pool.query(`SELECT id, dataset_id FROM images ORDER BY source_path LIMIT 1`);
    [ids.image, ids.dataset] = [rows[0].id, rows[0].dataset_id];
    // A READY test set, a rater and a study with a presentation for them, for the examples that need one.
    const set = await createTestSet(t.app, { name: 'readme', kind: 'TWO_AFC', datasetId: ids.dataset, references: 2, size: 32, pool: [{ kinds: ['gaussian_blur'] }], seed: 1 });
    await waitForJob(t, set.jobId!);
    ids.testSet = set.id;
    const invitation = await createRater(t.app, { displayName: 'readme reader' });
    raterToken = (await acceptInvitation(t.app, invitation.code)).secret;
    ids.rater = invitation.rater.id;
    ids.study = (await createStudy(t.app, { name: 'readme', testSetIds: [set.id], raterIds: [ids.rater], seed: 1, protocol: { judgmentsPerItem: 1 } })).id;
    ids.presentation = (await nextPresentation(t.app, ids.rater, ids.study))!.id;
  } finally {
    await worker.close();
  }
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
    // An operation only raters may call runs with the rater's token.
    const root = (operation.selectionSet.selections[0] as { name: { value: string } }).name.value;
    const type = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
    const rule = ruleOf(type!.getFields()[root]);
    const forRater = rule !== null && 'roles' in rule && !rule.roles.includes(Role.ADMIN);
    ({ errors } = await t.gql(example.source, variables, forRater ? raterToken : t.token));
  }
  if (PLACEHOLDERS.some((placeholder) => example.source.includes(placeholder))) {
    for (const error of errors ?? []) expect(['BAD_USER_INPUT', 'NOT_FOUND']).toContain(error.extensions?.code);
  } else {
    expect(errors).toBeUndefined();
  }
});
