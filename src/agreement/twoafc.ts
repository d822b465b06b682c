/**
 * 2AFC agreement: how often a metric picks the candidate the physicians picked.
 *
 * Per item, h = the share of its judgments that chose p1 (in a two-way resample: the judgments weighted by
 * their raters' weights). A metric with d0 = d(ref, p0) and d1 = d(ref, p1) is credited
 *   (d0 < d1) * (1 - h) + (d1 < d0) * h + (d0 == d1) * 0.5
 * (LPIPS's score_2afc_dataset: a tie earns half), and its 2AFC score is the mean credit over the scope's
 * items; items without judgments are left out. Two human ceilings, not to be confused:
 * - pairwise ("two random raters agree"): per item with n >= 2 judgments, k of them choosing p1,
 *   [k(k-1) + (n-k)(n-k-1)] / [n(n-1)] (the unbiased form of h^2 + (1-h)^2), averaged over those items;
 * - oracle ("the best a deterministic metric can do"): the mean of max(h, 1 - h).
 * In a two-way resample, the pairwise ceiling counts pairs of judgments by distinct raters, each pair
 * weighted by the product of its raters' weights: with weighted counts n = sum w, k = sum w over the answers
 * of 1, agreeing pairs (k^2 - sum w^2 over answers of 1) + ((n-k)^2 - sum w^2 over answers of 0) over all
 * pairs n^2 - sum w^2. A rater drawn twice thus never "agrees with itself" (plain weighted k(k-1) would count
 * its copies as two raters who agree); with all weights 1 it is the formula above; an item left with fewer
 * than two distinct raters drops out of that resample's pairwise mean.
 *
 * Speed: each metric's choices (p0 closer, p1 closer, tie) are listed once per scope; a resample computes
 * per item its weight e and lean = e (2h - 1), and each metric then sums lean over the shorter of its p0 and
 * p1 lists and over its ties (see the resample loop): no allocation, about half the items per metric.
 */
import { analysedItems, checkDistances, checkOptions, estimate, scopeResampler } from './bootstrap';
import { compareMetrics, type Comparison, type Ranked } from './compare';
import type { BootstrapOptions, Estimate, Judged, Scope, TwoAfcDistances } from './judged';

export type { Comparison, Ranked } from './compare';

/** A metric's credit on one item: 1 - h when it picks p0, h when it picks p1, 0.5 on a tie (NaN if a distance is). */
export function twoAfcCredit(d0: number, d1: number, h: number): number {
  if (d0 < d1) return 1 - h;
  if (d1 < d0) return h;
  return d0 === d1 ? 0.5 : NaN;
}

/** The chance that two distinct raters of an item agree, k of its n judgments choosing p1 (NaN below n = 2). */
export function pairwiseAgreement(k: number, n: number): number {
  if (n < 2) return NaN;
  return (k * (k - 1) + (n - k) * (n - k - 1)) / (n * (n - 1));
}

/** The best a deterministic metric can be credited on an item with share h choosing p1. */
export function oracleAgreement(h: number): number {
  return h > 0.5 ? h : 1 - h;
}

export interface TwoAfcScopeResult {
  scope: string;
  /** The scope's items with at least one judgment (the others are not counted). */
  items: number;
  judgments: number;
  metrics: Array<{ name: string; score: Estimate }>;
  ceilings: { pairwise: Estimate; oracle: Estimate };
  comparisons: Comparison[];
  ranking: Ranked[];
}

/**
 * Each scope's 2AFC scores, human ceilings, paired comparisons and ranking. All metrics of a scope share its
 * resamples; each scope draws from its own stream (seed and the scope's name). Throws a RangeError when a
 * metric has no value (NaN) for an item of a scope, or on bad options.
 */
export function analyseTwoAfc(judged: Judged, metrics: TwoAfcDistances[], scopes: Scope[], options: BootstrapOptions): TwoAfcScopeResult[] {
  checkOptions(options, metrics.map((metric) => metric.name));
  return scopes.map((scope) => analyseScope(judged, metrics, scope, options));
}

