/**
 * Access control as a client meets it, over real HTTP and graphql-ws:
 * - every Query, Mutation and Subscription field of the built schema and every HTTP route against its
 *   declared rule: no token -> UNAUTHENTICATED (401), a role the rule leaves out -> FORBIDDEN (403), a role
 *   it names -> not refused; a field without a rule stops the schema build;
 * - tokens: shown once, stored as hashes only (no secret anywhere in a dump of the database), unknown,
 *   expired and revoked ones refused with one message, a revoked token's open subscription closed;
 * - raters and their one-time invitations; signed image links; the audit log; the Sandbox token;
 *   malformed credentials; the rate limit on failed authentication.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { Ctx, Query, Resolver } from 'type-graphql';
import type { Request } from 'express';
import WebSocket from 'ws';
import { signedPath } from '../../src/access/signed-urls';
import { issueToken } from '../../src/access/tokens';
import { TokenOrigin } from '../../src/entities/ApiToken';
import { MODULES } from '../../src/modules';
import { ALL_ROLES, Role, type AccessRule } from '../../src/platform/context';
import { buildMedpsimSchema } from '../../src/schema/build';
import { rootFields } from '../../src/schema/guards';
import { fromServerMachine } from '../../src/server/landing-page';
import { startTestApp, tokenFor, type TestApp } from '../helpers/app';
import { greyJpeg } from '../helpers/files';

const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

let t: TestApp;
let schema: GraphQLSchema;
const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  t = await startTestApp({ http: true });
  schema = await buildMedpsimSchema(MODULES);
  for (const role of [Role.ADMIN, Role.PIPELINE, Role.ANALYST]) tokens[role] = await tokenFor(t.app, role);
  const invited = await t.gql(`mutation { createRater(input: { displayName: "Dr. Test" }) { code rater { id } } }`);
  const accepted = await t.gql(`mutation ($code: String!) { acceptInvitation(code: $code) { secret } }`, { code: invited.data!.createRater.code }, null);
  tokens[Role.RATER] = accepted.data!.acceptInvitation.secret;
});

afterAll(async () => {
  await t?.close();
});

/** A value of this input type (required fields only), for documents that must pass validation. */
function sample(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sample(type.ofType);
  if (isListType(type)) return [sample(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isInputObjectType(type)) {
    return Object.fromEntries(Object.values(type.getFields()).filter((field) => isNonNullType(field.type)).map((field) => [field.name, sample(field.type)]));
  }
  if (isScalarType(type)) {
    return ({ ID: NO_SUCH_ID, String: 'x', Int: 1, Float: 1, Boolean: false } as Record<string, unknown>)[type.name] ?? {};
  }
  throw new Error(`no sample for ${String(type)}`);
}

/** `operation ($a: T!) { field(a: $a) { __typename } }` with its required arguments, and their values. */
function documentFor(operation: string, field: GraphQLField<unknown, unknown>): { query: string; variables: Record<string, unknown> } {
  const required = field.args.filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined);
  const declarations = required.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const args = required.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const composite = !isScalarType(getNamedType(field.type)) && !isEnumType(getNamedType(field.type));
  const query = `${operation}${declarations ? ` (${declarations})` : ''} { ${field.name}${args ? `(${args})` : ''}${composite ? ' { __typename }' : ''} }`;
  return { query, variables: Object.fromEntries(required.map((arg) => [arg.name, sample(arg.type)])) };
}

function fieldOf(operation: 'query' | 'mutation' | 'subscription', name: string): GraphQLField<unknown, unknown> {
  const type = operation === 'query' ? schema.getQueryType() : operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  return getNullableType(type!).getFields()[name];
}

const allowedRoles = (rule: AccessRule) => ('public' in rule ? ALL_ROLES : rule.roles);
const REFUSALS = ['UNAUTHENTICATED', 'FORBIDDEN'];

