/**
 * A study's analysis as one self-contained HTML document: the charts as inline SVG, the tables, which raters
 * were included (simulated ones labelled SIMULATED wherever they appear), the options and the data's
 * fingerprint. No scripts and no style attributes, only classes and one inline <style>, so the /analysis page
 * can show its body under a strict Content-Security-Policy and a downloaded copy still reads the same.
 * Images come from the caller's image source: signed links on the page, data: URIs in a downloaded file.
 */
import type { Analysis, CurveSet, ExampleItem, RaterRow } from './analysis';
import { analysisCharts, chartCsv, chartJson, chartSvg, fixed, TEST_NAMES, type Chart } from './charts';
import type { Comparison, Ranked } from './compare';
import type { Estimate } from './judged';

export type ImageSlot = 'ref' | 'p0' | 'p1';
/** The src of an item's 8-bit windowed image. */
export type ImageSource = (itemId: string, slot: ImageSlot) => Promise<string>;

export interface ReportOptions {
  images: ImageSource;
  /** Each chart's rows as CSV and JSON links (data: URIs), for a downloaded file that has no server to ask. */
  embedChartData: boolean;
}

/** Text known to be HTML; anything else put into a template is escaped. */
class Html {
  constructor(readonly text: string) {}
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  return new Html(strings.reduce((out, text, i) => out + render(values[i - 1]) + text));
}

/** The report's styles: inlined into the report, and served to the page as /analysis/report.css. */
export const REPORT_CSS = `
.report { font-family: system-ui, sans-serif; line-height: 1.45; color: #1d1d1b; }
.report h1 { font-size: 1.6rem; margin: 0 0 0.3rem; }
.report h2 { font-size: 1.25rem; margin: 2rem 0 0.5rem; padding-top: 0.5rem; border-top: 1px solid #d8d8d2; }
.report h3 { font-size: 1.05rem; margin: 1.25rem 0 0.4rem; }
.report .meta, .report .note { color: #55554f; }
.report code { font-family: ui-monospace, monospace; font-size: 0.85em; word-break: break-all; }
.report .simulated { display: inline-block; background: #8a1c12; color: #fff; font-weight: 700; letter-spacing: 0.05em; padding: 0 0.35em; border-radius: 3px; }
.report .simulated-banner { background: #fbe9e7; border: 2px solid #8a1c12; color: #5c120b; padding: 0.6rem 0.9rem; border-radius: 6px; font-size: 1.05rem; }
.report .empty { background: #f1f1ec; border-left: 4px solid #8d8d84; padding: 0.5rem 0.8rem; }
.report table { border-collapse: collapse; margin: 0.5rem 0 1rem; background: #fff; font-variant-numeric: tabular-nums; }
.report caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
.report th, .report td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid #e2e2dc; vertical-align: top; }
.report thead th { background: #ecece6; }
.report tbody th { font-weight: 600; white-space: nowrap; }
.report figure { margin: 1rem 0; }
.report figure.chart { background: #fff; border: 1px solid #d8d8d2; border-radius: 6px; padding: 0.6rem 0.8rem; overflow-x: auto; }
.report figcaption { margin-bottom: 0.4rem; }
.report figcaption strong { display: block; }
.report .chart-data a { margin-right: 0.8rem; }
.report .examples { display: grid; grid-template-columns: repeat(auto-fill, minmax(25rem, 1fr)); gap: 1rem; }
.report .example table { width: 100%; }
.report .example { background: #fff; border: 1px solid #d8d8d2; border-radius: 6px; padding: 0.6rem 0.8rem; margin: 0; }
.report .example-images { display: flex; gap: 0.6rem; flex-wrap: wrap; margin: 0 0 0.4rem; padding: 0; list-style: none; }
.report .example-images figure { margin: 0; text-align: center; font-size: 0.85rem; }
.report .example-images img { width: 112px; height: 112px; image-rendering: pixelated; display: block; background: #000; }
.report details { margin: 0.4rem 0; }
.report summary { cursor: pointer; font-weight: 600; }
.report tr.excluded td { color: #8a2a12; }
.report .significant { color: #8a1c12; font-weight: 600; }
`.trim();

