/**
 * Training as a job, through the GraphQL mutation, with the real Python trainer on tiny synthetic
 * phantoms: progress and a registered model; the trainer's own error; bad input; cancel; a worker killed
 * with SIGKILL leaves no trainer behind. The runs need torch for /usr/bin/python3 (MEDPSIM_PYTHON): without
 * it they are skipped, except on CI. The SIGKILL test runs a worker from dist/ (npm test builds it first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { graphql as execute, parse, subscribe, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { startFolderImport } from '../../src/datasets/service';
import { MODULES } from '../../src/modules';
import { Role, type RequestContext } from '../../src/platform/context';
import { buildMedpsimSchema } from '../../src/schema/build';
import { synthesizeDataset } from '../../src/synth/dataset';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { liveGroupMembers, MAIN, startProcess, stopProcesses } from '../helpers/processes';

const PYTHON = process.env.MEDPSIM_PYTHON || '/usr/bin/python3';
const TORCH = spawnSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status === 0;
if (!TORCH && !process.env.CI) {
  console.warn(`SKIPPED: training runs (test/db/training.test.ts): ${PYTHON} cannot import torch, torchvision and onnx`);
}
const withTorch = TORCH || process.env.CI ? describe : describe.skip;

let t: TestApp;
let schema: GraphQLSchema;
let scratch: string;
let modelsDir: string;
let phantoms: string;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'medpsim-training-'));
  modelsDir = path.join(scratch, 'models');
  t = await startTestApp({ work: false, env: { MEDPSIM_MODELS_DIR: modelsDir } });
  schema = await buildMedpsimSchema(MODULES);
  phantoms = path.join(scratch, 'phantoms');
  await synthesizeDataset({ outDir: phantoms, count: 24, width: 32, height: 32, seed: 5 });
});

afterAll(async () => {
  await stopProcesses();
  await t?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// The schema executed directly, as the HTTP edge would after authenticating an admin token.
const context = (): RequestContext => ({
  app: t.app,
  principal: { tokenId: '00000000-0000-4000-8000-000000000000', role: Role.ADMIN, raterId: null, prefix: 'mpsim_test', expiresAt: null },
  baseUrl: 'http://localhost',
  clientAddress: null,
  signal: new AbortController().signal,
});

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<ExecutionResult<Record<string, any>>> {
  return execute({ schema, source: query, variableValues: variables, contextValue: context() });
}

const START = `mutation ($input: StartTrainingInput!) { startTraining(input: $input) { id kind state } }`;

async function startTraining(input: Record<string, unknown>): Promise<string> {
  const result = await gql(START, { input });
  expect(result.errors).toBeUndefined();
  expect(result.data!.startTraining).toMatchObject({ kind: 'TRAIN', state: 'QUEUED' });
  return result.data!.startTraining.id;
}

async function run(jobId: string) {
  const { rows } = await t.app.pool.query(`SELECT * FROM training_runs WHERE job_id = $1`, [jobId]);
  return rows[0];
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}


/** A trainer that is past its start: its process group and its first epoch line. */
async function runningTrainer(jobId: string): Promise<number> {
  const started = await waitFor('the first epoch', async () => {
    const row = await run(jobId);
    return row?.pid && row.progress?.epoch >= 1 ? row : null;
  });
  expect(liveGroupMembers(started.pid).length).toBeGreaterThanOrEqual(2); // the guard and python
  return started.pid;
}

const DAE_TINY = { epochs: 2, batchSize: 8, imageSize: 16, depth: 2, channels: 4, seed: 1 };
const DAE_LONG = { epochs: 500, batchSize: 8, imageSize: 16, depth: 2, channels: 4 };

