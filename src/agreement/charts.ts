/**
 * The charts of a study's analysis (the /analysis page and its report): each one a named table of rows and a
 * Vega-Lite spec drawn from those rows alone, so that the figure, its CSV and its JSON say the same thing.
 * Rendered to SVG on the server by vega's headless view (no canvas: text widths are estimated).
 * A chart with nothing to draw says why (no judgments, no metrics) instead of drawing an empty frame.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { MIN_CURVE_ITEMS, type Analysis } from './analysis';
import type { TestType } from './data';
import type { Comparison } from './compare';
import type { Estimate } from './judged';
import { finite } from './views';

export const CHART_IDS = [
  'twoafc-scores',
  'twoafc-kinds',
  'jnd-precision-recall',
  'jnd-map',
  'paired-differences',
  'psychometric',
  'panel-agreement',
  'response-times',
] as const;

export type ChartId = (typeof CHART_IDS)[number];
export type Cell = string | number | boolean | null;
export type ChartRow = Record<string, Cell>;

export interface Chart {
  id: ChartId;
  title: string;
  description: string;
  /** The rows' fields, in the CSV's column order. */
  columns: string[];
  rows: ChartRow[];
  /** Why there is nothing to draw; null when there is. */
  unavailable: string | null;
  /** Null when unavailable. */
  spec: TopLevelSpec | null;
}

export function isChartId(id: string): id is ChartId {
  return (CHART_IDS as readonly string[]).includes(id);
}

export const TEST_NAMES: Record<TestType, string> = { TWO_AFC: '2AFC', JND: 'JND' };

/** The legend's names of the 2AFC series: which ceiling is which must be plain on the figure itself. */
export const SERIES = {
  metric: 'metric (dot; line: bootstrap interval)',
  pairwise: 'human ceiling, pairwise: two random raters agree (band: interval)',
  oracle: 'human ceiling, oracle: best deterministic metric (dashed)',
} as const;

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const WIDTH = 420;
/** No ARIA descriptions per mark: the SVG as a whole is one labelled image (chartSvg). */
const CONFIG = { aria: false, font: 'sans-serif', legend: { labelLimit: 0, orient: 'bottom', direction: 'vertical' } } as const;

/** A Vega-Lite spec of the chart's rows: the schema, the description (for screen readers) and the house config. */
function vegaLite(description: string, rows: ChartRow[], body: Record<string, unknown>): TopLevelSpec {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', description, data: { values: rows }, ...body, config: CONFIG } as TopLevelSpec;
}

function estimateCells(estimate: Estimate | null): { value: number | null; low: number | null; high: number | null } {
  return { value: finite(estimate?.value), low: finite(estimate?.low), high: finite(estimate?.high) };
}

export function fixed(value: number | null | undefined, digits = 3): string {
  if (value === Infinity || value === -Infinity) return value > 0 ? '∞' : '−∞'; // e.g. PSNR of images equal in 8 bits
  return finite(value) === null ? 'n/a' : value!.toFixed(digits);
}

/** Scopes as the analysis names them: "all", "category: X", "kind: X". */
const isKindScope = (scope: string) => scope.startsWith('kind: ');

function noTwoAfc(analysis: Analysis): string | null {
  if (!analysis.twoAfc) return `No 2AFC item has a judgment from the included raters${simulatedHint(analysis)}.`;
  if (analysis.twoAfc.metrics.length === 0) return 'No metric has values for every judged 2AFC item: store scores with scoreTestSet.';
  return null;
}

function noJnd(analysis: Analysis): string | null {
  if (!analysis.jnd) return `No distorted JND pair has a judgment from the included raters${simulatedHint(analysis)}.`;
  if (analysis.jnd.metrics.length === 0) return 'No metric has values for every judged JND pair: store scores with scoreTestSet.';
  return null;
}

function simulatedHint(analysis: Analysis): string {
  const simulatedLeftOut = !analysis.inclusion.includeSimulated && analysis.raters.some((rater) => rater.simulated);
  return simulatedLeftOut ? ' (simulated raters are left out: include them to see their figures)' : '';
}

