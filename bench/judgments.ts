/**
 * Judgment submissions over HTTP: many raters at once, each sending `submitJudgment` for their own open
 * presentations, one after another, on a keep-alive connection of their own; autocannon is the load
 * generator, in a child process (so that it does not share the server's event loop; with taskset and 2+
 * cores the server's Node process gets core 0 and the load generator core 1, PostgreSQL runs where the
 * scheduler puts it). Beside it, in the same run and with the same tokens and connections, the peer:
 * `{ __typename }`, the fixed cost of an authenticated GraphQL request on this server. Rounds in ABBA order,
 * each connection sending its next request the moment its answer is in (the ceiling); then one round paced at
 * --paced-rate judgments/s over all connections (default 1,000: the issue's target), whose latency is what a
 * rater waits at that load. With 50 connections in a closed loop the mean latency is 50 / rate, so the
 * ceiling rounds' p99 says little about the target.
 *
 * Setup (not measured): a data folder and database of its own (the embedded PostgreSQL, or a new database on
 * the server DATABASE_URL names), synthetic 256x256 phantoms, a TWO_AFC set of 32x32 patches, R raters with
 * RATER tokens (invitation accepted), a study with 5 judgments per item, no retests, practice or sentinels;
 * every rater's presentation ids read in order with SQL. Each connection sends one rater's token and that
 * rater's presentations, each once with a fresh client key: every request is a new judgment.
 *
 * Also, in this process: the SQL statements of N direct calls of submitJudgment (the app pool's `query`
 * wrapped and counted) and the plan of its statement; the statements the whole HTTP request costs (every pg
 * client's `query` counted during each arm, by statement); the CPU of the server, PostgreSQL and the load
 * generator per request; and every 50 ms the app pool's queue and what PostgreSQL's backends wait on.
 * Speed is reported against the issue's target, never asserted.
 *
 *   npm run bench:judgments                       # 3,000 items x 5 judgments, 50 raters, 50 connections
 *   npm run bench:judgments -- --quick            # 200 items, 10 raters: well under a minute
 *   npm run bench:judgments -- --raters 100 --connections 100 --items 4000 --duration 20
 *   options: --raters R, --connections C (<= R), --items N, --duration s (each round at most s seconds),
 *            --paced-rate r (judgments/s of the paced round),
 *            --quick, --no-pin; DATABASE_URL=... runs on a new database of that server (dropped at the end)
 */
import '../src/platform/threadpool';
import 'reflect-metadata';
import autocannon from 'autocannon';
import { flag, machineCpuMs, option, ownDatabase, postgresCpuMs, processCpuMs, waitForJob } from './support';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { acceptInvitation, createRater } from '../src/access/raters';
import { startFolderImport } from '../src/datasets/service';
import { MODULES } from '../src/modules';
import { startApp, type App } from '../src/platform/app';
import { loadConfig } from '../src/platform/config';
import { startHttpServer } from '../src/server/http';
import { submitJudgment } from '../src/studies/judgments';
import { createStudy } from '../src/studies/service';
import { synthesizeDataset } from '../src/synth/dataset';
import { LIMITS } from '../src/testsets/definition';
import { createTestSet, getTestSet } from '../src/testsets/service';

const TARGET = { rate: 1000, p99Ms: 50 };

const SUBMIT = `mutation ($input: SubmitJudgmentInput!) { submitJudgment(input: $input) { id presentationId answer responseMs receivedAt repeated correct } }`;
const TYPENAME = JSON.stringify({ query: '{ __typename }' });
const DISPLAY = { viewportWidth: 1920, viewportHeight: 1080, imageWidth: 512, imageHeight: 512, devicePixelRatio: 1 };


// ---------------------------------------------------------------------------------------------------------
// The load generator (child process).

interface ClientSpec {
  url: string;
  arm: 'submit' | 'typename';
  /** Requests per connection (each connection: one rater, in order). */
  perConnection: number;
  /** Index of each rater's first presentation to send (earlier ones were sent by earlier rounds). */
  offset: number;
  /** Seconds; 0: until perConnection requests per connection are done. */
  duration: number;
  keyPrefix: string;
  raters: Array<{ token: string; presentations: string[] }>;
  /** Requests per second over all connections (autocannon's overallRate); 0: as fast as answers come. */
  rate?: number;
}

