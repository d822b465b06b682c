/**
 * A study's whole analysis from its loaded data (data.ts), pure and run on a worker thread (service.ts):
 * - 2AFC scores and JND mAP per metric, overall, per category and per distortion kind, with the human
 *   ceilings, seeded bootstrap intervals and Holm-adjusted paired comparisons (twoafc.ts, jnd.ts);
 * - rater agreement (Fleiss' kappa, Krippendorff's alpha, each rater against the rest), response times;
 * - psychometric curves per distortion kind, the humans' and each metric's (psychometric.ts);
 * - a few example items per category with each metric's choice and the humans' split.
 * A metric is analysed on a test type only where it has a value for every judged item (paired
 * comparisons need the same items); the others are listed with how many items they cover.
 */
import type { Inclusion, RaterQuality } from '../studies/quality';
import type { AnalysedItem, MetricDescription, MetricSeries, StudyData, TestType, TestTypeData } from './data';
import { analyseJnd, type JndScopeResult } from './jnd';
import type { BootstrapOptions, Judged, Scope } from './judged';
import { psychometricCurve, fitPsychometric, type PsychometricCurve } from './psychometric';
import { answerCounts, answerUnits, fleissKappa, krippendorffAlphaNominal, leaveOneRaterOut, responseTimes, type Coefficient } from './raters';
import { analyseTwoAfc, type TwoAfcScopeResult } from './twoafc';

export interface AnalysisOptions extends BootstrapOptions {
  includeSimulated: boolean;
}

export type AnalysedMetric = MetricDescription;

export interface NotAnalysed {
  label: string;
  testType: TestType;
  /** Judged items it has values for, of `items`. */
  scored: number;
  items: number;
}

export interface RaterRow extends RaterQuality {
  /** Agreement with the rest of the panel (that rater left out), per test type; null when not included. */
  twoAfcAgreement: number | null;
  jndAgreement: number | null;
  twoAfcPanelKappaWithout: number | null;
  jndPanelKappaWithout: number | null;
  responseTimes: ReturnType<typeof responseTimes>;
}

export interface PanelAgreement {
  testType: TestType;
  items: number;
  judgments: number;
  fleissKappa: Coefficient;
  krippendorffAlpha: Coefficient;
}

export interface CurveSet {
  testType: TestType;
  kind: string;
  /** What x is: JND, p1's severity; 2AFC, the candidates' severity difference (same kind, unequal severities). */
  x: string;
  /** What p is. */
  p: string;
  items: number;
  human: PsychometricCurve & { failedResamples: number };
  metrics: Array<{ label: string; curve: PsychometricCurve & { failedResamples: number } }>;
}

export interface ExampleItem {
  itemId: string;
  testType: TestType;
  category: string;
  kinds: string[];
  judgments: number;
  /** 2AFC: the share who chose p1; JND: the share who said "same". */
  fraction: number;
  /** 2AFC: the candidate each metric ranks closer ('p0', 'p1', 'tie'); JND: each metric's distance. */
  metrics: Array<{ label: string; choice: 'p0' | 'p1' | 'tie' | null; distance: number | null }>;
}

export interface Analysis {
  study: { id: string; name: string };
  fingerprint: string;
  computedAt: string;
  options: AnalysisOptions;
  inclusion: Inclusion & { simulatedIncluded: boolean };
  metrics: AnalysedMetric[];
  notAnalysed: NotAnalysed[];
  twoAfc: { items: number; judgments: number; metrics: string[]; scopes: TwoAfcScopeResult[] } | null;
  jnd: { items: number; judgments: number; metrics: string[]; identical: { items: number; judgments: number; sameShare: number | null }; scopes: JndScopeResult[] } | null;
  panel: PanelAgreement[];
  raters: RaterRow[];
  curves: CurveSet[];
  examples: ExampleItem[];
}

/** Items with at least one judgment that `keep` accepts, as their own Judged (indices renumbered). */
function judgedSubset(data: TestTypeData, keep: (item: AnalysedItem) => boolean): { items: AnalysedItem[]; indices: number[]; judged: Judged } {
  const { judged } = data;
  const indices = data.items.map((_, i) => i).filter((i) => judged.start[i + 1] > judged.start[i] && keep(data.items[i]));
  const start = new Int32Array(indices.length + 1);
  indices.forEach((i, k) => (start[k + 1] = start[k] + judged.start[i + 1] - judged.start[i]));
  const rater = new Int32Array(start[indices.length]);
  const answer = new Uint8Array(start[indices.length]);
  indices.forEach((i, k) => {
    rater.set(judged.rater.subarray(judged.start[i], judged.start[i + 1]), start[k]);
    answer.set(judged.answer.subarray(judged.start[i], judged.start[i + 1]), start[k]);
  });
  return { items: indices.map((i) => data.items[i]), indices, judged: { count: indices.length, raterCount: judged.raterCount, start, rater, answer } };
}

