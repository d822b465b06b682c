/**
 * A study's analysis on request: the data is read from the store (cheap), and the statistics (seconds for a
 * large study with a thousand resamples) run on a worker thread, one analysis at a time, a few waiting.
 * Results are kept by the data's fingerprint and the options, so the page, its downloads and GraphQL
 * share one computation, and a new judgment or stored score makes the next request compute afresh.
 */
import type { MetricRequest } from '../metrics/engine';
import type { App } from '../platform/app';
import { badUserInput, requireIntInRange } from '../platform/errors';
import { Lane } from '../platform/lane';
import { moduleFile, runInWorker } from '../platform/worker';
import type { Analysis, AnalysisOptions } from './analysis';
import { loadStudyData } from './data';

export interface AnalysisRequest {
  includeSimulated?: boolean | null;
  metrics?: MetricRequest[] | null;
  resamples?: number | null;
  seed?: number | null;
  confidence?: number | null;
  twoWay?: boolean | null;
}

export const ANALYSIS_DEFAULTS = { resamples: 1000, seed: 1, confidence: 0.95 } as const;
export const MAX_RESAMPLES = 10_000;

export function analysisOptions(request: AnalysisRequest): AnalysisOptions {
  const confidence = request.confidence ?? ANALYSIS_DEFAULTS.confidence;
  if (!(confidence >= 0.5 && confidence <= 0.999)) throw badUserInput('confidence', `must be in [0.5, 0.999], got ${confidence}`, { min: 0.5, max: 0.999 });
  return {
    includeSimulated: request.includeSimulated ?? false,
    resamples: requireIntInRange('resamples', request.resamples ?? ANALYSIS_DEFAULTS.resamples, 0, MAX_RESAMPLES),
    seed: requireIntInRange('seed', request.seed ?? ANALYSIS_DEFAULTS.seed, 0, 2 ** 31 - 1),
    confidence,
    twoWay: request.twoWay ?? false,
  };
}

const CACHED = 8;
const cache = new WeakMap<App, Map<string, Promise<Analysis>>>();
const lanes = new WeakMap<App, Lane>();

export async function studyAnalysis(app: App, studyId: string, request: AnalysisRequest = {}): Promise<Analysis> {
  const options = analysisOptions(request);
  const data = await loadStudyData(app, studyId, { includeSimulated: options.includeSimulated, metrics: request.metrics ?? null });
  const key = JSON.stringify([data.fingerprint, options]);
  const kept = cache.get(app) ?? cache.set(app, new Map()).get(app)!;
  const found = kept.get(key);
  if (found) {
    kept.delete(key); // most recently used last
    kept.set(key, found);
    return found;
  }
  const lane = lanes.get(app) ?? lanes.set(app, new Lane('analyses', 1, 4)).get(app)!;
  const running = lane.run(new AbortController().signal, () => runInWorker<Analysis>(moduleFile(__dirname, 'analysis'), 'analyse', { data, options }));
  kept.set(key, running);
  running.catch(() => kept.delete(key));
  while (kept.size > CACHED) kept.delete(kept.keys().next().value!);
  return running;
}