interface ClientResult {
  requests: number;
  seconds: number;
  /** Per response, ms. */
  latencies: number[];
  non2xx: number;
  connectionErrors: number;
  timeouts: number;
  /** GraphQL errors by code, 200 responses included; NO_DATA: a response without the expected data. */
  graphqlErrors: Record<string, number>;
  repeated: number;
  cpuMs: number;
}

function runLoad(spec: ClientSpec): Promise<ClientResult> {
  const url = new URL(spec.url);
  const connections = spec.raters.length;
  const latencies: number[] = [];
  const graphqlErrors: Record<string, number> = {};
  let repeated = 0;
  let non2xx = 0;
  let nextClient = 0;
  const countError = (code: string) => (graphqlErrors[code] = (graphqlErrors[code] ?? 0) + 1);
  const onBody = (status: number, body: string) => {
    if (status < 200 || status > 299) non2xx++;
    let parsed: { data?: Record<string, any> | null; errors?: Array<{ extensions?: { code?: string } }> };
    try {
      parsed = JSON.parse(body);
    } catch {
      countError('UNPARSABLE_BODY');
      return;
    }
    if (parsed.errors?.length) {
      for (const error of parsed.errors) countError(error.extensions?.code ?? 'NO_CODE');
      return;
    }
    if (spec.arm === 'submit') {
      const receipt = parsed.data?.submitJudgment;
      if (!receipt?.id) countError('NO_DATA');
      else if (receipt.repeated) repeated++;
    } else if (parsed.data?.__typename !== 'Query') countError('NO_DATA');
  };
  const expected = connections * spec.perConnection; // in both modes, at most perConnection per connection
  // Markers for the server side's CPU snapshots: the load starts, the last response is in.
  process.stdout.write('START\n');
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let lastResponse = started;
  let ended = false;
  const end = () => {
    if (!ended) process.stdout.write('END\n');
    ended = true;
  };
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: url.origin,
        connections,
        pipelining: 1,
        ...(spec.rate ? { overallRate: spec.rate } : {}),
        // Exactly perConnection per connection (autocannon spreads `amount` evenly), or for a time.
        ...(spec.duration > 0 ? { duration: spec.duration, maxConnectionRequests: spec.perConnection } : { amount: connections * spec.perConnection }),
        timeout: 10,
        // Replaced per connection in setupClient: one rater's token and presentations.
        requests: [{ method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: TYPENAME }],
        setupClient(client) {
          const index = nextClient++;
          const rater = spec.raters[index];
          const headers = { 'content-type': 'application/json', authorization: `Bearer ${rater.token}` };
          let sent = 0;
          client.setRequests([
            {
              method: 'POST',
              path: '/graphql',
              headers,
              setupRequest(request) {
                if (spec.arm === 'typename') return { ...request, headers, body: TYPENAME };
                // Never past the rater's own presentations: perConnection is at most what each rater has left.
                const presentationId = rater.presentations[spec.offset + Math.min(sent, spec.perConnection - 1)];
                const input = {
                  presentationId,
                  answer: Math.random() < 0.5 ? 'LEFT' : 'RIGHT',
                  responseMs: 400 + Math.floor(Math.random() * 2600),
                  clientKey: `${spec.keyPrefix}-${index}-${sent++}`,
                  display: DISPLAY,
                };
                return { ...request, headers, body: JSON.stringify({ query: SUBMIT, variables: { input } }) };
              },
              onResponse: (status, body) => onBody(status, body),
            },
          ]);
        },
      },
      (error, result) => {
        end();
        if (error) return reject(error);
        // To the last response: autocannon reports its end on its next one-second tick.
        const seconds = Number(lastResponse - started) / 1e9;
        const usage = process.cpuUsage(cpu);
        resolve({
          requests: latencies.length,
          seconds,
          latencies,
          non2xx,
          connectionErrors: result.errors,
          timeouts: result.timeouts,
          graphqlErrors,
          repeated,
          cpuMs: (usage.user + usage.system) / 1000,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, ms) => {
      latencies.push(ms);
      lastResponse = process.hrtime.bigint();
      if (latencies.length >= expected) end();
    });
  });
}

async function clientMain(specFile: string): Promise<void> {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as ClientSpec;
  const result = await runLoad(spec);
  process.stdout.write('RESULT ' + JSON.stringify({ ...result, latencies: result.latencies.map((ms) => Math.round(ms * 100) / 100) }));
}

// ---------------------------------------------------------------------------------------------------------
// The server side: setup, statement counts, CPU, the arms, the report.