/** Overall, per category and per distortion kind (an item counts under each kind it has). */
function scopesOf(items: AnalysedItem[]): Scope[] {
  const groups = new Map<string, number[]>([['all', items.map((_, i) => i)]]);
  const add = (name: string, i: number) => (groups.get(name) ?? groups.set(name, []).get(name)!).push(i);
  items.forEach((item, i) => add(`category: ${item.category}`, i));
  items.forEach((item, i) => new Set(item.kinds).forEach((kind) => add(`kind: ${kind}`, i)));
  const named = [...groups.entries()];
  const order = (name: string) => (name === 'all' ? 0 : name.startsWith('category') ? 1 : 2);
  named.sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b));
  return named.map(([name, list]) => ({ name, items: Int32Array.from(list) }));
}

/** A similarity becomes a distance by negation: only the order matters to every statistic here. */
const oriented = (series: MetricSeries, value: number) => (series.direction === 'similarity' ? -value : value);

function describe(series: MetricSeries): AnalysedMetric {
  const { label, metric, params, model, layers, direction } = series;
  return { label, metric, params, model, layers, direction };
}

function share(judged: Judged, i: number): number {
  let sum = 0;
  for (let j = judged.start[i]; j < judged.start[i + 1]; j++) sum += judged.answer[j];
  return sum / (judged.start[i + 1] - judged.start[i]);
}

function panelAgreement(testType: TestType, judged: Judged): PanelAgreement {
  return {
    testType,
    items: judged.count,
    judgments: judged.start[judged.count],
    fleissKappa: fleissKappa(answerCounts(judged)),
    krippendorffAlpha: krippendorffAlphaNominal(answerUnits(judged)),
  };
}

/** A test type's judged items (indices into the loaded data's items) and its complete metrics. */
interface Prepared {
  items: AnalysedItem[];
  indices: number[];
  judged: Judged;
  complete: MetricSeries[];
}

function completeMetrics(data: StudyData, testType: TestType, subset: { items: AnalysedItem[]; indices: number[] }, notAnalysed: NotAnalysed[]): MetricSeries[] {
  const complete: MetricSeries[] = [];
  for (const series of data.metrics) {
    const values = testType === 'TWO_AFC' ? [series.twoAfc.d0, series.twoAfc.d1] : [series.jnd];
    const scored = subset.indices.filter((i) => values.every((v) => !Number.isNaN(v[i]))).length;
    if (scored === subset.indices.length && scored > 0) complete.push(series);
    else if (scored > 0 || values.some((v) => v.some((x) => !Number.isNaN(x)))) notAnalysed.push({ label: series.label, testType, scored, items: subset.indices.length });
  }
  return complete;
}

function twoAfcPart(data: StudyData, options: AnalysisOptions, notAnalysed: NotAnalysed[]): [Analysis['twoAfc'], Prepared | null] {
  const subset = judgedSubset(data.twoAfc, () => true);
  if (subset.items.length === 0) return [null, null];
  const complete = completeMetrics(data, 'TWO_AFC', subset, notAnalysed);
  const distances = complete.map((series) => ({
    name: series.label,
    d0: Float64Array.from(subset.indices, (i) => oriented(series, series.twoAfc.d0[i])),
    d1: Float64Array.from(subset.indices, (i) => oriented(series, series.twoAfc.d1[i])),
  }));
  const scopes = analyseTwoAfc(subset.judged, distances, scopesOf(subset.items), options);
  return [
    { items: subset.items.length, judgments: subset.judged.start[subset.judged.count], metrics: complete.map((s) => s.label), scopes },
    { ...subset, complete },
  ];
}

function jndPart(data: StudyData, options: AnalysisOptions, notAnalysed: NotAnalysed[]): [Analysis['jnd'], Prepared | null] {
  const distorted = judgedSubset(data.jnd, (item) => !item.identical);
  const identical = judgedSubset(data.jnd, (item) => item.identical);
  if (distorted.items.length === 0) return [null, null];
  const complete = completeMetrics(data, 'JND', distorted, notAnalysed);
  const distances = complete.map((series) => ({ name: series.label, distance: Float64Array.from(distorted.indices, (i) => oriented(series, series.jnd[i])) }));
  const scopes = analyseJnd(distorted.judged, distances, scopesOf(distorted.items), options);
  const identicalJudgments = identical.judged.start[identical.judged.count];
  let said = 0;
  for (let j = 0; j < identicalJudgments; j++) said += identical.judged.answer[j];
  return [
    {
      items: distorted.items.length,
      judgments: distorted.judged.start[distorted.judged.count],
      metrics: complete.map((s) => s.label),
      identical: { items: identical.items.length, judgments: identicalJudgments, sameShare: identicalJudgments ? said / identicalJudgments : null },
      scopes,
    },
    { ...distorted, complete },
  ];
}

