/**
 * Metrics on decoded images: requests checked against the catalog, the data range from the bit depths,
 * and the engine's scoring on its worker threads. Knows nothing of where images are stored.
 */
import { checkParamValue } from '../distortions/spec';
import type { FloatImage } from '../platform/native';
import { nativeEngine } from '../platform/native';
import { badUserInput } from '../platform/errors';
import { METRICS, metricSpec, type MetricSpec } from './catalog';

export interface MetricRequest {
  name: string;
  params?: Record<string, unknown> | null;
}

export interface CheckedMetric {
  spec: MetricSpec;
  params: Record<string, number>;
}

/** A decoded image with what fixes its data range: the PNG depth and the bits its data has. */
export interface ScoredImage extends FloatImage {
  bitDepth: 8 | 16;
  /** Bits of the data: the PNG depth, or fewer when the image records them (DICOM BitsStored). */
  dataBits: number;
}

export interface MetricValue {
  metric: string;
  params: Record<string, number>;
  version: number;
  /** Infinite for PSNR of identical images. */
  value: number;
  /** The data range the value was computed with, as bits (L = 2^dataBits - 1 levels). */
  dataBits: number;
  /** The per-pixel map (1 channel, the pair's size), when asked for. */
  map: { data: Float32Array; width: number; height: number } | null;
}

export function checkMetrics(requests: MetricRequest[], field = 'metrics'): CheckedMetric[] {
  if (requests.length === 0) throw badUserInput(field, 'name at least one metric', { allowed: METRICS.map((m) => m.name) });
  return requests.map((request, index) => {
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
    return { spec, params };
  });
}

/**
 * The bits that fix the data range of a pair: `requested` when given (at most the PNG depth), else the
 * larger of the two images' data bits. L in sample units is (2^bits - 1) / (2^depth - 1).
 */
export function dataBitsOf(a: ScoredImage, b: ScoredImage, requested: number | null | undefined, field = 'dataBits'): number {
  const depth = Math.max(a.bitDepth, b.bitDepth);
  if (requested === null || requested === undefined) return Math.max(a.dataBits, b.dataBits);
  if (!Number.isInteger(requested) || requested < 1 || requested > depth) {
    throw badUserInput(field, `must be an integer in [1, ${depth}] (the images are ${depth}-bit), got ${requested}`, { min: 1, max: depth });
  }
  return requested;
}

export function checkSameShape(a: ScoredImage, b: ScoredImage, field = 'b'): void {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw badUserInput(field, `images differ in shape: ${a.width}x${a.height}x${a.channels} vs ${b.width}x${b.height}x${b.channels}; metrics compare images of one size and channel count`);
  }
}

/** Every metric on one pair. An engine refusal (image too small, samples beyond the data range) is a typed error. */
export async function scorePair(
  a: ScoredImage,
  b: ScoredImage,
  metrics: CheckedMetric[],
  options: { dataBits?: number | null; maps?: boolean; field?: string } = {},
): Promise<MetricValue[]> {
  checkSameShape(a, b);
  const dataBits = dataBitsOf(a, b, options.dataBits);
  const depth = Math.max(a.bitDepth, b.bitDepth);
  const dataRange = (2 ** dataBits - 1) / (2 ** depth - 1);
  const scores = await nativeEngine().score(
    [{ a: a.data, b: b.data, width: a.width, height: a.height, channels: a.channels, dataRange }],
    metrics.map(({ spec, params }) => ({ name: spec.name, params })),
    { maps: options.maps ?? false },
  );
  return metrics.map(({ spec, params }, index) => {
    const error = scores.errors[index];
    if (error) {
      const field = error.includes('outside the data range') ? 'dataBits' : `${options.field ?? 'metrics'}[${index}]`;
      const hint = field === 'dataBits' ? ` (the data range is ${dataBits} bits: pass dataBits to match the data)` : '';
      throw badUserInput(field, `${error}${hint}`, { metric: spec.name, dataBits });
    }
    return { metric: spec.name, params, version: spec.version, value: scores.values[index], dataBits, map: options.maps ? { data: scores.maps[index], width: a.width, height: a.height } : null };
  });
}
