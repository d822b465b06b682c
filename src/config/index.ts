/** Configuration from the environment, read once. Every variable is listed in README.md. */
import path from 'node:path';
import { packageRoot } from './paths';

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

export type ProcessRole = 'all' | 'api' | 'worker';
export type OnnxProviderChoice = 'auto' | 'cpu' | 'cuda';

export interface Config {
  /** Root of everything the app keeps: the embedded database, the image blobs, the pseudonym key. */
  dataDir: string;
  /** External PostgreSQL; when absent an embedded server is started under dataDir/pg. */
  databaseUrl: string | null;
  host: string;
  port: number;
  /** 'all' serves the API and runs job workers; 'api' only serves; 'worker' only runs jobs. */
  role: ProcessRole;
  /** Decompression-bomb guard: images with more pixels are refused. */
  maxPixels: number;
  maxUploadBytes: number;
  /** Files per queued import chunk: the unit of retry after a crash. */
  importChunkSize: number;
  /** Parallel chunks per worker process. */
  workerConcurrency: number;
  /** Seconds before a chunk held by a dead worker is handed to another one. */
  jobExpireSeconds: number;
  maxQueryDepth: number;
  maxQueryComplexity: number;
  corsOrigins: string[];
  /** Folder of ONNX models with their manifests, registered at start (models/onnx of the package by default). */
  modelsDir: string;
  /** onnxruntime execution provider: auto (CUDA when it loads, else CPU, with a note), cpu, or cuda (strict). */
  onnxProvider: OnnxProviderChoice;
  /** Worker threads running ONNX inference; each keeps its own sessions, so each adds a model's memory. */
  inferenceWorkers: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.MEDPSIM_DATA_DIR ?? 'data');
  return {
    dataDir,
    databaseUrl: env.DATABASE_URL || null,
    host: env.HOST ?? '0.0.0.0',
    port: intFromEnv(env, 'PORT', 4000, 0, 65535),
    role: parseRole(env.MEDPSIM_ROLE),
    maxPixels: intFromEnv(env, 'MEDPSIM_MAX_PIXELS', 100_000_000, 1, 2 ** 31 - 1),
    maxUploadBytes: intFromEnv(env, 'MEDPSIM_MAX_UPLOAD_BYTES', 64 * 1024 * 1024, 1, 2 ** 31 - 1),
    importChunkSize: intFromEnv(env, 'MEDPSIM_IMPORT_CHUNK', 50, 1, 10_000),
    workerConcurrency: intFromEnv(env, 'MEDPSIM_WORKER_CONCURRENCY', 2, 1, 64),
    jobExpireSeconds: intFromEnv(env, 'MEDPSIM_JOB_EXPIRE_SECONDS', 300, 1, 86_400),
    maxQueryDepth: intFromEnv(env, 'MEDPSIM_MAX_QUERY_DEPTH', 10, 2, 100),
    maxQueryComplexity: intFromEnv(env, 'MEDPSIM_MAX_QUERY_COMPLEXITY', 5_000, 10, 10_000_000),
    corsOrigins: (env.MEDPSIM_CORS_ORIGINS ?? 'https://studio.apollographql.com,http://localhost:4000')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    modelsDir: path.resolve(env.MEDPSIM_MODELS_DIR || path.join(packageRoot(), 'models', 'onnx')),
    onnxProvider: parseProvider(env.MEDPSIM_ONNX_PROVIDER),
    inferenceWorkers: intFromEnv(env, 'MEDPSIM_INFERENCE_WORKERS', 1, 1, 16),
  };
}

function parseRole(raw: string | undefined): ProcessRole {
  if (raw === undefined || raw === '') return 'all';
  if (raw === 'all' || raw === 'api' || raw === 'worker') return raw;
  throw new Error(`MEDPSIM_ROLE must be one of all, api, worker; got "${raw}"`);
}

function parseProvider(raw: string | undefined): OnnxProviderChoice {
  if (raw === undefined || raw === '') return 'auto';
  if (raw === 'auto' || raw === 'cpu' || raw === 'cuda') return raw;
  throw new Error(`MEDPSIM_ONNX_PROVIDER must be one of auto, cpu, cuda; got "${raw}"`);
}
