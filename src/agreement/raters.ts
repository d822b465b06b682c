/**
 * Inter-rater agreement of a study's panel: Fleiss' kappa and Krippendorff's alpha (nominal) over the items,
 * each rater's agreement with the rest of the panel, and response-time summaries. Pure functions of plain
 * data; src/agreement/data.ts builds the Judged they read.
 */
import type { Judged } from './judged';
import { sortedQuantile } from './bootstrap';

/**
 * A chance-corrected agreement coefficient with its parts. For Fleiss' kappa, observed and expected are the
 * agreements P̄ and P̄e; for Krippendorff's alpha they are the agreements 1 - D_o and 1 - D_e, so that in both
 * cases value = (observed - expected) / (1 - expected). All null when no item qualifies; value alone is null
 * when chance agreement is total (every rating in one category), where the coefficient is undefined (0 / 0).
 */
export interface Coefficient {
  value: number | null;
  observed: number | null;
  expected: number | null;
  /** Items (units) that entered the coefficient. */
  items: number;
}

const NO_ITEMS: Coefficient = { value: null, observed: null, expected: null, items: 0 };

/**
 * Fleiss' kappa from per-item category counts (rows = items, columns = categories). Items with fewer than
 * two ratings are skipped (they can show no agreement), also in the category shares. Varying numbers of ratings
 * per item are allowed, by the usual generalisation:
 *   P_i = Σ_j n_ij (n_ij - 1) / (n_i (n_i - 1)),  p_j = Σ_i n_ij / Σ_i n_i,
 *   P̄ = mean_i P_i,  P̄e = Σ_j p_j²,  κ = (P̄ - P̄e) / (1 - P̄e).
 * With equal n_i this is Fleiss (1971). κ is null when P̄e = 1 (all ratings in one category).
 */
export function fleissKappa(counts: ReadonlyArray<ArrayLike<number>>): Coefficient {
  const columns = counts.reduce((most, row) => Math.max(most, row.length), 0);
  const categoryTotals = new Float64Array(columns);
  let ratings = 0;
  let agreementSum = 0;
  let items = 0;
  for (const row of counts) {
    let n = 0;
    for (let j = 0; j < row.length; j++) n += row[j];
    if (n < 2) continue;
    let pairs = 0;
    for (let j = 0; j < row.length; j++) {
      pairs += row[j] * (row[j] - 1);
      categoryTotals[j] += row[j];
    }
    agreementSum += pairs / (n * (n - 1));
    ratings += n;
    items++;
  }
  if (items === 0) return NO_ITEMS;
  const observed = agreementSum / items;
  let expected = 0;
  for (const total of categoryTotals) expected += (total / ratings) ** 2;
  return { value: expected === 1 ? null : (observed - expected) / (1 - expected), observed, expected, items };
}

/**
 * Krippendorff's alpha for nominal data, from the values each unit received (missing values simply absent;
 * any numbers serve as category codes). Units with fewer than two values are not pairable and are dropped.
 * As in Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": the coincidence matrix
 *   o_ck = Σ_u (number of ordered c-k value pairs from different coders in u) / (m_u - 1),
 * with m_u the values in unit u; n_c = Σ_k o_ck, n = Σ_c n_c (the pairable values); nominal δ_ck = [c ≠ k];
 *   D_o = (1/n) Σ_{c≠k} o_ck = (n - Σ_c o_cc) / n,
 *   D_e = (1/(n(n - 1))) Σ_{c≠k} n_c n_k = (n² - Σ_c n_c²) / (n(n - 1)),
 *   α = 1 - D_o / D_e = 1 - (n - 1)(n - Σ_c o_cc) / (n² - Σ_c n_c²).
 * α is null when D_e = 0 (every pairable value in one category).
 */
export function krippendorffAlphaNominal(units: ReadonlyArray<ArrayLike<number>>): Coefficient {
  const valueTotals = new Map<number, number>(); // n_c
  let diagonal = 0; // Σ_c o_cc
  let n = 0;
  let items = 0;
  for (const unit of units) {
    const m = unit.length;
    if (m < 2) continue;
    const inUnit = new Map<number, number>();
    for (let k = 0; k < m; k++) inUnit.set(unit[k], (inUnit.get(unit[k]) ?? 0) + 1);
    for (const [value, count] of inUnit) {
      diagonal += (count * (count - 1)) / (m - 1);
      valueTotals.set(value, (valueTotals.get(value) ?? 0) + count);
    }
    n += m;
    items++;
  }
  if (items === 0) return NO_ITEMS;
  let squares = 0;
  for (const total of valueTotals.values()) squares += total * total;
  const observedDisagreement = (n - diagonal) / n;
  const expectedDisagreement = (n * n - squares) / (n * (n - 1));
  return {
    value: expectedDisagreement === 0 ? null : 1 - observedDisagreement / expectedDisagreement,
    observed: 1 - observedDisagreement,
    expected: 1 - expectedDisagreement,
    items,
  };
}