/** Server on core 0, the load generator on core 1, where taskset exists and there are 2 cores or more. */
const CAN_PIN = !flag('no-pin') && os.cpus().length >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/** Every statement any pg client of this process sends (app pool, TypeORM, pg-boss, LISTEN), by statement. */
const statements = new Map<string, number>();
let claimText: string | null = null;

const SAMPLER = 'bench sampler';

function bucketOf(text: string): string {
  if (text.startsWith('/* bench sampler */')) return SAMPLER;
  if (text.includes('WITH claimed AS')) {
    claimText ??= text;
    return 'submitJudgment: claim + store (CLAIM_AND_STORE)';
  }
  if (text.startsWith('INSERT INTO audit_log')) return 'audit_log INSERT (operation plugin, willSendResponse)';
  if (text.includes('FROM api_tokens WHERE prefix')) return 'api_tokens SELECT (token cache miss / 30 s reload)';
  if (text.includes('UPDATE api_tokens SET last_used_at')) return 'api_tokens last_used_at UPDATE (once a minute per token)';
  if (text.includes('pgboss')) return 'pg-boss (queue)';
  return text.replace(/\s+/g, ' ').trim().slice(0, 70);
}

function countStatements(): void {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    const bucket = bucketOf(text);
    statements.set(bucket, (statements.get(bucket) ?? 0) + 1);
    return original.apply(this, args);
  };
}

const snapshot = () => new Map(statements);
function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of after) if (key !== SAMPLER && value - (before.get(key) ?? 0) > 0) out.set(key, value - (before.get(key) ?? 0));
  return out;
}

/** Runs the load generator; onStart and onEnd run when it says the load starts and its last response is in. */
function runClient(spec: ClientSpec, specFile: string, hooks: { onStart?: () => void; onEnd?: () => void } = {}): Promise<ClientResult> {
  writeFileSync(specFile, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const args = [__filename, '--client', specFile];
    const child = CAN_PIN
      ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    let result: ClientResult | null = null;
    child.stdout.on('data', (chunk) => {
      output += chunk;
      let newline: number;
      while ((newline = output.indexOf('\n')) >= 0) {
        const line = output.slice(0, newline);
        output = output.slice(newline + 1);
        if (line === 'START') hooks.onStart?.();
        else if (line === 'END') hooks.onEnd?.();
      }
      if (output.startsWith('RESULT ')) {
        try {
          result = JSON.parse(output.slice('RESULT '.length));
        } catch {
          // not all of it yet
        }
      }
    });
    child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`load generator exited with ${code}`))));
  });
}

const percentile = (sorted: number[], q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);

interface Measured {
  result: ClientResult;
  statements: Map<string, number>;
  serverCpuMs: number;
  postgresCpuMs: number;
  machine: { busy: number; total: number };
  /** Wall time from the load generator's START to its END (last response). */
  windowSeconds: number;
  /** WAL written meanwhile (pg_current_wal_lsn before and after; the whole server, all databases). */
  walBytes: number;
  samples: Samples;
}

/** Every 50 ms during a round: the app pool (requests waiting for a connection, connections in use) and what
 *  the database's active client backends wait on (pg_stat_activity; "CPU" where they wait on nothing). */
interface Samples {
  count: number;
  poolWaiting: number;
  poolInUse: number;
  waits: Record<string, number>;
}

function startSampler(app: App): { stop(): Promise<Samples> } {
  const samples: Samples = { count: 0, poolWaiting: 0, poolInUse: 0, waits: {} };
  const client = new pg.Client({ connectionString: app.db.url });
  const pool = app.pool as unknown as { waitingCount: number; totalCount: number; idleCount: number };
  let busy = false;
  let connected = false;
  const connecting = client.connect().then(() => (connected = true));
  const timer = setInterval(() => {
    if (busy || !connected) return;
    busy = true;
    samples.count++;
    samples.poolWaiting += pool.waitingCount;
    samples.poolInUse += pool.totalCount - pool.idleCount;
    client
      .query<{ w: string; n: number }>(
        `/* bench sampler */ SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1`,
      )
      .then(({ rows }) => {
        for (const { w, n } of rows) samples.waits[w] = (samples.waits[w] ?? 0) + n;
      })
      .finally(() => (busy = false));
  }, 50);
  return {
    async stop() {
      clearInterval(timer);
      await connecting;
      while (busy) await new Promise((resolve) => setTimeout(resolve, 5));
      await client.end();
      return samples;
    },
  };
}