describe('bad input is BAD_USER_INPUT naming the field', () => {
  it.each([
    ['an unknown option', { options: { momentum: 0.9 } }, 'options.momentum', /unknown option for DAE; allowed: seed, epochs/],
    ['epochs out of range', { options: { epochs: 501 } }, 'options.epochs', /integer in \[1, 500\], got 501/],
    ['a bad model name', { name: 'My Model' }, 'name', /letters, digits/],
    ['a folder that is not there', { dataFolder: path.join(tmpdir(), 'nonexistent-phantoms') }, 'dataFolder', /folder not found on the server/],
    ['a folder outside the import roots', { dataFolder: '/etc' }, 'dataFolder', /outside the folders this server may read/],
    ['both a dataset and a folder', { datasetId: '00000000-0000-4000-8000-000000000000' }, 'datasetId', /one of them/],
    ['neither', { dataFolder: null }, 'datasetId', /one of them/],
  ])('%s', async (_what, change, field, message) => {
    const result = await gql(START, { input: { task: 'DAE', name: 'dae-bad', dataFolder: phantoms, options: {}, ...change } });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(result.errors?.[0].message).toMatch(message);
    const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM jobs WHERE kind = 'TRAIN'`);
    expect(rows[0].n).toBe(0); // refused before a job exists
  });

  it('a dataset that does not exist is NOT_FOUND', async () => {
    const result = await gql(START, { input: { task: 'DAE', name: 'dae-bad', datasetId: '00000000-0000-4000-8000-000000000000' } });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND' });
  });
});

it('fails the job when the trainer cannot be started (MEDPSIM_PYTHON wrong)', async () => {
  // A second worker on the same database and data, with another MEDPSIM_PYTHON.
  const worker = await startTestApp({ databaseUrl: t.databaseUrl, dataDir: t.dataDir, env: { MEDPSIM_MODELS_DIR: modelsDir, MEDPSIM_PYTHON: '/nonexistent/python3' } });
  try {
    const jobId = await startTraining({ task: 'DAE', name: 'dae-no-python', dataFolder: phantoms, options: DAE_TINY });
    const job = await waitForJob(t, jobId);
    expect(job.state).toBe('FAILED');
    expect(job.error).toMatch(/the trainer could not be started: cannot start the trainer \/nonexistent\/python3: .*ENOENT/);
  } finally {
    await worker.close();
  }
});

withTorch('with the Python trainer', () => {
  beforeAll(async () => {
    await t.app.jobs.startWorkers();
  });

  afterAll(async () => {
    await t.app.jobs.stopWorkers();
  });

  it('trains a model from a server dataset: progress, then COMPLETED with its metrics, registered', async () => {
    const importJob = await startFolderImport(t.app, { path: phantoms, datasetName: 'phantoms' });
    expect((await waitForJob(t, importJob)).state).toBe('COMPLETED');
    const { rows } = await t.app.pool.query(`SELECT id FROM datasets WHERE name = 'phantoms'`);

    const jobId = await startTraining({ task: 'DAE', name: 'dae-tiny', datasetId: rows[0].id, options: DAE_TINY, device: 'CPU' });
    const stream = (await subscribe({
      schema,
      document: parse(`subscription ($id: ID!) {
        jobProgress(id: $id) { state done total error training { device progress data warnings metrics modelPath manifestPath exitCode } }
      }`),
      variableValues: { id: jobId },
      contextValue: context(),
    })) as AsyncIterable<ExecutionResult<Record<string, any>>>;
    const seen: Record<string, any>[] = [];
    for await (const result of stream) {
      expect(result.errors).toBeUndefined();
      seen.push(result.data!.jobProgress);
    }

    const running = seen.filter((job) => job.state === 'RUNNING');
    expect(running.some((job) => job.total === 2 && job.training !== null)).toBe(true); // epochs known from the start line
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ state: 'COMPLETED', done: 2, total: 2, error: null });
    const training = last.training;
    expect(training).toMatchObject({ device: 'cpu', exitCode: 0, modelPath: path.join(modelsDir, 'dae-tiny.onnx') });
    expect(training.progress).toMatchObject({ event: 'epoch', epoch: 2, epochs: 2 });
    expect(typeof training.progress.losses.train).toBe('number');
    // The export carried the dataset: 24 images, the phantoms' patients.
    expect(training.data.found.images).toBe(24);
    expect(training.metrics).toMatchObject({ on: 'test', test: { images: expect.any(Number), mse: expect.any(Number) } });

    const manifest = JSON.parse(readFileSync(training.manifestPath, 'utf8'));
    expect(manifest).toMatchObject({ format: 'medpsim-model-manifest', name: 'dae-tiny', task: 'dae', metrics: training.metrics });
    expect(readdirSync(modelsDir).sort()).toEqual(['dae-tiny.json', 'dae-tiny.onnx', 'dae-tiny.parity.json', 'dae-tiny.pt']);
    const models = await t.app.pool.query(`SELECT task, onnx_path FROM models WHERE name = 'dae-tiny'`);
    expect(models.rows).toEqual([{ task: 'dae', onnx_path: training.modelPath }]);
    // The exported dataset and the trainer's own output folder are gone.
    expect(existsSync(path.join(t.dataDir, 'tmp', `train-${jobId}`))).toBe(false);
  });

  it("fails with the trainer's own message (a folder without images)", async () => {
    const empty = path.join(scratch, 'empty');
    mkdirSync(empty);
    const jobId = await startTraining({ task: 'DAE', name: 'dae-empty', dataFolder: empty, options: DAE_TINY });
    const job = await waitForJob(t, jobId);
    expect(job.state).toBe('FAILED');
    expect(job.error).toBe(`no PNG/JPEG images found in ${empty}`);
    const row = await run(jobId);
    expect(row.exit_code).toBe(2); // the trainer's "bad input"
    expect(row.log).toMatch(/error: no PNG\/JPEG images found/);
    expect(existsSync(path.join(modelsDir, 'dae-empty.onnx'))).toBe(false);
  });

  it('cancelling stops the trainer; one name trains once at a time', async () => {
    const jobId = await startTraining({ task: 'DAE', name: 'dae-cancel', dataFolder: phantoms, options: DAE_LONG });
    const pgid = await runningTrainer(jobId);

    const again = await gql(START, { input: { task: 'DAE', name: 'dae-cancel', dataFolder: phantoms, options: DAE_TINY } });
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(again.errors?.[0].message).toMatch(/already queued or running/);

    const cancelled = await gql(`mutation ($id: ID!) { cancelJob(id: $id) { state } }`, { id: jobId });
    expect(cancelled.data!.cancelJob.state).toBe('CANCELLED');
    await waitFor('the trainer to exit', async () => liveGroupMembers(pgid).length === 0, 10_000);
    const row = await waitFor('the exit to be recorded', async () => {
      const current = await run(jobId);
      return current.exit_code !== null ? current : null;
    });
    expect(row.exit_code).toBe(128 + 15); // SIGTERM
    expect((await waitForJob(t, jobId)).state).toBe('CANCELLED');
    expect(existsSync(path.join(modelsDir, 'dae-cancel.onnx'))).toBe(false);
  });

  it('a worker that stops stops its trainer and queues the job again', async () => {
    const jobId = await startTraining({ task: 'DAE', name: 'dae-requeue', dataFolder: phantoms, options: DAE_LONG });
    const pgid = await runningTrainer(jobId);
    await t.app.jobs.stopWorkers(); // what app.close() does on SIGINT/SIGTERM
    expect(liveGroupMembers(pgid)).toEqual([]);
    const { rows } = await t.app.pool.query(`SELECT state, done, total FROM jobs WHERE id = $1`, [jobId]);
    expect(rows[0]).toEqual({ state: 'QUEUED', done: 0, total: null });
    const units = await t.app.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'medpsim-train' AND state = 'created' AND data->>'jobId' = $1`, [jobId]);
    expect(units.rows[0].n).toBe(1); // for the next worker that is up
    await gql(`mutation ($id: ID!) { cancelJob(id: $id) { state } }`, { id: jobId }); // not for the one below
  });

  it('a worker killed with SIGKILL leaves no trainer running, and its job is marked FAILED', async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    await t.app.jobs.stopWorkers(); // the worker process below takes the job
    // A real worker process (it registers every job kind, training included).
    const child = startProcess(MAIN, [], {
      DATABASE_URL: t.databaseUrl,
      MEDPSIM_DATA_DIR: t.dataDir,
      MEDPSIM_ROLE: 'worker',
      MEDPSIM_MODELS_DIR: modelsDir,
      MEDPSIM_PYTHON: PYTHON,
    });
    await child.waitFor(/worker ready/);

    const jobId = await startTraining({ task: 'DAE', name: 'dae-orphan', dataFolder: phantoms, options: DAE_LONG });
    const pgid = await runningTrainer(jobId);
    expect((await run(jobId)).worker).toMatch(new RegExp(`:${child.process.pid}$`));
    child.process.kill('SIGKILL');
    await child.exited;
    await waitFor('the trainer to exit', async () => liveGroupMembers(pgid).length === 0, 10_000);

    expect(await t.app.jobs.reap()).toHaveLength(1); // the dead worker's unit
    const job = await waitForJob(t, jobId);
    expect(job.state).toBe('FAILED');
    expect(job.error).toMatch(/stopped without finishing it; start the training again/);
  });
});