const STANDALONE_CSS = `body { margin: 0; background: #f6f6f4; } main { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }\n${REPORT_CSS}`;

/** The report's own <style> text, for a Content-Security-Policy hash. */
export const REPORT_STYLE = STANDALONE_CSS;

const percent = (value: number | null | undefined) => (typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : 'n/a');

function interval(estimate: Estimate | null | undefined): string {
  if (!estimate) return 'n/a';
  const value = fixed(estimate.value);
  return estimate.low === null || estimate.high === null ? value : `${value} [${fixed(estimate.low)}, ${fixed(estimate.high)}]`;
}

const when = (value: Date | string | null) => (value === null ? 'n/a' : new Date(value).toISOString());

type Cells = Array<string | number | Html>;

/** A table with column headers, the first cell of each row a row header. */
function table(caption: string, headers: string[], rows: Cells[], rowClass: (index: number) => string | null = () => null): Html {
  return html`<table><caption>${caption}</caption><thead><tr>${headers.map((header) => html`<th scope="col">${header}</th>`)}</tr></thead><tbody>${rows.map(
    (row, index) => html`<tr${rowClass(index) ? html` class="${rowClass(index)}"` : ''}>${row.map((cell, c) => (c === 0 ? html`<th scope="row">${cell}</th>` : html`<td>${cell}</td>`))}</tr>`,
  )}</tbody></table>`;
}

const empty = (text: string) => html`<p class="empty">${text}</p>`;
const simulatedTag = html`<span class="simulated">SIMULATED</span>`;

function raterLabel(rater: { pseudonym: string; simulated: boolean }): Html {
  return rater.simulated ? html`${rater.pseudonym} ${simulatedTag}` : html`${rater.pseudonym}`;
}

function fileSlug(text: string): string {
  return (
    text
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase()
      .slice(0, 60) || 'study'
  );
}

/** A file name for the report or a chart's data, from the study's name. */
export function reportFileName(studyName: string, suffix = 'analysis.html'): string {
  return `medpsim-${fileSlug(studyName)}-${suffix}`;
}

async function chartFigure(analysis: Analysis, chart: Chart, embedData: boolean): Promise<Html> {
  const caption = html`<figcaption><strong id="chart-${chart.id}-title">${chart.title}</strong>${chart.description}${
    analysis.inclusion.simulatedIncluded ? html` ${simulatedTag} raters included.` : ''
  }</figcaption>`;
  if (chart.unavailable) {
    return html`<figure class="chart unavailable" id="chart-${chart.id}" data-chart="${chart.id}" data-title="${chart.title}">${caption}${empty(chart.unavailable)}</figure>`;
  }
  const svg = await chartSvg(chart);
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const links = embedData
    ? html`<p class="chart-data">Data of this chart: <a download="${reportFileName(analysis.study.name, `${chart.id}.csv`)}" href="data:text/csv;charset=utf-8;base64,${base64(chartCsv(chart))}">CSV</a><a download="${reportFileName(analysis.study.name, `${chart.id}.json`)}" href="data:application/json;base64,${base64(JSON.stringify(chartJson(analysis, chart), null, 2))}">JSON</a></p>`
    : '';
  return html`<figure class="chart" id="chart-${chart.id}" data-chart="${chart.id}" data-title="${chart.title}" data-rows="${chart.rows.length}">${caption}${new Html(svg!)}${links}</figure>`;
}

function header(analysis: Analysis): Html {
  const { study, computedAt, fingerprint, inclusion } = analysis;
  return html`<header>
<h1>Analysis: ${study.name}</h1>
<p class="meta">Study <code>${study.id}</code> · computed ${computedAt} · data fingerprint <code>${fingerprint}</code></p>
${
  inclusion.simulatedIncluded
    ? html`<p class="simulated-banner" role="note"><strong>SIMULATED</strong> raters are included in these figures: they are a model's answers, not physicians' judgments.</p>`
    : ''
}
</header>`;
}