const walPosition = async (app: App) => (await app.pool.query(`SELECT pg_current_wal_lsn()::text AS lsn`)).rows[0].lsn as string;
const walBetween = async (app: App, from: string, to: string) =>
  Number((await app.pool.query(`SELECT pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::float8 AS bytes`, [from, to])).rows[0].bytes);

/** Runs one arm in the load generator and measures what the server side spent meanwhile (START to END). */
async function measure(app: App, spec: ClientSpec, specFile: string): Promise<Measured> {
  const wal0 = await walPosition(app);
  const before = snapshot();
  const sampler = startSampler(app);
  let start = { server: 0, pg: 0, machine: { busy: 0, total: 0 }, at: 0n };
  let end = start;
  const take = () => ({ server: processCpuMs(), pg: postgresCpuMs(), machine: machineCpuMs(), at: process.hrtime.bigint() });
  const result = await runClient(spec, specFile, { onStart: () => (start = take()), onEnd: () => (end = take()) });
  const samples = await sampler.stop();
  const after = snapshot();
  const wal1 = await walPosition(app);
  return {
    result,
    statements: delta(before, after),
    serverCpuMs: end.server - start.server,
    postgresCpuMs: end.pg - start.pg,
    machine: { busy: end.machine.busy - start.machine.busy, total: end.machine.total - start.machine.total },
    windowSeconds: Number(end.at - start.at) / 1e9,
    walBytes: await walBetween(app, wal0, wal1),
    samples,
  };
}

function combine(rounds: Measured[]): Measured {
  const statementsAll = new Map<string, number>();
  for (const round of rounds) for (const [key, value] of round.statements) statementsAll.set(key, (statementsAll.get(key) ?? 0) + value);
  const sum = (pick: (round: Measured) => number) => rounds.reduce((total, round) => total + pick(round), 0);
  const errors: Record<string, number> = {};
  for (const round of rounds) for (const [code, count] of Object.entries(round.result.graphqlErrors)) errors[code] = (errors[code] ?? 0) + count;
  return {
    result: {
      requests: sum((r) => r.result.requests),
      seconds: sum((r) => r.result.seconds),
      latencies: rounds.flatMap((r) => r.result.latencies),
      non2xx: sum((r) => r.result.non2xx),
      connectionErrors: sum((r) => r.result.connectionErrors),
      timeouts: sum((r) => r.result.timeouts),
      graphqlErrors: errors,
      repeated: sum((r) => r.result.repeated),
      cpuMs: sum((r) => r.result.cpuMs),
    },
    statements: statementsAll,
    serverCpuMs: sum((r) => r.serverCpuMs),
    postgresCpuMs: sum((r) => r.postgresCpuMs),
    machine: { busy: sum((r) => r.machine.busy), total: sum((r) => r.machine.total) },
    windowSeconds: sum((r) => r.windowSeconds),
    walBytes: sum((r) => r.walBytes),
    samples: {
      count: sum((r) => r.samples.count),
      poolWaiting: sum((r) => r.samples.poolWaiting),
      poolInUse: sum((r) => r.samples.poolInUse),
      waits: rounds.reduce<Record<string, number>>((all, r) => {
        for (const [key, value] of Object.entries(r.samples.waits)) all[key] = (all[key] ?? 0) + value;
        return all;
      }, {}),
    },
  };
}

function summary(measured: Measured) {
  const { result } = measured;
  const sorted = [...result.latencies].sort((a, b) => a - b);
  const errors = Object.values(result.graphqlErrors).reduce((a, b) => a + b, 0);
  return {
    rate: result.requests / result.seconds,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1],
    errors,
  };
}

function row(label: string, measured: Measured): string {
  const s = summary(measured);
  const { result } = measured;
  const codes = Object.entries(result.graphqlErrors).map(([code, count]) => `${code} ${count}`).join(', ');
  return (
    `| ${label} | ${result.requests} | ${s.rate.toFixed(0)} | ${s.p50.toFixed(1)} | ${s.p90.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.max.toFixed(1)} | ` +
    `${result.non2xx} | ${s.errors}${codes ? ` (${codes})` : ''} | ${result.connectionErrors} / ${result.timeouts} |`
  );
}

