/**
 * The analysis page's charts and report from a small hand-made Analysis: every chart renders to SVG with its
 * marks, its CSV has a header and a row per data row whose values read back as they were, the report holds
 * every chart and no script, says plainly what is missing, labels simulated raters, and escapes text that
 * users control (the study's name, a category, a metric's label).
 */
import type { Analysis, CurveSet, RaterRow } from '../../src/agreement/analysis';
import { analysisChart, analysisCharts, CHART_IDS, chartCsv, chartJson, chartSvg, type ChartRow } from '../../src/agreement/charts';
import type { Estimate } from '../../src/agreement/judged';
import { analysisReport, reportArticle, reportFileName, type ImageSource } from '../../src/agreement/report';
import type { PsychometricCurve } from '../../src/agreement/psychometric';

const STUDY_NAME = 'Study <b>"A&B"</b>';
const CATEGORY = 'chest <x> & "y"';
const ODD_METRIC = 'ms<ssim>&"q"';
const METRICS = ['mse', ODD_METRIC];

const estimate = (value: number, spread = 0.05): Estimate => ({ value, low: value - spread, high: value + spread });

function curve(threshold: number, guess: number, observed: number): PsychometricCurve & { failedResamples: number } {
  const slope = 8;
  const points = Array.from({ length: 5 }, (_, k) => ({ x: k / 4, p: guess + (1 - guess) / (1 + Math.exp(-slope * (k / 4 - threshold))) }));
  return {
    fit: { intercept: -slope * threshold, slope, threshold, slopeAtThreshold: ((1 - guess) * slope) / 4, logLikelihood: -12.5, iterations: 6, converged: true, guess, problem: null },
    threshold: estimate(threshold),
    curve: points,
    observed: points.slice(0, observed).map((point) => ({ ...point, trials: 10 })),
    extrapolated: false,
    failedResamples: 1,
  };
}

function rater(pseudonym: string, simulated: boolean, times: number[]): RaterRow {
  return {
    raterId: `00000000-0000-4000-8000-00000000000${simulated ? 2 : 1}`,
    pseudonym,
    simulated,
    withdrawn: false,
    judgments: 40,
    sentinels: 2,
    sentinelPassRate: 1,
    retests: 4,
    retestAgreement: 0.75,
    medianResponseMs: times[2],
    displayCheck: null,
    lastActivity: new Date('2025-01-02T03:04:05Z'),
    excluded: false,
    reasons: [],
    twoAfcAgreement: 0.81,
    jndAgreement: 0.7,
    twoAfcPanelKappaWithout: 0.5,
    jndPanelKappaWithout: 0.4,
    responseTimes: {
      count: 40,
      mean: times[2] * 1.1,
      quantiles: { p10: times[0], p25: times[1], p50: times[2], p75: times[3], p90: times[4] },
      histogram: { edges: [100, 60_000], counts: [40] },
    },
  };
}

const comparisons = [{ a: 'mse', b: ODD_METRIC, difference: estimate(0.08, 0.03), p: 0.004, pAdjusted: 0.004, significant: true }];
const ranking = [
  { name: 'mse', rank: 1, tier: 1 },
  { name: ODD_METRIC, rank: 2, tier: 2 },
];

function twoAfcScope(scope: string, items: number, scores: number[]) {
  return {
    scope,
    items,
    judgments: items * 5,
    metrics: METRICS.map((name, m) => ({ name, score: estimate(scores[m]) })),
    ceilings: { pairwise: estimate(0.86, 0.03), oracle: { value: 0.93, low: 0.9, high: 0.95 } },
    comparisons,
    ranking,
  };
}

function curveSet(testType: 'TWO_AFC' | 'JND', kind: string): CurveSet {
  const guess = testType === 'JND' ? 0 : 0.5;
  return {
    testType,
    kind,
    x: testType === 'JND' ? `severity of ${kind} (p1)` : `severity difference of two ${kind} candidates`,
    p: testType === 'JND' ? 'P(different)' : 'P(chose the less severe candidate)',
    items: 12,
    human: curve(0.4, guess, 4),
    metrics: METRICS.map((label, m) => ({ label, curve: curve(0.3 + 0.2 * m, guess, 3) })),
  };
}

