/**
 * What a domain contributes, exported from its entry file (src/<domain>/module.ts) and listed once in
 * src/modules.ts, which the app, the migrations, the schema build, the HTTP server and the CLI iterate.
 */
import type { Command } from 'commander';
import type { Request, Response } from 'express';
import type { MixedList } from 'typeorm';
import type { App } from './app';
import type { Settings } from './config';
import type { AccessRule, RequestContext } from './context';
import type { JobDefinition } from './jobs/runtime';

/** A plain HTTP route (not GraphQL): who may call it, and its handler. */
export interface HttpRoute {
  method: 'get' | 'post';
  /** An Express path, e.g. /images/:id.png. */
  path: string;
  access: AccessRule;
  /** GET routes for <img> tags: a signed URL (access/signed-urls.ts) also admits the request. */
  signedUrls?: boolean;
  /** Express middleware run before the handler (e.g. a body parser), after access is checked. */
  before?(app: App): Array<(request: Request, response: Response, next: (error?: unknown) => void) => void>;
  /** Routes that change data are audited under this operation name, before their answer is sent. */
  audit?: string;
  /** Answers itself (e.g. image bytes), or returns the JSON answer for the server to send (audited routes do). */
  handle(context: RequestContext, request: Request, response: Response): Promise<RouteAnswer | void>;
}

export interface RouteAnswer {
  status: number;
  body: unknown;
  /** What the audit log records as affected. */
  affectedIds?: string[];
}

export interface DomainModule {
  name: string;
  /** TypeORM entities (src/entities/). */
  entities?: MixedList<Function>;
  /** TypeORM migrations (src/entities/migrations/); they run in timestamp order across modules. */
  migrations?: MixedList<Function>;
  /** type-graphql resolver classes (src/resolvers/). */
  resolvers?: Function[];
  jobs?: JobDefinition[];
  routes?: HttpRoute[];
  /** Settings read at start, so that a bad value stops the process before it serves. */
  settings?: Array<Settings<unknown>>;
  /** Runs once the database is open, before the server serves and the workers work. */
  start?(app: App): Promise<void>;
  /** Adds this module's commands to the CLI. */
  cli?(program: Command): void;
}
