/**
 * What the agreement statistics share: seeded resampling, percentile intervals, Holm's adjustment and
 * ranking tiers.
 *
 * Resampling. A scope's analysed items (those with at least one judgment) are drawn with replacement, as
 * many draws as items; a resample is the count of draws per item (Int32Array, reused). With `twoWay`, the
 * raters are drawn too, as many draws as raters, and a rater's weight is how often it was drawn: a
 * judgment counts with its rater's weight, and an item whose judgments all weigh 0 drops out of that
 * resample. Every draw comes from src/synth/random.ts's counter-based hash: resample b of a scope is a pure
 * function of (seed, the scope's stream name, b), and the stream name is hashed into the stream number, so
 * adding, removing or reordering scopes never changes another scope's intervals.
 *
 * Intervals are percentile intervals: the (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of the
 * resampled statistic, linearly interpolated between order statistics (numpy's default `quantile`).
 * Resamples where the statistic is undefined (NaN: e.g. no positive label drawn) are left out.
 */
import { hashAt, mix32, streamKey } from '../synth/random';
import type { Estimate, Judged, Scope } from './judged';

// Module-level aliases: hot loops then never read the global Math object (see src/synth/random.ts).
const { floor, imul } = Math;
const INVERSE_TWO_POW_32 = 1 / 4294967296; // exact: multiplying by it is dividing by 2^32
const DRAW_STREAM = 0x5eed;

/** A 32-bit hash of a name (FNV-1a over UTF-16 code units, then mixed): a scope's stream follows its name. */
export function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = imul(hash ^ name.charCodeAt(i), 0x01000193);
  return mix32(hash);
}