function makeAnalysis(): Analysis {
  return {
    study: { id: '11111111-1111-4111-8111-111111111111', name: STUDY_NAME },
    fingerprint: 'f1ngerpr1nt',
    computedAt: '2025-01-02T03:04:05.000Z',
    options: { includeSimulated: true, resamples: 200, seed: 7, confidence: 0.95, twoWay: true },
    inclusion: { includedRaterIds: ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'], excluded: [], includeSimulated: true, simulatedIncluded: true },
    metrics: METRICS.map((label) => ({ label, metric: label, params: {}, model: null, layers: null, direction: 'distance' as const })),
    notAnalysed: [],
    twoAfc: {
      items: 24,
      judgments: 120,
      metrics: METRICS,
      scopes: [twoAfcScope('all', 24, [0.82, 0.74]), twoAfcScope(`category: ${CATEGORY}`, 12, [0.8, 0.7]), twoAfcScope('kind: gaussian_blur', 12, [0.85, 0.72])],
    },
    jnd: {
      items: 20,
      judgments: 100,
      metrics: METRICS,
      identical: { items: 4, judgments: 20, sameShare: 0.9 },
      scopes: [
        {
          scope: 'all',
          items: 20,
          judgments: 100,
          sameShare: 0.4,
          metrics: METRICS.map((name, m) => ({
            name,
            map: estimate(0.7 - 0.1 * m),
            curve: [0, 1, 2, 3].map((k) => ({ threshold: k * 0.1 + m, recall: k / 3, precision: 1 - k * 0.1 - m * 0.05 })),
          })),
          comparisons,
          ranking,
        },
      ],
    },
    panel: [
      { testType: 'TWO_AFC', items: 24, judgments: 120, fleissKappa: { value: 0.55, observed: 0.8, expected: 0.55, items: 24 }, krippendorffAlpha: { value: 0.56, observed: 0.8, expected: 0.55, items: 24 } },
      { testType: 'JND', items: 20, judgments: 100, fleissKappa: { value: 0.42, observed: 0.7, expected: 0.48, items: 20 }, krippendorffAlpha: { value: 0.43, observed: 0.7, expected: 0.48, items: 20 } },
    ],
    raters: [rater('R-aaaaaa', false, [700, 900, 1200, 1600, 2400]), rater('S-bbbbbb', true, [1500, 2000, 2500, 3100, 4000])],
    curves: [curveSet('JND', 'gaussian_blur'), curveSet('TWO_AFC', 'gaussian_noise')],
    examples: [
      {
        itemId: '22222222-2222-4222-8222-222222222222',
        testType: 'TWO_AFC',
        category: CATEGORY,
        kinds: ['gaussian_blur'],
        judgments: 5,
        fraction: 0.6,
        metrics: [
          { label: 'mse', choice: 'p1', distance: null },
          { label: ODD_METRIC, choice: 'p0', distance: null },
        ],
      },
      {
        itemId: '33333333-3333-4333-8333-333333333333',
        testType: 'JND',
        category: CATEGORY,
        kinds: ['gaussian_blur'],
        judgments: 5,
        fraction: 0.2,
        metrics: [
          { label: 'mse', choice: null, distance: 0.0123 },
          { label: ODD_METRIC, choice: null, distance: 0.5 },
        ],
      },
    ],
  };
}

/** The drawn items of each mark type: vega's SVG puts a mark's items in <g class="mark-TYPE role-mark ...">. */
function markItems(svg: string, type: string): number {
  const element = { symbol: '<path', rule: '<line', rect: '<path', line: '<path', text: '<text' }[type]!;
  let count = 0;
  for (const group of svg.matchAll(new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>(.*?)</g>`, 'gs'))) count += group[1].split(element).length - 1;
  return count;
}

/** RFC 4180 CSV, as a spreadsheet reads it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else cell += c;
  }
  return rows;
}

const asCell = (value: ChartRow[string]) => (value === null ? '' : String(value));

const images: ImageSource = async (itemId, slot) => `https://medpsim.test/test-set-items/${itemId}/${slot}.png?sig=x&depth=8`;

describe('charts', () => {
  const analysis = makeAnalysis();
  const charts = analysisCharts(analysis);

  it('are the listed ones, each with rows that have every column', () => {
    expect(charts.map((chart) => chart.id)).toEqual([...CHART_IDS]);
    for (const chart of charts) {
      expect({ id: chart.id, unavailable: chart.unavailable }).toEqual({ id: chart.id, unavailable: null });
      expect(chart.rows.length).toBeGreaterThan(0);
      for (const row of chart.rows) expect(Object.keys(row).sort()).toEqual([...chart.columns].sort());
    }
  });

  it('render to SVG with their marks', async () => {
    const expected: Record<string, Record<string, number>> = {
      // 2 metrics in 2 scopes (all, the category): a dot and an interval each; per scope a pairwise band and rule and an oracle rule.
      'twoafc-scores': { symbol: 4, rect: 2, rule: 4 + 2 * 2 },
      'twoafc-kinds': { symbol: 2, rect: 1, rule: 2 + 2 },
      'jnd-precision-recall': { line: 2 },
      'jnd-map': { symbol: 2, rule: 2 },
      // One comparison per test type: a dot and an interval each, and the zero line.
      'paired-differences': { symbol: 2, rule: 3 },
      // Two kinds: the physicians' curve and two metrics' each, with 4 observed points.
      psychometric: { line: 6, symbol: 8 },
      'panel-agreement': { rect: 4, text: 4 },
      // Per rater: the p10-p90 rule, the p25-p75 bar, the median tick (a rect too).
      'response-times': { rule: 2, rect: 4 },
    };
    for (const chart of charts) {
      const svg = (await chartSvg(chart))!;
      // One image for assistive technology, named by the chart: no roles inside it.
      expect(svg.startsWith('<svg role="img" aria-label="')).toBe(true);
      expect(svg.match(/\srole="/g)).toHaveLength(1);
      const counts = Object.fromEntries(Object.keys(expected[chart.id]).map((type) => [type, markItems(svg, type)]));
      expect({ chart: chart.id, counts }).toEqual({ chart: chart.id, counts: expected[chart.id] });
      expect(svg).not.toContain(ODD_METRIC);
      expect(svg).not.toMatch(/\sstyle=/); // the page's CSP allows no style attributes
    }
  });

  it('give CSV with a header and a row per data row, whose values read back as they were', () => {
    for (const chart of charts) {
      const lines = parseCsv(chartCsv(chart));
      expect(lines[0]).toEqual(chart.columns);
      expect(lines).toHaveLength(chart.rows.length + 1);
      lines.slice(1).forEach((cells, r) => {
        const row = chart.rows[r];
        expect(cells).toEqual(chart.columns.map((column) => asCell(row[column])));
        chart.columns.forEach((column, c) => {
          if (typeof row[column] === 'number') expect(Number(cells[c])).toBe(row[column]);
        });
      });
    }
    const scores = parseCsv(chartCsv(analysisChart(analysis, 'twoafc-scores')));
    expect(scores.some((cells) => cells.includes(ODD_METRIC))).toBe(true);
    expect(scores.some((cells) => cells.includes(`category: ${CATEGORY}`))).toBe(true);
  });

  it('keep a formula-like text a text in CSV', () => {
    const odd = makeAnalysis();
    odd.twoAfc!.scopes[0].metrics[0].name = '=HYPERLINK("x")';
    expect(chartCsv(analysisChart(odd, 'twoafc-scores'))).toContain(`"'=HYPERLINK(""x"")"`);
  });

  it('give JSON of the same rows with what they were computed from', () => {
    for (const chart of charts) {
      const json = JSON.parse(JSON.stringify(chartJson(analysis, chart)));
      expect(json).toMatchObject({ chart: chart.id, study: analysis.study, fingerprint: 'f1ngerpr1nt', simulatedIncluded: true, options: analysis.options });
      expect(json.rows).toEqual(chart.rows);
    }
  });

  it('name every ceiling in the 2AFC legend', async () => {
    const svg = (await chartSvg(analysisChart(analysis, 'twoafc-scores')))!;
    expect(svg).toContain('pairwise: two random raters agree');
    expect(svg).toContain('oracle: best deterministic metric');
    const pr = (await chartSvg(analysisChart(analysis, 'jnd-precision-recall')))!;
    expect(pr).toContain('mse (mAP 0.700)');
  });

  it('say why when there is nothing to draw', () => {
    const none = makeAnalysis();
    none.twoAfc = null;
    none.jnd = { ...none.jnd!, metrics: [], scopes: none.jnd!.scopes.map((scope) => ({ ...scope, metrics: [], comparisons: [], ranking: [] })) };
    none.curves = [];
    expect(analysisChart(none, 'twoafc-scores')).toMatchObject({ rows: [], spec: null, unavailable: expect.stringContaining('No 2AFC item has a judgment') });
    expect(analysisChart(none, 'jnd-precision-recall').unavailable).toContain('No metric has values for every judged JND pair');
    expect(analysisChart(none, 'psychometric').unavailable).toContain('8 judged single-kind items');
    expect(chartCsv(analysisChart(none, 'twoafc-kinds'))).toBe('scope,items,series,name,value,low,high\r\n');
  });
});

describe('the report', () => {
  it('holds every chart as inline SVG, no script, and escapes what users wrote', async () => {
    const html = await analysisReport(makeAnalysis(), { images, embedChartData: false });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\son[a-z]+=/i); // no event handlers either
    for (const id of CHART_IDS) expect(html).toMatch(new RegExp(`<figure class="chart" id="chart-${id}" data-chart="${id}"[^>]*>.*?<svg role="img"`, 's'));
    for (const raw of [STUDY_NAME, CATEGORY, ODD_METRIC]) expect(html).not.toContain(raw);
    expect(html).toContain('Analysis: Study &lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;');
    expect(html).toContain('2AFC · chest &lt;x&gt; &amp; &quot;y&quot;');
    expect(html).toContain('<th scope="row">ms&lt;ssim&gt;&amp;&quot;q&quot;</th>');
    expect(html.match(/<style>/g)).toHaveLength(1);
  });

  it('says which raters and options it used, the fingerprint, and labels simulated raters loudly', async () => {
    const article = await reportArticle(makeAnalysis(), { images, embedChartData: false });
    expect(article).not.toMatch(/\sstyle=/);
    expect(article).toContain('<strong>SIMULATED</strong> raters are included');
    expect(article).toMatch(/S-bbbbbb <span class="simulated">SIMULATED<\/span>/);
    expect(article).not.toMatch(/R-aaaaaa <span class="simulated">/);
    expect(article).toContain('<th scope="row">Bootstrap resamples</th><td>200</td>');
    expect(article).toContain('<th scope="row">Seed</th><td>7</td>');
    expect(article).toContain('<th scope="row">Confidence</th><td>0.95</td>');
    expect(article).toMatch(/<th scope="row">Two-way bootstrap<\/th><td>yes/);
    expect(article).toContain('f1ngerpr1nt');
    expect(article).toContain('2025-01-02T03:04:05.000Z');
    // The ranking, tiers and the Holm-adjusted difference.
    expect(article).toContain('Holm-adjusted p');
    expect(article).toContain('<span class="significant">yes</span>');

    const people = makeAnalysis();
    people.inclusion = { ...people.inclusion, includeSimulated: false, simulatedIncluded: false };
    expect(await reportArticle(people, { images, embedChartData: false })).not.toContain('SIMULATED</strong> raters are included');
  });

  it('shows the examples from the image source, with each metric choice and the humans split', async () => {
    const article = await reportArticle(makeAnalysis(), { images, embedChartData: false });
    for (const slot of ['ref', 'p0', 'p1']) expect(article).toContain(`src="https://medpsim.test/test-set-items/22222222-2222-4222-8222-222222222222/${slot}.png?sig=x&amp;depth=8"`);
    expect(article).not.toContain('33333333-3333-4333-8333-333333333333/ref.png'); // a JND pair has no separate reference
    expect(article).toMatch(/<img src="[^"]+" alt="reference of 2AFC item 22222222/);
    expect(article).toContain('Physicians: 3 of 5 chose p1 (60.0%), 2 chose p0.');
    expect(article).toContain('Physicians: 1 of 5 said &quot;same&quot; (20.0%), 4 &quot;different&quot;.');
  });

  it('embeds each chart\'s data in a downloaded copy', async () => {
    const analysis = makeAnalysis();
    const article = await reportArticle(analysis, { images, embedChartData: true });
    const csv = /download="(medpsim-[a-z0-9-]+-twoafc-scores\.csv)" href="data:text\/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)"/.exec(article)!;
    expect(csv[1]).toBe('medpsim-study-b-a-b-b-twoafc-scores.csv');
    expect(Buffer.from(csv[2], 'base64').toString('utf8')).toBe(chartCsv(analysisChart(analysis, 'twoafc-scores')));
    expect(article).toContain('download="medpsim-study-b-a-b-b-psychometric.json" href="data:application/json;base64,');
    expect(reportFileName(STUDY_NAME)).toBe('medpsim-study-b-a-b-b-analysis.html');
  });

  it('says so plainly when a test type or the metrics are missing', async () => {
    const bare = makeAnalysis();
    bare.twoAfc = null;
    bare.jnd = null;
    bare.metrics = [];
    bare.curves = [];
    bare.examples = [];
    const article = await reportArticle(bare, { images, embedChartData: false });
    expect(article).toContain('No 2AFC item has a judgment from the included raters');
    expect(article).toContain('No distorted JND pair has a judgment from the included raters');
    expect(article).toContain('No metric values are stored');
    expect(article).not.toContain('<svg role="img" aria-label="2AFC');
    expect(article).toMatch(/<figure class="chart unavailable" id="chart-twoafc-scores"/);
  });
});
