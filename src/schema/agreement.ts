/** GraphQL view of a study's analysis (src/agreement/): agreement with humans, raters, psychometric curves. */
import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { ANALYSIS_DEFAULTS } from '../agreement/service';
import { MetricInput } from './metrics';
import { InclusionView, RaterQualityView } from './studies';

@InputType({ description: 'How to analyse a study. Every figure says which raters it included.' })
export class AnalysisInput {
  @Field(() => [MetricInput], { nullable: true, description: 'The metrics to analyse (their values must be stored: scoreTestSet); default: every stored one.' })
  metrics?: MetricInput[] | null;

  @Field(() => Boolean, { nullable: true, description: 'Include simulated raters (default false: people only).' })
  includeSimulated?: boolean | null;

  @Field(() => Int, { nullable: true, description: `Bootstrap resamples, 0 to 10000 (default ${ANALYSIS_DEFAULTS.resamples}; 0: no intervals).` })
  resamples?: number | null;

  @Field(() => Int, { nullable: true, description: `The bootstrap's seed (default ${ANALYSIS_DEFAULTS.seed}): the same seed gives the same intervals.` })
  seed?: number | null;

  @Field(() => Float, { nullable: true, description: `Interval coverage, 0.5 to 0.999 (default ${ANALYSIS_DEFAULTS.confidence}).` })
  confidence?: number | null;

  @Field(() => Boolean, { nullable: true, description: 'Resample raters as well as items (two-way bootstrap), since raters vary too (default false: items only).' })
  twoWay?: boolean | null;
}

@ObjectType({ description: 'A value with its bootstrap percentile interval (null bounds without resamples).' })
export class EstimateView {
  @Field(() => Float, { nullable: true })
  value!: number | null;

  @Field(() => Float, { nullable: true })
  low!: number | null;

  @Field(() => Float, { nullable: true })
  high!: number | null;
}

@ObjectType({ description: 'Metric a minus metric b on the same items, with a paired-bootstrap interval and p-value, Holm-adjusted across the pairs of its scope.' })
export class ComparisonView {
  @Field()
  a!: string;

  @Field()
  b!: string;

  @Field(() => EstimateView)
  difference!: EstimateView;

  @Field(() => Float, { nullable: true })
  p!: number | null;

  @Field(() => Float, { nullable: true })
  pAdjusted!: number | null;

  @Field()
  significant!: boolean;
}

@ObjectType({ description: 'A metric ranked by its point estimate; tier 1 is the best metric and every metric not significantly different from it, and so on down.' })
export class RankedView {
  @Field()
  name!: string;

  @Field(() => Int)
  rank!: number;

  @Field(() => Int)
  tier!: number;
}

@ObjectType()
export class TwoAfcMetricScore {
  @Field()
  name!: string;

  @Field(() => EstimateView, { description: "LPIPS's 2AFC score: the share of humans who chose the candidate the metric ranks closer (ties 0.5), averaged over items." })
  score!: EstimateView;
}

@ObjectType()
export class HumanCeilings {
  @Field(() => EstimateView, { description: 'Two random raters agree: [k(k-1) + (n-k)(n-k-1)] / [n(n-1)] per item (items with 2 or more judgments), averaged.' })
  pairwise!: EstimateView;

  @Field(() => EstimateView, { description: 'The best a deterministic metric can do: mean of max(h, 1 - h).' })
  oracle!: EstimateView;
}

@ObjectType({ description: 'The 2AFC analysis of one scope: all items, a category or a distortion kind.' })
export class TwoAfcScopeView {
  @Field()
  scope!: string;

  @Field(() => Int)
  items!: number;

  @Field(() => Int)
  judgments!: number;

  @Field(() => [TwoAfcMetricScore])
  metrics!: TwoAfcMetricScore[];

  @Field(() => HumanCeilings)
  ceilings!: HumanCeilings;

  @Field(() => [ComparisonView])
  comparisons!: ComparisonView[];

  @Field(() => [RankedView])
  ranking!: RankedView[];
}

@ObjectType()
export class PrecisionRecallPoint {
  @Field(() => Float, { nullable: true, description: 'The distance threshold (pairs at or below it are predicted "same"); similarities negated; null where infinite (PSNR of an unchanged pair).' })
  threshold!: number | null;

  @Field(() => Float)
  recall!: number;

  @Field(() => Float)
  precision!: number;
}

@ObjectType()
export class JndMetricScore {
  @Field()
  name!: string;

  @Field(() => EstimateView, { description: 'Average precision (VOC 2010+) of "same" over pairs sorted by distance, the share who said same as a soft label.' })
  map!: EstimateView;

