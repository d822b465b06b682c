/** The analysis as GraphQL and the CLI present it: flat options, the study by id, JSON-safe numbers. */
import type { Analysis } from './analysis';

/** NaN and infinities (PSNR of an unchanged pair, an undefined ceiling) as null: JSON and CSV have neither. */
export const finite = (value: number | null | undefined): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

function finiteEverywhere(value: unknown): unknown {
  if (typeof value === 'number') return finite(value);
  if (Array.isArray(value)) return value.map(finiteEverywhere);
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, finiteEverywhere(v)]));
  return value;
}

export function analysisView(analysis: Analysis) {
  const { study, options, ...rest } = analysis;
  return finiteEverywhere({ ...rest, studyId: study.id, resamples: options.resamples, seed: options.seed, confidence: options.confidence, twoWay: options.twoWay }) as Omit<Analysis, 'study' | 'options'> & {
    studyId: string;
    resamples: number;
    seed: number;
    confidence: number;
    twoWay: boolean;
  };
}