function analyseScope(judged: Judged, metrics: TwoAfcDistances[], scope: Scope, options: BootstrapOptions): TwoAfcScopeResult {
  const { start, rater, answer } = judged;
  const items = analysedItems(judged, scope);
  for (const metric of metrics) {
    checkDistances(metric.name, metric.d0, judged.count, scope.name, items);
    checkDistances(metric.name, metric.d1, judged.count, scope.name, items);
  }
  const size = items.length;
  const metricCount = metrics.length;

  // Per item: its judgments, the share choosing p1 and the two ceilings' terms.
  const share = new Float64Array(size);
  const pairwise = new Float64Array(size); // 0 where n < 2
  const pairwiseCounted = new Float64Array(size); // 1 where n >= 2
  const oracle = new Float64Array(size);
  let judgments = 0;
  for (let j = 0; j < size; j++) {
    const item = items[j];
    const n = start[item + 1] - start[item];
    let k = 0;
    for (let g = start[item]; g < start[item + 1]; g++) k += answer[g];
    judgments += n;
    share[j] = k / n;
    oracle[j] = oracleAgreement(k / n);
    if (n >= 2) {
      pairwise[j] = pairwiseAgreement(k, n);
      pairwiseCounted[j] = 1;
    }
  }

  // Point estimates, literally.
  const scores = metrics.map((metric) => {
    let sum = 0;
    for (let j = 0; j < size; j++) sum += twoAfcCredit(metric.d0[items[j]], metric.d1[items[j]], share[j]);
    return size > 0 ? sum / size : NaN;
  });
  const pairwiseValue = mean(pairwise, pairwiseCounted);
  const oracleValue = size > 0 ? oracle.reduce((sum, value) => sum + value, 0) / size : NaN;

  // Resamples. With e an item's weight in a resample and lean = e (2h - 1), a metric's credit sum is
  //   sum(e (1 - h)) + sum over its p1 picks of lean + sum over its ties of lean / 2
  //   = sum(e h) - sum over its p0 picks of lean - sum over its ties of lean / 2,
  // so each metric keeps the shorter of its p0 and p1 lists, and its ties: about half the items per resample.
  const picks = metrics.map((metric) => {
    const p0: number[] = [];
    const p1: number[] = [];
    const ties: number[] = [];
    for (let j = 0; j < size; j++) {
      const d0 = metric.d0[items[j]];
      const d1 = metric.d1[items[j]];
      (d0 < d1 ? p0 : d1 < d0 ? p1 : ties).push(j);
    }
    const fromP1 = p1.length <= p0.length;
    return { fromP1, list: Int32Array.from(fromP1 ? p1 : p0), ties: Int32Array.from(ties) };
  });
  const resamples = size > 0 ? options.resamples : 0;
  const draws = new Float64Array(metricCount * resamples);
  const pairwiseDraws = new Float64Array(resamples);
  const oracleDraws = new Float64Array(resamples);
  if (resamples > 0) {
    const resampler = scopeResampler('TWO_AFC', scope.name, options.seed, size, judged.raterCount, options.twoWay);
    const counts = resampler.itemCounts;
    const weights = resampler.raterWeights;
    const lean = new Float64Array(size);
    for (let b = 0; b < resamples; b++) {
      resampler.draw(b);
      let total = 0; // sum of e
      let totalShare = 0; // sum of e h
      let pairwiseSum = 0;
      let pairwiseItems = 0;
      let oracleSum = 0;
      if (weights === null) {
        // Items only: h is fixed and every draw counts (e = the count).
        for (let j = 0; j < size; j++) {
          const c = counts[j];
          const h = share[j];
          lean[j] = c * (2 * h - 1);
          totalShare += c * h;
          pairwiseSum += c * pairwise[j];
          pairwiseItems += c * pairwiseCounted[j];
          oracleSum += c * oracle[j];
        }
        total = size;
      } else {
        for (let j = 0; j < size; j++) {
          const c = counts[j];
          lean[j] = 0;
          if (c === 0) continue;
          const item = items[j];
          let n = 0;
          let k = 0;
          let squares = 0;
          for (let g = start[item]; g < start[item + 1]; g++) {
            const w = weights[rater[g]];
            const a = answer[g];
            n += w;
            k += a * w;
            squares += w * w;
          }
          if (n === 0) continue; // every rater of the item left out: the item drops out
          const h = k / n;
          lean[j] = c * (2 * h - 1);
          total += c;
          totalShare += c * h;
          oracleSum += c * (h > 0.5 ? h : 1 - h);
          const pairs = n * n - squares; // ordered pairs of judgments by distinct raters, weighted
          if (pairs > 0) {
            pairwiseSum += (c * (k * k + (n - k) * (n - k) - squares)) / pairs;
            pairwiseItems += c;
          }
        }
      }
      pairwiseDraws[b] = pairwiseSum / pairwiseItems; // NaN when no item kept two distinct raters
      oracleDraws[b] = oracleSum / total;
      for (let m = 0; m < metricCount; m++) {
        const { fromP1, list, ties } = picks[m];
        let picked = 0;
        for (let k = 0; k < list.length; k++) picked += lean[list[k]];
        let tied = 0;
        for (let k = 0; k < ties.length; k++) tied += lean[ties[k]];
        const sum = fromP1 ? total - totalShare + picked + 0.5 * tied : totalShare - picked - 0.5 * tied;
        draws[m * resamples + b] = sum / total;
      }
    }
  }

  const compared = compareMetrics(
    metrics.map((metric) => metric.name),
    scores,
    draws,
    resamples,
    options.confidence,
  );
  return {
    scope: scope.name,
    items: size,
    judgments,
    metrics: metrics.map((metric, m) => ({ name: metric.name, score: compared.estimates[m] })),
    ceilings: {
      pairwise: estimate(pairwiseValue, pairwiseDraws, options.confidence),
      oracle: estimate(oracleValue, oracleDraws, options.confidence),
    },
    comparisons: compared.comparisons,
    ranking: compared.ranking,
  };
}

function mean(values: Float64Array, counted: Float64Array): number {
  let sum = 0;
  let count = 0;
  for (let j = 0; j < values.length; j++) {
    sum += values[j];
    count += counted[j];
  }
  return count > 0 ? sum / count : NaN;
}
