/**
 * Metrics on decoded images: requests checked against the catalog (and, for deep metrics, against the named
 * model), the data range from the bit depths, the native engine's metrics on its worker threads and the
 * deep-feature ones on the inference pool's. Knows nothing of where images are stored.
 */
import { chooseBackend, type BackendChoice } from '../distortions/apply';
import { checkParamValue } from '../distortions/spec';
import type { InferencePool } from '../models/inference';
import { badUserInput } from '../platform/errors';
import type { FloatImage } from '../platform/native';
import { nativeEngine } from '../platform/native';
import { METRICS, metricSpec, type MetricSpec } from './catalog';
import { chooseLayers, deepDistances, type DeepModel } from './deep';

export interface MetricRequest {
  name: string;
  params?: Record<string, unknown> | null;
  /** Deep metrics: the registered model (or, on the command line, the model file). */
  model?: string | null;
  /** Deep metrics: feature outputs to use instead of the manifest's default. */
  layers?: string[] | null;
}

export interface CheckedMetric {
  spec: MetricSpec;
  params: Record<string, number>;
  deep: { model: DeepModel; layers: string[] } | null;
}

/** Finds a deep metric's model by the name a request gives; BAD_USER_INPUT naming `field` when it cannot. */
export type DeepModelFinder = (name: string, field: string) => Promise<DeepModel>;

/** A decoded image with what fixes its data range: the PNG depth and the bits its data has. */
export interface ScoredImage extends FloatImage {
  bitDepth: 8 | 16;
  /** Bits of the data: the PNG depth, or fewer when the image records them (DICOM BitsStored). */
  dataBits: number;
}

export interface MetricValue {
  metric: string;
  params: Record<string, number>;
  /** Deep metrics: the model and the layers used. */
  model: string | null;
  layers: string[] | null;
  version: number;
  /** Infinite for PSNR of identical images. */
  value: number;
  /** The data range the value was computed with, as bits (L = 2^dataBits - 1 levels). */
  dataBits: number;
  /** The per-pixel map (1 channel, the pair's size), when asked for (engine metrics only). */
  map: { data: Float32Array; width: number; height: number } | null;
  /** Why it ran elsewhere than asked (e.g. onnxruntime's CUDA provider fell back to the CPU). */
  note: string | null;
}

