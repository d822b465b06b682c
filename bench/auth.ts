/**
 * What the access check costs a request: p50 latency of `{ __typename }` over HTTP sent with a valid bearer
 * token (authentication, the operation's rule check, the audit plugin's hooks) against the same query
 * without a token, where the check has nothing to do (nothing to authenticate; the walk over the operation
 * finds only __typename). Both send the same bytes: the arm without a token sends a header of the same
 * length that nobody reads (on this VM, 80 more header bytes alone cost more than the check). One run, one
 * server, rounds in ABBA order. The load comes from a child process (one keep-alive connection, one request
 * at a time), so the client does not share the server's event loop; with taskset and 2+ cores, server and
 * client get a core each. Also, in this process: the cost of the two steps alone, per call.
 *
 *   npm run bench:auth
 *   npm run bench:auth -- --requests 2000 --rounds 4     # quicker
 */
import 'reflect-metadata';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'graphql';
import { authenticate, issueToken } from '../src/access/tokens';
import { TokenOrigin } from '../src/entities/ApiToken';
import { MODULES } from '../src/modules';
import { startApp } from '../src/platform/app';
import { loadConfig } from '../src/platform/config';
import { Role } from '../src/platform/context';
import { buildMedpsimSchema } from '../src/schema/build';
import { assertOperationAllowed } from '../src/schema/guards';
import { startHttpServer } from '../src/server/http';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const BODY = JSON.stringify({ query: '{ __typename }' });

/** Server on core 0, client on core 1, where taskset exists and there are two cores or more. */
const PINNED = os.cpus().length >= 2 && spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' }).status === 0;

/** Client mode: N sequential POSTs; prints the latencies' p50/p90/p99 in microseconds and the rate. */
async function client(url: string, token: string, count: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(BODY)) };
  // The same bytes on the wire in both arms: without a token, a header of the same length that nobody reads.
  if (token.startsWith('mpsim_')) headers.authorization = `Bearer ${token}`;
  else headers['x-padding'] = `Bearer ${token}`;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(url, { method: 'POST', agent, headers }, (response) => {
        if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
        response.resume();
        response.on('end', resolve);
      });
      request.on('error', reject);
      request.end(BODY);
    });
  for (let i = 0; i < Math.min(500, count); i++) await once(); // warm-up
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await once();
    latencies.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  console.log(JSON.stringify({ p50: at(0.5), p90: at(0.9), p99: at(0.99), rate: count / seconds }));
  agent.destroy();
}

interface Round {
  p50: number;
  p90: number;
  p99: number;
  rate: number;
}

function runClient(url: string, token: string, count: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const args = [__filename, '--client', url, token, String(count)];
    const child = PINNED
      ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`client exited with ${code}`))));
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function perCall(label: string, calls: number, run: () => unknown): Promise<number> {
  return (async () => {
    for (let i = 0; i < 1000; i++) await run();
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await run();
    const us = Number(process.hrtime.bigint() - start) / 1000 / calls;
    console.log(`  ${label}: ${us.toFixed(2)} µs per call`);
    return us;
  })();
}

async function main(): Promise<void> {
  const requests = argument('requests', 6000);
  const rounds = argument('rounds', 10);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'medpsim-bench-auth-'));
  execFileSync('chmod', ['711', dataDir]); // the embedded server may run as another user
  const config = loadConfig({ ...process.env, MEDPSIM_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: process.env.DATABASE_URL ?? '' });
  const app = await startApp(config, MODULES, { work: false });
  const server = await startHttpServer(app);
  try {
    const { secret } = await issueToken(app.pool, { label: 'bench', role: Role.ANALYST, origin: TokenOrigin.CREATED, expiresAt: null });
    const url = `${server.url.replace('localhost', '127.0.0.1')}/graphql`;
    const without: Round[] = [];
    const withToken: Round[] = [];
    console.log(`{ __typename } over HTTP, ${requests} sequential requests per round, ${rounds} rounds of each (in ABBA order)${PINNED ? ', server and client pinned to a core each' : ''}`);
    for (let round = 0; round < rounds; round++) {
      // ABBA order, so that neither arm always runs first.
      for (const arm of round % 2 === 0 ? ['without', 'with'] : ['with', 'without']) {
        if (arm === 'without') without.push(await runClient(url, 'x'.repeat(secret.length), requests));
        else withToken.push(await runClient(url, secret, requests));
      }
    }
    const show = (name: string, results: Round[]) =>
      console.log(
        `  ${name.padEnd(22)} p50 ${median(results.map((r) => r.p50)).toFixed(0)} µs (rounds ${results.map((r) => r.p50.toFixed(0)).join(', ')}), ` +
          `p99 ${median(results.map((r) => r.p99)).toFixed(0)} µs, ${median(results.map((r) => r.rate)).toFixed(0)} req/s`,
      );
    show('without a token', without);
    show('with a token', withToken);
    const ratio = median(withToken.map((r) => r.p50)) / median(without.map((r) => r.p50));
    console.log(`  p50 with / without: ${ratio.toFixed(3)} (+${((ratio - 1) * 100).toFixed(1)}%)`);

    console.log('the two steps alone, in this process:');
    const schema = await buildMedpsimSchema(MODULES);
    const principal = await authenticate(app, secret);
    const document = parse(`{ datasets { id name imageCount images(first: 10) { edges { node { id width height url } } } } }`);
    await perCall('authenticate a token (cached)', 100_000, () => authenticate(app, secret));
    await perCall('check the rules of a 4-level query', 100_000, () => assertOperationAllowed(schema, document, null, principal));
  } finally {
    await server.close();
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--client') {
  void client(process.argv[3], process.argv[4], Number(process.argv[5]));
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
