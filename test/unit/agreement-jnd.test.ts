/** src/agreement/jnd.ts: VOC average precision with grouped ties, against hand-worked and brute-force values. */
import { analysedItems, scopeResampler } from '../../src/agreement/bootstrap';
import { judgedFrom, type BootstrapOptions, type JndDistances, type Scope } from '../../src/agreement/judged';
import { analyseJnd, averagePrecision } from '../../src/agreement/jnd';
import { RandomStream } from '../../src/synth/random';

const NO_RESAMPLES: BootstrapOptions = { resamples: 0, seed: 1, confidence: 0.95, twoWay: false };
const all = (count: number): Scope => ({ name: 'all', items: Int32Array.from({ length: count }, (_, i) => i) });

/** AP as VOC's code writes it: cumulative sums, the sentinel arrays, the backward max, the sum over recall changes. */
function naiveAveragePrecision(distance: number[], same: number[]): number {
  const order = distance.map((_, i) => i).sort((a, b) => distance[a] - distance[b]);
  const truePositive: number[] = [];
  const falsePositive: number[] = [];
  order.forEach((i, k) => {
    truePositive.push((k > 0 ? truePositive[k - 1] : 0) + same[i]);
    falsePositive.push((k > 0 ? falsePositive[k - 1] : 0) + (1 - same[i]));
  });
  const positive = same.reduce((sum, s) => sum + s, 0);
  // One point per distinct distance: the last item of each run of ties.
  const ends = order.map((_, k) => k).filter((k) => k === order.length - 1 || distance[order[k + 1]] !== distance[order[k]]);
  const mrec = [0, ...ends.map((k) => truePositive[k] / positive), 1];
  const mpre = [0, ...ends.map((k) => truePositive[k] / (truePositive[k] + falsePositive[k])), 0];
  for (let i = mpre.length - 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1], mpre[i]);
  let ap = 0;
  for (let i = 0; i < mrec.length - 1; i++) if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
}

function randomStudy(seed: number, count: number, raterCount: number, maxJudgments: number) {
  const random = new RandomStream(seed, 2);
  const lists: Array<Array<[number, number]>> = [];
  const severity: number[] = [];
  for (let i = 0; i < count; i++) {
    severity.push(random.uniform());
    const chanceSame = 1 - severity[i];
    const raters = Array.from({ length: raterCount }, (_, r) => r);
    const n = random.int(0, maxJudgments);
    const list: Array<[number, number]> = [];
    for (let k = 0; k < n; k++) {
      const pick = random.int(k, raterCount - 1);
      [raters[k], raters[pick]] = [raters[pick], raters[k]];
      list.push([raters[k], random.chance(chanceSame) ? 1 : 0]);
    }
    lists.push(list);
  }
  const metrics: JndDistances[] = [0.1, 0.3, 1].map((noise, m) => ({
    name: `m${m}`,
    // Rounded to a grid of 20 steps: many ties.
    distance: Float64Array.from(severity, (s) => Math.round((s + noise * random.normal()) * 20) / 20),
  }));
  return { lists, judged: judgedFrom(raterCount, lists), metrics };
}