async function main(): Promise<void> {
  const quick = flag('quick');
  const raterCount = Math.round(option('raters', quick ? 10 : 50));
  const connections = Math.round(option('connections', raterCount));
  const items = Math.round(option('items', quick ? 300 : 3000));
  const duration = option('duration', 0);
  const pacedRate = option('paced-rate', TARGET.rate);
  const judgmentsPerItem = 5;
  const directCalls = quick ? 50 : 200;
  if (connections > raterCount) throw new Error(`--connections (${connections}) must not exceed --raters (${raterCount}): one rater per connection`);
  if (raterCount < judgmentsPerItem) throw new Error(`--raters must be at least ${judgmentsPerItem} (judgments per item)`);

  countStatements();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'medpsim-bench-judgments-'));
  execFileSync('chmod', ['711', dataDir]); // the embedded server may run as another user
  const database = await ownDatabase();
  const config = loadConfig({ ...process.env, MEDPSIM_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url ?? '' });
  const setupStarted = Date.now();
  const app = await startApp(config, MODULES, { work: true });
  const server = await startHttpServer(app);
  const specFile = path.join(dataDir, 'load.json');
  try {
    // Phantoms, a TWO_AFC set of 32x32 patches (patchesPerImage is at most 64), raters, a study.
    const perImage = Math.min(LIMITS.patchesPerImage.max, 60);
    const imageCount = Math.max(4, Math.ceil(items / perImage));
    const patchesPerImage = Math.ceil(items / imageCount);
    const folder = path.join(dataDir, 'incoming', 'phantoms'); // inside an import root by default
    mkdirSync(folder, { recursive: true });
    await synthesizeDataset({ outDir: folder, count: imageCount, width: 256, height: 256, seed: 3, bitDepth: 16 });
    await waitForJob(app, await startFolderImport(app, { path: folder, datasetName: 'bench phantoms' }), 300_000);
    const { rows: datasets } = await app.pool.query(`SELECT id FROM datasets WHERE name = 'bench phantoms'`);
    const set = await createTestSet(app, {
      name: 'bench judgments',
      kind: 'TWO_AFC',
      datasetId: datasets[0].id,
      references: items,
      size: 32,
      patchesPerImage,
      pool: [{ kinds: ['gaussian_blur'] }, { kinds: ['gaussian_noise'] }],
      seed: 1,
    });
    await waitForJob(app, set.jobId!, 600_000);
    if ((await getTestSet(app, set.id)).state !== 'READY') throw new Error('the test set is not READY');
    const newRater = async (name: string) => {
      const invitation = await createRater(app, { displayName: name });
      const token = await acceptInvitation(app, invitation.code);
      return { id: invitation.rater.id, token: token.secret };
    };
    const raters = [];
    for (let i = 0; i < raterCount; i++) raters.push(await newRater(`Bench rater ${i}`));
    const protocol = { judgmentsPerItem, retestShare: 0, practice: false, sentinels: false };
    const study = await createStudy(app, { name: 'bench', testSetIds: [set.id], raterIds: raters.map((r) => r.id), seed: 7, protocol });
    // The in-process calls get a study of their own: one rater who judges every item once.
    const direct = await newRater('Bench direct rater');
    const directStudy = await createStudy(app, { name: 'bench direct', testSetIds: [set.id], raterIds: [direct.id], seed: 8, protocol: { ...protocol, judgmentsPerItem: 1 } });
    const byRater = new Map<string, string[]>();
    const { rows: presentationRows } = await app.pool.query<{ rater_id: string; id: string }>(
      `SELECT rater_id, id FROM presentations WHERE study_id = ANY($1::uuid[]) AND state = 'OPEN' ORDER BY rater_id, sequence`,
      [[study.id, directStudy.id]],
    );
    for (const { rater_id: raterId, id } of presentationRows) {
      if (!byRater.has(raterId)) byRater.set(raterId, []);
      byRater.get(raterId)!.push(id);
    }
    const loads = raters.slice(0, connections).map((r) => byRater.get(r.id)!.length);
    const perRater = Math.min(...loads);
    // The API side of the server from here on: no job workers polling their queues during the load.
    await app.jobs.stopWorkers();
    console.log(
      `setup: ${imageCount} phantoms of 256x256, a TWO_AFC set of ${items} items (32x32 patches, ${patchesPerImage} per image), ` +
        `${raterCount} raters, ${judgmentsPerItem} judgments per item: ${Math.min(...loads)}-${Math.max(...loads)} presentations per rater; ` +
        `${((Date.now() - setupStarted) / 1000).toFixed(1)} s; database: ${app.db.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL (a new database)'}`,
    );

    // 1. Statements per submission, in this process: N direct calls, the app pool's query counted.
    const pool = app.pool as unknown as { query: (...args: unknown[]) => unknown };
    const poolQuery = pool.query;
    let poolCalls = 0;
    pool.query = function (this: unknown, ...args: unknown[]) {
      poolCalls++;
      return poolQuery.apply(this, args);
    };
    const directIds = byRater.get(direct.id)!;
    const perCall: number[] = [];
    const clientLevel: number[] = [];
    const directStarted = process.hrtime.bigint();
    const calls = Math.min(directCalls, directIds.length - 2);
    const countAll = () => [...statements.values()].reduce((a, b) => a + b, 0);
    for (let i = 0; i < calls; i++) {
      const [pool0, all0] = [poolCalls, countAll()];
      const receipt = await submitJudgment(app, direct.id, { presentationId: directIds[i], answer: i % 2 ? 'LEFT' : 'RIGHT', responseMs: 900, clientKey: `direct-${i}`, display: DISPLAY });
      if (receipt.repeated) throw new Error('a direct call was taken for a retry');
      perCall.push(poolCalls - pool0);
      clientLevel.push(countAll() - all0);
    }
    const directUs = Number(process.hrtime.bigint() - directStarted) / 1000 / calls;
    const offPath = async (label: string, input: Parameters<typeof submitJudgment>[2]) => {
      const pool0 = poolCalls;
      let outcome = 'stored';
      try {
        const receipt = await submitJudgment(app, direct.id, input);
        if (receipt.repeated) outcome = 'repeated: true';
      } catch (error) {
        outcome = (error as { code?: string }).code ?? (error as Error).message;
      }
      return `${label}: ${poolCalls - pool0} statements (${outcome})`;
    };
    const retry = await offPath('a retry (same client key, same answer)', { presentationId: directIds[0], answer: 'RIGHT', responseMs: 900, clientKey: 'direct-0' });
    const again = await offPath('another key for an answered presentation', { presentationId: directIds[0], answer: 'LEFT', responseMs: 900, clientKey: 'direct-again' });
    pool.query = poolQuery;
    // The plan of the claim-and-store statement, on a presentation nobody answered (rolled back).
    const explainClaim = async () => {
      if (!claimText) return ['(the statement was not seen)'];
      const client = await app.pool.connect();
      try {
        await client.query('BEGIN');
        const explained = await client.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${claimText}`, [directIds[calls], direct.id, 'explain', 'LEFT', 900, '{}']);
        return explained.rows.map((r) => r['QUERY PLAN'] as string);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    };
    const plan = await explainClaim();
    const constant = perCall.every((n) => n === perCall[0]);
    console.log(`\nSQL statements per submitJudgment(app, raterId, input), ${calls} direct calls in this process (app.pool.query wrapped):`);
    console.log(
      `  1st call ${perCall[0]}, ${calls >= 100 ? `100th call ${perCall[99]}, ` : ''}last (${calls}th) ${perCall[calls - 1]}; min ${Math.min(...perCall)}, max ${Math.max(...perCall)}: ` +
        `${constant ? 'constant' : 'NOT constant'}; every pg client of the process: ${Math.min(...clientLevel)}-${Math.max(...clientLevel)} per call`,
    );
    console.log(`  ${directUs.toFixed(0)} µs per call, one at a time (one round trip + PostgreSQL's work + commit)`);
    console.log(`  off the normal path: ${retry}; ${again}`);
    console.log(`  plan of the statement (EXPLAIN ANALYZE, rolled back):`);
    for (const line of plan) console.log(`    ${line}`);

    // 2. Over HTTP, from the load generator. Warm-up first (typename, then a few judgments per rater).
    if (CAN_PIN) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    const url = `${server.url.replace('localhost', '127.0.0.1')}/graphql`;
    const used = raters.slice(0, connections).map((r) => ({ token: r.token, presentations: byRater.get(r.id)! }));
    const keyPrefix = randomBytes(3).toString('hex');
    const base = { url, duration: 0, keyPrefix, raters: used };
    const warmJudgments = Math.max(1, Math.floor(perRater * 0.05));
    // Two rounds as fast as answers come back, then one paced at the target rate (how long one waits at that load).
    const perRound = Math.floor((perRater - warmJudgments) / 3);
    if (perRound < 1) throw new Error(`too few presentations per rater (${perRater}) for three rounds: raise --items or lower --raters`);
    await runClient({ ...base, arm: 'typename', perConnection: 40, offset: 0 }, specFile);
    await runClient({ ...base, arm: 'submit', perConnection: warmJudgments, offset: 0, keyPrefix: `${keyPrefix}w` }, specFile);
    const submitRounds: Measured[] = [];
    const typenameRounds: Measured[] = [];
    const submitRound = (round: number) =>
      measure(app, { ...base, arm: 'submit', perConnection: perRound, offset: warmJudgments + round * perRound, duration, keyPrefix: `${keyPrefix}${round}` }, specFile);
    // The peer sends as many requests as the judgment round did (or runs as long).
    const typenameRound = (requests: number) => measure(app, { ...base, arm: 'typename', perConnection: Math.max(1, Math.round(requests / connections)), offset: 0, duration }, specFile);
    submitRounds.push(await submitRound(0));
    typenameRounds.push(await typenameRound(submitRounds[0].result.requests));
    typenameRounds.push(await typenameRound(submitRounds[0].result.requests));
    submitRounds.push(await submitRound(1));
    const paced = await measure(app, { ...base, arm: 'submit', perConnection: perRound, offset: warmJudgments + 2 * perRound, duration, keyPrefix: `${keyPrefix}p`, rate: pacedRate }, specFile);
    const submit = combine(submitRounds);
    const typename = combine(typenameRounds);

    // Every request a new judgment: what the database holds.
    const { rows: stored } = await app.pool.query<{ n: number; answered: number }>(
      `SELECT (SELECT count(*) FROM judgments WHERE study_id = $1)::int AS n,
              (SELECT count(*) FROM presentations WHERE study_id = $1 AND state = 'ANSWERED')::int AS answered`,
      [study.id],
    );
    const okSubmissions = [...submitRounds, paced].reduce((total, round) => total + round.result.requests - round.result.repeated - Object.values(round.result.graphqlErrors).reduce((a, b) => a + b, 0), 0);

    const cores = os.cpus().length;
    console.log(
      `\nsubmitJudgment over HTTP: ${connections} connections (one rater each, one request at a time), ${perRound} judgments per connection per round, ` +
        `2 rounds of each arm in ABBA order after a warm-up (${warmJudgments} judgments and 40 { __typename } per connection)` +
        `${CAN_PIN ? '; server on core 0, load generator on core 1, PostgreSQL unpinned' : ''}; ${cores} cores`,
    );
    console.log(`| arm | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | GraphQL errors | conn. errors / timeouts |`);
    console.log(`|---|---|---|---|---|---|---|---|---|---|`);
    submitRounds.forEach((round, i) => console.log(row(`submitJudgment, round ${i + 1}`, round)));
    typenameRounds.forEach((round, i) => console.log(row(`{ __typename }, round ${i + 1}`, round)));
    console.log(row('**submitJudgment, both rounds**', submit));
    console.log(row('**{ __typename }, both rounds**', typename));
    const s = summary(submit);
    const t = summary(typename);
    console.log(`  submitJudgment / { __typename }: req/s ${(s.rate / t.rate).toFixed(2)}, p50 ${(s.p50 / t.p50).toFixed(2)}x, p99 ${(s.p99 / t.p99).toFixed(2)}x`);
    console.log(`  repeated receipts: ${submit.result.repeated}; stored judgments in the study: ${stored[0].n} (answered presentations ${stored[0].answered}), ` +
      `requests that stored one (warm-up included): ${okSubmissions + connections * warmJudgments}`);
    console.log(row(`**submitJudgment, paced at ${pacedRate}/s**`, paced));
    // The target is a load the server must carry (the paced round) with a latency at that load; the
    // rounds above, where 50 raters answer the moment they get a reply, show its ceiling.
    const p = summary(paced);
    const met = s.rate >= TARGET.rate && p.rate >= 0.97 * pacedRate && p.p99 < TARGET.p99Ms;
    console.log(
      `  target (issue): >= ${TARGET.rate} judgments/s with p99 < ${TARGET.p99Ms} ms on this ${cores}-core machine: ceiling ${s.rate.toFixed(0)}/s; ` +
        `paced at ${pacedRate}/s: ${p.rate.toFixed(0)}/s, p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms: ${met ? 'MET' : 'NOT MET'}`,
    );

    console.log(`\nSQL statements per HTTP request (every pg client of the server process, during the measured rounds):`);
    const keys = [...new Set([...submit.statements.keys(), ...typename.statements.keys()])];
    console.log(`| statement | per submitJudgment request | per { __typename } request |`);
    console.log(`|---|---|---|`);
    for (const key of keys) {
      console.log(`| ${key} | ${((submit.statements.get(key) ?? 0) / submit.result.requests).toFixed(3)} | ${((typename.statements.get(key) ?? 0) / typename.result.requests).toFixed(3)} |`);
    }
    const total = (m: Measured) => [...m.statements.values()].reduce((a, b) => a + b, 0) / m.result.requests;
    console.log(`| **all** | **${total(submit).toFixed(3)}** | **${total(typename).toFixed(3)}** |`);

    console.log(`\nCPU per request (ms) and where it went:`);
    console.log(`| arm | server (Node) | PostgreSQL (all its processes) | load generator | machine busy (of ${cores} cores) | WAL bytes / request |`);
    console.log(`|---|---|---|---|---|---|`);
    for (const [label, m] of [['submitJudgment', submit], ['{ __typename }', typename]] as const) {
      const n = m.result.requests;
      console.log(
        `| ${label} | ${(m.serverCpuMs / n).toFixed(3)} | ${(m.postgresCpuMs / n).toFixed(3)} | ${(m.result.cpuMs / n).toFixed(3)} | ` +
          `${((m.machine.busy / m.machine.total) * 100).toFixed(0)}% | ${(m.walBytes / n).toFixed(0)} |`,
      );
    }
    const share = (ms: number) => `${((ms / submit.windowSeconds / 1000) * 100).toFixed(0)}%`;
    console.log(
      `  during submitJudgment (${submit.windowSeconds.toFixed(1)} s): server ${share(submit.serverCpuMs)} of a core, PostgreSQL ${share(submit.postgresCpuMs)}, load generator ${share(submit.result.cpuMs)}, ` +
        `machine ${share(submit.machine.busy)} (of ${cores * 100}%)`,
    );
    for (const [label, m] of [['submitJudgment', submit], ['{ __typename }', typename]] as const) {
      const { count, poolWaiting, poolInUse, waits } = m.samples;
      const byWait = Object.entries(waits)
        .sort((a, b) => b[1] - a[1])
        .map(([wait, n]) => `${wait} ${(n / count).toFixed(2)}`)
        .join(', ');
      console.log(
        `  ${label}, mean of ${count} samples (every 50 ms): requests waiting for a pool connection ${(poolWaiting / count).toFixed(1)}, ` +
          `pool connections in use ${(poolInUse / count).toFixed(1)}; active backends by wait event: ${byWait || 'none'}`,
      );
    }
    // Statistics reach pg_stat_* when a backend reports them: at once when busy, within ~10 s once idle.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    const { rows: settings } = await app.pool.query(
      `SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync, current_setting('fsync') AS fsync,
              current_setting('shared_buffers') AS buffers, current_setting('max_connections') AS connections,
              (SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'presentations')::int AS updates,
              (SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'presentations')::int AS hot,
              (SELECT count(*) FROM pg_indexes WHERE tablename = 'presentations')::int AS "presentationIndexes",
              (SELECT count(*) FROM pg_indexes WHERE tablename = 'judgments')::int AS "judgmentIndexes"`,
    );
    const info = settings[0];
    console.log(
      `  PostgreSQL ${info.version}: synchronous_commit ${info.sync}, fsync ${info.fsync}, shared_buffers ${info.buffers}, max_connections ${info.connections}; ` +
        `app pool of ${(app.pool as unknown as { options: { max: number } }).options.max} connections`,
    );
    await app.pool.query(`ANALYZE presentations`);
    const analysed = await explainClaim();
    const scan = analysed.findIndex((line) => /Scan .*on presentations p/.test(line));
    console.log(`  the claim's plan after ANALYZE presentations: ${analysed.slice(scan, scan + 4).map((line) => line.trim()).join('; ')}; ${analysed.find((line) => line.startsWith('Execution Time'))}`);
    console.log(
      `  presentations UPDATEs in the whole run: ${info.updates}, of which HOT ${info.hot} (each non-HOT one adds an entry to each of its ${info.presentationIndexes} indexes); ` +
        `judgments has ${info.judgmentIndexes} indexes`,
    );
  } finally {
    await server.close();
    await app.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--client') {
  clientMain(process.argv[3]).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
