/**
 * Generator zoos through GraphQL, with the real Python trainer on synthetic phantoms at 64x64: a zoo of three
 * tiny members (knobs recorded and within their ranges, manifests, registry), resumed after its worker is
 * killed without retraining a finished member; a test set drawing from the zoo that rebuilds to the same
 * hash; the degeneracy guard replacing a draw; bad input. The runs need torch for /usr/bin/python3
 * (MEDPSIM_PYTHON): without it they are skipped, except on CI. The killed worker runs from dist/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { graphql as execute, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { startFolderImport } from '../../src/datasets/service';
import { MODULES } from '../../src/modules';
import { Role, type RequestContext } from '../../src/platform/context';
import { WORKER_ID } from '../../src/platform/jobs/store';
import { buildMedpsimSchema } from '../../src/schema/build';
import { synthesizeDataset } from '../../src/synth/dataset';
import { ZOO_KNOBS } from '../../src/training/zoo-knobs';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { MAIN, processesWith, runCli, startProcess, stopProcesses } from '../helpers/processes';

const PYTHON = process.env.MEDPSIM_PYTHON || '/usr/bin/python3';
const TORCH = spawnSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status === 0;
if (!TORCH && !process.env.CI) console.warn(`SKIPPED: zoo training (test/db/zoo.test.ts): ${PYTHON} cannot import torch, torchvision and onnx`);
const withTorch = TORCH || process.env.CI ? describe : describe.skip;

let t: TestApp;
let schema: GraphQLSchema;
let scratch: string;
let modelsDir: string;
let datasetId: string;

/** Tiny members: a few seconds each on one core. */
const RANGES = {
  gLayers: [2, 3],
  gChannels: [4, 8],
  gDropoutLayers: [0, 1],
  dLayers: [1, 2],
  wFeature: [0, 0], // the feature net would dominate the time of such small members
  lr: [2e-4, 1e-3],
};
const OPTIONS = { epochs: 1, imageSize: 64, batchSize: 8 };

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'medpsim-zoo-'));
  modelsDir = path.join(scratch, 'models');
  t = await startTestApp({ http: true, work: false, env: { MEDPSIM_MODELS_DIR: modelsDir, MEDPSIM_PYTHON: PYTHON } });
  schema = await buildMedpsimSchema(MODULES);
  const phantoms = path.join(scratch, 'phantoms');
  await synthesizeDataset({ outDir: phantoms, count: 24, width: 64, height: 64, seed: 11 });
  // Imported by a worker of its own: this process's workers start with the tests that train.
  const importer = await startTestApp({ databaseUrl: t.databaseUrl, dataDir: t.dataDir });
  try {
    const importJob = await startFolderImport(importer.app, { path: phantoms, datasetName: 'zoo-phantoms' });
    expect((await waitForJob(importer, importJob)).state).toBe('COMPLETED');
  } finally {
    await importer.close();
  }
  datasetId = (await t.app.pool.query(`SELECT id FROM datasets WHERE name = 'zoo-phantoms'`)).rows[0].id;
}, 120_000);