function ratersAndOptions(analysis: Analysis): Html {
  const { options, inclusion, raters } = analysis;
  const included = raters.filter((rater) => !rater.excluded);
  const excluded = raters.filter((rater) => rater.excluded);
  const simulatedCount = raters.filter((rater) => rater.simulated).length;
  const simulatedLine = inclusion.includeSimulated
    ? html`Simulated raters: <strong>included</strong> (${inclusion.simulatedIncluded ? html`${included.filter((r) => r.simulated).length} ${simulatedTag} in the figures` : 'none in the figures'}).`
    : html`Simulated raters: left out (people only)${simulatedCount ? `; ${simulatedCount} in the study` : ''}.`;
  const bootstrap = options.twoWay ? 'raters and items resampled' : 'items resampled, raters fixed';
  return html`<section aria-labelledby="raters-included">
<h2 id="raters-included">Raters included and options</h2>
<p>${included.length} of ${raters.length} raters included, ${excluded.length} left out. ${simulatedLine}</p>
${included.length ? html`<p>Included: ${included.map((rater, i) => html`${i ? ', ' : ''}${raterLabel(rater)}`)}.</p>` : empty('No rater is included: there is nothing to analyse.')}
${excluded.length ? table('Raters left out', ['Rater', 'Why'], excluded.map((rater) => [raterLabel(rater), rater.reasons.join('; ')])) : ''}
${table(
  'Options',
  ['Option', 'Value'],
  [
    ['Bootstrap resamples', options.resamples === 0 ? '0 (no intervals, no tests)' : String(options.resamples)],
    ['Seed', String(options.seed)],
    ['Confidence', `${options.confidence}`],
    ['Two-way bootstrap', `${options.twoWay ? 'yes' : 'no'} (${bootstrap})`],
    ['Include simulated raters', inclusion.includeSimulated ? 'yes' : 'no'],
  ],
)}
</section>`;
}

function metricsSection(analysis: Analysis): Html {
  const list = analysis.metrics.length
    ? table(
        'Metrics with stored values',
        ['Metric', 'Direction', 'Model'],
        analysis.metrics.map((metric) => [metric.label, metric.direction === 'distance' ? 'distance (smaller: closer)' : 'similarity (larger: closer)', metric.model ?? '–']),
      )
    : empty("No metric values are stored for this study's items, so there is nothing to compare with the physicians: store scores with scoreTestSet.");
  const missing = analysis.notAnalysed.length
    ? table(
        'Metrics not analysed (values missing for some judged items)',
        ['Metric', 'Test', 'Items scored'],
        analysis.notAnalysed.map((row) => [row.label, TEST_NAMES[row.testType], `${row.scored} of ${row.items}`]),
      )
    : '';
  return html`<section aria-labelledby="metrics"><h2 id="metrics">Metrics</h2>${list}${missing}</section>`;
}

function rankOf(ranking: Ranked[], name: string): Ranked | undefined {
  return ranking.find((ranked) => ranked.name === name);
}

function twoAfcSection(analysis: Analysis, charts: Map<string, Html>): Html {
  const part = analysis.twoAfc;
  const intro = html`<p>Which of two distorted candidates is closer to the reference? A metric's 2AFC score is the share of physicians who chose the candidate it ranks closer (ties count half), averaged over items.</p>`;
  if (!part) return html`<section aria-labelledby="twoafc"><h2 id="twoafc">2AFC</h2>${intro}${charts.get('twoafc-scores')}</section>`;
  const all = part.scopes.find((scope) => scope.scope === 'all');
  const scores = all?.metrics.length
    ? table(
        `2AFC scores, all ${all.items} items (value [${Math.round(analysis.options.confidence * 1000) / 10}% interval])`,
        ['Metric', '2AFC score', 'Rank', 'Tier'],
        [
          ...all.metrics.map((metric) => [metric.name, interval(metric.score), String(rankOf(all.ranking, metric.name)?.rank ?? '–'), String(rankOf(all.ranking, metric.name)?.tier ?? '–')]),
          ['Human ceiling, pairwise (two random raters agree)', interval(all.ceilings.pairwise), '', ''],
          ['Human ceiling, oracle (best deterministic metric)', interval(all.ceilings.oracle), '', ''],
        ],
      )
    : '';
  return html`<section aria-labelledby="twoafc"><h2 id="twoafc">2AFC</h2>${intro}
<p>${part.items} judged items, ${part.judgments} judgments.</p>
${charts.get('twoafc-scores')}${scores}${charts.get('twoafc-kinds')}</section>`;
}