/** Rows of a psychometric fit: one per item. */
class Rows {
  x: number[] = [];
  successes: number[] = [];
  trials: number[] = [];
  push(x: number, successes: number, trials: number): void {
    this.x.push(x);
    this.successes.push(successes);
    this.trials.push(trials);
  }
}

/** The fewest items a kind needs for a curve: with fewer, a two-parameter fit says little. */
export const MIN_CURVE_ITEMS = 8;

const logistic = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Each metric's own logistic: P(answer 1) against the metric's evidence for it (JND, "same", against the
 * distance; 2AFC, "p1 is closer", against d0 - d1), fitted to the humans over all the type's items; then its
 * predicted P per item. Fitted on finite values (PSNR of an unchanged pair is infinite); the logistic's limits
 * predict the rest. Metrics whose fit fails (answers perfectly separated by the metric) have no curve.
 */
function predictedAnswers(prepared: Prepared, testType: TestType): Map<string, Float64Array> {
  const { items, indices, judged, complete } = prepared;
  const predicted = new Map<string, Float64Array>();
  for (const series of complete) {
    const evidence = indices.map((index) => {
      if (testType === 'JND') return oriented(series, series.jnd[index]);
      const [d0, d1] = [oriented(series, series.twoAfc.d0[index]), oriented(series, series.twoAfc.d1[index])];
      return d0 === d1 ? 0 : d0 - d1; // equal infinities are a tie, not NaN
    });
    const rows = new Rows();
    items.forEach((_, i) => {
      const n = judged.start[i + 1] - judged.start[i];
      if (Number.isFinite(evidence[i])) rows.push(evidence[i], n * share(judged, i), n);
    });
    const fit = fitPsychometric(rows, 0);
    if (fit.converged) predicted.set(series.label, Float64Array.from(evidence, (x) => logistic(fit.intercept + (fit.slope === 0 ? 0 : fit.slope * x))));
  }
  return predicted;
}

/**
 * JND: P(different) against p1's severity. 2AFC: P(chose the less severe candidate) against the severity
 * difference, over items whose candidates are the same kind at unequal severities, with a guess rate of
 * 0.5. A metric's curve is the same fit to its own predicted probabilities (predictedAnswers), so humans
 * and metrics are compared in the kind's own units.
 */
