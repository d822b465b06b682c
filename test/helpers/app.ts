/**
 * A whole medpsim app for a test file: its own database on the test server (embedded, or DATABASE_URL),
 * its own data folder, real queue and workers; optionally the HTTP server.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { issueToken } from '../../src/access/tokens';
import { TokenOrigin } from '../../src/entities/ApiToken';
import { MODULES } from '../../src/modules';
import { startApp, type App } from '../../src/platform/app';
import { loadConfig, type Config } from '../../src/platform/config';
import { Role } from '../../src/platform/context';
import { startHttpServer, type HttpServer } from '../../src/server/http';

export interface TestApp {
  app: App;
  config: Config;
  server: HttpServer | null;
  dataDir: string;
  databaseUrl: string;
  /** An ADMIN token of this app, sent by gql and request unless they are given another (or null: none). */
  token: string;
  /** POST /graphql with a token (this app's ADMIN one by default). */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  /** fetch of a path of the server with a token (this app's ADMIN one by default). */
  request(path: string, init?: RequestInit, token?: string | null): Promise<Response>;
  /** POST /upload?<query> with the file as application/octet-stream. */
  upload(query: string, bytes: Buffer | string, token?: string | null): Promise<Response>;
  close(): Promise<void>;
}

/** A token of this role for tests (raters come from invitations: see test/db/access.test.ts). */
export async function tokenFor(app: App, role: Role, label = `test ${role}`): Promise<string> {
  return (await issueToken(app.pool, { label, role, origin: TokenOrigin.CREATED, expiresAt: null })).secret;
}

function adminUrl(): string {
  const url = process.env.MEDPSIM_TEST_ADMIN_URL;
  if (!url) throw new Error('MEDPSIM_TEST_ADMIN_URL is not set: run the tests through jest (test/global-setup.ts)');
  return url;
}

export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `medpsim_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function startTestApp(
  options: { http?: boolean; work?: boolean; env?: Record<string, string>; databaseUrl?: string; dataDir?: string } = {},
): Promise<TestApp> {
  const database = options.databaseUrl ? null : await createTestDatabase();
  const databaseUrl = options.databaseUrl ?? database!.url;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'medpsim-test-data-'));
  const config = loadConfig({
    MEDPSIM_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    MEDPSIM_JOB_EXPIRE_SECONDS: '3',
    MEDPSIM_IMPORT_ROOTS: process.env.MEDPSIM_IMPORT_ROOTS,
    MEDPSIM_AUTH_FAILURES_PER_MINUTE: '1000000', // tests of bad tokens run in bulk; the limit has a test of its own
    ...options.env,
  });
  const app = await startApp(config, MODULES, { work: options.work ?? true });
  const server = options.http ? await startHttpServer(app) : null;
  const token = await tokenFor(app, Role.ADMIN);
  const request = (path: string, init: RequestInit = {}, bearer: string | null = token) => {
    if (!server) throw new Error('startTestApp({ http: true }) for requests');
    const headers = new Headers(init.headers);
    if (bearer !== null) headers.set('authorization', `Bearer ${bearer}`);
    return fetch(`${server.url}${path}`, { ...init, headers });
  };
  return {
    app,
    config,
    server,
    dataDir,
    databaseUrl,
    token,
    request,
    upload: (query, bytes, bearer = token) =>
      request(`/upload?${query}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes }, bearer),
    async gql<T>(query: string, variables: Record<string, unknown> = {}, bearer: string | null = token) {
      const response = await request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) }, bearer);
      return (await response.json()) as GraphQLResponse<T>;
    },
    async close() {
      await server?.close();
      await app.close();
      await database?.drop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T;
  errors?: Array<{ message: string; extensions?: Record<string, any> }>;
}

/** Polls until the job has finished (or the time runs out, which fails the test). */
export async function waitForJob(testApp: TestApp, jobId: string, timeoutMs = 60_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await testApp.app.pool.query(`SELECT * FROM jobs WHERE id = $1`, [jobId]);
    const job = rows[0];
    if (job && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job?.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
