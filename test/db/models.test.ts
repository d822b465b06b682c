/** The model registry: the scan of the models folder at start, registerModel, models/model through GraphQL. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findModel, scanModelsDir } from '../../src/models/registry';
import { inferencePool } from '../../src/models/settings';
import { startTestApp, type TestApp } from '../helpers/app';
import { tinyOnnxModel, writeTinyModel } from '../helpers/models';

let t: TestApp;
let root: string;
let modelsDir: string;
const warnings: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'medpsim-models-'));
  modelsDir = path.join(root, 'onnx');
  mkdirSync(modelsDir);
  writeTinyModel(modelsDir, 'dae-small');
  writeTinyModel(modelsDir, 'resnet-tiny', {
    factor: 4,
    manifest: {
      task: 'classifier',
      initialization: { pretrained: true, source: 'resnet50-0676ba61.pth', reason: null },
      metrics: { test: { accuracy: 0.9, auc: 0.95 } },
    },
  });
  writeFileSync(path.join(modelsDir, 'dae-small.parity.json'), '{"format": "medpsim-onnx-parity"}'); // not a manifest
  writeTinyModel(modelsDir, 'corrupt');
  writeFileSync(path.join(modelsDir, 'corrupt.json'), '{ not json');
  writeFileSync(writeTinyModel(modelsDir, 'tampered'), tinyOnnxModel(9)); // same size, other hash
  writeTinyModel(modelsDir, 'orphan');
  rmSync(path.join(modelsDir, 'orphan.onnx'));

  const warn = jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.join(' ')));
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  t = await startTestApp({ http: true, work: false, env: { MEDPSIM_MODELS_DIR: modelsDir, MEDPSIM_ONNX_PROVIDER: 'cpu' } });
  warn.mockRestore();
  log.mockRestore();
});

afterAll(async () => {
  await t?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const MODEL_FIELDS = `name task path sha256 sizeBytes pretrained initialization exportedAt metrics manifest
  inputs { name shape dtype meaning } outputs { name shape dtype meaning } registeredAt updatedAt`;

it('registers the valid models of the folder at start and logs each invalid one without failing the others', async () => {
  const { data, errors } = await t.gql(`{ models { ${MODEL_FIELDS} } }`);
  expect(errors).toBeUndefined();
  expect(data!.models.map((m: { name: string }) => m.name)).toEqual(['dae-small', 'resnet-tiny']);
  const [dae, resnet] = data!.models;
  expect(dae).toMatchObject({
    task: 'DAE',
    path: path.join(modelsDir, 'dae-small.onnx'),
    sizeBytes: tinyOnnxModel().length,
    pretrained: false,
    initialization: 'trained from scratch (by design)',
    exportedAt: '2026-01-01T00:00:00+00:00',
    metrics: { on: 'test', test: { mse: 0.01 } },
    inputs: [{ name: 'input', shape: ['batch', '1', 'height', 'width'], dtype: 'float32', meaning: null }],
    outputs: [{ name: 'output', shape: ['batch', '1', 'height', 'width'], dtype: 'float32', meaning: 'the input times a factor' }],
  });
  expect(dae.sha256).toBe(dae.manifest.onnx.sha256);
  expect(dae.manifest.format).toBe('medpsim-model-manifest');
  expect(resnet).toMatchObject({ task: 'CLASSIFIER', pretrained: true, initialization: 'resnet50-0676ba61.pth' });

  expect(warnings).toHaveLength(3);
  expect(warnings.join('\n')).toMatch(/corrupt\.json: not valid JSON/);
  expect(warnings.join('\n')).toMatch(/tampered\.onnx: SHA-256 [0-9a-f]{64} differs from the manifest's/);
  expect(warnings.join('\n')).toMatch(/orphan\.onnx: no such file on the server/);
});

it('scans again without changes, and reports the invalid files', async () => {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  const report = await scanModelsDir(t.app);
  warn.mockRestore();
  log.mockRestore();
  expect(report.registered.map((r) => [r.model.name, r.change])).toEqual([
    ['dae-small', 'UNCHANGED'],
    ['resnet-tiny', 'UNCHANGED'],
  ]);
  expect(report.invalid.map((i) => path.basename(i.file)).sort()).toEqual(['corrupt.json', 'orphan.onnx', 'tampered.onnx']);
});

it('leaves the scan to the API process: a worker registers nothing at start and finds the models by their rows', async () => {
  // Another folder with a model of its own, so that a scan would show.
  const workerDir = path.join(root, 'worker-onnx');
  mkdirSync(workerDir);
  writeTinyModel(workerDir, 'scanned-by-api');
  const startWith = async (role: string) => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      return await startTestApp({ work: false, databaseUrl: t.databaseUrl, env: { MEDPSIM_ROLE: role, MEDPSIM_MODELS_DIR: workerDir, MEDPSIM_ONNX_PROVIDER: 'cpu' } });
    } finally {
      log.mockRestore();
    }
  };
  const registered = async () => (await t.app.pool.query(`SELECT name FROM models WHERE name = 'scanned-by-api'`)).rows;

  const worker = await startWith('worker');
  try {
    expect(await registered()).toEqual([]);
    // What a worker runs, it finds through the rows the API process registered (with their checked hash).
    const dae = await findModel(worker.app, 'dae-small');
    expect(dae).toMatchObject({ path: path.join(modelsDir, 'dae-small.onnx'), sha256: dae.manifest.onnx.sha256 });
  } finally {
    await worker.close();
  }

  const api = await startWith('api');
  try {
    expect(await registered()).toEqual([{ name: 'scanned-by-api' }]);
  } finally {
    await api.close();
    await t.app.pool.query(`DELETE FROM models WHERE name = 'scanned-by-api'`); // the other tests list this database's models
  }
});

it('lists models by task and gets one by name (NOT_FOUND otherwise)', async () => {
  const byTask = await t.gql(`query ($task: ModelTask) { models(task: $task) { name } }`, { task: 'CLASSIFIER' });
  expect(byTask.data!.models).toEqual([{ name: 'resnet-tiny' }]);
  const one = await t.gql(`query ($name: String!) { model(name: $name) { name task } }`, { name: 'dae-small' });
  expect(one.data!.model).toEqual({ name: 'dae-small', task: 'DAE' });
  const missing = await t.gql(`query { model(name: "nope") { name } }`);
  expect(missing.errors![0]).toMatchObject({ message: 'model nope not found', extensions: { code: 'NOT_FOUND' } });
});

const REGISTER = `mutation ($path: String!) { registerModel(path: $path) { change previousSha256 model { name task path sha256 } } }`;

it('registers a model by path, and updates the row when the same name comes with another file', async () => {
  const other = path.join(root, 'elsewhere');
  mkdirSync(other);
  const onnxPath = writeTinyModel(other, 'gan-x', { manifest: { task: 'gan-generator' } });
  const created = await t.gql(REGISTER, { path: onnxPath });
  expect(created.errors).toBeUndefined();
  expect(created.data!.registerModel).toMatchObject({ change: 'CREATED', previousSha256: null, model: { name: 'gan-x', task: 'GAN_GENERATOR', path: onnxPath } });
  const firstHash = created.data!.registerModel.model.sha256;

  const again = await t.gql(REGISTER, { path: onnxPath });
  expect(again.data!.registerModel).toMatchObject({ change: 'UNCHANGED', previousSha256: firstHash });

  writeTinyModel(other, 'gan-x', { factor: 7, manifest: { task: 'gan-generator' } }); // retrained: new file and manifest
  const updated = await t.gql(REGISTER, { path: onnxPath });
  expect(updated.data!.registerModel).toMatchObject({ change: 'UPDATED', previousSha256: firstHash });
  expect(updated.data!.registerModel.model.sha256).not.toBe(firstHash);
  const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n, min(sha256) AS sha256 FROM models WHERE name = 'gan-x'`);
  expect(rows[0]).toEqual({ n: 1, sha256: updated.data!.registerModel.model.sha256 });

  // The registered model runs through the app's inference pool
  const model = await findModel(t.app, 'gan-x');
  const result = await inferencePool(t.app).run(model.path, { input: { data: new Float32Array([1, 2]), dims: [1, 1, 1, 2] } });
  expect(Array.from(result.outputs.output.data)).toEqual([7, 14]);
  expect(result.provider).toBe('cpu');
});

it('refuses bad paths, manifests and hashes as BAD_USER_INPUT on path', async () => {
  const bad = async (file: string) => (await t.gql(REGISTER, { path: file })).errors![0];
  const broken = path.join(root, 'broken');
  mkdirSync(broken);
  copyFileSync(path.join(modelsDir, 'tampered.onnx'), path.join(broken, 'tampered.onnx'));
  copyFileSync(path.join(modelsDir, 'tampered.json'), path.join(broken, 'tampered.json'));
  writeFileSync(path.join(broken, 'v2.onnx'), tinyOnnxModel());
  writeFileSync(path.join(broken, 'v2.json'), JSON.stringify({ format: 'medpsim-model-manifest', version: 2 }));

  const cases: Array<[string, RegExp]> = [
    ['', /give a file on the server, inside .*\(MEDPSIM_IMPORT_ROOTS\)/],
    [path.join(root, 'nope.onnx'), /file not found on the server: .*nope\.onnx/],
    ['/etc/hostname', /\/etc\/hostname is outside the folders this server may read/],
    [path.join(modelsDir, 'dae-small.json'), /a model path must name an \.onnx file/],
    [path.join(modelsDir, 'corrupt.onnx'), /corrupt\.json: not valid JSON/],
    [path.join(broken, 'tampered.onnx'), /tampered\.onnx: SHA-256 [0-9a-f]{64} differs/],
    [path.join(broken, 'v2.onnx'), /v2\.json: version must be 1/],
  ];
  for (const [file, message] of cases) {
    const error = await bad(file);
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'path' });
    expect(error.message).toMatch(/^path: /);
    expect(error.message).toMatch(message);
  }
});
