/**
 * The HTTP side: GraphQL over HTTP (Apollo Server; Apollo Sandbox on GET /graphql from a browser), GraphQL
 * subscriptions over graphql-ws on the same path, and the modules' plain routes (images, uploads).
 *
 * Every request is authenticated first (auth.ts: its bearer token, or none); then each GraphQL operation is
 * checked against the access rules of the fields it uses (schema/guards.ts), and each route against its
 * own rule, before anything runs. Mutations and uploads are written to the audit log.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { affectedIds, recordAudit, type AuditRecord } from '../access/audit';
import { checkSignature } from '../access/signed-urls';
import { onTokenRevoked } from '../access/tokens';
import type { App } from '../platform/app';
import { allows, describeRule, type AccessRule, type Principal, type RequestContext } from '../platform/context';
import { AppError, ForbiddenError, httpStatusOf, UnauthenticatedError } from '../platform/errors';
import type { DomainModule, HttpRoute, RouteAnswer } from '../platform/module';
import { buildMedpsimSchema } from '../schema/build';
import { assertOperationAllowed, isSelfRecorded } from '../schema/guards';
import { assertNoNulStrings, assertQueryLimits, type QueryLimits } from '../schema/limits';
import { Authenticator } from './auth';
import { describeHttpError, jsonErrors } from './http-error';
import { landingPage } from './landing-page';

/** A route as the access table shows it; GraphQL's POST is checked per operation (schema/guards.ts). */
export interface RouteRule {
  method: string;
  path: string;
  access: AccessRule | 'per operation';
  signedUrls: boolean;
  note?: string;
}

export interface HttpServer {
  url: string;
  /** Every route served, with its rule. */
  routes: RouteRule[];
  close(): Promise<void>;
}

const HEALTH: HttpRoute = {
  method: 'get',
  path: '/health',
  access: { public: true },
  handle: async (_context, _request, response) => void response.json({ ok: true }),
};

function plainRoutes(modules: readonly DomainModule[]): HttpRoute[] {
  return [HEALTH, ...modules.flatMap((module) => module.routes ?? [])];
}

/** Every route the server mounts, with its rule (for the access table and its test). */
export function routeRules(modules: readonly DomainModule[]): RouteRule[] {
  return [
    ...plainRoutes(modules).map((route) => ({ method: route.method.toUpperCase(), path: route.path, access: route.access, signedUrls: route.signedUrls === true })),
    { method: 'GET', path: '/graphql', access: 'per operation', signedUrls: false, note: 'the Apollo Sandbox page for browsers needs no token' },
    { method: 'POST', path: '/graphql', access: 'per operation', signedUrls: false },
  ];
}

/** A refusal at the edge as a GraphQL error with its HTTP status: the code's status, 400 for query limits. */
function edgeError(error: unknown): GraphQLError {
  if (error instanceof AppError) {
    return new GraphQLError(error.message, { originalError: error, extensions: { ...error.extensions, http: { status: httpStatusOf(error.code) } } });
  }
  const { message, extensions } = error as GraphQLError;
  return new GraphQLError(message, { extensions: { ...extensions, http: { status: 400 } } });
}

/**
 * Everything checked of an operation before it runs, over HTTP and WebSocket alike: who may use its fields,
 * no NUL in its texts, and its size (depth, aliases, complexity).
 */
function checkOperation(
  schema: GraphQLSchema,
  limits: QueryLimits,
  request: { document: DocumentNode; variables?: Record<string, unknown> | null; operationName?: string | null },
  principal: Principal | null,
): void {
  assertOperationAllowed(schema, request.document, request.operationName, principal);
  assertNoNulStrings(request.document, request.variables);
  assertQueryLimits(schema, request, limits);
}

function auditOf(context: RequestContext, operation: string, ids: string[], outcome: string): AuditRecord {
  return { principal: context.principal, operation, affectedIds: ids, outcome, clientAddress: context.clientAddress };
}

