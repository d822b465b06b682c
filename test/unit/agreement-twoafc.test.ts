/** src/agreement/twoafc.ts: credits, ceilings, scores against hand-worked and brute-force values, coverage. */
import { analysedItems, scopeResampler } from '../../src/agreement/bootstrap';
import { judgedFrom, type BootstrapOptions, type Judged, type Scope, type TwoAfcDistances } from '../../src/agreement/judged';
import { analyseTwoAfc, oracleAgreement, pairwiseAgreement, twoAfcCredit } from '../../src/agreement/twoafc';
import { RandomStream } from '../../src/synth/random';

const NO_RESAMPLES: BootstrapOptions = { resamples: 0, seed: 1, confidence: 0.95, twoWay: false };
const all = (count: number): Scope => ({ name: 'all', items: Int32Array.from({ length: count }, (_, i) => i) });
const metric = (name: string, d0: number[], d1: number[]): TwoAfcDistances => ({ name, d0: Float64Array.from(d0), d1: Float64Array.from(d1) });

/** Random judgments: 0..maxJudgments distinct raters per item, each item with its own chance of answering 1. */
function randomStudy(seed: number, count: number, raterCount: number, maxJudgments: number) {
  const random = new RandomStream(seed, 1);
  const lists: Array<Array<[number, number]>> = [];
  for (let i = 0; i < count; i++) {
    const chance = random.uniform();
    const raters = Array.from({ length: raterCount }, (_, r) => r);
    const n = random.int(0, maxJudgments);
    const list: Array<[number, number]> = [];
    for (let k = 0; k < n; k++) {
      const pick = random.int(k, raterCount - 1);
      [raters[k], raters[pick]] = [raters[pick], raters[k]];
      list.push([raters[k], random.chance(chance) ? 1 : 0]);
    }
    lists.push(list);
  }
  // Distances on a coarse grid, so that ties occur.
  const metrics = ['a', 'b', 'c'].map((name) => ({
    name,
    d0: Float64Array.from({ length: count }, () => random.int(0, 4) / 4),
    d1: Float64Array.from({ length: count }, () => random.int(0, 4) / 4),
  }));
  return { lists, judged: judgedFrom(raterCount, lists), metrics };
}

describe('credit and ceilings', () => {
  it('credits the share of humans who chose what the metric chose, half on a tie', () => {
    // h = 0.2 of the raters chose p1.
    expect(twoAfcCredit(0.1, 0.3, 0.2)).toBeCloseTo(0.8, 15); // metric picks p0: 1 - h
    expect(twoAfcCredit(0.3, 0.1, 0.2)).toBeCloseTo(0.2, 15); // metric picks p1: h
    expect(twoAfcCredit(0.3, 0.3, 0.2)).toBe(0.5); // tie
    expect(twoAfcCredit(NaN, 0.3, 0.2)).toBeNaN();
  });

  it('gives the unbiased two-raters agreement and the oracle', () => {
    // k = 3 of n = 5 chose p1: agreeing ordered pairs 3*2 + 2*1 = 8 of 5*4 = 20.
    expect(pairwiseAgreement(3, 5)).toBeCloseTo(0.4, 15);
    expect(oracleAgreement(3 / 5)).toBeCloseTo(0.6, 15);
    expect(pairwiseAgreement(5, 5)).toBe(1);
    expect(pairwiseAgreement(1, 2)).toBe(0);
    expect(pairwiseAgreement(1, 1)).toBeNaN();
    expect(oracleAgreement(0.2)).toBeCloseTo(0.8, 15);
  });
});

