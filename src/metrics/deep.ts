/**
 * Deep-feature distances (LPIPS-style) from a registered ONNX backbone: the ResNet50 classifier of the
 * study, or any backbone a user exports with a `deepMetric` section in its manifest (training/README.md).
 * The manifest names the feature outputs, the ones the distance uses by default, the input size (null: the
 * image's own size) and an optional file of non-negative per-channel weights (LPIPS's "lin" layers). The
 * features and the distance are computed on the inference pool's worker threads (models/inference-worker.ts).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelManifest } from '../models/manifest';
import type { FeatureImage, InferencePool } from '../models/inference';
import { badUserInput } from '../platform/errors';
import type { FloatImage } from '../platform/native';

/** What the distance needs from a model: its file, input and feature outputs. */
export interface DeepModel {
  name: string;
  path: string;
  /** The .onnx SHA-256, with the weights file's after a "+" when there is one: what a stored score is keyed by. */
  hash: string;
  inputName: string;
  inputChannels: 1 | 3;
  /** Null: images at their own size; N: resized to N x N (antialiased bilinear) first. */
  inputSize: number | null;
  layers: string[];
  defaultLayers: string[];
  weights: Record<string, Float32Array> | null;
}

export const LIN_WEIGHTS_FORMAT = 'medpsim-lin-weights';

/** Checked lin weights by file version (path, size, mtime, inode), expected hash and layers. */
const linWeightsCache = new Map<string, { weights: Record<string, Float32Array>; sha256: string }>();

interface DeepMetricSection {
  layers?: unknown;
  defaultLayers?: unknown;
  inputSize?: unknown;
  linWeights?: { file?: unknown; sha256?: unknown } | null;
}

const strings = (value: unknown): value is string[] => Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string');

/**
 * The deep-metric description of a model (`field` names the request's model field in errors): from the
 * manifest's deepMetric section, or, for classifier exports that predate it, their featureLayers.
 */
export async function describeDeepModel(model: { name: string; path: string; sha256: string; manifest: ModelManifest }, field: string): Promise<DeepModel> {
  const manifest = model.manifest;
  const section = (manifest.deepMetric ?? (strings(manifest.featureLayers) ? { layers: manifest.featureLayers } : null)) as DeepMetricSection | null;
  const refuse = (message: string) => badUserInput(field, `model ${model.name}: ${message}`);
  if (!section || !strings(section.layers)) throw refuse('has no feature outputs for a deep metric (its manifest has no deepMetric.layers)');
  const layers = section.layers;
  const outputs = new Set(manifest.outputs.map((output) => output.name));
  const missing = layers.find((layer) => !outputs.has(layer));
  if (missing) throw refuse(`deepMetric.layers names "${missing}", which is not one of its outputs`);
  const defaults = section.defaultLayers === undefined ? layers : section.defaultLayers;
  if (!strings(defaults) || defaults.some((layer) => !layers.includes(layer))) throw refuse('deepMetric.defaultLayers must name some of deepMetric.layers');
  const inputSize = section.inputSize ?? null;
  if (inputSize !== null && !(Number.isInteger(inputSize) && (inputSize as number) >= 8 && (inputSize as number) <= 4096)) {
    throw refuse('deepMetric.inputSize must be null (native size) or an integer in [8, 4096]');
  }
  const input = manifest.inputs[0];
  const channels = input.shape[1];
  if (channels !== 1 && channels !== 3) throw refuse(`its input ${input.name} must take 1 or 3 channels, its shape is [${input.shape.join(', ')}]`);
  const pre = (input.preprocessing ?? {}) as { valueRange?: unknown; normalization?: { inGraph?: unknown } | null };
  if (pre.valueRange !== undefined && JSON.stringify(pre.valueRange) !== '[0,1]') throw refuse('its input must take samples in [0, 1] (valueRange [0, 1]); other ranges belong in the graph');
  if (pre.normalization && pre.normalization.inGraph !== true) throw refuse('its normalisation must be part of the graph (preprocessing.normalization.inGraph)');
  let weights: Record<string, Float32Array> | null = null;
  let hash = model.sha256;
  if (section.linWeights) {
    const { file, sha256 } = section.linWeights;
    if (typeof file !== 'string' || path.basename(file) !== file || typeof sha256 !== 'string') throw refuse('deepMetric.linWeights must give file (beside the model) and sha256');
    const full = path.join(path.dirname(model.path), file);
    const stamp = await stat(full).then((info) => `${full}|${info.size}|${info.mtimeMs}|${info.ino}|${sha256}|${layers.join(',')}`, (error: Error) => {
      throw refuse(`weights file ${file}: ${error.message}`);
    });
    // Read, hashed and parsed once per file version (a scoring job checks its metrics for every item).
    let known = linWeightsCache.get(stamp);
    if (!known) {
      const bytes = await readFile(full).catch((error: Error) => {
        throw refuse(`weights file ${file}: ${error.message}`);
      });
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== sha256.toLowerCase()) throw refuse(`weights file ${file} has SHA-256 ${actual}, the manifest says ${sha256}`);
      known = { weights: parseLinWeights(bytes.toString('utf8'), layers, (message) => refuse(`weights file ${file}: ${message}`)), sha256: actual };
      linWeightsCache.set(stamp, known);
    }
    weights = known.weights;
    hash = `${model.sha256}+${known.sha256}`;
  }
  return {
    name: model.name,
    path: model.path,
    hash,
    inputName: input.name,
    inputChannels: channels,
    inputSize: inputSize as number | null,
    layers,
    defaultLayers: defaults,
    weights,
  };
}

