/**
 * Configuration from the environment, read once. The platform's own settings are here; each domain reads
 * its own through `defineSettings` (e.g. src/models/settings.ts), from the same environment. Every
 * variable is listed in README.md.
 */
import path from 'node:path';

export type Environment = Readonly<Record<string, string | undefined>>;

export function intFromEnv(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

export function choiceFromEnv<T extends string>(env: Environment, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new Error(`${name} must be one of ${choices.join(', ')}; got "${raw}"`);
}

export type ProcessRole = 'all' | 'api' | 'worker';
const PROCESS_ROLES: readonly ProcessRole[] = ['all', 'api', 'worker'];

export interface Config {
  /** The environment the configuration was read from; domain settings read it too. */
  env: Environment;
  /** Root of everything the app keeps: the embedded database, the image blobs, the secrets. */
  dataDir: string;
  /** External PostgreSQL; when absent an embedded server is started under dataDir/pg. */
  databaseUrl: string | null;
  host: string;
  port: number;
  /** 'all' serves the API and runs job workers; 'api' only serves; 'worker' only runs jobs. */
  role: ProcessRole;
  /** Items per queued unit of an item job (import, distortion): the unit of retry after a crash. */
  jobChunkSize: number;
  /** Parallel units per worker process. */
  workerConcurrency: number;
  /** Connections of each process's pool: concurrent requests wait for one (PostgreSQL's commits overlap). */
  dbPoolSize: number;
  /** How often (seconds) workers look for units whose worker died, and hand them out again. */
  reapSeconds: number;
  maxQueryDepth: number;
  maxQueryComplexity: number;
  maxQueryAliases: number;
  /** Lexical tokens in one GraphQL document (checked while parsing). */
  maxQueryTokens: number;
  /** The largest GraphQL response sent; larger ones are replaced by a RESPONSE_TOO_LARGE error. */
  maxResponseBytes: number;
  corsOrigins: string[];
  /** Where clients reach the server (links in invitations, image URLs); null: from each request. */
  publicUrl: string | null;
  /** Express's "trust proxy": which proxies' X-Forwarded-* headers are believed (none by default). */
  trustProxy: string | null;
  /** The only folders whose files a client may have the server read (imports, training data, models). */
  importRoots: string[];
}

export function loadConfig(env: Environment = process.env): Config {
  const dataDir = path.resolve(env.MEDPSIM_DATA_DIR || 'data');
  const port = intFromEnv(env, 'PORT', 4000, 0, 65535);
  const publicUrl = env.MEDPSIM_PUBLIC_URL ? env.MEDPSIM_PUBLIC_URL.replace(/\/+$/, '') : null;
  if (publicUrl && !/^https?:\/\/[^/]+/.test(publicUrl)) {
    throw new Error(`MEDPSIM_PUBLIC_URL must be an http(s) URL such as https://medpsim.example.org, got "${publicUrl}"`);
  }
  return {
    env,
    dataDir,
    databaseUrl: env.DATABASE_URL || null,
    host: env.HOST || '127.0.0.1',
    port,
    role: choiceFromEnv(env, 'MEDPSIM_ROLE', PROCESS_ROLES, 'all'),
    jobChunkSize: intFromEnv(env, 'MEDPSIM_IMPORT_CHUNK', 50, 1, 10_000),
    workerConcurrency: intFromEnv(env, 'MEDPSIM_WORKER_CONCURRENCY', 2, 1, 64),
    dbPoolSize: intFromEnv(env, 'MEDPSIM_DB_POOL_SIZE', 20, 2, 500),
    reapSeconds: intFromEnv(env, 'MEDPSIM_JOB_EXPIRE_SECONDS', 10, 1, 86_400),
    maxQueryDepth: intFromEnv(env, 'MEDPSIM_MAX_QUERY_DEPTH', 10, 2, 100),
    maxQueryComplexity: intFromEnv(env, 'MEDPSIM_MAX_QUERY_COMPLEXITY', 5_000, 10, 10_000_000),
    maxQueryAliases: intFromEnv(env, 'MEDPSIM_MAX_QUERY_ALIASES', 100, 0, 100_000),
    maxQueryTokens: intFromEnv(env, 'MEDPSIM_MAX_QUERY_TOKENS', 5_000, 100, 1_000_000),
    maxResponseBytes: intFromEnv(env, 'MEDPSIM_MAX_RESPONSE_BYTES', 16 * 1024 * 1024, 1024, 2 ** 31 - 1),
    corsOrigins: (env.MEDPSIM_CORS_ORIGINS ?? `https://studio.apollographql.com,http://localhost:${port},http://127.0.0.1:${port}`)
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    publicUrl,
    trustProxy: env.MEDPSIM_TRUST_PROXY || null,
    importRoots: env.MEDPSIM_IMPORT_ROOTS
      ? env.MEDPSIM_IMPORT_ROOTS.split(',').map((root) => root.trim()).filter(Boolean).map((root) => path.resolve(root))
      : [process.cwd(), path.join(dataDir, 'incoming')],
  };
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A domain's settings: read from the app's environment on first use (and at start, to fail early). */
export interface Settings<T> {
  readonly name: string;
  read(env: Environment): T;
}

export function defineSettings<T>(name: string, read: (env: Environment) => T): Settings<T> {
  return { name, read };
}

const settingsCache = new WeakMap<Config, Map<Settings<unknown>, unknown>>();

export function settingsOf<T>(config: Config, settings: Settings<T>): T {
  let cache = settingsCache.get(config);
  if (!cache) settingsCache.set(config, (cache = new Map()));
  if (!cache.has(settings)) cache.set(settings, settings.read(config.env));
  return cache.get(settings) as T;
}