function jndSection(analysis: Analysis, charts: Map<string, Html>): Html {
  const part = analysis.jnd;
  const intro = html`<p>Is a distortion noticeable? Pairs (reference, distorted) sorted by a metric's distance should find the pairs physicians called "same" first: its mean average precision (mAP).</p>`;
  if (!part) return html`<section aria-labelledby="jnd"><h2 id="jnd">JND</h2>${intro}${charts.get('jnd-precision-recall')}</section>`;
  const all = part.scopes.find((scope) => scope.scope === 'all');
  const identical = part.identical.items
    ? html`<p>Identical pairs (controls, not scored): ${part.identical.items} items, ${part.identical.judgments} judgments, ${percent(part.identical.sameShare)} said "same".</p>`
    : '';
  const maps = all?.metrics.length
    ? table(
        `JND mAP, all ${all.items} distorted pairs (${percent(all.sameShare)} of judgments said "same")`,
        ['Metric', 'mAP', 'Rank', 'Tier'],
        all.metrics.map((metric) => [metric.name, interval(metric.map), String(rankOf(all.ranking, metric.name)?.rank ?? '–'), String(rankOf(all.ranking, metric.name)?.tier ?? '–')]),
      )
    : '';
  return html`<section aria-labelledby="jnd"><h2 id="jnd">JND</h2>${intro}
<p>${part.items} judged distorted pairs, ${part.judgments} judgments.</p>${identical}
${charts.get('jnd-precision-recall')}${maps}${charts.get('jnd-map')}</section>`;
}

function comparisonTables(testType: 'TWO_AFC' | 'JND', scope: { scope: string; items: number; ranking: Ranked[]; comparisons: Comparison[] }, confidence: number): Html {
  const label = `${TEST_NAMES[testType]} · ${scope.scope} (${scope.items} items)`;
  const ranking = table(
    `Ranking, ${label}`,
    ['Metric', 'Rank', 'Tier'],
    scope.ranking.map((ranked) => [ranked.name, String(ranked.rank), String(ranked.tier)]),
  );
  const comparisons = scope.comparisons.length
    ? table(
        `Paired differences, ${label}`,
        ['a − b', 'Difference [interval]', 'p', 'Holm-adjusted p', `Significant (adjusted p < ${fixed(1 - confidence, 3)})`],
        scope.comparisons.map((c) => [`${c.a} − ${c.b}`, interval(c.difference), fixed(c.p, 4), fixed(c.pAdjusted, 4), c.significant ? html`<span class="significant">yes</span>` : 'no']),
      )
    : '';
  return html`<details${scope.scope === 'all' ? html` open` : ''}><summary>${label}</summary>${ranking}${comparisons}</details>`;
}

function comparisonsSection(analysis: Analysis, charts: Map<string, Html>): Html {
  const { options } = analysis;
  const how =
    options.resamples === 0
      ? 'Without resamples there are no tests: the tiers are the ranks.'
      : `Tier 1 is the best metric and every metric not significantly different from it, tier 2 the same among the rest, and so on. Differences are tested by paired bootstrap on shared resamples, Holm-adjusted within each scope.`;
  const scopes = [
    ...(analysis.twoAfc?.scopes ?? []).map((scope) => comparisonTables('TWO_AFC', scope, options.confidence)),
    ...(analysis.jnd?.scopes ?? []).map((scope) => comparisonTables('JND', scope, options.confidence)),
  ];
  return html`<section aria-labelledby="comparisons"><h2 id="comparisons">Paired comparisons and ranking</h2><p>${how}</p>
${charts.get('paired-differences')}${scopes}</section>`;
}

/** A fit that did not converge has a last iterate, not an estimate. */
const slopeOf = (curve: CurveSet['human']) => (curve.fit.converged ? fixed(curve.fit.slopeAtThreshold) : 'n/a');