function curvesOf(prepared: Prepared, testType: TestType, options: AnalysisOptions): CurveSet[] {
  const { items, judged } = prepared;
  const jnd = testType === 'JND';
  const guess = jnd ? 0 : 0.5;
  const curveOptions = { resamples: options.resamples, seed: options.seed, confidence: options.confidence };
  const byKind = new Map<string, number[]>();
  items.forEach((item, i) => {
    const kind = jnd ? item.p1?.kind : item.p0 && item.p1 && item.p0.kind === item.p1.kind && item.p0.severity !== item.p1.severity ? item.p0.kind : null;
    if (kind) (byKind.get(kind) ?? byKind.set(kind, []).get(kind)!).push(i);
  });
  const predicted = predictedAnswers(prepared, testType);
  const out: CurveSet[] = [];
  for (const [kind, list] of [...byKind.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (list.length < MIN_CURVE_ITEMS) continue;
    const human = new Rows();
    const perMetric = new Map([...predicted.keys()].map((label) => [label, new Rows()]));
    for (const i of list) {
      const item = items[i];
      const n = judged.start[i + 1] - judged.start[i];
      // x, and whether answer 1 ("same"; "p1 is closer") is the success the curve counts.
      const x = jnd ? item.p1!.severity : Math.abs(item.p0!.severity - item.p1!.severity);
      const answerOneSucceeds = !jnd && item.p1!.severity < item.p0!.severity;
      const success = (p: number) => (answerOneSucceeds ? p : 1 - p);
      human.push(x, n * success(share(judged, i)), n);
      for (const [label, p] of predicted) perMetric.get(label)!.push(x, success(p[i]), 1);
    }
    out.push({
      testType,
      kind,
      x: jnd ? `severity of ${kind} (p1)` : `severity difference of two ${kind} candidates`,
      p: jnd ? 'P(different)' : 'P(chose the less severe candidate)',
      items: list.length,
      human: psychometricCurve(human, guess, curveOptions),
      // A metric's curve is a function of its own fitted logistic: its threshold is a point value (no bootstrap).
      metrics: [...perMetric.entries()].map(([label, r]) => ({ label, curve: psychometricCurve(r, guess, { ...curveOptions, resamples: 0 }) })),
    });
  }
  return out;
}

/** Up to EXAMPLES_PER_CATEGORY items per category and test type: the most judged first, then by position. */
export const EXAMPLES_PER_CATEGORY = 3;

function examplesOf(prepared: Prepared, testType: TestType): ExampleItem[] {
  const { items, indices, judged, complete } = prepared;
  const order = items.map((_, i) => i).sort((a, b) => judged.start[b + 1] - judged.start[b] - (judged.start[a + 1] - judged.start[a]) || a - b);
  const taken = new Map<string, number>();
  const out: ExampleItem[] = [];
  for (const i of order) {
    const item = items[i];
    if ((taken.get(item.category) ?? 0) >= EXAMPLES_PER_CATEGORY) continue;
    taken.set(item.category, (taken.get(item.category) ?? 0) + 1);
    out.push({
      itemId: item.id,
      testType,
      category: item.category,
      kinds: item.kinds,
      judgments: judged.start[i + 1] - judged.start[i],
      fraction: share(judged, i),
      metrics: complete.map((series) => {
        if (testType === 'JND') return { label: series.label, choice: null, distance: series.jnd[indices[i]] };
        const d0 = oriented(series, series.twoAfc.d0[indices[i]]);
        const d1 = oriented(series, series.twoAfc.d1[indices[i]]);
        return { label: series.label, choice: d0 < d1 ? 'p0' : d1 < d0 ? 'p1' : 'tie', distance: null };
      }),
    });
  }
  return out.sort((a, b) => a.category.localeCompare(b.category));
}

function raterRows(data: StudyData, parts: Array<[TestType, Prepared | null]>): RaterRow[] {
  const leaveOut = new Map<TestType, ReturnType<typeof leaveOneRaterOut>>();
  for (const [testType, prepared] of parts) if (prepared) leaveOut.set(testType, leaveOneRaterOut(prepared.judged));
  const number = new Map(data.raterIndex.map((id, i) => [id, i]));
  return data.raters.map((quality) => {
    const index = number.get(quality.raterId);
    const of = (testType: TestType) => (index === undefined ? undefined : leaveOut.get(testType)?.find((row) => row.rater === index));
    return {
      ...quality,
      twoAfcAgreement: of('TWO_AFC')?.agreement ?? null,
      jndAgreement: of('JND')?.agreement ?? null,
      twoAfcPanelKappaWithout: of('TWO_AFC')?.panelKappaWithout ?? null,
      jndPanelKappaWithout: of('JND')?.panelKappaWithout ?? null,
      responseTimes: responseTimes(data.responseTimes.get(quality.raterId) ?? []),
    };
  });
}

/** The analysis of loaded data: what the worker runs (service.ts). */
export function analyse(input: { data: StudyData; options: AnalysisOptions }): Analysis {
  const { data, options } = input;
  const notAnalysed: NotAnalysed[] = [];
  const [twoAfc, twoAfcPrepared] = twoAfcPart(data, options, notAnalysed);
  const [jnd, jndPrepared] = jndPart(data, options, notAnalysed);
  const parts: Array<[TestType, Prepared | null]> = [['TWO_AFC', twoAfcPrepared], ['JND', jndPrepared]];
  const simulated = new Set(data.raters.filter((rater) => rater.simulated).map((rater) => rater.raterId));
  return {
    study: data.study,
    fingerprint: data.fingerprint,
    computedAt: new Date().toISOString(),
    options,
    inclusion: { ...data.inclusion, simulatedIncluded: data.raterIndex.some((id) => simulated.has(id)) },
    metrics: data.metrics.map(describe),
    notAnalysed,
    twoAfc,
    jnd,
    panel: parts.flatMap(([testType, prepared]) => (prepared ? [panelAgreement(testType, prepared.judged)] : [])),
    raters: raterRows(data, parts),
    curves: parts.flatMap(([testType, prepared]) => (prepared ? curvesOf(prepared, testType, options) : [])),
    examples: parts.flatMap(([testType, prepared]) => (prepared ? examplesOf(prepared, testType) : [])),
  };
}