/** Checks what every analysis needs of its options; throws a RangeError naming the bad one. */
export function checkOptions(options: { resamples: number; confidence: number }, metricNames: readonly string[] = []): void {
  if (!Number.isInteger(options.resamples) || options.resamples < 0) throw new RangeError(`resamples must be an integer >= 0, got ${options.resamples}`);
  if (!(options.confidence > 0 && options.confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${options.confidence}`);
  if (new Set(metricNames).size !== metricNames.length) throw new RangeError(`metric names must be distinct: ${metricNames.join(', ')}`);
}

/** The scope's items that have at least one judgment, in the scope's order: what an analysis resamples. */
export function analysedItems(judged: Judged, scope: Scope): Int32Array {
  const kept = new Int32Array(scope.items.length);
  let count = 0;
  for (const item of scope.items) {
    if (!(item >= 0 && item < judged.count)) throw new RangeError(`scope ${scope.name}: item ${item} is not one of the ${judged.count} items`);
    if (judged.start[item + 1] > judged.start[item]) kept[count++] = item;
  }
  return kept.slice(0, count);
}

/** Refuses a metric without a value for every item of a scope: paired comparisons need the same items. */
export function checkDistances(metric: string, values: Float64Array, count: number, scope: string, items: Int32Array): void {
  if (values.length !== count) throw new RangeError(`metric ${metric}: ${values.length} values for ${count} items`);
  for (const item of items) {
    if (Number.isNaN(values[item])) throw new RangeError(`metric ${metric} has no value for item ${item} of scope ${scope}`);
  }
}

/**
 * Draws the resamples of one scope into reused arrays: itemCounts (per analysed item, in the scope's order)
 * and, two-way, raterWeights (per rater of the Judged).
 */
export class Resampler {
  readonly itemCounts: Int32Array;
  readonly raterWeights: Int32Array | null;
  private readonly key: number;
  /** A hash of each draw's number, the same for every resample: a draw then costs one mix of it with the resample's key. */
  private readonly drawHash: Int32Array;

  constructor(seed: number, streamName: string, itemCount: number, raterCount: number, twoWay: boolean) {
    this.key = streamKey(seed, hashName(streamName));
    this.itemCounts = new Int32Array(itemCount);
    this.raterWeights = twoWay ? new Int32Array(raterCount) : null;
    const drawKey = streamKey(seed, DRAW_STREAM);
    this.drawHash = Int32Array.from({ length: itemCount + (twoWay ? raterCount : 0) }, (_, d) => hashAt(drawKey, d));
  }

  /** Fills the arrays with resample number `index`. */
  draw(index: number): void {
    // One key per resample: resample b's draws never depend on how many draws other resamples made.
    const key = hashAt(this.key, index);
    const drawHash = this.drawHash;
    const counts = this.itemCounts;
    const n = counts.length;
    counts.fill(0);
    // floor(word * n / 2^32): uniform on [0, n) (exact in doubles for n < 2^21, and never n).
    for (let d = 0; d < n; d++) counts[floor(mix32(key ^ drawHash[d]) * n * INVERSE_TWO_POW_32)]++;
    const weights = this.raterWeights;
    if (weights !== null) {
      const raters = weights.length;
      weights.fill(0);
      for (let d = 0; d < raters; d++) weights[floor(mix32(key ^ drawHash[n + d]) * raters * INVERSE_TWO_POW_32)]++;
    }
  }
}

/**
 * The resampler of one scope of one test type: its stream is named by both, so a 2AFC scope and a JND scope
 * of the same name draw independently.
 */
export function scopeResampler(test: 'TWO_AFC' | 'JND', scope: string, seed: number, itemCount: number, raterCount: number, twoWay: boolean): Resampler {
  return new Resampler(seed, `${test}\u0000${scope}`, itemCount, raterCount, twoWay);
}

/** The q-quantile of ascending values, interpolated linearly between order statistics (numpy's default). */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const position = q * (sorted.length - 1);
  const below = floor(position);
  const above = below + 1 < sorted.length ? below + 1 : below;
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** The percentile interval of values at `confidence` (NaN values left out); nulls when none is left. */
export function percentileInterval(values: ArrayLike<number>, confidence: number): { low: number | null; high: number | null } {
  const sorted = new Float64Array(values.length);
  let count = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) sorted[count++] = values[i];
  if (count === 0) return { low: null, high: null };
  const kept = sorted.subarray(0, count).sort();
  return { low: sortedQuantile(kept, (1 - confidence) / 2), high: sortedQuantile(kept, (1 + confidence) / 2) };
}

/** A point estimate with the percentile interval of its resampled values (no interval without resamples). */
export function estimate(value: number, resampled: ArrayLike<number>, confidence: number): Estimate {
  if (resampled.length === 0 || Number.isNaN(value)) return { value, low: null, high: null };
  return { value, ...percentileInterval(resampled, confidence) };
}

/**
 * Holm's step-down adjustment: the i-th smallest of m p-values becomes max over j <= i of
 * min(1, (m - j + 1) p_(j)) (1-based), which keeps the family-wise error rate under any dependence.
 */
export function holm(p: number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((index, position) => {
    running = Math.max(running, Math.min(1, (m - position) * p[index]));
    adjusted[index] = running;
  });
  return adjusted;
}

/** A metric's place: rank 1 is the highest point estimate (equal estimates share a rank). */
export interface Ranked {
  name: string;
  rank: number;
  /**
   * Tier 1 is the best metric and every metric not significantly different from it; tier 2 repeats that on
   * the rest, and so on. Without resamples there is no test, and the tier is the rank.
   */
  tier: number;
}

/**
 * Ranks by point estimate, descending (NaN estimates last, sharing one rank and one last tier), and groups
 * into tiers with `different(i, j)`: whether metrics i and j differ significantly; null when untested.
 */
export function rankTiers(names: readonly string[], values: readonly number[], different: ((i: number, j: number) => boolean) | null): Ranked[] {
  const defined = (i: number) => !Number.isNaN(values[i]);
  const order = names.map((_, i) => i).sort((a, b) => {
    if (defined(a) !== defined(b)) return defined(a) ? -1 : 1;
    return (defined(a) && values[b] - values[a]) || (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0);
  });
  const finite = order.filter(defined).length;
  const rank = (i: number) => (defined(i) ? 1 + order.filter((j) => defined(j) && values[j] > values[i]).length : finite + 1);
  const tier = new Map<number, number>();
  if (different === null) {
    for (const i of order) tier.set(i, rank(i));
  } else {
    let remaining = order.filter(defined);
    let current = 1;
    while (remaining.length > 0) {
      const best = remaining[0];
      const members = remaining.filter((i) => i === best || !different(best, i));
      for (const i of members) tier.set(i, current);
      remaining = remaining.filter((i) => !members.includes(i));
      current++;
    }
    for (const i of order) if (!defined(i)) tier.set(i, current);
  }
  return order.map((i) => ({ name: names[i], rank: rank(i), tier: tier.get(i)! }));
}
