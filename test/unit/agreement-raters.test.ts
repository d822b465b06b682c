/**
 * src/agreement/raters.ts against published worked examples, statsmodels' fleiss_kappa, an independent
 * coincidence-matrix Krippendorff's alpha and numpy's quantiles (test/fixtures/make-agreement-expected.py).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { judgedFrom } from '../../src/agreement/judged';
import { answerCounts, answerUnits, fleissKappa, krippendorffAlphaNominal, leaveOneRaterOut, responseTimes } from '../../src/agreement/raters';

interface CoefficientCase {
  name: string;
  value: number;
  observed: number;
  expected: number;
  items: number;
}

const fixture: {
  fleiss: Array<CoefficientCase & { counts: number[][] }>;
  krippendorff: Array<CoefficientCase & { units: number[][] }>;
  responseTimes: { ms: number[]; count: number; mean: number; quantiles: Record<string, number>; edges: number[]; counts: number[] };
} = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'agreement-expected.json'), 'utf8'));

describe('fleissKappa', () => {
  it('reproduces the Wikipedia "Fleiss\' kappa" worked example (10 subjects x 14 raters x 5 categories) to its published 3 decimals', () => {
    const kappa = fleissKappa([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]);
    // Published there: P̄ = 0.378, P̄e = 0.213, κ = 0.210.
    expect(kappa.observed).toBeCloseTo(0.378, 3);
    expect(kappa.expected).toBeCloseTo(0.213, 3);
    expect(kappa.value).toBeCloseTo(0.21, 3);
    expect(kappa.items).toBe(10);
  });

  it.each(fixture.fleiss.map((c) => [c.name, c] as const))('%s: as statsmodels fleiss_kappa / the generalised formula, to 1e-12', (_name, c) => {
    const kappa = fleissKappa(c.counts);
    expect(Math.abs(kappa.value! - c.value)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(kappa.observed! - c.observed)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(kappa.expected! - c.expected)).toBeLessThanOrEqual(1e-12);
    expect(kappa.items).toBe(c.items);
  });

  it('is 1 for perfect agreement, undefined (null) when every rating is in one category, and skips items with one rating', () => {
    expect(fleissKappa([[3, 0], [0, 3], [0, 2]]).value).toBe(1);
    // P̄e = 1: chance alone explains the agreement, κ = 0 / 0.
    expect(fleissKappa([[3, 0], [2, 0]])).toEqual({ value: null, observed: 1, expected: 1, items: 2 });
    expect(fleissKappa([[2, 1], [0, 3], [1, 0], [0, 0]])).toEqual(fleissKappa([[2, 1], [0, 3]]));
    expect(fleissKappa([[2, 1], [0, 3], [1, 0]]).items).toBe(2);
    expect(fleissKappa([[1, 0], [0, 0]])).toEqual({ value: null, observed: null, expected: null, items: 0 });
    expect(fleissKappa([])).toEqual({ value: null, observed: null, expected: null, items: 0 });
  });
});

describe('krippendorffAlphaNominal', () => {
  it('reproduces Krippendorff (2011) "Computing Krippendorff\'s Alpha-Reliability": 4 coders, 12 units, missing values, nominal α = 0.743', () => {
    const A = [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null];
    const B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3];
    const C = [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null];
    const D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null];
    const units = A.map((_, u) => [A[u], B[u], C[u], D[u]].filter((v): v is number => v !== null));
    const alpha = krippendorffAlphaNominal(units);
    expect(alpha.value).toBeCloseTo(0.743, 3);
    expect(alpha.items).toBe(11); // unit 12 has a single value: not pairable
  });

  it('reproduces the same paper\'s binary example of two observers and 10 units: α = 0.095', () => {
    const a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0];
    const b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0];
    expect(krippendorffAlphaNominal(a.map((v, u) => [v, b[u]])).value).toBeCloseTo(0.095, 3);
  });

  it.each(fixture.krippendorff.map((c) => [c.name, c] as const))('%s: as the coincidence-matrix reference, to 1e-12', (_name, c) => {
    const alpha = krippendorffAlphaNominal(c.units);
    expect(Math.abs(alpha.value! - c.value)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(alpha.observed! - c.observed)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(alpha.expected! - c.expected)).toBeLessThanOrEqual(1e-12);
    expect(alpha.items).toBe(c.items);
  });

  it('is 1 for perfect agreement, null when every value is one category, and drops units with fewer than two values', () => {
    expect(krippendorffAlphaNominal([[1, 1], [2, 2, 2], [3, 3]]).value).toBe(1);
    expect(krippendorffAlphaNominal([[1, 1], [1, 1, 1]])).toEqual({ value: null, observed: 1, expected: 1, items: 2 });
    expect(krippendorffAlphaNominal([[1, 2], [2, 2, 1], [3], []])).toEqual(krippendorffAlphaNominal([[1, 2], [2, 2, 1]]));
    expect(krippendorffAlphaNominal([[1], []])).toEqual({ value: null, observed: null, expected: null, items: 0 });
  });
});

// Three raters, three items: item 0 judged 1, 1, 0 by raters 0, 1, 2; item 1 judged 0, 0 by raters 0, 1; item 2 only by rater 2.
const hand = judgedFrom(3, [[[0, 1], [1, 1], [2, 0]], [[0, 0], [1, 0]], [[2, 1]]]);

describe('answers from a Judged', () => {
  it('counts and lists each item\'s answers, optionally of some raters', () => {
    expect(answerCounts(hand)).toEqual([[1, 2], [2, 0], [0, 1]]);
    expect(answerCounts(hand, (r) => r !== 2)).toEqual([[0, 2], [2, 0], [0, 0]]);
    expect(answerUnits(hand)).toEqual([[1, 1, 0], [0, 0], [1]]);
    expect(answerUnits(hand, (r) => r === 2)).toEqual([[0], [], [1]]);
  });

  it('gives the whole panel\'s kappa by hand: P̄ = (1/3 + 1) / 2, P̄e = (3/5)² + (2/5)², κ = 11/36', () => {
    expect(fleissKappa(answerCounts(hand)).value).toBeCloseTo(11 / 36, 14);
  });
});

describe('leaveOneRaterOut', () => {
  it('gives each rater\'s agreement with the others and the panel\'s kappa without them, as worked by hand', () => {
    expect(leaveOneRaterOut(hand)).toEqual([
      // Rater 0: item 0, one of two others agrees (1/2); item 1, the other agrees (1): mean 3/4. Without rater 0
      // only item 0 has two ratings, one 0 and one 1: P̄ = 0, P̄e = 1/2, κ = -1.
      { rater: 0, items: 2, agreement: 0.75, panelKappaWithout: -1 },
      { rater: 1, items: 2, agreement: 0.75, panelKappaWithout: -1 },
      // Rater 2: item 0, neither other agrees; item 2 has no other judgment. Without rater 2: items 0 and 1 are
      // unanimous, one each way: P̄ = 1, P̄e = 1/2, κ = 1.
      { rater: 2, items: 1, agreement: 0, panelKappaWithout: 1 },
    ]);
  });

  it('gives a rater without shared items null agreement and the whole panel\'s kappa', () => {
    const judged = judgedFrom(3, [[[0, 1], [1, 1]], [[0, 0], [1, 0]], [[2, 1]]]);
    const [, , loner] = leaveOneRaterOut(judged);
    expect(loner).toEqual({ rater: 2, items: 0, agreement: null, panelKappaWithout: fleissKappa(answerCounts(judged)).value });
  });
});

describe('responseTimes', () => {
  it('summarises a hand example with type-7 (numpy "linear") quantiles, ignoring unrecorded times', () => {
    const summary = responseTimes([1000, 300, NaN, 100, 400, 200]);
    expect(summary.count).toBe(5);
    expect(summary.mean).toBe(400);
    // h = 4p: p10 at 0.4 -> 100 + 0.4 * 100; p90 at 3.6 -> 400 + 0.6 * 600.
    expect(summary.quantiles!.p10).toBeCloseTo(140, 12);
    expect(summary.quantiles!.p25).toBe(200);
    expect(summary.quantiles!.p50).toBe(300);
    expect(summary.quantiles!.p75).toBe(400);
    expect(summary.quantiles!.p90).toBeCloseTo(760, 12);
    const { edges, counts } = summary.histogram;
    expect(edges).toHaveLength(25);
    expect(edges[0]).toBe(100);
    expect(edges[24]).toBe(60000);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(counts[0]).toBe(1); // 100 ms exactly: the first bin's lower edge
  });

  it('counts times outside 100 ms .. 60 s in the end bins, and has no quantiles without times', () => {
    const { counts } = responseTimes([5, 60000, 90000]).histogram;
    expect(counts[0]).toBe(1);
    expect(counts[23]).toBe(2);
    expect(responseTimes([])).toMatchObject({ count: 0, mean: null, quantiles: null });
  });

  it('matches numpy.quantile and numpy.histogram on log-spaced edges for 405 simulated times', () => {
    const expected = fixture.responseTimes;
    const summary = responseTimes(expected.ms);
    expect(summary.count).toBe(expected.count);
    expect(summary.mean).toBeCloseTo(expected.mean, 9);
    for (const [key, value] of Object.entries(expected.quantiles)) {
      expect(Math.abs((summary.quantiles as Record<string, number>)[key] - value)).toBeLessThanOrEqual(1e-9);
    }
    summary.histogram.edges.forEach((edge, k) => expect(Math.abs(edge - expected.edges[k])).toBeLessThanOrEqual(1e-9 * edge));
    expect(summary.histogram.counts).toEqual(expected.counts);
  });
});