describe('averagePrecision', () => {
  it('matches a hand-worked example with tied distances', () => {
    // (distance, s): a (0.1, 1), b (0.2, 0.5), c (0.2, 0) tied with b, d (0.4, 1), e (0.5, 0); sum(s) = 2.5.
    // Thresholds: 0.1: TP 1, FP 0 -> R 0.4, P 1; 0.2 (b and c together): TP 1.5, FP 1.5 -> R 0.6, P 0.5;
    // 0.4: TP 2.5, FP 1.5 -> R 1, P 0.625; 0.5: TP 2.5, FP 2.5 -> R 1, P 0.5.
    // mrec [0, .4, .6, 1, 1, 1], mpre [0, 1, .5, .625, .5, 0] -> monotone [1, 1, .625, .625, .5, 0];
    // AP = .4 * 1 + .2 * .625 + .4 * .625 = 0.4 + 0.125 + 0.25 = 0.775.
    const { ap, curve } = averagePrecision([0.2, 0.1, 0.5, 0.2, 0.4], [0, 1, 0, 0.5, 1]);
    expect(ap).toBeCloseTo(0.775, 15);
    expect(curve.map((point) => point.threshold)).toEqual([0.1, 0.2, 0.4, 0.5]);
    [0.4, 0.6, 1, 1].forEach((recall, k) => expect(curve[k].recall).toBeCloseTo(recall, 15));
    [1, 0.5, 0.625, 0.5].forEach((precision, k) => expect(curve[k].precision).toBeCloseTo(precision, 15));
    // Ungrouped, the order of b and c would matter: b first gives point (0.6, 0.75) and AP
    // .4 * 1 + .2 * .75 + .4 * .625 = 0.8; grouped, it is 0.775 whichever comes first.
    expect(averagePrecision([0.1, 0.2, 0.2, 0.4, 0.5], [1, 0.5, 0, 1, 0]).ap).toBeCloseTo(0.775, 15);
    expect(averagePrecision([0.1, 0.2, 0.2, 0.4, 0.5], [1, 0, 0.5, 1, 0]).ap).toBeCloseTo(0.775, 15);
  });

  it('is 1 for a perfect ranking and NaN with no positive label', () => {
    expect(averagePrecision([0, 1, 2, 3], [1, 1, 0, 0]).ap).toBe(1);
    expect(averagePrecision([0, 1, 2], [0, 0, 0])).toEqual({ ap: NaN, curve: [] });
    expect(averagePrecision([0, 1, 2], [1, 1, 1], [0, 0, 0])).toEqual({ ap: NaN, curve: [] });
  });

  it('agrees with the literal VOC code on random data with many ties', () => {
    for (let seed = 0; seed < 20; seed++) {
      const random = new RandomStream(seed, 3);
      const count = random.int(1, 200);
      const distance = Array.from({ length: count }, () => random.int(0, 15));
      const same = Array.from({ length: count }, () => random.int(0, 5) / 5);
      if (!same.some((s) => s > 0)) same[0] = 1;
      expect(averagePrecision(distance, same).ap).toBeCloseTo(naiveAveragePrecision(distance, same), 13);
    }
  });

  it('does not depend on the order of tied items', () => {
    // Labels in quarters: every partial sum is exact, so equal means identical bits.
    const random = new RandomStream(4, 3);
    const count = 150;
    const distance = Array.from({ length: count }, () => random.int(0, 9));
    const same = Array.from({ length: count }, () => random.int(0, 4) / 4);
    const reference = averagePrecision(distance, same);
    for (let round = 0; round < 10; round++) {
      const permutation = distance.map((_, i) => i);
      for (let i = count - 1; i > 0; i--) {
        const j = random.int(0, i);
        [permutation[i], permutation[j]] = [permutation[j], permutation[i]];
      }
      const permuted = averagePrecision(permutation.map((i) => distance[i]), permutation.map((i) => same[i]));
      expect(permuted).toEqual(reference);
    }
  });

  it('weighs an item as often as its weight says (0: absent, 2: twice)', () => {
    const random = new RandomStream(6, 3);
    const count = 80;
    const distance = Array.from({ length: count }, () => random.int(0, 12));
    const same = Array.from({ length: count }, () => random.int(0, 3) / 3);
    const weight = Array.from({ length: count }, () => random.int(0, 3));
    const expanded = distance.flatMap((d, i) => Array.from({ length: weight[i] }, () => [d, same[i]] as const));
    expect(averagePrecision(distance, same, weight).ap).toBeCloseTo(
      naiveAveragePrecision(
        expanded.map(([d]) => d),
        expanded.map(([, s]) => s),
      ),
      13,
    );
  });
});

