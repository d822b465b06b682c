/**
 * The whole analysis (src/agreement/analysis.ts) on hand-made study data, for what the simulated panel in
 * test/db/agreement.test.ts does not reach: infinite values (PSNR of an unchanged pair), equal infinities, a
 * metric scored on only some items, items nobody judged, identical JND pairs, and the JSON-safe view.
 */
import { analyse, MIN_CURVE_ITEMS, type AnalysisOptions } from '../../src/agreement/analysis';
import type { AnalysedItem, MetricSeries, StudyData } from '../../src/agreement/data';
import { averagePrecision } from '../../src/agreement/jnd';
import { judgedFrom } from '../../src/agreement/judged';
import { analysisView } from '../../src/agreement/views';
import type { RaterQuality } from '../../src/studies/quality';
import { RandomStream } from '../../src/synth/random';

const RATERS = 4;
const ITEMS = 24;
const options: AnalysisOptions = { includeSimulated: true, resamples: 200, seed: 5, confidence: 0.95, twoWay: false };

function rater(i: number): RaterQuality {
  return {
    raterId: `00000000-0000-4000-8000-00000000000${i}`, pseudonym: `S-00000${i}`, simulated: true, withdrawn: false, judgments: 0, sentinels: 0,
    sentinelPassRate: null, retests: 0, retestAgreement: null, medianResponseMs: 2000, displayCheck: null, lastActivity: null, excluded: false, reasons: [],
  };
}

function item(i: number, kind: string, s0: number, s1: number, extra: Partial<AnalysedItem> = {}): AnalysedItem {
  return { id: `item-${i}`, testSetId: 'set', position: i, category: 'traditional', kinds: [kind], identical: false, p0: { kind, severity: s0 }, p1: { kind, severity: s1 }, pairs: [], ...extra };
}

function series(label: string, metric: string, direction: 'distance' | 'similarity', d0: number[], d1: number[], jnd: number[]): MetricSeries {
  return { label, metric, params: {}, model: null, layers: null, direction, twoAfc: { d0: Float64Array.from(d0), d1: Float64Array.from(d1) }, jnd: Float64Array.from(jnd) };
}

/** 2AFC: p1 less severe on odd items; raters choose the less severe one 80% of the time. JND: severity drives "different". */
function study(): StudyData {
  const random = new RandomStream(3, 1);
  const twoAfcItems = Array.from({ length: ITEMS }, (_, i) => item(i, 'gaussian_blur', i % 2 ? 0.8 : 0.2, i % 2 ? 0.2 : 0.8));
  const jndItems = [
    ...Array.from({ length: ITEMS }, (_, i) => ({ ...item(100 + i, 'gaussian_noise', 0, (i + 1) / ITEMS), p0: null })),
    { ...item(200, 'gaussian_noise', 0, 0), p0: null, p1: null, identical: true },
  ];
  const answers2afc = twoAfcItems.map((it, i) => (i === ITEMS - 1 ? [] : Array.from({ length: RATERS }, (_, r) => [r, Number((it.p1!.severity < it.p0!.severity) === random.chance(0.8))] as const)));
  const answersJnd = jndItems.map((it) => Array.from({ length: RATERS }, (_, r) => [r, Number(random.uniform() > (it.p1?.severity ?? 0))] as const));
  const severity0 = twoAfcItems.map((it) => it.p0!.severity);
  const severity1 = twoAfcItems.map((it) => it.p1!.severity);
  const jndSeverity = jndItems.map((it) => it.p1?.severity ?? 0);
  const mse = (s: number) => s * s;
  const psnr = (s: number) => (s < 0.25 ? Infinity : 10 * Math.log10(1 / mse(s))); // unchanged below 0.25: infinite
  const raters = Array.from({ length: RATERS }, (_, i) => rater(i));
  const metrics = [
    series('mse', 'mse', 'distance', severity0.map(mse), severity1.map(mse), jndSeverity.map(mse)),
    series('psnr', 'psnr', 'similarity', severity0.map(psnr), severity1.map(psnr), jndSeverity.map(psnr)),
    // ssim scored on half the 2AFC items only: left out of 2AFC, analysed on JND.
    series('ssim', 'ssim', 'similarity', severity0.map((s, i) => (i % 2 ? NaN : 1 - s)), severity1.map((s, i) => (i % 2 ? NaN : 1 - s)), jndSeverity.map((s) => 1 - s)),
  ];
  const judged2afc = judgedFrom(RATERS, answers2afc);
  const judgedJnd = judgedFrom(RATERS, answersJnd);
  return {
    study: { id: 'study', name: 'hand-made' },
    inclusion: { includedRaterIds: raters.map((r) => r.raterId), excluded: [], includeSimulated: true },
    raters,
    raterIndex: raters.map((r) => r.raterId),
    twoAfc: { items: twoAfcItems, judged: judged2afc },
    jnd: { items: jndItems, judged: judgedJnd },
    metrics,
    responseTimes: new Map(raters.map((r) => [r.raterId, [1500, 2000, 2500]])),
    fingerprint: 'hand-made',
  };
}