describe('analyseTwoAfc', () => {
  it('matches a hand-worked example with a tie, a one-judgment item and an unjudged one', () => {
    const judged = judgedFrom(5, [
      [[0, 1], [1, 1], [2, 1], [3, 0], [4, 0]], // item 0: h = 3/5
      [[0, 0], [1, 0]], // item 1: h = 0
      [[2, 1]], // item 2: h = 1, one judgment (no pairwise term)
      [], // item 3: unjudged, skipped
    ]);
    const metrics = [
      // A: item 0 picks p1 (0.6), item 1 tie (0.5), item 2 picks p0 (1 - 1 = 0): (0.6 + 0.5 + 0) / 3 = 1.1 / 3
      metric('A', [0.2, 0.3, 0.1, 9], [0.1, 0.3, 0.5, 0]),
      // B: item 0 picks p0 (0.4), item 1 picks p0 (1), item 2 picks p1 (1): 2.4 / 3 = 0.8
      metric('B', [0.1, 0.1, 0.5, 0], [0.2, 0.3, 0.1, 9]),
    ];
    const [result] = analyseTwoAfc(judged, metrics, [all(4)], NO_RESAMPLES);
    expect(result.items).toBe(3);
    expect(result.judgments).toBe(8);
    expect(result.metrics[0].score.value).toBeCloseTo(1.1 / 3, 15);
    expect(result.metrics[1].score.value).toBeCloseTo(0.8, 15);
    expect(result.metrics[0].score.low).toBeNull();
    // Pairwise: item 0 (3*2 + 2*1) / 20 = 0.4, item 1 (0 + 2*1) / 2 = 1; item 2 has n = 1: (0.4 + 1) / 2 = 0.7.
    expect(result.ceilings.pairwise.value).toBeCloseTo(0.7, 15);
    // Oracle: max(h, 1 - h) = 0.6, 1, 1: 2.6 / 3.
    expect(result.ceilings.oracle.value).toBeCloseTo(2.6 / 3, 15);
    expect(result.comparisons).toEqual([{ a: 'A', b: 'B', difference: { value: expect.closeTo(1.1 / 3 - 0.8, 15), low: null, high: null }, p: null, pAdjusted: null, significant: false }]);
    // Without resamples the tier is the rank.
    expect(result.ranking).toEqual([
      { name: 'B', rank: 1, tier: 1 },
      { name: 'A', rank: 2, tier: 2 },
    ]);
  });

  it('agrees with a naive loop on random data with ties, per scope', () => {
    const count = 300;
    const { lists, judged, metrics } = randomStudy(11, count, 20, 6);
    const odd: Scope = { name: 'odd', items: Int32Array.from({ length: count / 2 }, (_, i) => 2 * i + 1) };
    const results = analyseTwoAfc(judged, metrics, [all(count), odd], NO_RESAMPLES);
    for (const [scope, result] of [all(count), odd].map((scope, s) => [scope, results[s]] as const)) {
      let items = 0;
      let pairwiseItems = 0;
      let pairwiseSum = 0;
      let oracleSum = 0;
      const sums = metrics.map(() => 0);
      for (const i of scope.items) {
        const n = lists[i].length;
        if (n === 0) continue;
        const ones = lists[i].filter(([, answer]) => answer === 1).length;
        const h = ones / n;
        items++;
        oracleSum += Math.max(h, 1 - h);
        if (n >= 2) {
          // Agreement over all ordered pairs of distinct judgments, counted one by one.
          let agree = 0;
          for (let x = 0; x < n; x++) for (let y = 0; y < n; y++) if (x !== y && lists[i][x][1] === lists[i][y][1]) agree++;
          pairwiseSum += agree / (n * (n - 1));
          pairwiseItems++;
        }
        metrics.forEach((m, k) => {
          const d0 = m.d0[i];
          const d1 = m.d1[i];
          sums[k] += (d0 < d1 ? 1 : 0) * (1 - h) + (d1 < d0 ? 1 : 0) * h + (d0 === d1 ? 0.5 : 0);
        });
      }
      expect(result.items).toBe(items);
      metrics.forEach((_, k) => expect(result.metrics[k].score.value).toBeCloseTo(sums[k] / items, 13));
      expect(result.ceilings.pairwise.value).toBeCloseTo(pairwiseSum / pairwiseItems, 13);
      expect(result.ceilings.oracle.value).toBeCloseTo(oracleSum / items, 13);
    }
  });

  /**
   * One resample (B = 1: the interval's bounds are that resample's value) against the statistics computed
   * literally on the resampled study: each drawn item copied as often as drawn, each judgment as often as
   * its rater was drawn, and pairs of copies of the same rater never counted as agreeing raters.
   */
  it.each([false, true])('computes a resample like the expanded study does (two-way: %s)', (twoWay) => {
    const count = 120;
    const raterCount = 12;
    const { lists, judged, metrics } = randomStudy(5, count, raterCount, 5);
    const options: BootstrapOptions = { resamples: 1, seed: 3, confidence: 0.95, twoWay };
    const [result] = analyseTwoAfc(judged, metrics, [all(count)], options);
    const analysed = analysedItems(judged, all(count));
    const resampler = scopeResampler('TWO_AFC', 'all', options.seed, analysed.length, raterCount, twoWay);
    resampler.draw(0);
    const weightOf = (r: number) => (resampler.raterWeights ? resampler.raterWeights[r] : 1);
    let kept = 0;
    let oracleSum = 0;
    let pairwiseSum = 0;
    let pairwiseItems = 0;
    const sums = metrics.map(() => 0);
    analysed.forEach((item, j) => {
      for (let copy = 0; copy < resampler.itemCounts[j]; copy++) {
        const expanded = lists[item].flatMap(([r, answer]) => Array.from({ length: weightOf(r) }, () => [r, answer] as const));
        if (expanded.length === 0) continue;
        const h = expanded.filter(([, answer]) => answer === 1).length / expanded.length;
        kept++;
        oracleSum += Math.max(h, 1 - h);
        metrics.forEach((m, k) => (sums[k] += twoAfcCredit(m.d0[item], m.d1[item], h)));
        let pairs = 0;
        let agree = 0;
        for (const [rx, ax] of expanded) {
          for (const [ry, ay] of expanded) {
            if (rx === ry) continue;
            pairs++;
            if (ax === ay) agree++;
          }
        }
        if (pairs > 0) {
          pairwiseSum += agree / pairs;
          pairwiseItems++;
        }
      }
    });
    metrics.forEach((_, k) => {
      expect(result.metrics[k].score.low).toBeCloseTo(sums[k] / kept, 13);
      expect(result.metrics[k].score.high).toBe(result.metrics[k].score.low);
    });
    expect(result.ceilings.oracle.low).toBeCloseTo(oracleSum / kept, 13);
    expect(result.ceilings.pairwise.low).toBeCloseTo(pairwiseSum / pairwiseItems, 13);
  });

  it('gives a metric better on every item a small p and a separate tier, identical metrics 0 and p = 1', () => {
    const random = new RandomStream(2, 1);
    const count = 200;
    const lists: Array<Array<[number, number]>> = [];
    const majorityIsOne: boolean[] = [];
    for (let i = 0; i < count; i++) {
      // 5 raters, 3 or 4 of them on one side: the majority earns 0.6 or 0.8, the minority 0.4 or 0.2.
      const ones = random.chance(0.5) ? random.int(3, 4) : random.int(1, 2);
      majorityIsOne.push(ones >= 3);
      lists.push(Array.from({ length: 5 }, (_, r) => [r, r < ones ? 1 : 0] as [number, number]));
    }
    const judged = judgedFrom(5, lists);
    const pickMajority = metric('majority', majorityIsOne.map((one) => (one ? 1 : 0)), majorityIsOne.map((one) => (one ? 0 : 1)));
    const copy = { ...pickMajority, name: 'copy' };
    const pickMinority = metric('minority', majorityIsOne.map((one) => (one ? 0 : 1)), majorityIsOne.map((one) => (one ? 1 : 0)));
    const resamples = 500;
    const [result] = analyseTwoAfc(judged, [pickMajority, copy, pickMinority], [all(count)], { resamples, seed: 9, confidence: 0.95, twoWay: false });
    const [majorityCopy, majorityMinority, copyMinority] = result.comparisons;
    expect([majorityCopy.a, majorityCopy.b]).toEqual(['majority', 'copy']);
    expect(majorityCopy.difference).toEqual({ value: 0, low: 0, high: 0 });
    expect(majorityCopy.p).toBe(1);
    expect(majorityCopy.pAdjusted).toBe(1);
    expect(majorityCopy.significant).toBe(false);
    for (const comparison of [majorityMinority, copyMinority]) {
      expect(comparison.difference.value).toBeGreaterThan(0);
      expect(comparison.difference.low).toBeGreaterThan(0);
      expect(comparison.p).toBe(1 / (resamples + 1));
      expect(comparison.pAdjusted).toBeCloseTo(3 / (resamples + 1), 15); // Holm: the smallest of 3 times 3
      expect(comparison.significant).toBe(true);
    }
    expect(result.ranking).toEqual([
      { name: 'copy', rank: 1, tier: 1 },
      { name: 'majority', rank: 1, tier: 1 },
      { name: 'minority', rank: 3, tier: 2 },
    ]);
  });

  it('refuses a metric without a value for an item of a scope, and bad options', () => {
    const judged = judgedFrom(2, [[[0, 1]], [[1, 0]]]);
    const withGap = metric('gap', [1, NaN], [0, 1]); // item 0: picks p1, which its one rater chose
    expect(() => analyseTwoAfc(judged, [withGap], [all(2)], NO_RESAMPLES)).toThrow(/no value for item 1/);
    expect(analyseTwoAfc(judged, [withGap], [{ name: 'first', items: Int32Array.of(0) }], NO_RESAMPLES)[0].metrics[0].score.value).toBe(1);
    expect(() => analyseTwoAfc(judged, [withGap], [all(2)], { ...NO_RESAMPLES, confidence: 1 })).toThrow(RangeError);
    expect(() => analyseTwoAfc(judged, [withGap, withGap], [{ name: 'first', items: Int32Array.of(0) }], NO_RESAMPLES)).toThrow(/distinct/);
  });

  /**
   * Coverage on simulated data with a known truth. Each item's true chance that a rater picks p1 is
   * p ~ Uniform(0, 1); 5 raters answer; the metric picks p1 exactly when p > 0.3. Population 2AFC score:
   * E[p; p > 0.3] + E[1 - p; p <= 0.3] = (1 - 0.09) / 2 + (0.3 - 0.045) = 0.455 + 0.255 = 0.71 (h is unbiased
   * for p, and the credit is linear in h). Population pairwise ceiling: E[p^2 + (1 - p)^2] = 1 - 2 (1/2 - 1/3)
   * = 2/3 (the unbiased form is unbiased for it). Over 400 seeds (200 items, 1,000 item resamples each) the
   * 95% percentile interval should contain the truth in about 95% of them: binomial sd sqrt(.95 * .05 / 400)
   * = 0.011, so [0.91, 0.98] is about -3.7 to +2.8 sd (the percentile interval of a mean runs slightly
   * short, hence the lower bound's room). Seeded: the counts are the same on every run.
   */
  it('covers the known population score and pairwise ceiling in about 95% of simulated studies', () => {
    const seeds = 400;
    const count = 200;
    let scoreCovered = 0;
    let pairwiseCovered = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const random = new RandomStream(seed, 42);
      const lists: Array<Array<[number, number]>> = [];
      const d1: number[] = [];
      for (let i = 0; i < count; i++) {
        const p = random.uniform();
        lists.push(Array.from({ length: 5 }, (_, r) => [r, random.chance(p) ? 1 : 0] as [number, number]));
        d1.push(p > 0.3 ? 0 : 2); // d0 = 1: picks p1 when d1 = 0
      }
      const judged: Judged = judgedFrom(5, lists);
      const [result] = analyseTwoAfc(judged, [metric('m', new Array(count).fill(1), d1)], [all(count)], { resamples: 1000, seed, confidence: 0.95, twoWay: false });
      const { low, high } = result.metrics[0].score;
      if (low! <= 0.71 && 0.71 <= high!) scoreCovered++;
      const pairwise = result.ceilings.pairwise;
      if (pairwise.low! <= 2 / 3 && 2 / 3 <= pairwise.high!) pairwiseCovered++;
    }
    expect(scoreCovered / seeds).toBeGreaterThanOrEqual(0.91);
    expect(scoreCovered / seeds).toBeLessThanOrEqual(0.98);
    expect(pairwiseCovered / seeds).toBeGreaterThanOrEqual(0.91);
    expect(pairwiseCovered / seeds).toBeLessThanOrEqual(0.98);
  });
});