/** Two-category counts [answer 0, answer 1] per item from a Judged, optionally of some raters only. */
export function answerCounts(judged: Judged, includeRater?: (rater: number) => boolean): number[][] {
  const counts: number[][] = [];
  for (let i = 0; i < judged.count; i++) {
    const row = [0, 0];
    for (let k = judged.start[i]; k < judged.start[i + 1]; k++) {
      if (includeRater === undefined || includeRater(judged.rater[k])) row[judged.answer[k]]++;
    }
    counts.push(row);
  }
  return counts;
}

/** The answers (0 / 1) each item received, optionally of some raters only: Krippendorff's units. */
export function answerUnits(judged: Judged, includeRater?: (rater: number) => boolean): number[][] {
  const units: number[][] = [];
  for (let i = 0; i < judged.count; i++) {
    const unit: number[] = [];
    for (let k = judged.start[i]; k < judged.start[i + 1]; k++) {
      if (includeRater === undefined || includeRater(judged.rater[k])) unit.push(judged.answer[k]);
    }
    units.push(unit);
  }
  return units;
}

export interface RaterAgreement {
  rater: number;
  /** The rater's items that at least one other rater judged. */
  items: number;
  /** Mean over those items of the share of the other raters who gave the rater's answer; null without items. */
  agreement: number | null;
  /** Fleiss' kappa of the panel without this rater. */
  panelKappaWithout: number | null;
}

/**
 * Each rater's agreement with the rest of the panel, that rater left out: over the rater's items that have at
 * least one other judgment, the mean share of the other raters who gave the same answer; also the count of such
 * items, and Fleiss' kappa of the panel without that rater (compared with the whole panel's, how much the
 * panel's agreement changes when this rater leaves).
 */
export function leaveOneRaterOut(judged: Judged): RaterAgreement[] {
  const counts = answerCounts(judged);
  const shareSum = new Float64Array(judged.raterCount);
  const items = new Int32Array(judged.raterCount);
  for (let i = 0; i < judged.count; i++) {
    const others = counts[i][0] + counts[i][1] - 1;
    if (others < 1) continue;
    for (let k = judged.start[i]; k < judged.start[i + 1]; k++) {
      const rater = judged.rater[k];
      shareSum[rater] += (counts[i][judged.answer[k]] - 1) / others;
      items[rater]++;
    }
  }
  return Array.from({ length: judged.raterCount }, (_, rater) => ({
    rater,
    items: items[rater],
    agreement: items[rater] === 0 ? null : shareSum[rater] / items[rater],
    panelKappaWithout: fleissKappa(answerCounts(judged, (other) => other !== rater)).value,
  }));
}

export interface ResponseTimes {
  count: number;
  mean: number | null;
  /** Type-7 (numpy's default, linear) quantiles; null without values. */
  quantiles: { p10: number; p25: number; p50: number; p75: number; p90: number } | null;
  /**
   * Counts on log-spaced bins from 100 ms to 60 s: bin k holds edges[k] <= t < edges[k + 1], the last also 60 s.
   * Times below 100 ms are counted in the first bin and times above 60 s in the last, so the counts add up to count.
   */
  histogram: { edges: number[]; counts: number[] };
}

const HISTOGRAM_LOW_MS = 100;
const HISTOGRAM_HIGH_MS = 60_000;

/** A response-time distribution summary. Values that are not finite numbers (unrecorded times) are ignored. */
export function responseTimes(ms: ArrayLike<number>, bins = 24): ResponseTimes {
  const values = Array.from(ms).filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
  const ratio = HISTOGRAM_HIGH_MS / HISTOGRAM_LOW_MS;
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? HISTOGRAM_HIGH_MS : HISTOGRAM_LOW_MS * ratio ** (k / bins)));
  const counts: number[] = new Array(bins).fill(0);
  for (const t of values) {
    // The log gives the bin; the comparisons correct it where rounding puts a value on the wrong side of an edge.
    let k = Math.floor((bins * Math.log(t / HISTOGRAM_LOW_MS)) / Math.log(ratio));
    k = Math.min(bins - 1, Math.max(0, Number.isFinite(k) ? k : 0));
    while (k > 0 && t < edges[k]) k--;
    while (k < bins - 1 && t >= edges[k + 1]) k++;
    counts[k]++;
  }
  const count = values.length;
  if (count === 0) return { count, mean: null, quantiles: null, histogram: { edges, counts } };
  const mean = values.reduce((sum, t) => sum + t, 0) / count;
  const q = (p: number) => sortedQuantile(values, p);
  return { count, mean, quantiles: { p10: q(0.1), p25: q(0.25), p50: q(0.5), p75: q(0.75), p90: q(0.9) }, histogram: { edges, counts } };
}