/** The settings part of a stored score's key: parameters (sorted), or the layers of a deep metric. */
export function settingsOf(metric: Pick<CheckedMetric, 'params' | 'deep'>): string {
  if (metric.deep) return JSON.stringify({ layers: metric.deep.layers });
  return JSON.stringify(Object.fromEntries(Object.entries(metric.params).sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** The model part of a stored score's key: '' for engine metrics. */
export const modelHashOf = (metric: Pick<CheckedMetric, 'deep'>): string => metric.deep?.model.hash ?? '';

export async function checkMetrics(requests: MetricRequest[], field = 'metrics', findModel: DeepModelFinder | null = null): Promise<CheckedMetric[]> {
  if (requests.length === 0) throw badUserInput(field, 'name at least one metric', { allowed: METRICS.map((m) => m.name) });
  const checked: CheckedMetric[] = [];
  for (const [index, request] of requests.entries()) {
    const where = `${field}[${index}]`;
    const spec = metricSpec(request.name);
    if (!spec) throw badUserInput(`${where}.name`, `unknown metric "${String(request.name).slice(0, 80)}"`, { allowed: METRICS.map((m) => m.name) });
    const given = request.params ?? {};
    for (const name of Object.keys(given)) {
      if (!spec.params.some((param) => param.name === name)) {
        throw badUserInput(`${where}.params.${name}`, `not a parameter of ${spec.name}`, { allowed: spec.params.map((param) => param.name) });
      }
    }
    const params: Record<string, number> = {};
    for (const param of spec.params) {
      params[param.name] = param.name in given ? checkParamValue(`${where}.params.${param.name}`, param, given[param.name]) : param.default;
    }
    let deep: CheckedMetric['deep'] = null;
    if (spec.model) {
      if (!request.model) throw badUserInput(`${where}.model`, `${spec.name} needs a model: name a registered classifier or backbone`);
      if (!findModel) throw badUserInput(`${where}.model`, `${spec.name} is not available here`);
      const model = await findModel(request.model, `${where}.model`);
      deep = { model, layers: chooseLayers(model, request.layers, `${where}.layers`) };
    } else if (request.model || request.layers?.length) {
      throw badUserInput(request.model ? `${where}.model` : `${where}.layers`, `${spec.name} is computed by the engine and takes no model or layers`);
    }
    checked.push({ spec, params, deep });
  }
  return checked;
}

/** The bits that fix the data range of a pair: `requested` when given (at most the PNG depth), else the larger of the two images' data bits. */
export function dataBitsOf(a: ScoredImage, b: ScoredImage, requested: number | null | undefined, field = 'dataBits'): number {
  const depth = Math.max(a.bitDepth, b.bitDepth);
  if (requested === null || requested === undefined) return Math.max(a.dataBits, b.dataBits);
  if (!Number.isInteger(requested) || requested < 1 || requested > depth) {
    throw badUserInput(field, `must be an integer in [1, ${depth}] (the images are ${depth}-bit), got ${requested}`, { min: 1, max: depth });
  }
  return requested;
}

/** L in sample units for data of `bits` bits stored at `depth` bits (samples are levels / (2^depth - 1)). */
export const dataRangeOf = (bits: number, depth: number): number => (2 ** bits - 1) / (2 ** depth - 1);

export function shapeError(a: FloatImage, b: FloatImage): string | null {
  if (a.width === b.width && a.height === b.height && a.channels === b.channels) return null;
  return `images differ in shape: ${a.width}x${a.height}x${a.channels} vs ${b.width}x${b.height}x${b.channels}; metrics compare images of one size and channel count`;
}

/**
 * Every metric on one pair. An engine refusal (image too small, samples beyond the data range) is a typed
 * error; deep metrics run on `pool` with both images' keys (content hashes) so a reference's features are
 * kept for the next pair.
 */
export async function scorePair(
  a: ScoredImage,
  b: ScoredImage,
  metrics: CheckedMetric[],
  options: { dataBits?: number | null; maps?: boolean; pool?: InferencePool | null; keys?: [string | null, string | null]; backend?: BackendChoice } = {},
): Promise<MetricValue[]> {
  const mismatch = shapeError(a, b);
  if (mismatch) throw badUserInput('b', mismatch);
  const dataBits = dataBitsOf(a, b, options.dataBits);
  const engine = metrics.filter((metric) => !metric.deep);
  const { backend, note: backendNote } = engine.length ? chooseBackend(options.backend ?? 'AUTO') : { backend: 'CPU', note: null };
  const scores = engine.length
    ? await nativeEngine().score(
        [{ a: a.data, b: b.data, width: a.width, height: a.height, channels: a.channels, dataRange: dataRangeOf(dataBits, Math.max(a.bitDepth, b.bitDepth)) }],
        engine.map(({ spec, params }) => ({ name: spec.name, params })),
        { maps: options.maps ?? false, backend: backend === 'CUDA' ? 'cuda' : 'cpu' },
      )
    : null;
  const values: MetricValue[] = [];
  for (const [index, metric] of metrics.entries()) {
    const base = { metric: metric.spec.name, params: metric.params, version: metric.spec.version, dataBits, model: null, layers: null, map: null, note: null };
    if (metric.deep) {
      if (!options.pool) throw badUserInput(`metrics[${index}]`, `${metric.spec.name} needs the inference pool`);
      const keys = options.keys ?? [null, null];
      const { distances, note } = await deepDistances(options.pool, metric.deep.model, metric.deep.layers, [{ image: a, key: keys[0] }, { image: b, key: keys[1] }], [[0, 1]]);
      values.push({ ...base, value: distances[0], model: metric.deep.model.name, layers: metric.deep.layers, note });
      continue;
    }
    const at = engine.indexOf(metric);
    const error = scores!.errors[at];
    if (error) {
      const field = error.includes('outside the data range') ? 'dataBits' : `metrics[${index}]`;
      const hint = field === 'dataBits' ? ` (the data range is ${dataBits} bits: pass dataBits to match the data)` : '';
      throw badUserInput(field, `${error}${hint}`, { metric: metric.spec.name, dataBits });
    }
    const map = options.maps ? { data: scores!.maps[at], width: a.width, height: a.height } : null;
    values.push({ ...base, value: scores!.values[at], map, note: backendNote });
  }
  return values;
}
