/**
 * JND agreement: how well a metric's distance d(p0, p1) ranks the pairs physicians called "same".
 *
 * Per item, s = the share of its judgments that said "same" (in a two-way resample: weighted by the raters'
 * weights), a soft positive label. Per metric the items are sorted by distance, ascending, and a threshold
 * at each distinct distance calls everything at or below it "same": TP = cumsum(w s), FP = cumsum(w (1 - s))
 * (w: the item's weight, 1 in the full sample, its draw count in a resample), precision = TP / (TP + FP),
 * recall = TP / sum(w s). Average precision is VOC's later (2010+) form, not the 11-point one: recall gets
 * the sentinels 0 and 1, precision 0 and 0, precision is made monotone from the right (each point takes the
 * best precision at its recall or beyond), and AP = sum over recall steps of (step) * (precision after it).
 *
 * Ties: items of equal distance enter together, as one threshold and one PR point, so the AP does not
 * depend on how tied items are ordered (LPIPS's score_jnd_dataset takes argsort's order instead; with no
 * ties the two agree). Points with no weight yet (TP + FP = 0) are left out: they add no area.
 * With no positive mass (sum(w s) = 0: nobody said "same") recall is undefined: AP is NaN and the curve empty;
 * such resamples drop out of the intervals, and a scope with none has NaN estimates and untested pairs.
 *
 * Speed: each metric's items are sorted and grouped once per scope; a resample is then one O(n) pass over
 * that order per metric (from the largest distance down, see resampledAveragePrecision), no allocation.
 */
import { analysedItems, checkDistances, checkOptions, scopeResampler } from './bootstrap';
import { compareMetrics, type Comparison, type Ranked } from './compare';
import type { BootstrapOptions, Estimate, Judged, JndDistances, Scope } from './judged';

export type { Comparison, Ranked } from './compare';

/** One PR point: everything with distance <= threshold called "same". Precision is the raw one (not made monotone). */
export interface PrPoint {
  threshold: number;
  recall: number;
  precision: number;
}

/** Items in ascending distance (ties in index order), and where each group of equal distances ends. */
interface DistanceOrder {
  order: Int32Array;
  /** Group g is order[groupEnds[g - 1] .. groupEnds[g] - 1] (groupEnds[-1] = 0). */
  groupEnds: Int32Array;
}

function orderByDistance(distance: ArrayLike<number>): DistanceOrder {
  const count = distance.length;
  for (let i = 0; i < count; i++) if (Number.isNaN(distance[i])) throw new RangeError(`distance ${i} is NaN`);
  const order = Int32Array.from({ length: count }, (_, i) => i).sort((a, b) => distance[a] - distance[b] || a - b);
  const ends: number[] = [];
  for (let k = 1; k <= count; k++) if (k === count || distance[order[k]] !== distance[order[k - 1]]) ends.push(k);
  return { order, groupEnds: Int32Array.from(ends) };
}

/** VOC's AP from PR points (recall ascending): sentinels, precision monotone from the right, area of the steps. */
function vocAveragePrecision(recall: ArrayLike<number>, precision: ArrayLike<number>, points: number): number {
  let best = 0; // the sentinel precision after recall 1
  let area = 0;
  for (let k = points - 1; k >= 0; k--) {
    if (precision[k] > best) best = precision[k];
    area += (recall[k] - (k > 0 ? recall[k - 1] : 0)) * best;
  }
  return area;
}

/**
 * One metric's AP in a resample, in one pass from the largest distance down. Going down, the points come in
 * order of decreasing recall, so "the best precision at this recall or beyond" is a running maximum; a
 * group's point is (TP, TP + FP) = (positive, total) less what lies above it, and its items' share of the area
 * is their w s times that maximum. Same sum as vocAveragePrecision over the forward points (a group without
 * weight repeats the point below it and adds no area; points with nothing called yet are skipped).
 */
function resampledAveragePrecision(walk: Int32Array, offset: number, size: number, weighted: Float64Array, positive: number, total: number): number {
  let positiveAbove = 0;
  let weightAbove = 0;
  let best = 0; // the sentinel precision after recall 1
  let area = 0;
  for (let k = offset + size - 1; k >= offset; k--) {
    const step = walk[k];
    const at = step & ~1;
    if ((step & 1) === 1) {
      const called = total - weightAbove;
      if (called > 0) {
        const precision = (positive - positiveAbove) / called;
        if (precision > best) best = precision;
      }
    }
    const positiveHere = weighted[at + 1];
    area += positiveHere * best;
    positiveAbove += positiveHere;
    weightAbove += weighted[at];
  }
  return area / positive;
}

function curveOf(distance: ArrayLike<number>, sorted: DistanceOrder, same: ArrayLike<number>, weight: ArrayLike<number> | undefined): { ap: number; curve: PrPoint[] } {
  const { order, groupEnds } = sorted;
  const w = (i: number) => (weight === undefined ? 1 : weight[i]);
  let positive = 0;
  for (let i = 0; i < distance.length; i++) positive += w(i) * same[i];
  if (!(positive > 0)) return { ap: NaN, curve: [] };
  const curve: PrPoint[] = [];
  let truePositive = 0;
  let falsePositive = 0;
  let k = 0;
  for (const end of groupEnds) {
    let groupWeight = 0;
    for (; k < end; k++) {
      const i = order[k];
      truePositive += w(i) * same[i];
      falsePositive += w(i) * (1 - same[i]);
      groupWeight += w(i);
    }
    if (groupWeight > 0 && truePositive + falsePositive > 0) {
      curve.push({ threshold: distance[order[end - 1]], recall: truePositive / positive, precision: truePositive / (truePositive + falsePositive) });
    }
  }
  const ap = vocAveragePrecision(
    curve.map((point) => point.recall),
    curve.map((point) => point.precision),
    curve.length,
  );
  return { ap, curve };
}