function curveStatus(curve: CurveSet['human']): string {
  const extrapolated = curve.extrapolated ? '; threshold outside the severities shown: extrapolated' : '';
  if (curve.fit.converged) return `${curve.failedResamples ? `converged (${curve.failedResamples} resamples did not)` : 'converged'}${extrapolated}`;
  return `no fit (${curve.fit.problem ?? 'did not converge'})`;
}

function psychometricSection(analysis: Analysis, charts: Map<string, Html>): Html {
  const rows: Cells[] = analysis.curves.flatMap((set) => [
    [`${TEST_NAMES[set.testType]} · ${set.kind}`, 'physicians', String(set.items), interval(set.human.threshold), slopeOf(set.human), curveStatus(set.human)],
    ...set.metrics.map((metric): Cells => [`${TEST_NAMES[set.testType]} · ${set.kind}`, metric.label, String(set.items), interval(metric.curve.threshold), slopeOf(metric.curve), curveStatus(metric.curve)]),
  ]);
  const thresholds = rows.length
    ? table('Thresholds (JND: 50% say "different"; 2AFC: 75% choose the less severe candidate)', ['Kind', 'Curve of', 'Items', 'Threshold [interval]', 'Slope at threshold', 'Fit'], rows)
    : '';
  const axes = analysis.curves.length
    ? html`<ul>${analysis.curves.map((set) => html`<li>${TEST_NAMES[set.testType]} · ${set.kind}: ${set.p} against the ${set.x}.</li>`)}</ul>`
    : '';
  return html`<section aria-labelledby="psychometric"><h2 id="psychometric">Psychometric curves</h2>${charts.get('psychometric')}${axes}${thresholds}</section>`;
}

function raterRow(rater: RaterRow): Cells {
  const q = rater.responseTimes.quantiles;
  return [
    raterLabel(rater),
    rater.excluded ? `no: ${rater.reasons.join('; ')}` : 'yes',
    String(rater.judgments),
    percent(rater.twoAfcAgreement),
    percent(rater.jndAgreement),
    rater.sentinels ? `${percent(rater.sentinelPassRate)} of ${rater.sentinels}` : 'none judged',
    rater.retests ? `${percent(rater.retestAgreement)} of ${rater.retests}` : 'none judged',
    q ? `${Math.round(q.p50)} ms (${Math.round(q.p10)}–${Math.round(q.p90)})` : 'n/a',
  ];
}

function ratersSection(analysis: Analysis, charts: Map<string, Html>): Html {
  const panel = analysis.panel.length
    ? table(
        'Panel agreement per test type',
        ['Test', 'Items', 'Judgments', "Fleiss' kappa", 'observed / chance', "Krippendorff's alpha", 'observed / chance'],
        analysis.panel.map((p) => [
          TEST_NAMES[p.testType],
          String(p.items),
          String(p.judgments),
          fixed(p.fleissKappa.value),
          `${fixed(p.fleissKappa.observed)} / ${fixed(p.fleissKappa.expected)}`,
          fixed(p.krippendorffAlpha.value),
          `${fixed(p.krippendorffAlpha.observed)} / ${fixed(p.krippendorffAlpha.expected)}`,
        ]),
      )
    : '';
  const raters = analysis.raters.length
    ? table(
        'Each rater (agreement: the mean share of the other raters of their items who answered alike)',
        ['Rater', 'Included', 'Judgments', '2AFC agreement with the panel', 'JND agreement with the panel', 'Sentinels passed', 'Retest agreement', 'Median response (p10–p90)'],
        analysis.raters.map(raterRow),
        (index) => (analysis.raters[index].excluded ? 'excluded' : null),
      )
    : empty('The study has no raters.');
  return html`<section aria-labelledby="raters"><h2 id="raters">Rater agreement and quality</h2>${charts.get('panel-agreement')}${panel}${raters}${charts.get('response-times')}</section>`;
}

const SLOT_NAMES: Record<ImageSlot, string> = { ref: 'reference', p0: 'p0', p1: 'p1' };