  @Field(() => [PrecisionRecallPoint])
  curve!: PrecisionRecallPoint[];
}

@ObjectType({ description: 'The JND analysis of one scope (distorted pairs; identical pairs are controls, reported apart).' })
export class JndScopeView {
  @Field()
  scope!: string;

  @Field(() => Int)
  items!: number;

  @Field(() => Int)
  judgments!: number;

  @Field(() => Float, { nullable: true, description: 'Share of judgments that said "same".' })
  sameShare!: number | null;

  @Field(() => [JndMetricScore])
  metrics!: JndMetricScore[];

  @Field(() => [ComparisonView])
  comparisons!: ComparisonView[];

  @Field(() => [RankedView])
  ranking!: RankedView[];
}

@ObjectType()
export class IdenticalPairsView {
  @Field(() => Int)
  items!: number;

  @Field(() => Int)
  judgments!: number;

  @Field(() => Float, { nullable: true, description: 'Share of judgments of identical pairs that said "same" (1 - the false-alarm rate).' })
  sameShare!: number | null;
}

@ObjectType()
export class TwoAfcAnalysisView {
  @Field(() => Int)
  items!: number;

  @Field(() => Int)
  judgments!: number;

  @Field(() => [String], { description: 'The metrics analysed: those with values for every judged item.' })
  metrics!: string[];

  @Field(() => [TwoAfcScopeView])
  scopes!: TwoAfcScopeView[];
}

@ObjectType()
export class JndAnalysisView {
  @Field(() => Int)
  items!: number;

  @Field(() => Int)
  judgments!: number;

  @Field(() => [String])
  metrics!: string[];

  @Field(() => IdenticalPairsView)
  identical!: IdenticalPairsView;

  @Field(() => [JndScopeView])
  scopes!: JndScopeView[];
}

@ObjectType({ description: 'An agreement coefficient (null where undefined, e.g. every answer the same).' })
export class CoefficientView {
  @Field(() => Float, { nullable: true })
  value!: number | null;

  @Field(() => Float, { nullable: true, description: 'Observed agreement (kappa) or 1 - observed disagreement (alpha).' })
  observed!: number | null;

  @Field(() => Float, { nullable: true, description: 'Agreement expected by chance.' })
  expected!: number | null;

  @Field(() => Int, { description: 'Items with two or more answers.' })
  items!: number;
}

@ObjectType()
export class PanelAgreementView {
  @Field()
  testType!: string;

  @Field(() => Int)
  items!: number;

  @Field(() => Int)
  judgments!: number;

  @Field(() => CoefficientView)
  fleissKappa!: CoefficientView;

  @Field(() => CoefficientView, { description: "Krippendorff's alpha, nominal." })
  krippendorffAlpha!: CoefficientView;
}

@ObjectType()
export class ResponseTimesView {
  @Field(() => Int)
  count!: number;

  @Field(() => Float, { nullable: true })
  mean!: number | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'p10, p25, p50, p75, p90 in ms (linear interpolation, as numpy).' })
  quantiles!: Record<string, number> | null;

  @Field(() => GraphQLJSONObject, { description: 'Counts on log-spaced bins from 100 ms to 60 s: { edges, counts }.' })
  histogram!: { edges: number[]; counts: number[] };
}

@ObjectType()
export class RaterAnalysisView extends RaterQualityView {
  @Field(() => Float, { nullable: true, description: "2AFC: mean share of the other raters of the rater's items who answered as they did (null: not included)." })
  twoAfcAgreement!: number | null;

  @Field(() => Float, { nullable: true })
  jndAgreement!: number | null;

  @Field(() => Float, { nullable: true, description: "Fleiss' kappa of the 2AFC panel without this rater." })
  twoAfcPanelKappaWithout!: number | null;

  @Field(() => Float, { nullable: true })
  jndPanelKappaWithout!: number | null;

  @Field(() => ResponseTimesView)
  responseTimes!: ResponseTimesView;
}

@ObjectType()
export class CurvePoint {
  @Field(() => Float)
  x!: number;

  @Field(() => Float)
  p!: number;

  @Field(() => Float, { nullable: true, description: 'Observed points: the trials (judgments) in the bin.' })
  trials?: number | null;
}

@ObjectType({ description: 'P = guess + (1 - guess) / (1 + exp(-(intercept + slope x))), fitted by maximum likelihood.' })
export class LogisticFitView {
  @Field(() => Float)
  intercept!: number;

  @Field(() => Float)
  slope!: number;

  @Field(() => Float)
  guess!: number;

  @Field(() => Float)
  logLikelihood!: number;

  @Field()
  converged!: boolean;