interface ScopeEstimates {
  scope: string;
  items: number;
  metrics: Array<{ name: string; estimate: Estimate }>;
  ceilings: { pairwise: Estimate; oracle: Estimate } | null;
}

/** One row per (scope, metric or ceiling). */
function scopeRows(scopes: ScopeEstimates[]): ChartRow[] {
  return scopes.flatMap((scope) => {
    const row = (series: string, name: string, estimate: Estimate) => ({ scope: scope.scope, items: scope.items, series, name, ...estimateCells(estimate) });
    const rows = scope.metrics.map((metric) => row(SERIES.metric, metric.name, metric.estimate));
    if (scope.ceilings) rows.push(row(SERIES.pairwise, 'pairwise ceiling', scope.ceilings.pairwise), row(SERIES.oracle, 'oracle ceiling', scope.ceilings.oracle));
    return rows;
  });
}

const SCOPE_COLUMNS = ['scope', 'items', 'series', 'name', 'value', 'low', 'high'];

/** Each metric's estimate with its interval, a panel per scope; the 2AFC human ceilings across each panel. */
function scopeSpec(rows: ChartRow[], axisTitle: string, description: string, withCeilings: boolean): TopLevelSpec {
  const only = (series: string) => [{ filter: { field: 'series', equal: series } }];
  const x = { type: 'quantitative' as const, title: axisTitle, scale: { zero: false, nice: true } };
  const series = withCeilings ? [SERIES.metric, SERIES.pairwise, SERIES.oracle] : [SERIES.metric];
  const color = { field: 'series', type: 'nominal' as const, title: null, scale: { domain: series, range: ['#1f5f99', '#d08a1e', '#6a3d8c'] }, legend: withCeilings ? {} : null };
  const y = { field: 'name', type: 'nominal' as const, title: null, sort: null };
  const ceilingLayers = withCeilings
    ? [
        { transform: only(SERIES.pairwise), mark: { type: 'rect' as const, opacity: 0.25 }, encoding: { x: { field: 'low', ...x }, x2: { field: 'high' }, color } },
        { transform: only(SERIES.pairwise), mark: { type: 'rule' as const, strokeWidth: 2 }, encoding: { x: { field: 'value', ...x }, color } },
        { transform: only(SERIES.oracle), mark: { type: 'rule' as const, strokeWidth: 2, strokeDash: [5, 3] }, encoding: { x: { field: 'value', ...x }, color } },
      ]
    : [];
  return vegaLite(description, rows, {
    facet: { row: { field: 'scope', type: 'nominal', title: null, sort: [...new Set(rows.map((row) => String(row.scope)))], header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
    spec: {
      width: WIDTH,
      height: { step: 18 },
      layer: [
        ...ceilingLayers,
        { transform: only(SERIES.metric), mark: { type: 'rule' }, encoding: { y, x: { field: 'low', ...x }, x2: { field: 'high' }, color } },
        { transform: only(SERIES.metric), mark: { type: 'point', filled: true, size: 50 }, encoding: { y, x: { field: 'value', ...x }, color } },
      ],
    },
  });
}

function twoAfcChart(analysis: Analysis, kinds: boolean): Chart {
  const id = kinds ? 'twoafc-kinds' : 'twoafc-scores';
  const title = kinds ? '2AFC score per distortion kind' : '2AFC score, overall and per category';
  const description =
    `Each metric's 2AFC score (the share of physicians who chose the candidate the metric ranks closer; ties count half) with its ${percentOf(analysis)} bootstrap interval, ` +
    `${kinds ? 'for the items of each distortion kind' : 'over all items and per category'}. The band is the pairwise human ceiling (two random raters agree), the dashed line the oracle ceiling (the best a deterministic metric can do).`;
  const scopes = (analysis.twoAfc?.scopes ?? [])
    .filter((scope) => isKindScope(scope.scope) === kinds)
    .map((scope) => ({ scope: scope.scope, items: scope.items, metrics: scope.metrics.map((m) => ({ name: m.name, estimate: m.score })), ceilings: scope.ceilings }));
  const unavailable = noTwoAfc(analysis) ?? (scopes.length === 0 ? `No 2AFC item has a ${kinds ? 'single distortion kind' : 'category'} to group by.` : null);
  const rows = unavailable ? [] : scopeRows(scopes);
  return { id, title, description, columns: SCOPE_COLUMNS, rows, unavailable, spec: unavailable ? null : scopeSpec(rows, '2AFC score', description, true) };
}

function jndMapChart(analysis: Analysis): Chart {
  const title = 'JND mAP, overall, per category and per kind';
  const description = `Each metric's mean average precision at finding the pairs physicians called "same" (pairs sorted by the metric's distance), with its ${percentOf(analysis)} bootstrap interval, per scope.`;
  const unavailable = noJnd(analysis);
  const scopes = (analysis.jnd?.scopes ?? []).map((scope) => ({ scope: scope.scope, items: scope.items, metrics: scope.metrics.map((m) => ({ name: m.name, estimate: m.map })), ceilings: null }));
  const rows = unavailable ? [] : scopeRows(scopes);
  return { id: 'jnd-map', title, description, columns: SCOPE_COLUMNS, rows, unavailable, spec: unavailable ? null : scopeSpec(rows, 'mAP', description, false) };
}

function colorScale(names: string[], first?: { name: string; color: string }) {
  const domain = first ? [first.name, ...names] : names;
  const range = [...(first ? [first.color] : []), ...names.map((_, i) => PALETTE[i % PALETTE.length])];
  return { domain, range };
}

function precisionRecallChart(analysis: Analysis): Chart {
  const title = 'JND precision-recall curves (all pairs)';
  const description = 'For each metric, precision against recall of "same" as its distance threshold grows (the share of physicians who said "same" as a soft label); the legend gives each metric\'s mAP.';
  const all = analysis.jnd?.scopes.find((scope) => scope.scope === 'all');
  const unavailable = noJnd(analysis) ?? (all ? null : 'The JND analysis has no overall scope.');
  const rows: ChartRow[] = unavailable
    ? []
    : all!.metrics.flatMap((metric) =>
        metric.curve.map((point, index) => ({
          metric: metric.name,
          legend: `${metric.name} (mAP ${fixed(metric.map.value)})`,
          map: finite(metric.map.value),
          index,
          threshold: finite(point.threshold),
          recall: finite(point.recall),
          precision: finite(point.precision),
        })),
      );
  const legends = [...new Set(rows.map((row) => String(row.legend)))];
  const spec = vegaLite(description, rows, {
    width: WIDTH,
    height: 260,
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
    encoding: {
      x: { field: 'recall', type: 'quantitative', scale: { domain: [0, 1] }, title: 'recall of "same"' },
      y: { field: 'precision', type: 'quantitative', scale: { domain: [0, 1] }, title: 'precision' },
      color: { field: 'legend', type: 'nominal', title: null, scale: colorScale(legends) },
      order: { field: 'index', type: 'quantitative' },
    },
  });
  return { id: 'jnd-precision-recall', title, description, columns: ['metric', 'legend', 'map', 'index', 'threshold', 'recall', 'precision'], rows, unavailable, spec: unavailable ? null : spec };
}

function pairedDifferencesChart(analysis: Analysis): Chart {
  const title = 'Paired differences between metrics (all items)';
  const description = `Score of metric a minus metric b on the same resampled items, with its ${percentOf(analysis)} paired-bootstrap interval; a difference is significant when its Holm-adjusted p is below ${fixed(1 - analysis.options.confidence, 3)}.`;
  const scopes: Array<{ testType: TestType; comparisons: Comparison[] }> = [];
  const twoAfcAll = analysis.twoAfc?.scopes.find((scope) => scope.scope === 'all');
  const jndAll = analysis.jnd?.scopes.find((scope) => scope.scope === 'all');
  if (twoAfcAll) scopes.push({ testType: 'TWO_AFC', comparisons: twoAfcAll.comparisons });
  if (jndAll) scopes.push({ testType: 'JND', comparisons: jndAll.comparisons });
  const rows: ChartRow[] = scopes.flatMap(({ testType, comparisons }) =>
    comparisons.map((c) => ({
      label: `${TEST_NAMES[testType]} · ${c.a} − ${c.b}`,
      test: TEST_NAMES[testType],
      a: c.a,
      b: c.b,
      ...estimateCells(c.difference),
      p: finite(c.p),
      pAdjusted: finite(c.pAdjusted),
      significant: c.significant,
      verdict: c.significant ? 'significant (Holm)' : 'not significant',
    })),
  );
  const neither = noTwoAfc(analysis) && noJnd(analysis) ? `${noTwoAfc(analysis)} ${noJnd(analysis)}` : null;
  const unavailable = rows.length > 0 ? null : (neither ?? 'Comparisons need two metrics or more on a test type.');
  const y = { field: 'label', type: 'nominal', title: null, sort: null };
  const x = { type: 'quantitative', title: 'difference (a − b)' };
  const color = { field: 'verdict', type: 'nominal', title: null, scale: { domain: ['significant (Holm)', 'not significant'], range: ['#b3261e', '#6b6b64'] } };
  const spec = vegaLite(description, rows, {
    width: WIDTH,
    height: { step: 18 },
    layer: [
      { data: { values: [{}] }, mark: { type: 'rule', color: '#999', strokeDash: [2, 2] }, encoding: { x: { datum: 0, ...x } } },
      { mark: 'rule', encoding: { y, x: { field: 'low', ...x }, x2: { field: 'high' }, color } },
      { mark: { type: 'point', filled: true, size: 50 }, encoding: { y, x: { field: 'value', ...x }, color } },
    ],
  });
  return {
    id: 'paired-differences',
    title,
    description,
    columns: ['label', 'test', 'a', 'b', 'value', 'low', 'high', 'p', 'pAdjusted', 'significant', 'verdict'],
    rows: unavailable ? [] : rows,
    unavailable,
    spec: unavailable ? null : spec,
  };
}

function psychometricChart(analysis: Analysis): Chart {
  const title = 'Psychometric curves per distortion kind';
  const description =
    'Per distortion kind, the physicians\' observed proportions (dots, sized by judgments) and fitted logistic curve (black), and each metric\'s curve. ' +
    'JND: P(different) against the severity of the distorted image; 2AFC: P(chose the less severe candidate) against the two candidates\' severity difference (same kind).';
  const rows: ChartRow[] = analysis.curves.flatMap((set) => {
    const panel = `${TEST_NAMES[set.testType]} · ${set.kind}`;
    const base = { panel, test: TEST_NAMES[set.testType], kind: set.kind };
    return [
      ...set.human.curve.map((point) => ({ ...base, source: 'physicians', part: 'fitted', x: finite(point.x), p: finite(point.p), trials: null })),
      ...set.human.observed.map((point) => ({ ...base, source: 'physicians', part: 'observed', x: finite(point.x), p: finite(point.p), trials: finite(point.trials) })),
      ...set.metrics.flatMap((metric) => metric.curve.curve.map((point) => ({ ...base, source: metric.label, part: 'fitted', x: finite(point.x), p: finite(point.p), trials: null }))),
    ];
  });
  const unavailable =
    analysis.curves.length > 0
      ? null
      : !analysis.twoAfc && !analysis.jnd
        ? 'No item has a judgment from the included raters.'
        : `No distortion kind has the ${MIN_CURVE_ITEMS} judged single-kind items a curve needs.`;
  const metricNames = [...new Set(rows.map((row) => String(row.source)).filter((source) => source !== 'physicians'))];
  const color = { field: 'source', type: 'nominal', title: null, scale: colorScale(metricNames, { name: 'physicians', color: '#111111' }) };
  const spec = vegaLite(description, rows, {
    facet: { field: 'panel', type: 'nominal', title: null },
    columns: 2,
    spec: {
      width: 260,
      height: 180,
      layer: [
        {
          transform: [{ filter: { field: 'part', equal: 'fitted' } }],
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x: { field: 'x', type: 'quantitative', title: 'severity (difference)', scale: { zero: false } },
            y: { field: 'p', type: 'quantitative', title: 'P', scale: { domain: [0, 1] } },
            color,
          },
        },
        {
          transform: [{ filter: { field: 'part', equal: 'observed' } }],
          mark: { type: 'point', filled: true, opacity: 0.8 },
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            y: { field: 'p', type: 'quantitative' },
            size: { field: 'trials', type: 'quantitative', title: 'judgments', scale: { range: [15, 120] } },
            color,
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  });
  return { id: 'psychometric', title, description, columns: ['panel', 'test', 'kind', 'source', 'part', 'x', 'p', 'trials'], rows, unavailable, spec: unavailable ? null : spec };
}

function panelAgreementChart(analysis: Analysis): Chart {
  const title = "Panel agreement: Fleiss' kappa and Krippendorff's alpha";
  const description = 'Chance-corrected agreement of the included raters per test type (1: perfect, 0: chance).';
  const rows: ChartRow[] = analysis.panel.flatMap((panel) =>
    (
      [
        ["Fleiss' kappa", panel.fleissKappa],
        ["Krippendorff's alpha", panel.krippendorffAlpha],
      ] as const
    ).map(([coefficient, value]) => ({
      label: `${TEST_NAMES[panel.testType]} · ${coefficient}`,
      test: TEST_NAMES[panel.testType],
      coefficient,
      value: finite(value.value),
      observed: finite(value.observed),
      expected: finite(value.expected),
      items: value.items,
    })),
  );
  const unavailable = rows.length === 0 ? 'No item has a judgment from the included raters.' : rows.every((row) => row.value === null) ? 'Agreement is undefined: no item has two answers of different raters, or every answer is the same.' : null;
  const spec = vegaLite(description, rows, {
    width: WIDTH,
    height: { step: 22 },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'label', type: 'nominal', title: null, sort: null },
          x: { field: 'value', type: 'quantitative', title: 'agreement', scale: { domain: [Math.min(0, ...rows.map((row) => (row.value as number | null) ?? 0)), 1] } },
          color: { field: 'coefficient', type: 'nominal', title: null, scale: { range: ['#1f5f99', '#6a9fcf'] } },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: { y: { field: 'label', type: 'nominal', sort: null }, x: { field: 'value', type: 'quantitative' }, text: { field: 'value', type: 'quantitative', format: '.3f' } },
      },
    ],
  });
  return { id: 'panel-agreement', title, description, columns: ['label', 'test', 'coefficient', 'value', 'observed', 'expected', 'items'], rows, unavailable, spec: unavailable ? null : spec };
}

/** A rater's name on the figures: SIMULATED ones say so wherever they appear. */
export function raterName(rater: { pseudonym: string; simulated: boolean }): string {
  return rater.simulated ? `${rater.pseudonym} (SIMULATED)` : rater.pseudonym;
}

function responseTimesChart(analysis: Analysis): Chart {
  const title = 'Response times per rater';
  const description = 'Each rater\'s response times (practice left out): the line spans the 10th to 90th percentile, the box the 25th to 75th, the tick is the median; log scale.';
  const rows: ChartRow[] = analysis.raters
    .filter((rater) => rater.responseTimes.quantiles !== null)
    .map((rater) => {
      const q = rater.responseTimes.quantiles!;
      return {
        rater: raterName(rater),
        simulated: rater.simulated,
        included: !rater.excluded,
        who: rater.simulated ? 'SIMULATED rater' : 'person',
        count: rater.responseTimes.count,
        mean: finite(rater.responseTimes.mean),
        p10: q.p10,
        p25: q.p25,
        p50: q.p50,
        p75: q.p75,
        p90: q.p90,
      };
    });
  const unavailable = rows.length === 0 ? 'No rater has a recorded response time.' : null;
  const y = { field: 'rater', type: 'nominal', title: null, sort: null };
  const x = { type: 'quantitative', title: 'response time (ms, log scale)', scale: { type: 'log' } };
  const kinds = [...new Set(rows.map((row) => String(row.who)))].sort((a, b) => (a === 'person' ? -1 : b === 'person' ? 1 : 0));
  const color = { field: 'who', type: 'nominal', title: null, scale: { domain: kinds, range: kinds.map((who) => (who === 'person' ? '#1f5f99' : '#b3261e')) } };
  const spec = vegaLite(description, rows, {
    width: WIDTH,
    height: { step: 22 },
    layer: [
      { mark: 'rule', encoding: { y, x: { field: 'p10', ...x }, x2: { field: 'p90' }, color } },
      { mark: { type: 'bar', size: 10, opacity: 0.5 }, encoding: { y, x: { field: 'p25', ...x }, x2: { field: 'p75' }, color } },
      { mark: { type: 'tick', thickness: 3, size: 16, color: '#111' }, encoding: { y, x: { field: 'p50', ...x } } },
    ],
  });
  return { id: 'response-times', title, description, columns: ['rater', 'simulated', 'included', 'who', 'count', 'mean', 'p10', 'p25', 'p50', 'p75', 'p90'], rows, unavailable, spec: unavailable ? null : spec };
}

const percentOf = (analysis: Analysis) => `${Math.round(analysis.options.confidence * 1000) / 10}%`;

/** Every chart of the analysis, in the report's order. */
export function analysisCharts(analysis: Analysis): Chart[] {
  return CHART_IDS.map((id) => analysisChart(analysis, id));
}

export function analysisChart(analysis: Analysis, id: ChartId): Chart {
  switch (id) {
    case 'twoafc-scores':
      return twoAfcChart(analysis, false);
    case 'twoafc-kinds':
      return twoAfcChart(analysis, true);
    case 'jnd-precision-recall':
      return precisionRecallChart(analysis);
    case 'jnd-map':
      return jndMapChart(analysis);
    case 'paired-differences':
      return pairedDifferencesChart(analysis);
    case 'psychometric':
      return psychometricChart(analysis);
    case 'panel-agreement':
      return panelAgreementChart(analysis);
    case 'response-times':
      return responseTimesChart(analysis);
  }
}

const escapeAttribute = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The chart as an SVG document (one labelled image); null when unavailable. */
export async function chartSvg(chart: Chart): Promise<string | null> {
  if (!chart.spec) return null;
  // A copy: vega tags the data objects it is given (a symbol per row), and the rows are the chart's own.
  const view = new View(parse(compile(structuredClone(chart.spec)).spec), { renderer: 'none' });
  try {
    // vega labels marks for screen readers piecemeal (roles on groups of marks); the figure is one image here,
    // named by its title and description, its numbers in the tables and the data downloads.
    const svg = (await view.toSVG()).replace(/<[^>]+>/g, (tag) => tag.replace(/\s(?:role|aria-[a-z]+)="[^"]*"/g, ''));
    return svg.replace('<svg ', `<svg role="img" aria-label="${escapeAttribute(`${chart.title}. ${chart.description}`)}" `);
  } finally {
    view.finalize();
  }
}

/**
 * A cell of CSV (RFC 4180): quoted when it holds a comma, quote or line break; numbers in full (they
 * round-trip); a text that a spreadsheet would run as a formula (=, +, -, @ first) gets a leading ' so it stays text.
 */
function csvCell(value: Cell): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function chartCsv(chart: Chart): string {
  const lines = [chart.columns.map(csvCell), ...chart.rows.map((row) => chart.columns.map((column) => csvCell(row[column] ?? null)))];
  return lines.map((cells) => cells.join(',')).join('\r\n') + '\r\n';
}

/** The chart's rows with what they were computed from: which study, data and options, and whether simulated raters are in. */
export function chartJson(analysis: Analysis, chart: Chart) {
  return {
    chart: chart.id,
    title: chart.title,
    description: chart.description,
    study: analysis.study,
    fingerprint: analysis.fingerprint,
    computedAt: analysis.computedAt,
    options: analysis.options,
    simulatedIncluded: analysis.inclusion.simulatedIncluded,
    includedRaterIds: analysis.inclusion.includedRaterIds,
    unavailable: chart.unavailable,
    columns: chart.columns,
    rows: chart.rows,
  };
}