async function exampleFigure(example: ExampleItem, images: ImageSource): Promise<Html> {
  const twoAfc = example.testType === 'TWO_AFC';
  const slots: ImageSlot[] = twoAfc ? ['ref', 'p0', 'p1'] : ['p0', 'p1'];
  const names: Record<ImageSlot, string> = twoAfc ? SLOT_NAMES : { ref: 'reference', p0: 'p0 (reference)', p1: 'p1 (distorted)' };
  const sources = await Promise.all(slots.map((slot) => images(example.itemId, slot)));
  const count = Math.round(example.fraction * example.judgments);
  const split = twoAfc
    ? `Physicians: ${count} of ${example.judgments} chose p1 (${percent(example.fraction)}), ${example.judgments - count} chose p0.`
    : `Physicians: ${count} of ${example.judgments} said "same" (${percent(example.fraction)}), ${example.judgments - count} "different".`;
  const majority = twoAfc ? (example.fraction > 0.5 ? 'p1' : example.fraction < 0.5 ? 'p0' : null) : null;
  const metrics = example.metrics.length
    ? table(
        twoAfc ? 'Each metric\'s choice (the candidate it ranks closer)' : "Each metric's value for the pair",
        twoAfc ? ['Metric', 'Choice', 'Agrees with most physicians'] : ['Metric', 'Value'],
        example.metrics.map((metric) =>
          twoAfc
            ? [metric.label, metric.choice ?? 'n/a', majority === null ? 'no majority' : metric.choice === majority ? 'yes' : 'no']
            : [metric.label, fixed(metric.distance, 5)],
        ),
      )
    : empty('No metric has values for this item.');
  const kinds = example.kinds.length ? example.kinds.join(', ') : 'none';
  return html`<article class="example" aria-label="${TEST_NAMES[example.testType]} example item ${example.itemId}">
<h3>${TEST_NAMES[example.testType]} · ${example.category}</h3>
<p class="meta">Item <code>${example.itemId}</code> · kinds: ${kinds}</p>
<ul class="example-images">${slots.map(
    (slot, i) =>
      html`<li><figure><img src="${sources[i]}" alt="${names[slot]} of ${TEST_NAMES[example.testType]} item ${example.itemId} (${example.category})"><figcaption>${names[slot]}</figcaption></figure></li>`,
  )}</ul>
<p>${split}</p>${metrics}</article>`;
}

async function examplesSection(analysis: Analysis, images: ImageSource): Promise<Html> {
  const body = analysis.examples.length
    ? html`<div class="examples">${await Promise.all(analysis.examples.map((example) => exampleFigure(example, images)))}</div>`
    : empty('No judged item to show.');
  return html`<section aria-labelledby="examples"><h2 id="examples">Examples</h2><p>A few of the most judged items per category and test type: the images as the physicians saw them (8-bit, windowed), each metric's choice and the physicians' split.</p>${body}</section>`;
}

/** The report's <article class="report">: what the /analysis page shows. */
export async function reportArticle(analysis: Analysis, options: ReportOptions): Promise<string> {
  const charts = new Map<string, Html>();
  for (const chart of analysisCharts(analysis)) charts.set(chart.id, await chartFigure(analysis, chart, options.embedChartData));
  const article = html`<article class="report" id="report">
${header(analysis)}
${ratersAndOptions(analysis)}
${metricsSection(analysis)}
${twoAfcSection(analysis, charts)}
${jndSection(analysis, charts)}
${comparisonsSection(analysis, charts)}
${psychometricSection(analysis, charts)}
${ratersSection(analysis, charts)}
${await examplesSection(analysis, options.images)}
<footer><p class="meta">medpsim · study ${analysis.study.id} · fingerprint ${analysis.fingerprint} · computed ${when(analysis.computedAt)}</p></footer>
</article>`;
  return article.text;
}

/** The whole report: a document of its own, with its styles inline and no script. */
export async function analysisReport(analysis: Analysis, options: ReportOptions): Promise<string> {
  const title = `${analysis.inclusion.simulatedIncluded ? 'SIMULATED · ' : ''}Analysis: ${analysis.study.name} · medpsim`;
  const article = await reportArticle(analysis, options);
  return `<!doctype html>\n${render(html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title><style>${new Html(REPORT_STYLE)}</style></head>
<body><main>${new Html(article)}</main></body></html>`)}\n`;
}