/**
 * VOC (2010+) average precision of a distance against soft "same" labels, ties grouped, with optional item
 * weights; and the PR curve, one point per distinct distance that carries weight.
 */
export function averagePrecision(distance: ArrayLike<number>, same: ArrayLike<number>, weight?: ArrayLike<number>): { ap: number; curve: PrPoint[] } {
  if (same.length !== distance.length || (weight !== undefined && weight.length !== distance.length)) {
    throw new RangeError(`averagePrecision: ${distance.length} distances, ${same.length} labels, ${weight?.length ?? 'no'} weights`);
  }
  return curveOf(distance, orderByDistance(distance), same, weight);
}

export interface JndScopeResult {
  scope: string;
  /** The scope's items with at least one judgment (the others are not counted). */
  items: number;
  judgments: number;
  /** The share of those judgments that said "same". */
  sameShare: number;
  metrics: Array<{ name: string; map: Estimate; curve: PrPoint[] }>;
  comparisons: Comparison[];
  ranking: Ranked[];
}

/**
 * Each scope's JND average precision per metric (with its PR curve), paired comparisons and ranking. All
 * metrics of a scope share its resamples; each scope draws from its own stream (seed and the scope's name).
 * Throws a RangeError when a metric has no value (NaN) for an item of a scope, or on bad options.
 */
export function analyseJnd(judged: Judged, metrics: JndDistances[], scopes: Scope[], options: BootstrapOptions): JndScopeResult[] {
  checkOptions(options, metrics.map((metric) => metric.name));
  return scopes.map((scope) => analyseScope(judged, metrics, scope, options));
}

function analyseScope(judged: Judged, metrics: JndDistances[], scope: Scope, options: BootstrapOptions): JndScopeResult {
  const { start, rater, answer } = judged;
  const items = analysedItems(judged, scope);
  for (const metric of metrics) checkDistances(metric.name, metric.distance, judged.count, scope.name, items);
  const size = items.length;
  const metricCount = metrics.length;

  const same = new Float64Array(size);
  let judgments = 0;
  let saidSame = 0;
  for (let j = 0; j < size; j++) {
    const item = items[j];
    let k = 0;
    for (let g = start[item]; g < start[item + 1]; g++) k += answer[g];
    const n = start[item + 1] - start[item];
    same[j] = k / n;
    judgments += n;
    saidSame += k;
  }

  // Each metric's walk over the scope's items, metric-major, in ascending distance: per place 2 j (the item's
  // place in `weighted`) + 1 where it ends a group of equal distances (a threshold); and the full sample's curve.
  const walk = new Int32Array(metricCount * size);
  const points: Array<{ ap: number; curve: PrPoint[] }> = [];
  metrics.forEach((metric, m) => {
    const distance = new Float64Array(size);
    for (let j = 0; j < size; j++) distance[j] = metric.distance[items[j]];
    const sorted = orderByDistance(distance);
    for (let k = 0; k < size; k++) walk[m * size + k] = 2 * sorted.order[k];
    for (const end of sorted.groupEnds) walk[m * size + end - 1] |= 1;
    points.push(curveOf(distance, sorted, same, undefined));
  });

  const resamples = size > 0 ? options.resamples : 0;
  const draws = new Float64Array(metricCount * resamples);
  if (resamples > 0) {
    const resampler = scopeResampler('JND', scope.name, options.seed, size, judged.raterCount, options.twoWay);
    const counts = resampler.itemCounts;
    const weights = resampler.raterWeights;
    // Per item, interleaved: its weight w (0 if it drops out) and w s.
    const weighted = new Float64Array(2 * size);
    for (let b = 0; b < resamples; b++) {
      resampler.draw(b);
      let positive = 0; // sum of w s
      let total = 0; // sum of w (an integer: exact)
      for (let j = 0; j < size; j++) {
        const c = counts[j];
        let s = same[j];
        let w = c;
        if (weights !== null && c > 0) {
          const item = items[j];
          let n = 0;
          let k = 0;
          for (let g = start[item]; g < start[item + 1]; g++) {
            const rw = weights[rater[g]];
            n += rw;
            k += answer[g] * rw;
          }
          s = n > 0 ? k / n : 0;
          if (n === 0) w = 0; // every rater of the item left out: the item drops out
        }
        weighted[2 * j] = w;
        weighted[2 * j + 1] = w * s;
        positive += w * s;
        total += w;
      }
      for (let m = 0; m < metricCount; m++) {
        draws[m * resamples + b] = positive > 0 ? resampledAveragePrecision(walk, m * size, size, weighted, positive, total) : NaN;
      }
    }
  }

  const compared = compareMetrics(
    metrics.map((metric) => metric.name),
    points.map((point) => point.ap),
    draws,
    resamples,
    options.confidence,
  );
  return {
    scope: scope.name,
    items: size,
    judgments,
    sameShare: judgments > 0 ? saidSame / judgments : NaN,
    metrics: metrics.map((metric, m) => ({ name: metric.name, map: compared.estimates[m], curve: points[m].curve })),
    comparisons: compared.comparisons,
    ranking: compared.ranking,
  };
}
