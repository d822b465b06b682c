/**
 * A study's judgments as the agreement statistics read them: flat typed arrays, so that a thousand
 * bootstrap resamples of ten thousand items stay cheap. Built by src/agreement/data.ts from the store; the
 * statistics modules know nothing of the database.
 */

/** The judgments of one test type's items (2AFC or JND), grouped by item. */
export interface Judged {
  /** Items, numbered 0 .. count - 1. */
  count: number;
  /** Raters, numbered 0 .. raterCount - 1. */
  raterCount: number;
  /** Item i's judgments are at start[i] .. start[i + 1] - 1 (length count + 1). */
  start: Int32Array;
  /** The rater of each judgment. A rater judges an item at most once. */
  rater: Int32Array;
  /** 2AFC: 1 when the rater chose p1 as closer to the reference; JND: 1 when the rater said "same". */
  answer: Uint8Array;
}

/** A 2AFC metric's distances, oriented so that smaller means closer (similarities are negated). */
export interface TwoAfcDistances {
  name: string;
  /** d(ref, p0) per item. */
  d0: Float64Array;
  /** d(ref, p1) per item. */
  d1: Float64Array;
}

/** A JND metric's distance d(p0, p1) per item, oriented so that smaller means closer. */
export interface JndDistances {
  name: string;
  distance: Float64Array;
}

/** A subset of the items analysed on its own: all items, a category, a distortion kind. */
export interface Scope {
  name: string;
  items: Int32Array;
}

export interface BootstrapOptions {
  /** Resamples; 0 gives point estimates without intervals. */
  resamples: number;
  seed: number;
  /** The intervals' coverage, e.g. 0.95. */
  confidence: number;
  /** Resample raters as well as items (raters x items), since raters vary too. */
  twoWay: boolean;
}

/** A value with its bootstrap interval (null bounds without resamples). */
export interface Estimate {
  value: number;
  low: number | null;
  high: number | null;
}

/** Builds a Judged from per-item lists of [rater, answer]. */
export function judgedFrom(raterCount: number, items: ReadonlyArray<ReadonlyArray<readonly [number, number]>>): Judged {
  const start = new Int32Array(items.length + 1);
  for (let i = 0; i < items.length; i++) start[i + 1] = start[i] + items[i].length;
  const rater = new Int32Array(start[items.length]);
  const answer = new Uint8Array(start[items.length]);
  items.forEach((list, i) => list.forEach(([r, a], k) => {
    rater[start[i] + k] = r;
    answer[start[i] + k] = a;
  }));
  return { count: items.length, raterCount, start, rater, answer };
}