  @Field(() => String, { nullable: true, description: 'Why a fit has no estimate: too-few-levels, separation (the answers split perfectly at some x: the slope is infinite) or no-convergence.' })
  problem!: string | null;
}

@ObjectType()
export class PsychometricCurveView {
  @Field(() => LogisticFitView)
  fit!: LogisticFitView;

  @Field(() => EstimateView, { nullable: true, description: "The threshold: where the curve is halfway between its guess rate and 1 (JND 50% different, 2AFC 75% right), with a bootstrap interval." })
  threshold!: EstimateView | null;

  @Field(() => [CurvePoint])
  curve!: CurvePoint[];

  @Field(() => [CurvePoint])
  observed!: CurvePoint[];

  @Field({ description: 'The threshold lies outside the severities observed: an extrapolation, not a measurement.' })
  extrapolated!: boolean;

  @Field(() => Int, { description: 'Bootstrap refits that did not converge (left out of the interval).' })
  failedResamples!: number;
}

@ObjectType()
export class MetricCurveView {
  @Field()
  label!: string;

  @Field(() => PsychometricCurveView)
  curve!: PsychometricCurveView;
}

@ObjectType({ description: "One distortion kind's psychometric curves: the humans' and each metric's prediction." })
export class CurveSetView {
  @Field()
  testType!: string;

  @Field()
  kind!: string;

  @Field()
  x!: string;

  @Field()
  p!: string;

  @Field(() => Int)
  items!: number;

  @Field(() => PsychometricCurveView)
  human!: PsychometricCurveView;

  @Field(() => [MetricCurveView])
  metrics!: MetricCurveView[];
}

@ObjectType()
export class AnalysedMetricView {
  @Field()
  label!: string;

  @Field()
  metric!: string;

  @Field(() => GraphQLJSONObject)
  params!: Record<string, number>;

  @Field(() => String, { nullable: true })
  model!: string | null;

  @Field(() => [String], { nullable: true })
  layers!: string[] | null;

  @Field()
  direction!: string;
}

@ObjectType({ description: 'A metric left out of a test type: it has values for only some judged items (run scoreTestSet).' })
export class NotAnalysedView {
  @Field()
  label!: string;

  @Field()
  testType!: string;

  @Field(() => Int)
  scored!: number;

  @Field(() => Int)
  items!: number;
}

@ObjectType()
export class ExampleMetricView {
  @Field()
  label!: string;

  @Field(() => String, { nullable: true, description: "2AFC: the candidate it ranks closer: p0, p1 or tie." })
  choice!: string | null;

  @Field(() => Float, { nullable: true, description: 'JND: its value for the pair (null where infinite).' })
  distance!: number | null;
}

@ObjectType()
export class ExampleItemView {
  @Field(() => ID)
  itemId!: string;

  @Field()
  testType!: string;

  @Field()
  category!: string;

  @Field(() => [String])
  kinds!: string[];

  @Field(() => Int)
  judgments!: number;

  @Field(() => Float, { description: '2AFC: share who chose p1; JND: share who said same.' })
  fraction!: number;

  @Field(() => [ExampleMetricView])
  metrics!: ExampleMetricView[];
}

@ObjectType()
export class AnalysisInclusionView extends InclusionView {
  @Field({ description: 'Whether any simulated rater is among the included.' })
  simulatedIncluded!: boolean;
}

@ObjectType({ description: "A study's analysis: does each metric agree with the physicians? Computed from the stored judgments and scores, seeded." })
export class StudyAnalysisView {
  @Field(() => ID)
  studyId!: string;

  @Field({ description: 'A digest of the judgments, raters and scores analysed: equal digests and options give equal results.' })
  fingerprint!: string;

  @Field()
  computedAt!: string;

  @Field(() => Int)
  resamples!: number;

  @Field(() => Int)
  seed!: number;

  @Field(() => Float)
  confidence!: number;

  @Field()
  twoWay!: boolean;

  @Field(() => AnalysisInclusionView)
  inclusion!: AnalysisInclusionView;

  @Field(() => [AnalysedMetricView])
  metrics!: AnalysedMetricView[];

  @Field(() => [NotAnalysedView])
  notAnalysed!: NotAnalysedView[];

  @Field(() => TwoAfcAnalysisView, { nullable: true })
  twoAfc!: TwoAfcAnalysisView | null;

  @Field(() => JndAnalysisView, { nullable: true })
  jnd!: JndAnalysisView | null;

  @Field(() => [PanelAgreementView])
  panel!: PanelAgreementView[];

  @Field(() => [RaterAnalysisView])
  raters!: RaterAnalysisView[];

  @Field(() => [CurveSetView])
  curves!: CurveSetView[];

  @Field(() => [ExampleItemView])
  examples!: ExampleItemView[];
}
