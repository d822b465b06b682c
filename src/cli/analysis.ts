/**
 * `medpsim analysis STUDY`: the study's analysis as tables (or --json): each metric's 2AFC score and JND
 * mAP with intervals beside the human ceilings, the paired comparisons, rater agreement and the
 * psychometric thresholds. The same figures as the studyAnalysis query and the /analysis page.
 */
import type { Command } from 'commander';
import type { MetricRequest } from '../metrics/engine';
import { request, serverOf, serverOptions } from './client';
import { parseMetricOption } from './metric';

const ESTIMATE = 'value low high';
const COMPARISONS = `comparisons { a b difference { ${ESTIMATE} } p pAdjusted significant } ranking { name rank tier }`;
const CURVE = `fit { intercept slope guess logLikelihood converged problem } threshold { ${ESTIMATE} } extrapolated failedResamples`;

export const ANALYSIS_QUERY = `query ($studyId: ID!, $input: AnalysisInput) { studyAnalysis(studyId: $studyId, input: $input) {
  studyId fingerprint computedAt resamples seed confidence twoWay
  inclusion { includedRaterIds includeSimulated simulatedIncluded excluded { pseudonym reasons } }
  notAnalysed { label testType scored items }
  twoAfc { items judgments metrics scopes { scope items judgments metrics { name score { ${ESTIMATE} } }
    ceilings { pairwise { ${ESTIMATE} } oracle { ${ESTIMATE} } } ${COMPARISONS} } }
  jnd { items judgments metrics identical { items judgments sameShare } scopes { scope items judgments sameShare metrics { name map { ${ESTIMATE} } } ${COMPARISONS} } }
  panel { testType items judgments fleissKappa { value items } krippendorffAlpha { value items } }
  raters { pseudonym simulated excluded reasons judgments sentinelPassRate retestAgreement medianResponseMs twoAfcAgreement jndAgreement }
  curves { testType kind x items human { ${CURVE} } metrics { label curve { ${CURVE} } } }
} }`;

interface Estimate {
  value: number | null;
  low: number | null;
  high: number | null;
}

const fixed = (value: number | null | undefined, digits = 3) => (value === null || value === undefined ? 'n/a' : value.toFixed(digits));
const interval = (e: Estimate | null) => (!e ? 'n/a' : e.low === null ? fixed(e.value) : `${fixed(e.value)} [${fixed(e.low)}, ${fixed(e.high)}]`);

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, c) => Math.max(title.length, ...rows.map((row) => row[c].length)));
  return [header, ...rows].map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

function comparisonLines(scope: { comparisons: any[]; ranking: any[] }): string[] {
  const tiers = scope.ranking.map((r: any) => `${r.rank}. ${r.name} (tier ${r.tier})`).join('  ');
  const significant = scope.comparisons.filter((c: any) => c.significant).map((c: any) => `${c.a} - ${c.b} = ${interval(c.difference)} (Holm p ${fixed(c.pAdjusted, 4)})`);
  return [`  ranking: ${tiers}`, ...(significant.length ? ['  significant differences:', ...significant.map((line: string) => `    ${line}`)] : ['  no significant differences'])];
}