describe('analyseJnd', () => {
  it('reports items, judgments, the same share and each metric AP of a hand-made scope', () => {
    const judged = judgedFrom(3, [
      [[0, 1], [1, 1]], // s = 1
      [[0, 1], [2, 0]], // s = 0.5
      [[1, 0]], // s = 0
      [], // unjudged: skipped
    ]);
    const metrics: JndDistances[] = [
      { name: 'good', distance: Float64Array.of(0.1, 0.2, 0.3, 0) },
      { name: 'bad', distance: Float64Array.of(0.3, 0.2, 0.1, 0) },
    ];
    const [result] = analyseJnd(judged, metrics, [all(4)], NO_RESAMPLES);
    expect(result.items).toBe(3);
    expect(result.judgments).toBe(5);
    expect(result.sameShare).toBeCloseTo(3 / 5, 15);
    // good: R .667 P 1, R 1 P .75, R 1 P .5 -> AP 2/3 * 1 + 1/3 * .75 = 0.91667.
    expect(result.metrics[0].map.value).toBeCloseTo(2 / 3 + 0.25, 15);
    // bad: (s 0) R 0 P 0; (s .5) R 1/3 P 0.25; (s 1) R 1 P 0.5 -> AP 1/3 * .5 + 2/3 * .5 = 0.5.
    expect(result.metrics[1].map.value).toBeCloseTo(0.5, 15);
    expect(result.metrics[1].curve).toEqual([
      { threshold: 0.1, recall: 0, precision: 0 },
      { threshold: 0.2, recall: expect.closeTo(1 / 3, 15), precision: 0.25 },
      { threshold: 0.3, recall: 1, precision: 0.5 },
    ]);
    expect(result.ranking.map((r) => r.name)).toEqual(['good', 'bad']);
  });

  it('gives each scope the AP of its own items', () => {
    const count = 240;
    const { lists, judged, metrics } = randomStudy(8, count, 15, 4);
    const firstHalf: Scope = { name: 'first half', items: Int32Array.from({ length: count / 2 }, (_, i) => i) };
    const results = analyseJnd(judged, metrics, [all(count), firstHalf], NO_RESAMPLES);
    [all(count), firstHalf].forEach((scope, s) => {
      const kept = [...scope.items].filter((i) => lists[i].length > 0);
      const same = kept.map((i) => lists[i].filter(([, answer]) => answer === 1).length / lists[i].length);
      metrics.forEach((metric, m) => {
        expect(results[s].metrics[m].map.value).toBeCloseTo(naiveAveragePrecision(kept.map((i) => metric.distance[i]), same), 13);
      });
    });
  });

  /** One resample (B = 1: the bounds are its value) against the AP of the literally expanded study. */
  it.each([false, true])('computes a resample like the expanded study does (two-way: %s)', (twoWay) => {
    const count = 150;
    const raterCount = 10;
    const { lists, judged, metrics } = randomStudy(12, count, raterCount, 3);
    const options: BootstrapOptions = { resamples: 1, seed: 21, confidence: 0.95, twoWay };
    const [result] = analyseJnd(judged, metrics, [all(count)], options);
    const analysed = analysedItems(judged, all(count));
    const resampler = scopeResampler('JND', 'all', options.seed, analysed.length, raterCount, twoWay);
    resampler.draw(0);
    const weightOf = (r: number) => (resampler.raterWeights ? resampler.raterWeights[r] : 1);
    const copies: Array<{ item: number; same: number }> = [];
    analysed.forEach((item, j) => {
      for (let copy = 0; copy < resampler.itemCounts[j]; copy++) {
        const expanded = lists[item].flatMap(([r, answer]) => Array.from({ length: weightOf(r) }, () => answer));
        if (expanded.length > 0) copies.push({ item, same: expanded.filter((answer) => answer === 1).length / expanded.length });
      }
    });
    metrics.forEach((metric, m) => {
      const expected = naiveAveragePrecision(
        copies.map((copy) => metric.distance[copy.item]),
        copies.map((copy) => copy.same),
      );
      expect(result.metrics[m].map.low).toBeCloseTo(expected, 13);
      expect(result.metrics[m].map.high).toBe(result.metrics[m].map.low);
    });
  });

  it('gives NaN estimates and untested pairs when nobody said "same"', () => {
    const judged = judgedFrom(2, [[[0, 0]], [[1, 0], [0, 0]]]);
    const metrics: JndDistances[] = [
      { name: 'x', distance: Float64Array.of(0, 1) },
      { name: 'y', distance: Float64Array.of(1, 0) },
    ];
    const [result] = analyseJnd(judged, metrics, [all(2)], { resamples: 50, seed: 1, confidence: 0.95, twoWay: true });
    expect(result.sameShare).toBe(0);
    expect(result.metrics[0].map).toEqual({ value: NaN, low: null, high: null });
    expect(result.metrics[0].curve).toEqual([]);
    expect(result.comparisons[0].p).toBeNull();
    expect(result.ranking).toEqual([
      { name: 'x', rank: 1, tier: 1 },
      { name: 'y', rank: 1, tier: 1 },
    ]);
  });

  it('refuses a metric without a value for an item of a scope', () => {
    const judged = judgedFrom(1, [[[0, 1]], [[0, 0]]]);
    expect(() => analyseJnd(judged, [{ name: 'gap', distance: Float64Array.of(0, NaN) }], [all(2)], NO_RESAMPLES)).toThrow(/no value for item 1/);
  });
});