function codeOf(error: unknown): string {
  const code = (error as { extensions?: { code?: unknown } })?.extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

/** The operation's checks before execution; every mutation field, allowed or refused, into the audit log. */
function operationPlugin(schema: GraphQLSchema, limits: QueryLimits): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      const audit: AuditRecord[] = [];
      return {
        async didResolveOperation({ contextValue, document, request, operation }) {
          try {
            checkOperation(schema, limits, { document, variables: request.variables, operationName: request.operationName }, contextValue.principal);
          } catch (error) {
            if (operation?.operation === 'mutation') {
              for (const field of rootFieldNames(operation)) audit.push(auditOf(contextValue, field, [], codeOf(error)));
            }
            throw edgeError(error);
          }
        },
        async executionDidStart({ operation, contextValue }) {
          if (operation.operation !== 'mutation') return;
          return {
            willResolveField({ info, args }) {
              if (info.parentType.name !== 'Mutation') return;
              const selfRecorded = isSelfRecorded(info.parentType.getFields()[info.fieldName]);
              return (error, result) => {
                if (selfRecorded && !error) return;
                audit.push(auditOf(contextValue, info.fieldName, affectedIds(args, error ? null : result), error ? codeOf(error) : 'OK'));
              };
            },
          };
        },
        async willSendResponse({ contextValue, response }) {
          await recordAudit(contextValue.app, audit).catch((error) => console.error('[audit] not recorded:', (error as Error).message, audit));
          // A whole operation refused for lack of room is a 503, as for any HTTP client.
          const result = response.body.kind === 'single' ? response.body.singleResult : null;
          if (result && !result.data && result.errors?.some((error) => error.extensions?.code === 'TOO_BUSY')) response.http.status = 503;
        },
      };
    },
  };
}

function rootFieldNames(operation: OperationDefinitionNode): string[] {
  return operation.selectionSet.selections.flatMap((selection) => (selection.kind === 'Field' ? [selection.name.value] : []));
}

/** Errors that are not ours (bugs, lost connections) reach clients without internals. */
function maskUnexpectedErrors(formatted: { message: string; extensions?: Record<string, unknown> }, error: unknown) {
  const original = error instanceof GraphQLError ? error.originalError : error;
  const code = formatted.extensions?.code;
  const tokens = /Document contains more that (\d+) tokens/.exec(formatted.message); // graphql-js's wording
  if (tokens) return { ...formatted, message: `the query has more than ${tokens[1]} tokens, over the limit (MEDPSIM_MAX_QUERY_TOKENS)` };
  if (code === 'INTERNAL_SERVER_ERROR' && original && !(original instanceof GraphQLError)) {
    console.error('[graphql]', original);
    return { message: 'internal error', extensions: { code } };
  }
  return formatted;
}

type Middleware = (request: Request, response: Response, next: NextFunction) => void;

/** The answer sent instead of a response over MEDPSIM_MAX_RESPONSE_BYTES (the work is done; the bytes are not sent). */
function tooLargeResult(maxBytes: number) {
  return {
    errors: [{ message: `the response would be larger than ${maxBytes} bytes (MEDPSIM_MAX_RESPONSE_BYTES): ask for smaller pages or fewer fields`, extensions: { code: 'RESPONSE_TOO_LARGE', maxBytes } }],
  };
}

function responseTooLarge(result: unknown, maxBytes: number): boolean {
  return Buffer.byteLength(JSON.stringify(result)) > maxBytes;
}

const GRAPHQL_BODY_LIMIT = 1024 * 1024;

/** Failures before Apollo (credentials, the body) as a GraphQL response: `{ errors: [...] }`. */
function graphqlErrors(error: unknown, _request: Request, response: Response, _next: NextFunction): void {
  const type = (error as { type?: string }).type;
  const { status, code, message, details } =
    type === 'entity.too.large'
      ? { status: 413, code: 'PAYLOAD_TOO_LARGE', message: `the GraphQL request is larger than ${GRAPHQL_BODY_LIMIT / 1024 / 1024} MB (variables included)`, details: {} }
      : describeHttpError(error);
  if (!response.headersSent) response.status(status).json({ errors: [{ message, extensions: { code, ...details } }] });
}

/** A step that passes on to the next one when it resolves; a rejection goes to the error middleware. */
function asMiddleware(handler: (request: Request, response: Response) => Promise<void>): Middleware {
  return (request, response, next) => void handler(request, response).then(() => next(), next);
}