function wsClient(token: string | null): Client {
  return createClient({
    url: `${t.server!.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** The first result (or error) of an operation over graphql-ws. */
async function overWs(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const client = wsClient(token);
  try {
    for await (const result of client.iterate({ query, variables })) return result;
    return null;
  } catch (error) {
    return { thrown: error };
  } finally {
    await client.dispose();
  }
}

const codeOf = (result: any): string | null => result?.errors?.[0]?.extensions?.code ?? (Array.isArray(result?.thrown) ? result.thrown[0]?.extensions?.code : null);

describe('every operation against its declared rule', () => {
  const fields = () => rootFields(schema);

  it('has a rule for every Query, Mutation and Subscription field', () => {
    expect(fields().length).toBeGreaterThan(20);
    expect(fields().filter((field) => field.rule === null)).toEqual([]);
  });

  it('refuses to build a schema with a field that has no rule', async () => {
    @Resolver()
    class Unguarded {
      @Query(() => String)
      secretThing(@Ctx() _context: unknown): string {
        return 'open';
      }
    }
    await expect(buildMedpsimSchema([...MODULES, { name: 'unguarded', resolvers: [Unguarded] }])).rejects.toThrow(
      /no access rule for query secretThing: add @Allow/,
    );
  });

  it('queries and mutations over HTTP: no token 401, other roles 403, its roles not refused', async () => {
    const problems: string[] = [];
    for (const root of fields().filter((field) => field.operation !== 'subscription')) {
      const { query, variables } = documentFor(root.operation, fieldOf(root.operation, root.name));
      const rule = root.rule!;
      const ask = async (token: string | null) => {
        const response = await t.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) }, token);
        return { status: response.status, code: codeOf((await response.json()) as any) };
      };
      if (!('public' in rule)) {
        const anonymous = await ask(null);
        if (anonymous.status !== 401 || anonymous.code !== 'UNAUTHENTICATED') problems.push(`${root.name} without a token: ${JSON.stringify(anonymous)}`);
      }
      for (const role of ALL_ROLES) {
        const answer = await ask(tokens[role]);
        if (allowedRoles(rule).includes(role)) {
          if (REFUSALS.includes(answer.code ?? '') || [401, 403].includes(answer.status)) problems.push(`${root.name} as ${role} (allowed): ${JSON.stringify(answer)}`);
        } else if (answer.status !== 403 || answer.code !== 'FORBIDDEN') {
          problems.push(`${root.name} as ${role} (not allowed): ${JSON.stringify(answer)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('subscriptions (and an operation) over graphql-ws, by the same rules', async () => {
    const problems: string[] = [];
    for (const root of fields().filter((field) => field.operation === 'subscription')) {
      const { query, variables } = documentFor('subscription', fieldOf('subscription', root.name));
      const rule = root.rule!;
      if (!('public' in rule)) {
        const code = codeOf(await overWs(null, query, variables));
        if (code !== 'UNAUTHENTICATED') problems.push(`${root.name} without a token: ${code}`);
      }
      for (const role of ALL_ROLES) {
        const code = codeOf(await overWs(tokens[role], query, variables));
        const expected = allowedRoles(rule).includes(role) ? 'not refused' : 'FORBIDDEN';
        if (expected === 'FORBIDDEN' ? code !== 'FORBIDDEN' : REFUSALS.includes(code ?? '')) problems.push(`${root.name} as ${role}: ${code}`);
      }
    }
    expect(problems).toEqual([]);
    // Queries over graphql-ws go through the same check.
    expect(codeOf(await overWs(tokens[Role.RATER], `{ datasets { id } }`))).toBe('FORBIDDEN');
    const allowed = await overWs(tokens[Role.ANALYST], `{ datasets { id } }`);
    expect(allowed.errors).toBeUndefined();
    expect(Array.isArray(allowed.data.datasets)).toBe(true);
  });

  it('checks nested fields with rules of their own, fragments included', async () => {
    const query = `{ raters { pseudonym ...who } } fragment who on Rater { displayName }`;
    const analyst = await t.gql(query, {}, tokens[Role.ANALYST]);
    expect(analyst.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN', field: 'Rater.displayName' } });
    expect(analyst.data).toBeUndefined(); // refused before it ran
    const admin = await t.gql(query);
    expect(admin.data!.raters).toContainEqual({ pseudonym: expect.stringMatching(/^R-[0-9a-f]{6}$/), displayName: 'Dr. Test' });
    expect((await t.gql(`{ raters { pseudonym specialty } }`, {}, tokens[Role.ANALYST])).errors).toBeUndefined();
  });

  it('needs a token for introspection, not for __typename', async () => {
    const anonymous = await t.gql(`{ __schema { queryType { name } } }`, {}, null);
    expect(anonymous.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await t.gql(`{ __typename }`, {}, null)).data).toEqual({ __typename: 'Query' });
    expect((await t.gql(`{ __schema { queryType { name } } }`, {}, tokens[Role.RATER])).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });
});

describe('every HTTP route against its declared rule', () => {
  it('answers 401 without a token, 403 to other roles, and serves its roles', async () => {
    const problems: string[] = [];
    const routes = t.server!.routes.filter((route) => route.access !== 'per operation');
    expect(routes.map((route) => `${route.method} ${route.path}`).sort()).toEqual(
      [
        'GET /analysis/:id',
        'GET /analysis/:id/charts/:chart.:format',
        'GET /analysis/:id/report.html',
        'GET /analysis/assets/:file',
        'GET /analysis/report.css',
        'GET /display-checks/:id.png',
        'GET /distortions/:id.png',
        'GET /exports/:id.zip',
        'GET /health',
        'GET /images/:id.png',
        ...['comparison', 'left', 'reference', 'right'].map((slot) => `GET /presentations/:id/${slot}.png`),
        'GET /read',
        'GET /read/assets/:file',
        'GET /studies/:id',
        'GET /studies/assets/:file',
        ...['p0', 'p1', 'ref'].map((slot) => `GET /test-set-items/:id/${slot}.png`),
        'POST /upload',
      ].sort(),
    );
    for (const route of routes) {
      const rule = route.access as AccessRule;
      const url = route.path.replace(':id', NO_SUCH_ID);
      const ask = (token: string | null) => t.request(url, { method: route.method, ...(route.method === 'POST' ? { body: 'x' } : {}) }, token).then((r) => r.status);
      if (!('public' in rule) && (await ask(null)) !== 401) problems.push(`${route.method} ${route.path} without a token`);
      for (const role of ALL_ROLES) {
        const status = await ask(tokens[role]);
        if (allowedRoles(rule).includes(role) ? [401, 403].includes(status) : status !== 403) problems.push(`${route.method} ${route.path} as ${role}: ${status}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('tokens', () => {
  it('are shown once, listed without their secret, and never stored in clear', async () => {
    const made = await t.gql(`mutation { createToken(input: { label: "nightly import", role: PIPELINE, expiresInDays: 30 }) { secret token { id prefix role origin expiresAt active } } }`);
    const { secret, token } = made.data!.createToken;
    expect(secret).toMatch(/^mpsim_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/); // 43 base64url characters: 256 bits
    expect(secret.startsWith(`${token.prefix}_`)).toBe(true);
    expect(token).toMatchObject({ role: 'PIPELINE', origin: 'CREATED', active: true });
    expect(new Date(token.expiresAt).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect((await t.gql(`{ me { role tokenId } }`, {}, secret)).data!.me).toEqual({ role: 'PIPELINE', tokenId: token.id });

    const listed = await t.gql(`{ tokens { id prefix label } }`);
    expect(JSON.stringify(listed)).not.toContain(secret.slice(15));
    expect(listed.data!.tokens).toContainEqual({ id: token.id, prefix: token.prefix, label: 'nightly import' });

    // A dump of every table of every schema (COPY, as pg_dump reads data) holds no secret: not the one
    // above, not the app's own, not the rater's.
    const { rows: tables } = await t.app.pool.query<{ name: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    );
    let dump = '';
    for (const { name } of tables) {
      const { rows } = await t.app.pool.query(`SELECT t::text AS row FROM ${name} t`);
      dump += rows.map((row) => row.row).join('\n');
    }
    expect(tables.map((table) => table.name)).toContain('public.api_tokens');
    expect(dump).toContain(token.prefix); // the dump is real
    for (const clear of [secret, t.token, tokens[Role.RATER]]) expect(dump).not.toContain(clear.slice('mpsim_12345678_'.length)); // the 43-character secret part
  });

  it('refuses unknown, expired and revoked tokens with the same message', async () => {
    const expired = await issueToken(t.app.pool, { label: 'expired', role: Role.ADMIN, origin: TokenOrigin.CREATED, expiresAt: new Date(Date.now() - 1000) });
    const revoked = await tokenFor(t.app, Role.ADMIN, 'to revoke');
    expect((await t.gql(`{ me { role } }`, {}, revoked)).data).toEqual({ me: { role: 'ADMIN' } }); // cached now
    const prefix = revoked.split('_').slice(0, 2).join('_');
    expect((await t.gql(`mutation ($id: String!) { revokeToken(id: $id) { active revokedAt } }`, { id: prefix })).data!.revokeToken.active).toBe(false);

    const unknown = `mpsim_0123abcd_${'A'.repeat(43)}`;
    const wrongSecret = `${prefix}_${'B'.repeat(43)}`;
    const answers = [];
    for (const token of [unknown, wrongSecret, expired.secret, revoked]) {
      const response = await t.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { role } }' }) }, token);
      answers.push({ status: response.status, body: await response.json() });
    }
    for (const answer of answers) {
      expect(answer).toEqual({ status: 401, body: { errors: [{ message: 'invalid token: unknown, expired or revoked', extensions: { code: 'UNAUTHENTICATED' } }] } });
    }
    // Routes too; and the server keeps serving.
    expect((await t.request(`/images/${NO_SUCH_ID}.png`, {}, revoked)).status).toBe(401);
    expect((await t.request('/health', {}, null)).status).toBe(200);
  });

  it('refuses malformed Authorization headers with a typed error', async () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'token mpsim_x', `Bearer ${'x'.repeat(8000)}`, 'Bearer mpsim_ü']) {
      const response = await fetch(`${t.server!.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: header },
        body: JSON.stringify({ query: '{ __typename }' }),
      }).catch((error) => error as Error);
      if (response instanceof Error) {
        expect(header).toMatch(/ü/); // fetch refuses non-Latin-1 header values before they are sent
        continue;
      }
      expect(response.status).toBe(401);
      expect(((await response.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    // graphql-ws: a non-string authorization, and a bad token, close the connection as Unauthorized.
    for (const authorization of [42, 'Bearer nope']) {
      const client = createClient({ url: `${t.server!.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization } });
      const closed = await (async () => {
        try {
          for await (const _ of client.iterate({ query: '{ __typename }' })) return 'answered';
        } catch (error) {
          return error as { code: number; reason: string };
        } finally {
          await client.dispose();
        }
      })();
      expect(closed).toMatchObject({ code: 4401, reason: expect.stringMatching(/^Unauthorized/) });
    }
    expect((await t.gql(`{ me { role } }`)).data).toEqual({ me: { role: 'ADMIN' } });
  });

  it('ends the open subscription of a token revoked meanwhile', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-access-'));
    const job = await t.gql(`mutation ($path: String!) { importDataset(input: { path: $path, datasetName: "empty" }) { id } }`, { path: folder });
    const token = await tokenFor(t.app, Role.ANALYST, 'watcher');
    const client = wsClient(token);
    const events: string[] = [];
    const ended = (async () => {
      try {
        // A job that never finishes on its own: cancelled only after the revocation below.
        await t.app.pool.query(`UPDATE jobs SET state = 'RUNNING' WHERE id = $1`, [job.data!.importDataset.id]);
        for await (const result of client.iterate({ query: `subscription ($id: ID!) { jobProgress(id: $id) { state } }`, variables: { id: job.data!.importDataset.id } })) {
          events.push((result.data as any)?.jobProgress.state);
        }
        return 'completed';
      } catch (error) {
        return error as { code: number; reason: string };
      }
    })();
    while (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const { rows } = await t.app.pool.query(`SELECT id FROM api_tokens WHERE label = 'watcher'`);
    await t.gql(`mutation ($id: String!) { revokeToken(id: $id) { id } }`, { id: rows[0].id });
    expect(await ended).toMatchObject({ code: 4401, reason: 'Unauthorized: the token was revoked' });
    await client.dispose();
    await t.gql(`mutation ($id: ID!) { cancelJob(id: $id) { state } }`, { id: job.data!.importDataset.id });
  });

  it('stop working in every server process once revoked', async () => {
    // A second API process on the same database (as MEDPSIM_ROLE=api behind a load balancer).
    const other = await startTestApp({ http: true, work: false, databaseUrl: t.databaseUrl, dataDir: t.dataDir });
    try {
      const token = await tokenFor(t.app, Role.PIPELINE, 'used on two processes');
      expect((await other.gql(`{ me { role } }`, {}, token)).data).toEqual({ me: { role: 'PIPELINE' } }); // cached there now
      const { rows } = await t.app.pool.query(`SELECT id FROM api_tokens WHERE label = 'used on two processes'`);
      await t.gql(`mutation ($id: String!) { revokeToken(id: $id) { id } }`, { id: rows[0].id });
      expect((await t.gql(`{ me { role } }`, {}, token)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED'); // this process: at once
      // The other process hears of it by a PostgreSQL notification (delivered at commit, milliseconds later).
      let code: string | undefined;
      for (let tries = 0; tries < 100 && code !== 'UNAUTHENTICATED'; tries++) {
        code = (await other.gql(`{ me { role } }`, {}, token)).errors?.[0].extensions?.code;
        if (code !== 'UNAUTHENTICATED') await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(code).toBe('UNAUTHENTICATED');
    } finally {
      await other.close();
    }
  });

  it('are created, listed and revoked by ADMIN only, with typed errors for bad input', async () => {
    const bad = [
      [`{ label: "", role: ANALYST }`, 'label'],
      [`{ label: "x", role: RATER }`, 'role'],
      [`{ label: "x", role: ANALYST, expiresInDays: 0 }`, 'expiresInDays'],
    ];
    for (const [input, field] of bad) {
      const result = await t.gql(`mutation { createToken(input: ${input}) { secret } }`);
      expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect((await t.gql(`mutation { revokeToken(id: "${NO_SUCH_ID}") { id } }`)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await t.gql(`mutation { revokeToken(id: "nope") { id } }`)).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});

describe('raters', () => {
  it('join with a one-time invitation code and see only what raters may', async () => {
    const invited = await t.gql(
      `mutation { createRater(input: { displayName: "Dr. Kim", specialty: "radiology", yearsOfExperience: 12 }, expiresInHours: 2) { code url expiresAt rater { id pseudonym } } }`,
    );
    const { code, url, rater } = invited.data!.createRater;
    expect(code).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(url).toBe(`${t.server!.url}/read#invite=${code}`);
    const accept = (value: string) => t.gql(`mutation ($code: String!) { acceptInvitation(code: $code) { secret token { role raterId origin } } }`, { code: value }, null);
    const first = await accept(code);
    expect(first.data!.acceptInvitation.token).toEqual({ role: 'RATER', raterId: rater.id, origin: 'INVITATION' });
    const secret = first.data!.acceptInvitation.secret;
    expect((await t.gql(`{ me { role rater { pseudonym specialty yearsOfExperience } } }`, {}, secret)).data!.me).toEqual({
      role: 'RATER',
      rater: { pseudonym: rater.pseudonym, specialty: 'radiology', yearsOfExperience: 12 },
    });
    for (const query of [`{ datasets { id } }`, `{ distortionCatalog { name } }`, `{ jobs { id } }`, `{ raters { pseudonym } }`]) {
      expect((await t.gql(query, {}, secret)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    // Used twice, unknown, withdrawn by a newer invitation, expired: typed errors, nothing issued.
    expect((await accept(code)).errors?.[0].extensions).toEqual({ code: 'INVITATION_INVALID', reason: 'USED' });
    expect((await accept('A'.repeat(22))).errors?.[0].extensions).toEqual({ code: 'INVITATION_INVALID', reason: 'UNKNOWN' });
    expect((await accept('not a code')).errors?.[0].extensions).toEqual({ code: 'INVITATION_INVALID', reason: 'UNKNOWN' });
    const older = (await t.gql(`mutation ($id: ID!) { inviteRater(raterId: $id) { code } }`, { id: rater.id })).data!.inviteRater.code;
    const newer = (await t.gql(`mutation ($id: ID!) { inviteRater(raterId: $id) { code } }`, { id: rater.id })).data!.inviteRater.code;
    expect((await accept(older)).errors?.[0].extensions).toEqual({ code: 'INVITATION_INVALID', reason: 'WITHDRAWN' });
    await t.app.pool.query(`UPDATE rater_invitations SET expires_at = now() - interval '1 second' WHERE used_at IS NULL AND withdrawn_at IS NULL`);
    expect((await accept(newer)).errors?.[0].extensions).toEqual({ code: 'INVITATION_INVALID', reason: 'EXPIRED' });
    const { rows } = await t.app.pool.query(`SELECT count(*)::int AS n FROM api_tokens WHERE rater_id = $1`, [rater.id]);
    expect(rows[0].n).toBe(1);
  });

  it('refuses bad rater input with typed errors', async () => {
    for (const [input, field] of [
      [`{ displayName: "" }`, 'displayName'],
      [`{ displayName: "x", yearsOfExperience: 81 }`, 'yearsOfExperience'],
    ]) {
      expect((await t.gql(`mutation { createRater(input: ${input}) { code } }`)).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect((await t.gql(`mutation { createRater(input: { displayName: "x" }, expiresInHours: 0) { code } }`)).errors?.[0].extensions).toMatchObject({ field: 'expiresInHours' });
    expect((await t.gql(`mutation { inviteRater(raterId: "${NO_SUCH_ID}") { code } }`)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

describe('signed image links', () => {
  let first: string;
  let second: string;

  beforeAll(async () => {
    const ids: string[] = [];
    for (const name of ['a', 'b']) {
      const response = await t.upload(`dataset=signed&filename=${name}.jpg`, await greyJpeg(16, 16, name === 'a' ? 10 : 200), tokens[Role.PIPELINE]);
      ids.push(((await response.json()) as any).image.id);
    }
    [first, second] = ids;
  });

  it('open their image without a token, expire, and open no other image', async () => {
    const { data } = await t.gql(`query ($id: ID!) { image(id: $id) { url } }`, { id: first }, tokens[Role.ANALYST]);
    const url = new URL(data!.image.url);
    expect(url.search).toMatch(/^\?exp=\d+&sig=[\w-]{43}$/);
    expect((await fetch(url)).status).toBe(200);
    const other = new URL(url.href.replace(first, second));
    const refused = await fetch(other);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error).toMatchObject({ code: 'FORBIDDEN', message: 'this image link is not valid for this image' });
    // Another collection with the same id, a changed expiry, a link signed two hours ago.
    expect((await fetch(url.href.replace('/images/', '/distortions/'))).status).toBe(403);
    expect((await fetch(url.href.replace(/exp=\d+/, (exp) => `exp=${Number(exp.slice(4)) + 3600}`))).status).toBe(403);
    const old = await signedPath(t.app, `/images/${first}.png`, Date.now() - 2 * 3_600_000);
    const expired = await fetch(`${t.server!.url}${old}`);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as any).error.message).toMatch(/expired/);
    // No signature and no token: 401.
    expect((await fetch(`${t.server!.url}/images/${first}.png`)).status).toBe(401);
  });
});

describe('the audit log', () => {
  it('records mutations and uploads, refused ones too, and cannot be changed', async () => {
    const before = await t.gql(`{ auditLog(first: 1) { id } }`);
    const since = Number(before.data!.auditLog[0]?.id ?? 0);
    const created = await t.gql(`mutation { createDataset(name: "audited") { id } }`, {}, tokens[Role.PIPELINE]);
    const datasetId = created.data!.createDataset.id;
    await t.gql(`mutation { createDataset(name: "") { id } }`, {}, tokens[Role.PIPELINE]);
    await t.gql(`mutation { createToken(input: { label: "x", role: ADMIN }) { secret } }`, {}, tokens[Role.ANALYST]);
    await t.upload(`dataset=audited&filename=u.jpg`, await greyJpeg(8, 8, 50), tokens[Role.PIPELINE]);

    const log = await t.gql(`{ auditLog(first: 20) { id tokenId role operation affectedIds outcome clientAddress at } }`);
    const entries = log.data!.auditLog.filter((entry: any) => Number(entry.id) > since).reverse();
    const pipeline = (await t.gql(`{ me { tokenId } }`, {}, tokens[Role.PIPELINE])).data!.me.tokenId;
    expect(entries.map(({ operation, role, outcome }: any) => ({ operation, role, outcome }))).toEqual([
      { operation: 'createDataset', role: 'PIPELINE', outcome: 'OK' },
      { operation: 'createDataset', role: 'PIPELINE', outcome: 'BAD_USER_INPUT' },
      { operation: 'createToken', role: 'ANALYST', outcome: 'FORBIDDEN' },
      { operation: 'POST /upload', role: 'PIPELINE', outcome: 'OK' },
    ]);
    expect(entries[0]).toMatchObject({ tokenId: pipeline, affectedIds: [datasetId], clientAddress: expect.stringMatching(/127\.0\.0\.1/) });
    expect(entries[3].affectedIds).toContain(datasetId);
    expect(JSON.stringify(entries)).not.toMatch(/mpsim_[0-9a-f]{8}_/); // no secret, not even the one createToken would return

    await expect(t.app.pool.query(`UPDATE audit_log SET outcome = 'OK'`)).rejects.toThrow(/append-only/);
    await expect(t.app.pool.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
    await expect(t.app.pool.query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
  });
});

describe('Apollo Sandbox', () => {
  /** GET /graphql as a browser; node:http, since fetch may not send another Host. */
  const page = (headers: Record<string, string> = {}) =>
    new Promise<string>((resolve, reject) => {
      const request = http.get(`${t.server!.url}/graphql`, { headers: { accept: 'text/html', ...headers } }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve(body));
      });
      request.on('error', reject);
    });

  it('gets a token only in a browser on the server machine', async () => {
    const local = await page();
    const token = /"Authorization":"Bearer (mpsim_[0-9a-f]{8}_[\w-]{43})"/.exec(local)?.[1];
    expect(token).toBeDefined();
    const me = await t.gql(`{ me { role tokenPrefix } }`, {}, token!);
    expect(me.data!.me.role).toBe('ADMIN');
    const { rows } = await t.app.pool.query(`SELECT origin, expires_at FROM api_tokens WHERE prefix = $1`, [me.data!.me.tokenPrefix]);
    expect(rows[0].origin).toBe('SANDBOX');
    expect(rows[0].expires_at.getTime()).toBeLessThanOrEqual(Date.now() + 12 * 3_600_000);
    expect(await page()).toContain(token); // one per process, not one per page

    // Through a proxy, or to another Host, the page has a placeholder.
    const remoteHeaders: Array<Record<string, string>> = [{ 'x-forwarded-for': '10.0.0.5' }, { forwarded: 'for=10.0.0.5' }, { host: 'medpsim.example.org' }];
    for (const headers of remoteHeaders) {
      const remote = await page(headers);
      expect(remote).not.toMatch(/mpsim_[0-9a-f]{8}_/);
      expect(remote).toContain('Bearer paste-a-token-here');
    }
  });

  it('gets none when the server listens beyond loopback, or when turned off', () => {
    const request = { socket: { remoteAddress: '127.0.0.1' }, headers: { host: 'localhost:4000' } } as unknown as Request;
    const onAllInterfaces = { ...t.app, config: { ...t.app.config, host: '0.0.0.0' } };
    expect(fromServerMachine(t.app, request)).toBe(true);
    expect(fromServerMachine(onAllInterfaces, request)).toBe(false);
    const off = { ...t.app, settings: () => ({ sandboxToken: 'off' }) } as unknown as typeof t.app;
    expect(fromServerMachine(off, request)).toBe(false);
  });
});

describe('failed authentication', () => {
  it('is rate-limited per client address, and the server keeps serving', async () => {
    const limited = await startTestApp({ http: true, env: { MEDPSIM_AUTH_FAILURES_PER_MINUTE: '3' } });
    try {
      const ask = (token: string) => limited.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { role } }' }) }, token);
      for (let i = 0; i < 3; i++) expect((await ask('wrong')).status).toBe(401);
      const blocked = await ask('wrong');
      expect(blocked.status).toBe(429);
      expect(((await blocked.json()) as any).errors[0].extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: expect.any(Number) });
      expect((await ask(limited.token)).status).toBe(429); // even a good token, from this address, for a minute
      expect((await limited.request('/health', {}, null)).status).toBe(200); // no credentials, nothing to refuse
    } finally {
      await limited.close();
    }
  });
});
