/** The analysis as GraphQL and the CLI present it: flat options, the study by id, JSON-safe numbers. */
import type { Analysis } from './analysis';

/** Infinite values (PSNR of an unchanged pair, and thresholds at it) become null, as JSON has no Infinity. */
function finite(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(finite);
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, finite(v)]));
  return value;
}

export function analysisView(analysis: Analysis) {
  const { study, options, ...rest } = analysis;
  return finite({ ...rest, studyId: study.id, resamples: options.resamples, seed: options.seed, confidence: options.confidence, twoWay: options.twoWay }) as Omit<Analysis, 'study' | 'options'> & {
    studyId: string;
    resamples: number;
    seed: number;
    confidence: number;
    twoWay: boolean;
  };
}