afterAll(async () => {
  await stopProcesses();
  await t?.app.jobs.stopWorkers();
  await t?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

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

const TRAIN = `mutation ($input: TrainGeneratorZooInput!) { trainGeneratorZoo(input: $input) { id name state size job { id kind } } }`;
const ZOO = `query ($name: String!) { modelZoo(name: $name) {
  name state size seed ranges options guard { minRmsChange minContrastRatio draws } job { id state done failed total }
  members { index draw state knobs options guard modelName sha256 summary model { name task sha256 manifest } }
  degenerateDraws { index draw knobs guard reason modelName }
} }`;

async function trainZoo(input: Record<string, unknown>): Promise<string> {
  const result = await gql(TRAIN, { input: { datasetId, seed: 5, ranges: RANGES, options: OPTIONS, device: 'CPU', ...input } });
  expect(result.errors).toBeUndefined();
  expect(result.data!.trainGeneratorZoo).toMatchObject({ state: 'TRAINING', job: { kind: 'TRAIN_ZOO' } });
  return result.data!.trainGeneratorZoo.job.id;
}

async function zoo(name: string): Promise<Record<string, any>> {
  const result = await gql(ZOO, { name });
  expect(result.errors).toBeUndefined();
  return result.data!.modelZoo;
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

/** Every knob within the zoo's range (per-level knobs within the drawn layers - 1). */
function expectKnobsWithin(knobs: Record<string, unknown>, ranges: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(knobs)) {
    const knob = ZOO_KNOBS.find((k) => k.name === name)!;
    if (knob.type === 'choice') expect(ranges[name]).toContain(value);
    else {
      const [low, high] = ranges[name] as [number, number];
      const top = knob.perLevel ? Math.min(high, Number(knobs.gLayers) - 1) : high;
      expect(value).toBeGreaterThanOrEqual(Math.min(low, top) * (1 - 1e-3));
      expect(value).toBeLessThanOrEqual(top * (1 + 1e-3));
    }
  }
}

describe('bad input is BAD_USER_INPUT naming the field, before anything is stored', () => {
  it.each([
    ['K = 0', { size: 0 }, 'size', /\[1, 256\]/],
    ['K beyond the limit', { size: 257 }, 'size', /\[1, 256\]/],
    ['an unknown knob', { ranges: { gLayerz: [2, 3] } }, 'ranges.gLayerz', /unknown knob/],
    ['an inverted range', { ranges: { lr: [1e-3, 1e-4] } }, 'ranges.lr', /exceeds max/],
    ['an empty choice', { ranges: { gNorm: [] } }, 'ranges.gNorm', /non-empty list/],
    ['a knob among the fixed options', { options: { gLayers: 3 } }, 'options.gLayers', /drawn per member/],
    ['an unknown option', { options: { momentum: 0.9 } }, 'options.momentum', /unknown option/],
    ['an image size the largest generator cannot take', { options: { imageSize: 48 }, ranges: { gLayers: [2, 5] } }, 'options.imageSize', /multiple of 32/],
    ['a guard limit out of range', { guard: { minRmsChange: 2 } }, 'guard.minRmsChange', /\[0, 1\]/],
    ['too many draws', { guard: { draws: 11 } }, 'guard.draws', /\[1, 10\]/],
    ['a bad name', { name: 'my zoo' }, 'name', /letters, digits/],
  ])('%s', async (_what, change, field, message) => {
    const result = await gql(TRAIN, { input: { name: 'bad-zoo', datasetId, seed: 1, ...change } });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(result.errors?.[0].message).toMatch(message);
    const { rows } = await t.app.pool.query(`SELECT (SELECT count(*) FROM model_zoos)::int AS zoos, (SELECT count(*) FROM jobs WHERE kind = 'TRAIN_ZOO')::int AS jobs`);
    expect(rows[0]).toEqual({ zoos: 0, jobs: 0 });
  });

  it('lists the knobs with their limits and defaults', async () => {
    const result = await gql(`{ zooKnobs { name group type limits default log } }`);
    expect(result.data!.zooKnobs.map((knob: { name: string }) => knob.name)).toEqual(ZOO_KNOBS.map((knob) => knob.name));
    expect(result.data!.zooKnobs.find((knob: { name: string }) => knob.name === 'lr')).toMatchObject({ type: 'number', limits: [1e-6, 1], log: true });
  });
});

withTorch('with the Python trainer', () => {
  it('trains a zoo of three, resumed after its worker is killed without retraining a finished member', async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    const child = startProcess(MAIN, [], {
      DATABASE_URL: t.databaseUrl,
      MEDPSIM_DATA_DIR: t.dataDir,
      MEDPSIM_ROLE: 'worker',
      MEDPSIM_MODELS_DIR: modelsDir,
      MEDPSIM_PYTHON: PYTHON,
    });
    await child.waitFor(/worker ready/);
    const jobId = await trainZoo({ name: 'tiny', size: 3 });

    // Killed once its first member is recorded, while the second trains.
    await waitFor('the first member', async () => (await t.app.pool.query(`SELECT done FROM jobs WHERE id = $1`, [jobId])).rows[0].done >= 1);
    child.process.kill('SIGKILL');
    await child.exited;
    const before = (await t.app.pool.query(`SELECT item, worker FROM job_items WHERE job_id = $1`, [jobId])).rows;
    expect(before.length).toBeLessThan(3);
    const deadWorker = `${before[0].worker}`;
    expect(deadWorker).toMatch(new RegExp(`:${child.process.pid}$`));
    const firstMember = (await t.app.pool.query(`SELECT index, created_at FROM model_zoo_draws WHERE state = 'MEMBER'`)).rows;

    await t.app.jobs.startWorkers(); // this process takes over; its reaper hands the dead worker's unit out again
    const job = await waitForJob(t, jobId, 300_000);
    expect(job).toMatchObject({ state: 'COMPLETED', done: 3, failed: 0, total: 3 });
    const items = (await t.app.pool.query(`SELECT item, worker FROM job_items WHERE job_id = $1 ORDER BY item`, [jobId])).rows;
    expect(items.map((item) => item.item)).toEqual(['tiny-m000', 'tiny-m001', 'tiny-m002']);
    // What the dead worker finished stayed its own: not trained again.
    for (const { item, worker } of before) expect(items.find((row) => row.item === item)!.worker).toBe(worker);
    expect(items.filter((row) => row.worker === WORKER_ID).length).toBe(3 - before.length);
    const again = (await t.app.pool.query(`SELECT index, created_at FROM model_zoo_draws WHERE index = ANY($1)`, [firstMember.map((row) => row.index)])).rows;
    expect(again).toEqual(firstMember);

    const tiny = await zoo('tiny');
    expect(tiny).toMatchObject({ name: 'tiny', state: 'READY', size: 3, seed: 5, options: OPTIONS, degenerateDraws: [] });
    expect(tiny.members.map((member: { index: number }) => member.index)).toEqual([0, 1, 2]);
    for (const member of tiny.members) {
      expectKnobsWithin(member.knobs, tiny.ranges);
      expect(member.model).toMatchObject({ name: member.modelName, sha256: member.sha256, task: member.knobs.objective === 'reconstruct' ? 'DAE' : 'GAN_GENERATOR' });
      // The manifest records the sampled knobs, the training summary and the hash.
      const manifest = member.model.manifest;
      expect(manifest.zooMember).toEqual({ zoo: 'tiny', index: member.index, draw: member.draw, seed: 5, knobs: member.knobs });
      expect(manifest.onnx.sha256).toBe(member.sha256);
      expect(manifest.metrics.guard).toEqual(member.guard);
      expect(member.guard).toMatchObject({ finite: true, rmsChange: expect.any(Number), contrastRatio: expect.any(Number) });
      expect(member.summary).toMatchObject({ seconds: expect.any(Number), metrics: manifest.metrics });
      expect(manifest.training.config).toMatchObject({ epochs: 1, image_size: 64, g_layers: member.knobs.gLayers });
      expect(existsSync(path.join(modelsDir, `${member.modelName}.onnx`))).toBe(true);
    }
    // The work folders are gone, the dead worker's too (it may have died removing its own).
    expect(readdirSync(path.join(t.dataDir, 'tmp')).filter((name) => name.startsWith(`zoo-${jobId}-`))).toEqual([]);

    const listed = await gql(`{ modelZoos { name state members { index } } }`);
    expect(listed.data!.modelZoos).toEqual([{ name: 'tiny', state: 'READY', members: [{ index: 0 }, { index: 1 }, { index: 2 }] }]);
    const taken = await gql(TRAIN, { input: { name: 'tiny', datasetId, seed: 1 } });
    expect(taken.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
  }, 600_000);

  it('a test set drawing from the zoo records member, corruption and mix per item, and rebuilds to the same hash', async () => {
    const create = `mutation ($input: TestSetDefinitionInput!) { createTestSet(definition: $input) { id job { id } } }`;
    const input = {
      name: 'zoo set',
      kind: 'TWO_AFC',
      datasetId,
      references: 8,
      unit: 'WHOLE',
      size: 64,
      pool: [{ zoo: 'tiny', corruptions: ['none', 'white_noise'], levelMin: 0.05, levelMax: 0.1, severityMin: 0.5, severityMax: 1 }],
      seed: 3,
    };
    const created = await gql(create, { input });
    expect(created.errors).toBeUndefined();
    const built = await waitForJob(t, created.data!.createTestSet.job.id, 120_000);
    expect(built).toMatchObject({ state: 'COMPLETED', failed: 0 });
    const tiny = await zoo('tiny');
    const { rows: items } = await t.app.pool.query(`SELECT category, p0_spec, p1_spec FROM test_set_items WHERE test_set_id = $1 ORDER BY position`, [created.data!.createTestSet.id]);
    expect(items).toHaveLength(8);
    const usedMembers = new Set<number>();
    for (const item of items) {
      expect(item.category).toBe('cnn');
      for (const choice of [item.p0_spec, item.p1_spec]) {
        const member = tiny.members.find((m: { index: number }) => m.index === choice.zoo.member);
        usedMembers.add(member.index);
        expect(choice.zoo.name).toBe('tiny');
        const [step] = choice.steps;
        expect(step.model).toBe(member.modelName);
        expect(step.kind).toBe(member.knobs.objective === 'reconstruct' ? 'dae_reconstruction' : 'gan_generator');
        expect([0, 2]).toContain(step.params.corruption); // none, white_noise
        expect(step.params.level).toBeGreaterThanOrEqual(0.05);
        expect(step.params.level).toBeLessThanOrEqual(0.1);
        expect(step.params.mix).toBeGreaterThanOrEqual(0.5);
        expect(step.params.mix).toBeLessThanOrEqual(1);
        expect(choice.resolved[0]).toMatchObject({ model: member.modelName, modelSha256: member.sha256 });
      }
    }
    expect(usedMembers.size).toBeGreaterThan(1);

    const first = await gql(`query ($id: ID!) { testSet(id: $id) { contentHash state } }`, { id: created.data!.createTestSet.id });
    expect(first.data!.testSet.state).toBe('READY');
    const clone = await gql(`mutation ($id: ID!) { cloneTestSet(id: $id) { id job { id } } }`, { id: created.data!.createTestSet.id });
    expect(clone.errors).toBeUndefined();
    expect((await waitForJob(t, clone.data!.cloneTestSet.job.id, 120_000)).state).toBe('COMPLETED');
    const second = await gql(`query ($id: ID!) { testSet(id: $id) { contentHash } }`, { id: clone.data!.cloneTestSet.id });
    expect(second.data!.testSet.contentHash).toBe(first.data!.testSet.contentHash);

    const unknown = await gql(create, { input: { ...input, pool: [{ zoo: 'no-such-zoo' }] } });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'pool[0].zoo' });
    const colour = await gql(create, { input: { ...input, pool: [{ zoo: 'tiny', corruptions: ['colour_removal'] }] } });
    expect(colour.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'pool[0].corruptions' });
  }, 300_000);

  it('medpsim zoos shows the members and their knobs; medpsim train zoo passes the server\'s errors on', async () => {
    const cli = (args: string[]) => runCli({ url: t.server!.url, token: t.token }, args);
    const listed = await cli(['zoos']);
    expect(listed.code).toBe(0);
    expect(listed.output).toMatch(/^tiny\tREADY\t3\/3 members$/m);
    const shown = await cli(['zoos', 'tiny']);
    expect(shown.code).toBe(0);
    expect(shown.output).toMatch(/zoo tiny: READY, 3 of 3 members/);
    expect(shown.output).toMatch(/tiny-m000 \(draw 0, [\d.]+ s\): inputCorruption=\S+ .*gLayers=[23] /);
    const inverted = await cli(['train', 'zoo', '--name', 'cli-zoo', '--dataset', 'zoo-phantoms', '--range', 'gLayers=5..3', '--members', '2']);
    expect(inverted.code).not.toBe(0);
    expect(inverted.output).toMatch(/ranges\.gLayers: min 5 exceeds max 3/);
    const choice = await cli(['train', 'zoo', '--name', 'cli-zoo', '--dataset', 'zoo-phantoms', '--range', 'gUpsample=bilinear,pixelshuffle']);
    expect(choice.output).toMatch(/ranges\.gUpsample\[1\]: must be one of transpose, nearest, bilinear/);
    expect((await t.app.pool.query(`SELECT count(*)::int AS n FROM model_zoos WHERE name = 'cli-zoo'`)).rows[0].n).toBe(0);
  });

  it('the guard replaces a degenerate draw with the next one and reports it', async () => {
    // The same seed and ranges draw member 0 as in "tiny"; a limit just above its measured change makes it
    // "nearly the identity" here.
    const tiny = await zoo('tiny');
    const first = tiny.members[0];
    expect(first.draw).toBe(0);
    const limit = Math.min(1, first.guard.rmsChange * 1.01);
    const jobId = await trainZoo({ name: 'strict', size: 1, guard: { minRmsChange: limit, draws: 3 } });
    const job = await waitForJob(t, jobId, 300_000);
    expect(job.state).toBe('COMPLETED');

    const strict = await zoo('strict');
    const [replaced, ...later] = strict.degenerateDraws;
    expect(replaced).toMatchObject({ index: 0, draw: 0, knobs: first.knobs, modelName: null });
    expect(replaced.reason).toMatch(/nearly the identity/);
    expect(replaced.guard.rmsChange).toBeCloseTo(first.guard.rmsChange, 6); // the same training, deterministic on the CPU
    // Draws 1, 2, ... were trained in turn until one passed or the draws ran out.
    const draws = [...strict.degenerateDraws, ...strict.members].map((draw: { draw: number }) => draw.draw).sort();
    expect(draws).toEqual(Array.from({ length: draws.length }, (_, i) => i));
    expect(draws.length).toBeGreaterThanOrEqual(2);
    for (const draw of later) {
      // Each replaced for a reason of the rule, with the statistic that says so.
      if (/nearly the identity/.test(draw.reason)) expect(draw.guard.rmsChange).toBeLessThan(limit);
      else if (/nearly constant/.test(draw.reason)) expect(draw.guard.contrastRatio).toBeLessThan(0.05);
      else expect(draw.reason).toMatch(/not finite/);
    }
    if (strict.members.length === 1) {
      const member = strict.members[0];
      expect(member.draw).toBe(draws.length - 1);
      expect(member.guard.rmsChange).toBeGreaterThanOrEqual(limit);
      expect(member.model.manifest.zooMember.draw).toBe(member.draw);
      expect(member.knobs).not.toEqual(first.knobs);
    } else {
      expect(draws.length).toBe(3);
      expect(job.failed).toBe(1);
      const failure = (await t.app.pool.query(`SELECT code, message FROM job_items WHERE job_id = $1`, [jobId])).rows[0];
      expect(failure).toMatchObject({ code: 'DEGENERATE', message: expect.stringMatching(/every one of 3 draws was degenerate/) });
    }
    // A degenerate draw's files are not registered.
    const models = (await t.app.pool.query(`SELECT name FROM models WHERE name LIKE 'strict-%'`)).rows;
    expect(models.length).toBe(strict.members.length);
  }, 600_000);

  it('cancelling stops the member in training; nothing of it is registered', async () => {
    const jobId = await trainZoo({ name: 'cancelled', size: 2, options: { ...OPTIONS, epochs: 500 } });
    // The trainer's command line names the member (--name cancelled-m000 or -m001: units are taken in any order).
    await waitFor('a member\'s trainer', async () => processesWith('cancelled-m').length > 0);
    const cancelled = await gql(`mutation ($id: ID!) { cancelJob(id: $id) { state } }`, { id: jobId });
    expect(cancelled.data!.cancelJob.state).toBe('CANCELLED');
    await waitFor('the trainer to exit', async () => processesWith('cancelled-m').length === 0, 15_000);
    expect((await zoo('cancelled')).state).toBe('CANCELLED');
    const { rows } = await t.app.pool.query(
      `SELECT (SELECT count(*) FROM models WHERE name LIKE 'cancelled-%')::int AS models, (SELECT count(*) FROM job_items WHERE job_id = $1)::int AS items`,
      [jobId],
    );
    expect(rows[0]).toEqual({ models: 0, items: 0 });
    await waitFor('its work folder to go', async () => !readdirSync(path.join(t.dataDir, 'tmp')).some((name) => name.startsWith(`zoo-${jobId}-`)), 15_000);
  }, 120_000);
});