const result = analyse({ data: study(), options });

it('analyses a metric only on the test types where every judged item has its value', () => {
  expect(result.twoAfc!.metrics).toEqual(['mse', 'psnr']);
  expect(result.jnd!.metrics).toEqual(['mse', 'psnr', 'ssim']);
  expect(result.notAnalysed).toEqual([{ label: 'ssim', testType: 'TWO_AFC', scored: (ITEMS - 1 + 1) / 2, items: ITEMS - 1 }]);
  expect(result.twoAfc!.items).toBe(ITEMS - 1); // the unjudged item is not analysed
});

it('orders infinite similarities like any other, and equal infinities tie', () => {
  const all = result.twoAfc!.scopes.find((scope) => scope.scope === 'all')!;
  const score = (name: string) => all.metrics.find((m) => m.name === name)!.score.value;
  // psnr is infinite (most similar) exactly where mse is smallest, so both pick the same candidate on every item.
  expect(score('psnr')).toBeCloseTo(score('mse'), 12);
  // JND: identical pairs are controls, reported apart; psnr's infinite distances sort first, as mse's smallest do.
  expect(result.jnd!.identical).toMatchObject({ items: 1, judgments: RATERS });
  // JND: psnr's infinite values (the first six pairs) are one tied threshold, as a clamped mse's zeros are.
  const jndAll = result.jnd!.scopes.find((scope) => scope.scope === 'all')!;
  const map = (name: string) => jndAll.metrics.find((m) => m.name === name)!.map.value;
  const data = study();
  const distorted = data.jnd.items.map((it, i) => i).filter((i) => !data.jnd.items[i].identical);
  const share = (i: number) => {
    const { start, answer } = data.jnd.judged;
    let sum = 0;
    for (let j = start[i]; j < start[i + 1]; j++) sum += answer[j];
    return sum / (start[i + 1] - start[i]);
  };
  const clamped = distorted.map((i) => Math.max(data.jnd.items[i].p1!.severity, 0.25) ** 2);
  expect(map('psnr')).toBeCloseTo(averagePrecision(clamped, distorted.map(share)).ap, 12);
  expect(map('mse')).toBeCloseTo(averagePrecision(distorted.map((i) => data.jnd.items[i].p1!.severity ** 2), distorted.map(share)).ap, 12);
});

it('fits curves per kind without being thrown by infinite values, and the view makes them JSON-safe', () => {
  expect(result.curves.map((c) => [c.testType, c.kind])).toEqual([['TWO_AFC', 'gaussian_blur'], ['JND', 'gaussian_noise']]);
  for (const set of result.curves) {
    expect(set.items).toBeGreaterThanOrEqual(MIN_CURVE_ITEMS);
    for (const { curve } of [{ curve: set.human }, ...set.metrics]) {
      for (const point of curve.curve) expect(Number.isFinite(point.p)).toBe(true);
    }
  }
  const jnd = result.curves.find((c) => c.testType === 'JND')!;
  expect(jnd.human.fit.converged).toBe(true);
  expect(jnd.human.fit.slope).toBeGreaterThan(0);
  expect(jnd.metrics.map((m) => m.label)).toEqual(['mse', 'psnr', 'ssim']);

  const view = analysisView(result);
  const text = JSON.stringify(view);
  expect(text).not.toMatch(/Infinity|NaN/);
  const psnrCurve = view.jnd!.scopes[0].metrics.find((m) => m.name === 'psnr')!.curve;
  expect(psnrCurve[0].threshold).toBeNull(); // the infinite first threshold
  expect(view.examples.every((example) => example.metrics.every((m) => m.distance === null || Number.isFinite(m.distance)))).toBe(true);
});

it('reports the panel, each rater against the rest, and their response times', () => {
  expect(result.panel.map((p) => p.testType)).toEqual(['TWO_AFC', 'JND']);
  for (const row of result.raters) {
    expect(row.twoAfcAgreement).not.toBeNull();
    expect(row.responseTimes).toMatchObject({ count: 3, quantiles: { p50: 2000 } });
  }
  expect(result.examples.filter((e) => e.testType === 'TWO_AFC')).toHaveLength(3);
});
