/**
 * Paired comparisons of a scope's metrics, from resamples they share (every metric is evaluated on the same
 * resampled items and raters, so a difference's resampled values are paired).
 *
 * For each pair (a, b), in the order the metrics were given (a before b): difference = score(a) - score(b),
 * its percentile interval, and the two-sided paired-bootstrap p-value
 *   p = (1 + #{ |D* - D| >= |D| }) / (B + 1),
 * D* the difference in a resample (centred on D, the resampled distribution stands in for the null's) and B
 * the resamples where both are defined. The p-values of a scope's pairs are Holm-adjusted together;
 * a pair is significant when its adjusted p is under 1 - confidence. Without resamples, p and the adjusted
 * p are null and nothing is significant.
 */
import { estimate, holm, percentileInterval, rankTiers, type Ranked } from './bootstrap';
import type { Estimate } from './judged';

export type { Ranked } from './bootstrap';

export interface Comparison {
  a: string;
  b: string;
  /** score(a) - score(b), with its percentile interval. */
  difference: Estimate;
  /** Null without resamples (or when the difference is undefined). */
  p: number | null;
  pAdjusted: number | null;
  significant: boolean;
}

export interface Compared {
  /** Each metric's point estimate with its interval, in the order given. */
  estimates: Estimate[];
  comparisons: Comparison[];
  ranking: Ranked[];
}

/**
 * @param values each metric's point estimate
 * @param draws each metric's resampled values, metric-major: metric m's at m * resamples .. (m + 1) * resamples - 1
 */
export function compareMetrics(names: readonly string[], values: readonly number[], draws: Float64Array, resamples: number, confidence: number): Compared {
  const count = names.length;
  const of = (m: number) => draws.subarray(m * resamples, (m + 1) * resamples);
  const estimates = values.map((value, m) => estimate(value, of(m), confidence));
  const differences = new Float64Array(resamples);
  const pairs: Array<{ i: number; j: number; difference: Estimate; p: number | null }> = [];
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      const observed = values[i] - values[j];
      const a = of(i);
      const b = of(j);
      let defined = 0;
      let extreme = 0;
      const size = Math.abs(observed);
      for (let r = 0; r < resamples; r++) {
        const d = a[r] - b[r];
        differences[r] = d;
        if (Number.isNaN(d)) continue;
        defined++;
        if (Math.abs(d - observed) >= size) extreme++;
      }
      const p = resamples === 0 || defined === 0 || Number.isNaN(observed) ? null : (1 + extreme) / (defined + 1);
      const interval = resamples === 0 || Number.isNaN(observed) ? { low: null, high: null } : percentileInterval(differences, confidence);
      pairs.push({ i, j, difference: { value: observed, ...interval }, p });
    }
  }
  const tested = pairs.filter((pair) => pair.p !== null);
  const adjusted = holm(tested.map((pair) => pair.p!));
  const adjustedOf = new Map(tested.map((pair, k) => [pair, adjusted[k]]));
  const significant = new Uint8Array(count * count);
  const comparisons = pairs.map((pair): Comparison => {
    const pAdjusted = adjustedOf.get(pair) ?? null;
    const isSignificant = pAdjusted !== null && pAdjusted < 1 - confidence;
    if (isSignificant) significant[pair.i * count + pair.j] = significant[pair.j * count + pair.i] = 1;
    return { a: names[pair.i], b: names[pair.j], difference: pair.difference, p: pair.p, pAdjusted, significant: isSignificant };
  });
  const ranking = rankTiers(names, values, resamples > 0 ? (i, j) => significant[i * count + j] === 1 : null);
  return { estimates, comparisons, ranking };
}
