/**
 * The HTTP side: GraphQL over HTTP (Apollo Server, with Apollo Sandbox on GET /graphql from a browser),
 * GraphQL subscriptions over graphql-ws on the same path, image downloads and uploads.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type Request } from 'express';
import { GraphQLError, parse, validate, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { App } from '../app';
import type { Context } from '../resolvers/context';
import { buildMedpsimSchema } from '../schema/build';
import { assertQueryLimits, type QueryLimits } from '../schema/limits';
import { jsonErrors } from './http-error';
import { imageRoute, storedDistortion, storedImage } from './image-route';
import { uploadRoutes } from './upload-route';

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

function baseUrlOf(request: Request): string {
  return `${request.protocol}://${request.get('host')}`;
}

function queryLimitsPlugin(schema: GraphQLSchema, limits: QueryLimits): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          assertQueryLimits(schema, { document, variables: request.variables, operationName: request.operationName }, limits);
        },
      };
    },
  };
}

/** Errors that are not ours (bugs, lost connections) reach clients without internals. */
function maskUnexpectedErrors(formatted: { message: string; extensions?: Record<string, unknown> }, error: unknown) {
  const original = error instanceof GraphQLError ? error.originalError : error;
  const code = formatted.extensions?.code;
  if (code === 'INTERNAL_SERVER_ERROR' && original && !(original instanceof GraphQLError)) {
    console.error('[graphql]', original);
    return { message: 'internal error', extensions: { code } };
  }
  return formatted;
}

export async function startHttpServer(app: App): Promise<HttpServer> {
  const { config } = app;
  const schema = await buildMedpsimSchema();
  const expressApp = express();
  expressApp.disable('x-powered-by');
  const httpServer = http.createServer(expressApp);

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const limits = { maxDepth: config.maxQueryDepth, maxComplexity: config.maxQueryComplexity };
  const wsCleanup = useServer<Record<string, unknown>, { request: http.IncomingMessage }>(
    {
      schema,
      context: (ctx): Context => ({ app, baseUrl: `http://${ctx.extra.request.headers.host ?? 'localhost'}` }),
      onSubscribe: (_ctx, _id, payload) => {
        try {
          const document = parse(payload.query);
          if (validate(schema, document).length > 0) return; // graphql-ws reports those itself
          assertQueryLimits(schema, { document, variables: payload.variables, operationName: payload.operationName }, limits);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
        }
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: true,
    stopOnTerminationSignals: false, // main.ts stops the server, then the workers, then the database
    formatError: maskUnexpectedErrors,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
      queryLimitsPlugin(schema, limits),
      { async serverWillStart() { return { async drainServer() { await wsCleanup.dispose(); } }; } },
    ],
  });
  await apollo.start();

  const corsMiddleware = cors({ origin: config.corsOrigins, credentials: true });
  expressApp.get('/health', (_request, response) => {
    response.json({ ok: true });
  });
  expressApp.get('/images/:id.png', corsMiddleware, imageRoute(app, storedImage));
  expressApp.get('/distortions/:id.png', corsMiddleware, imageRoute(app, storedDistortion));
  expressApp.post('/upload', corsMiddleware, ...uploadRoutes(app));
  expressApp.use(
    '/graphql',
    corsMiddleware,
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, { context: async ({ req }) => ({ app, baseUrl: baseUrlOf(req) }) }),
  );
  expressApp.use(jsonErrors);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return {
    url: `http://${host}:${port}`,
    async close() {
      await apollo.stop(); // drains HTTP connections and the WebSocket server
    },
  };
}
