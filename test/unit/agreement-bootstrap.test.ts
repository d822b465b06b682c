/** src/agreement/bootstrap.ts and compare.ts: resampling, reproducibility, intervals, Holm, tiers. */
import { holm, percentileInterval, rankTiers, Resampler } from '../../src/agreement/bootstrap';
import { compareMetrics } from '../../src/agreement/compare';
import { judgedFrom, type BootstrapOptions, type JndDistances, type Scope, type TwoAfcDistances } from '../../src/agreement/judged';
import { analyseJnd } from '../../src/agreement/jnd';
import { analyseTwoAfc } from '../../src/agreement/twoafc';
import { RandomStream } from '../../src/synth/random';

/** 300 items, 5 of 20 raters each, 3 categories; two 2AFC and two JND metrics of different quality. */
function study() {
  const random = new RandomStream(17, 1);
  const count = 300;
  const truth = Array.from({ length: count }, () => random.normal());
  const lists = truth.map((t) => {
    const start = random.int(0, 19);
    return Array.from({ length: 5 }, (_, k) => [(start + k) % 20, random.chance(1 / (1 + Math.exp(-2 * t))) ? 1 : 0] as [number, number]);
  });
  const noisy = (sd: number) => Float64Array.from(truth, (t) => t + sd * random.normal());
  const twoAfc: TwoAfcDistances[] = [0.5, 2].map((sd, m) => ({ name: `m${m}`, d0: noisy(sd), d1: new Float64Array(count) }));
  const jnd: JndDistances[] = [0.5, 2].map((sd, m) => ({ name: `m${m}`, distance: noisy(sd).map((x) => -x) }));
  const category = (c: number): Scope => ({ name: `category ${c}`, items: Int32Array.from(truth.map((_, i) => i).filter((i) => i % 3 === c)) });
  return { judged: judgedFrom(20, lists), twoAfc, jnd, scopes: [{ name: 'all', items: Int32Array.from(truth, (_, i) => i) }, category(0), category(1), category(2)] };
}

const options = (seed: number, twoWay = false): BootstrapOptions => ({ resamples: 200, seed, confidence: 0.95, twoWay });

describe('Resampler', () => {
  it('draws as many items as the scope has (and as many raters), each resample a pure function of its index', () => {
    const resampler = new Resampler(5, 'scope', 37, 11, true);
    resampler.draw(3);
    const third = [Array.from(resampler.itemCounts), Array.from(resampler.raterWeights!)];
    expect(third[0].reduce((sum, c) => sum + c, 0)).toBe(37);
    expect(third[1].reduce((sum, c) => sum + c, 0)).toBe(11);
    resampler.draw(1);
    expect(Array.from(resampler.itemCounts)).not.toEqual(third[0]);
    resampler.draw(3);
    expect([Array.from(resampler.itemCounts), Array.from(resampler.raterWeights!)]).toEqual(third);
  });

  it('draws items about uniformly', () => {
    const resampler = new Resampler(1, 'uniform', 10, 1, false);
    const totals = new Array(10).fill(0);
    for (let b = 0; b < 2000; b++) {
      resampler.draw(b);
      resampler.itemCounts.forEach((c, j) => (totals[j] += c));
    }
    // 2,000 draws per item expected, binomial sd ~42: within 5 sd.
    for (const total of totals) expect(Math.abs(total - 2000)).toBeLessThan(210);
  });
});

describe('reproducibility', () => {
  const { judged, twoAfc, jnd, scopes } = study();

  it.each([false, true])('gives identical intervals for the same seed, different ones for another (two-way: %s)', (twoWay) => {
    const first = analyseTwoAfc(judged, twoAfc, scopes, options(1, twoWay));
    expect(analyseTwoAfc(judged, twoAfc, scopes, options(1, twoWay))).toEqual(first);
    const other = analyseTwoAfc(judged, twoAfc, scopes, options(2, twoWay));
    expect(other.map((scope) => scope.metrics[0].score.value)).toEqual(first.map((scope) => scope.metrics[0].score.value));
    expect(other[0].metrics[0].score.low).not.toBe(first[0].metrics[0].score.low);

    const firstJnd = analyseJnd(judged, jnd, scopes, options(1, twoWay));
    expect(analyseJnd(judged, jnd, scopes, options(1, twoWay))).toEqual(firstJnd);
    expect(analyseJnd(judged, jnd, scopes, options(2, twoWay))[0].metrics[0].map.low).not.toBe(firstJnd[0].metrics[0].map.low);
  });

  it("does not change a scope's intervals when other scopes are added, removed or reordered", () => {
    const alone = analyseTwoAfc(judged, twoAfc, [scopes[2]], options(1, true));
    const among = analyseTwoAfc(judged, twoAfc, [scopes[3], scopes[0], scopes[2], scopes[1]], options(1, true));
    expect(among[2]).toEqual(alone[0]);
    const jndAlone = analyseJnd(judged, jnd, [scopes[2]], options(1, true));
    expect(analyseJnd(judged, jnd, [...scopes].reverse(), options(1, true))[1]).toEqual(jndAlone[0]);
  });

  it('finds the better metric of the study ahead, with intervals around the estimates', () => {
    for (const result of analyseTwoAfc(judged, twoAfc, scopes, options(1))) {
      for (const { score } of result.metrics) {
        expect(score.low!).toBeLessThanOrEqual(score.value);
        expect(score.high!).toBeGreaterThanOrEqual(score.value);
      }
      expect(result.ranking[0].name).toBe('m0');
      expect(result.ceilings.oracle.value).toBeGreaterThan(result.ceilings.pairwise.value);
    }
    const [overall] = analyseJnd(judged, jnd, scopes, options(1));
    expect(overall.ranking[0].name).toBe('m0');
  });
});