/** `{"format": "medpsim-lin-weights", "version": 1, "layers": {"<output>": [w, ...]}}`, weights >= 0. */
function parseLinWeights(text: string, layers: string[], refuse: (message: string) => Error): Record<string, Float32Array> {
  let doc: { format?: unknown; version?: unknown; layers?: Record<string, unknown> };
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw refuse(`not valid JSON: ${(error as Error).message}`);
  }
  if (doc.format !== LIN_WEIGHTS_FORMAT || doc.version !== 1 || typeof doc.layers !== 'object' || doc.layers === null) {
    throw refuse(`must be {"format": "${LIN_WEIGHTS_FORMAT}", "version": 1, "layers": {...}}`);
  }
  const weights: Record<string, Float32Array> = {};
  for (const layer of layers) {
    const values = doc.layers[layer];
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      throw refuse(`layers.${layer} must be a list of non-negative numbers (one per channel)`);
    }
    weights[layer] = Float32Array.from(values as number[]);
  }
  return weights;
}

/** The layers a request uses: the manifest's default, or the ones named (each one of the model's). */
export function chooseLayers(model: DeepModel, requested: string[] | null | undefined, field: string): string[] {
  if (!requested || requested.length === 0) return model.defaultLayers;
  for (const layer of requested) {
    if (!model.layers.includes(layer)) throw badUserInput(field, `model ${model.name} has no feature layer "${String(layer).slice(0, 80)}"`, { allowed: model.layers });
  }
  return [...new Set(requested)];
}

/** An image for the worker, which resizes it to the manifest's input size (the key says which size). */
function modelImage(model: DeepModel, image: FloatImage, key: string | null): FeatureImage {
  return { key: key === null ? null : `${key}@${model.inputSize ?? 'native'}`, data: image.data, width: image.width, height: image.height, channels: image.channels };
}

/**
 * Distances of pairs of images (indices into `images`), each image through the model once; `keys` (content
 * hashes, or null) let the worker keep a reference's features for the next request.
 */
export async function deepDistances(
  pool: InferencePool,
  model: DeepModel,
  layers: string[],
  images: Array<{ image: FloatImage; key: string | null }>,
  pairs: Array<[number, number]>,
): Promise<{ distances: number[]; note: string | null }> {
  const result = await pool.distances(model.path, {
    inputName: model.inputName,
    inputSize: model.inputSize,
    inputChannels: model.inputChannels,
    layers,
    weights: model.weights,
    images: images.map(({ image, key }) => modelImage(model, image, key)),
    pairs,
  });
  return { distances: result.distances, note: result.note };
}