/** The last step: it answers, so only a rejection goes on (to the error middleware). */
function asHandler(handler: (request: Request, response: Response) => Promise<void>): Middleware {
  return (request, response, next) => void handler(request, response).catch(next);
}

const socketSignals = new WeakMap<WebSocket, AbortSignal>();

/** Aborted when the WebSocket closes. */
function socketSignal(socket: WebSocket): AbortSignal {
  let signal = socketSignals.get(socket);
  if (!signal) {
    const closed = new AbortController();
    socket.once('close', () => closed.abort(new Error('the client went away')));
    socketSignals.set(socket, (signal = closed.signal));
  }
  return signal;
}

export async function startHttpServer(app: App): Promise<HttpServer> {
  const { config } = app;
  const schema = await buildMedpsimSchema(app.modules);
  const expressApp = express();
  expressApp.disable('x-powered-by');
  if (config.trustProxy) expressApp.set('trust proxy', config.trustProxy);
  const authenticator = new Authenticator(app, expressApp.get('trust proxy fn'));
  const httpServer = http.createServer(expressApp);
  const baseUrlOf = (request: Request) => config.publicUrl ?? `${request.protocol}://${request.get('host')}`;

  /** Sets response.locals.context (principal null without a token); refuses bad or blocked credentials. */
  const authenticate: Middleware = asMiddleware(async (request, response) => {
    const clientAddress = request.ip ?? null;
    const principal = await authenticator.principalOf(request.headers.authorization, clientAddress);
    const gone = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) gone.abort(new Error('the client went away'));
    });
    response.locals.context = { app, principal, baseUrl: baseUrlOf(request), clientAddress, signal: gone.signal } satisfies RequestContext;
  });

  const corsMiddleware = cors({ origin: config.corsOrigins, credentials: true });
  for (const route of plainRoutes(app.modules)) {
    const before = route.before?.(app) ?? [];
    expressApp[route.method](route.path, corsMiddleware, authenticate, asMiddleware(routeAccess(route)), ...before, asHandler(routeHandler(route)));
  }

  /** The route's rule, or (for <img> routes) a valid signature for this very path. */
  function routeAccess(route: HttpRoute) {
    return async (request: Request, response: Response) => {
      const context = response.locals.context as RequestContext;
      if (route.signedUrls && request.query.sig !== undefined) {
        authenticator.assertNotBlocked(context.clientAddress);
        const check = await checkSignature(app, request.path, request.query);
        if (check === 'valid') return;
        await authenticator.failed(context.clientAddress);
        throw new ForbiddenError(check === 'expired' ? 'this image link has expired: ask for the image again' : 'this image link is not valid for this image');
      }
      if (allows(route.access, context.principal)) return;
      if (context.principal === null) throw new UnauthenticatedError(`${route.method.toUpperCase()} ${route.path} needs a token or a signed link`);
      throw new ForbiddenError(`${route.method.toUpperCase()} ${route.path} is not allowed for role ${context.principal.role} (allowed: ${describeRule(route.access)})`);
    };
  }

  /** Runs the route; an audited one is recorded before its answer leaves. */
  function routeHandler(route: HttpRoute) {
    return async (request: Request, response: Response) => {
      const context = response.locals.context as RequestContext;
      const audit = (ids: string[], outcome: string) =>
        route.audit
          ? recordAudit(app, [auditOf(context, route.audit, ids, outcome)]).catch((error) => console.error('[audit] not recorded:', (error as Error).message))
          : Promise.resolve();
      let answer: RouteAnswer | void;
      try {
        answer = await route.handle(context, request, response);
      } catch (error) {
        await audit([], describeHttpError(error).code);
        throw error;
      }
      if (!answer) return;
      await audit(answer.affectedIds ?? [], 'OK');
      response.status(answer.status).json(answer.body);
    };
  }

  // Subscriptions: the token comes in connection_init ({"authorization": "Bearer <token>"}).
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const limits = { maxDepth: config.maxQueryDepth, maxComplexity: config.maxQueryComplexity, maxAliases: config.maxQueryAliases };
  const sockets = new Map<string, Set<WebSocket>>(); // by token id, to close them when it is revoked
  const principals = new WeakMap<WebSocket, Principal | null>();
  const stopWatchingRevocations = onTokenRevoked(app, (tokenId) => {
    for (const socket of sockets.get(tokenId) ?? []) socket.close(CloseCode.Unauthorized, 'Unauthorized: the token was revoked');
  });
  const wsCleanup = useServer<Record<string, unknown>, { request: http.IncomingMessage; socket: WebSocket }>(
    {
      schema,
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        let principal: Principal | null;
        try {
          principal = await authenticator.principalOf(authorization, authenticator.clientAddress(request));
        } catch (error) {
          socket.close(CloseCode.Unauthorized, `Unauthorized: ${(error as Error).message}`.slice(0, 120));
          return false;
        }
        principals.set(socket, principal);
        if (principal) {
          const set = sockets.get(principal.tokenId) ?? new Set();
          sockets.set(principal.tokenId, set.add(socket));
          const expired = () => socket.close(CloseCode.Unauthorized, 'Unauthorized: the token has expired');
          const timer = principal.expiresAt === null ? null : setTimeout(expired, Math.min(2 ** 31 - 1, Math.max(0, principal.expiresAt - Date.now())));
          socket.once('close', () => {
            if (timer) clearTimeout(timer);
            set.delete(socket);
            if (set.size === 0) sockets.delete(principal.tokenId);
          });
        }
        return true;
      },
      context: (ctx): RequestContext => ({
        app,
        principal: principals.get(ctx.extra.socket) ?? null,
        baseUrl: config.publicUrl ?? `http://${ctx.extra.request.headers.host ?? 'localhost'}`,
        clientAddress: authenticator.clientAddress(ctx.extra.request),
        signal: socketSignal(ctx.extra.socket),
      }),
      onSubscribe: (ctx, _id, payload) => {
        try {
          const document = parse(payload.query, { maxTokens: config.maxQueryTokens });
          if (validate(schema, document).length > 0) return; // graphql-ws reports those itself
          checkOperation(schema, limits, { document, variables: payload.variables, operationName: payload.operationName }, principals.get(ctx.extra.socket) ?? null);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError((error as Error).message, { extensions: (error as AppError).extensions })];
        }
      },
      onNext: (_ctx, _id, _payload, _args, result) => (responseTooLarge(result, config.maxResponseBytes) ? tooLargeResult(config.maxResponseBytes) : undefined),
    },
    wsServer,
  );

  const apollo = new ApolloServer<RequestContext>({
    schema,
    introspection: true, // for authenticated callers only (schema/guards.ts)
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false, // main.ts stops the server, then the workers, then the database
    formatError: maskUnexpectedErrors,
    parseOptions: { maxTokens: config.maxQueryTokens },
    stringifyResult: (value) => {
      const text = JSON.stringify(value);
      return Buffer.byteLength(text) > config.maxResponseBytes ? JSON.stringify(tooLargeResult(config.maxResponseBytes)) : text;
    },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(), // served below, with a token only for the server machine
      operationPlugin(schema, limits),
      { async serverWillStart() { return { async drainServer() { await wsCleanup.dispose(); } }; } },
    ],
  });
  await apollo.start();

  expressApp.get('/graphql', (request, response, next) => {
    if (request.accepts(['application/json', 'text/html']) !== 'text/html') return next();
    landingPage(app, request).then((html) => {
      response.setHeader('Cache-Control', 'no-store');
      response.setHeader('Referrer-Policy', 'no-referrer');
      response.type('html').send(html);
    }, next);
  });
  expressApp.use(
    '/graphql',
    corsMiddleware,
    authenticate,
    express.json({ limit: GRAPHQL_BODY_LIMIT }),
    expressMiddleware(apollo, { context: async ({ res }) => res.locals.context as RequestContext }),
    graphqlErrors,
  );
  expressApp.use(jsonErrors);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    routes: routeRules(app.modules),
    async close() {
      stopWatchingRevocations();
      await apollo.stop(); // drains HTTP connections and the WebSocket server
    },
  };
}
