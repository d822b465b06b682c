/**
 * Model manifests: `<name>.json` beside `<name>.onnx`, written by the training package
 * (training/medpsim_training/manifest.py; the format is described in training/README.md). The server trusts a
 * model only when its manifest is well formed and the SHA-256 of the .onnx file is the one the manifest names.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export const MANIFEST_FORMAT = 'medpsim-model-manifest';
export const MANIFEST_VERSION = 1;
export const MODEL_TASKS = ['classifier', 'dae', 'gan-generator', 'backbone'] as const;
export type ModelTaskName = (typeof MODEL_TASKS)[number];

/** The exporter's rule for model names (they become file names); the registry uses the same. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** One graph input or output. Dims are sizes, symbolic names ("batch", "ceil(height/2)") or null. */
export interface TensorSpec {
  name: string;
  shape: Array<number | string | null>;
  dtype?: string;
  meaning?: string;
  [key: string]: unknown;
}

export interface ModelManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  task: ModelTaskName;
  name: string;
  onnx: { file: string; sha256: string; bytes?: number; opset?: number };
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  metrics?: Record<string, unknown> | null;
  initialization?: { pretrained?: boolean; source?: string | null; reason?: string | null } | null;
  /** Everything else the exporter writes (training config, data summary, history, ...) is kept as is. */
  [key: string]: unknown;
}

/** What is wrong with one model's files; the message names the file. Never a crash of the caller. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ManifestError';
  }
}

/** A model whose manifest is valid and whose .onnx file has the manifest's SHA-256. */
export interface CheckedModel {
  onnxPath: string;
  manifestPath: string;
  manifest: ModelManifest;
  sha256: string;
  sizeBytes: number;
}

/** `/a/b/x.onnx` -> `/a/b/x.json`. */
export function manifestPathFor(onnxPath: string): string {
  return onnxPath.replace(/\.onnx$/i, '') + '.json';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

function tensorSpecs(value: unknown, field: 'inputs' | 'outputs', file: string): TensorSpec[] {
  if (!Array.isArray(value) || value.length === 0) throw new ManifestError(file, `${field} must be a non-empty list`);
  const names = new Set<string>();
  value.forEach((spec, index) => {
    const where = `${field}[${index}]`;
    if (!isObject(spec)) throw new ManifestError(file, `${where} must be an object`);
    if (typeof spec.name !== 'string' || spec.name === '') throw new ManifestError(file, `${where}.name must be a non-empty string`);
    if (names.has(spec.name)) throw new ManifestError(file, `${where}.name "${spec.name}" appears twice`);
    names.add(spec.name);
    const dimOk = (dim: unknown) => dim === null || typeof dim === 'string' || (Number.isInteger(dim) && (dim as number) >= 0);
    if (!Array.isArray(spec.shape) || !spec.shape.every(dimOk)) {
      throw new ManifestError(file, `${where}.shape must be a list of sizes (integers >= 0), dimension names or null`);
    }
  });
  return value as TensorSpec[];
}

/** Checks a parsed manifest (no file access). `file` names it in errors. */
export function parseManifest(raw: unknown, file: string): ModelManifest {
  if (!isObject(raw)) throw new ManifestError(file, 'a manifest must be a JSON object');
  if (raw.format !== MANIFEST_FORMAT) throw new ManifestError(file, `format must be "${MANIFEST_FORMAT}", got ${describe(raw.format)}`);
  if (raw.version !== MANIFEST_VERSION) {
    throw new ManifestError(file, `version must be ${MANIFEST_VERSION} (the one this server reads), got ${describe(raw.version)}`);
  }
  if (!MODEL_TASKS.includes(raw.task as ModelTaskName)) {
    throw new ManifestError(file, `task must be one of ${MODEL_TASKS.join(', ')}, got ${describe(raw.task)}`);
  }
  if (typeof raw.name !== 'string' || !MODEL_NAME_PATTERN.test(raw.name)) {
    throw new ManifestError(file, `name must be 1 to 100 letters, digits, '.', '_' or '-', got ${describe(raw.name)}`);
  }
  const onnx = raw.onnx;
  if (!isObject(onnx) || typeof onnx.file !== 'string' || typeof onnx.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(onnx.sha256)) {
    throw new ManifestError(file, 'onnx must be an object with file and sha256 (64 hex digits)');
  }
  if (onnx.bytes !== undefined && !(Number.isInteger(onnx.bytes) && (onnx.bytes as number) >= 0)) {
    throw new ManifestError(file, `onnx.bytes must be an integer >= 0, got ${describe(onnx.bytes)}`);
  }
  tensorSpecs(raw.inputs, 'inputs', file);
  tensorSpecs(raw.outputs, 'outputs', file);
  if (raw.initialization !== undefined && raw.initialization !== null && !isObject(raw.initialization)) {
    throw new ManifestError(file, 'initialization must be an object');
  }
  if (raw.metrics !== undefined && raw.metrics !== null && !isObject(raw.metrics)) throw new ManifestError(file, 'metrics must be an object');
  return raw as ModelManifest;
}

/** SHA-256 of a file, streamed: a ResNet50 is about 94 MB and must not be read into memory at once. */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * Reads and checks one model: `onnxPath` (absolute, or relative to the working folder) and the manifest
 * beside it. Throws ManifestError for anything wrong with the files; the caller decides what to do with it.
 */
export async function checkModelFiles(onnxPath: string): Promise<CheckedModel> {
  const absolute = path.resolve(onnxPath);
  if (!/\.onnx$/i.test(absolute)) throw new ManifestError(absolute, 'a model path must name an .onnx file');
  const stat = await fs.stat(absolute).catch((error: NodeJS.ErrnoException) => {
    throw new ManifestError(absolute, error.code === 'ENOENT' ? 'no such file on the server' : `unreadable: ${error.message}`);
  });
  if (!stat.isFile()) throw new ManifestError(absolute, 'not a file');

  const manifestPath = manifestPathFor(absolute);
  const text = await fs.readFile(manifestPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ManifestError(manifestPath, error.code === 'ENOENT' ? 'no manifest beside the .onnx file' : `unreadable: ${error.message}`);
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(manifestPath, `not valid JSON: ${(error as Error).message}`);
  }
  const manifest = parseManifest(raw, manifestPath);
  if (manifest.onnx.file !== path.basename(absolute)) {
    throw new ManifestError(manifestPath, `describes ${manifest.onnx.file}, not ${path.basename(absolute)}`);
  }
  // The size first: a truncated copy gets a plainer message than a hash mismatch.
  if (manifest.onnx.bytes !== undefined && manifest.onnx.bytes !== stat.size) {
    throw new ManifestError(absolute, `has ${stat.size} bytes, the manifest says ${manifest.onnx.bytes} (truncated or replaced?)`);
  }
  const sha256 = await sha256File(absolute).catch((error: Error) => {
    throw new ManifestError(absolute, `unreadable: ${error.message}`);
  });
  if (sha256 !== manifest.onnx.sha256.toLowerCase()) {
    throw new ManifestError(absolute, `SHA-256 ${sha256} differs from the manifest's ${manifest.onnx.sha256} (file changed after export?)`);
  }
  return { onnxPath: absolute, manifestPath, manifest, sha256, sizeBytes: stat.size };
}