describe('percentileInterval', () => {
  it('interpolates between order statistics as numpy.quantile does, leaving NaN out', () => {
    // 1..5 at 50%: quantiles 0.25 and 0.75 at positions 1 and 3.
    expect(percentileInterval([5, 1, 4, 2, 3], 0.5)).toEqual({ low: 2, high: 4 });
    // [0, 10] at 90%: positions 0.05 and 0.95 of the one gap.
    const { low, high } = percentileInterval([10, NaN, 0], 0.9);
    expect(low).toBeCloseTo(0.5, 14);
    expect(high).toBeCloseTo(9.5, 14);
    expect(percentileInterval([NaN, NaN], 0.95)).toEqual({ low: null, high: null });
  });
});

describe('holm', () => {
  it('adjusts a hand example step-down', () => {
    // Sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04, raised to 0.06).
    const adjusted = holm([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((expected, i) => expect(adjusted[i]).toBeCloseTo(expected, 15));
    expect(holm([0.5, 0.9])).toEqual([1, 1]);
    expect(holm([])).toEqual([]);
  });
});

describe('rankTiers', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const values = [0.9, 0.88, 0.7, 0.69, 0.5];

  it('puts the best and all not significantly different from it in tier 1, then repeats on the rest', () => {
    // Not different: a~b, c~d, d~e; every other pair differs.
    const same = new Set(['a,b', 'c,d', 'd,e']);
    const different = (i: number, j: number) => !same.has([names[i], names[j]].sort().join(','));
    expect(rankTiers(names, values, different).map((r) => [r.name, r.rank, r.tier])).toEqual([
      ['a', 1, 1],
      ['b', 2, 1],
      ['c', 3, 2],
      ['d', 4, 2],
      // d~e, but tier 2 is the metrics not different from its best, c.
      ['e', 5, 3],
    ]);
  });

  it('uses the rank as the tier without a test, shares ranks on equal estimates and puts NaN last', () => {
    expect(rankTiers(['x', 'y', 'z', 'w'], [0.5, NaN, 0.7, 0.5], null)).toEqual([
      { name: 'z', rank: 1, tier: 1 },
      { name: 'w', rank: 2, tier: 2 },
      { name: 'x', rank: 2, tier: 2 },
      { name: 'y', rank: 4, tier: 4 },
    ]);
    expect(rankTiers(['x', 'y'], [0.5, NaN], () => false).map((r) => r.tier)).toEqual([1, 2]);
  });
});

describe('compareMetrics', () => {
  it('pairs the resamples, counts the p-value as (1 + extreme) / (B + 1) and Holm-adjusts the pairs', () => {
    // Three metrics, 4 resamples each (metric-major). a - b: observed 0.1, resampled 0.1, 0.3, 0, 0.1:
    // |D* - D| = 0, 0.2, 0.1, 0, >= 0.1 twice -> p = 3 / 5. a - c: observed 0.5, resampled all near 0.5 -> p = 1 / 5.
    const draws = Float64Array.of(0.6, 0.8, 0.5, 0.6, 0.5, 0.5, 0.5, 0.5, 0.1, 0.2, 0.1, 0.05);
    const { comparisons, ranking, estimates } = compareMetrics(['a', 'b', 'c'], [0.6, 0.5, 0.1], draws, 4, 0.5);
    expect(comparisons.map((c) => `${c.a}-${c.b}`)).toEqual(['a-b', 'a-c', 'b-c']);
    expect(comparisons[0].difference.value).toBeCloseTo(0.1, 15);
    expect(comparisons[0].p).toBeCloseTo(3 / 5, 15);
    expect(comparisons[1].p).toBeCloseTo(1 / 5, 15);
    expect(comparisons[2].p).toBeCloseTo(1 / 5, 15);
    // Holm over [0.6, 0.2, 0.2]: 0.2 * 3 = 0.6, 0.2 * 2 = 0.4 -> 0.6, 0.6 * 1 -> 0.6.
    comparisons.forEach((c) => expect(c.pAdjusted).toBeCloseTo(0.6, 15));
    // Significant at confidence 0.5 means pAdjusted < 0.5: none.
    expect(comparisons.every((c) => !c.significant)).toBe(true);
    expect(ranking.map((r) => r.tier)).toEqual([1, 1, 1]);
    expect(estimates[1]).toEqual({ value: 0.5, low: 0.5, high: 0.5 });
  });
});