export function printAnalysis(a: any): void {
  const people = a.inclusion.simulatedIncluded ? 'INCLUDES SIMULATED raters' : 'people only';
  console.log(`study ${a.studyId}: ${a.inclusion.includedRaterIds.length} raters included (${people}), ${a.inclusion.excluded.length} excluded`);
  for (const excluded of a.inclusion.excluded) console.log(`  excluded ${excluded.pseudonym}: ${excluded.reasons.join('; ')}`);
  const how = a.resamples ? `${Math.round(a.confidence * 100)}% bootstrap intervals over ${a.twoWay ? 'raters and items' : 'items'}, ${a.resamples} resamples, seed ${a.seed}` : 'no intervals (resamples 0)';
  console.log(how);
  if (a.twoAfc) {
    console.log(`\n2AFC score (share of humans who chose the candidate the metric ranks closer; ties 0.5), ${a.twoAfc.items} items, ${a.twoAfc.judgments} judgments`);
    for (const scope of a.twoAfc.scopes) {
      console.log(`\n${scope.scope} (${scope.items} items)`);
      const rows = scope.metrics.map((m: any) => [m.name, interval(m.score)]);
      rows.push(['human: two raters agree', interval(scope.ceilings.pairwise)], ['human: best deterministic', interval(scope.ceilings.oracle)]);
      console.log(table(['metric', '2AFC score'], rows));
      if (scope.metrics.length > 1) console.log(comparisonLines(scope).join('\n'));
    }
  }
  if (a.jnd) {
    const identical = a.jnd.identical.items ? `; identical pairs judged same: ${fixed(a.jnd.identical.sameShare)}` : '';
    console.log(`\nJND mAP ("same" as a soft label over pairs sorted by distance), ${a.jnd.items} distorted pairs${identical}`);
    for (const scope of a.jnd.scopes) {
      console.log(`\n${scope.scope} (${scope.items} pairs, same ${fixed(scope.sameShare)})`);
      console.log(table(['metric', 'mAP'], scope.metrics.map((m: any) => [m.name, interval(m.map)])));
      if (scope.metrics.length > 1) console.log(comparisonLines(scope).join('\n'));
    }
  }
  for (const missing of a.notAnalysed) console.log(`not analysed (${missing.testType}): ${missing.label}, scored on ${missing.scored} of ${missing.items} judged items`);
  if (a.panel.length) {
    console.log('\nrater agreement');
    console.log(table(['test', 'items', "Fleiss' kappa", "Krippendorff's alpha"], a.panel.map((p: any) => [p.testType, String(p.items), fixed(p.fleissKappa.value), fixed(p.krippendorffAlpha.value)])));
  }
  console.log(
    `\n${table(
      ['rater', 'judgments', 'sentinels', 'retest', 'vs panel 2AFC', 'vs panel JND', 'median ms', 'status'],
      a.raters.map((r: any) => [
        `${r.pseudonym}${r.simulated ? ' (simulated)' : ''}`,
        String(r.judgments),
        fixed(r.sentinelPassRate, 2),
        fixed(r.retestAgreement, 2),
        fixed(r.twoAfcAgreement, 2),
        fixed(r.jndAgreement, 2),
        fixed(r.medianResponseMs, 0),
        r.excluded ? `excluded: ${r.reasons.join('; ')}` : 'included',
      ]),
    )}`,
  );
  if (a.curves.length) {
    console.log('\npsychometric thresholds (JND: 50% different; 2AFC: 75% right)');
    const threshold = (curve: any) => (curve.threshold ? `${interval(curve.threshold)}${curve.extrapolated ? ' (extrapolated)' : ''}` : `no fit: ${curve.fit.problem}`);
    const rows = a.curves.flatMap((c: any) => [
      [`${c.testType} ${c.kind}`, 'human', threshold(c.human), c.human.fit.converged ? fixed(c.human.fit.slope, 2) : ''],
      ...c.metrics.map((m: any) => ['', m.label, threshold(m.curve), m.curve.fit.converged ? fixed(m.curve.fit.slope, 2) : '']),
    ]);
    console.log(table(['kind', 'who', 'threshold', 'slope'], rows));
  }
}

export function registerAnalysisCommand(program: Command): void {
  serverOptions(program.command('analysis'))
    .description("a study's analysis: metric-vs-human agreement (2AFC score, JND mAP, human ceilings, bootstrap CIs, paired comparisons), rater agreement, psychometric thresholds")
    .argument('<study>', 'the study id')
    .option('-m, --metric <spec>', 'a metric to analyse, repeatable (as medpsim score takes it: ssim, ms_ssim:scales=3, lpips:MODEL); default every stored one', parseMetricOption, [] as MetricRequest[])
    .option('--resamples <n>', 'bootstrap resamples (0: no intervals)', (v) => Number(v))
    .option('--seed <n>', 'bootstrap seed', (v) => Number(v))
    .option('--confidence <c>', 'interval coverage, e.g. 0.95', (v) => Number(v))
    .option('--two-way', 'resample raters as well as items')
    .option('--include-simulated', 'include simulated raters')
    .option('--json', 'print the analysis as JSON')
    .action(async (studyId: string, options) => {
      const server = serverOf(options);
      const input = {
        metrics: options.metric.length ? options.metric : null,
        resamples: options.resamples ?? null,
        seed: options.seed ?? null,
        confidence: options.confidence ?? null,
        twoWay: options.twoWay ?? null,
        includeSimulated: options.includeSimulated ?? null,
      };
      const { studyAnalysis } = await request<{ studyAnalysis: any }>(server, ANALYSIS_QUERY, { studyId, input });
      if (options.json) console.log(JSON.stringify(studyAnalysis));
      else printAnalysis(studyAnalysis);
    });
}
