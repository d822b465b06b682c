/** GraphQL types of studies and judgments. Rater-facing types (Rater*) carry nothing a rater may not see. */
import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Study } from '../entities/Study';
import { TestSetItem } from '../entities/TestSet';
import { RETEST_SHARE, ZOOM } from '../studies/protocol';

export enum AnswerEnum {
  LEFT = 'LEFT',
  RIGHT = 'RIGHT',
  SAME = 'SAME',
  DIFFERENT = 'DIFFERENT',
}
registerEnumType(AnswerEnum, { name: 'Answer', description: '2AFC: LEFT or RIGHT (the side closer to the reference); JND: SAME or DIFFERENT.' });

@InputType({ description: 'How a study runs. Unset fields take the defaults given.' })
export class ProtocolInput {
  @Field(() => Int, { nullable: true, description: 'Judgments per item, each by a distinct rater (default 5 for 2AFC, 3 for JND, as BAPPS).' })
  judgmentsPerItem?: number | null;

  @Field({ nullable: true, description: "Show the sets' practice items first, with feedback (default true)." })
  practice?: boolean;

  @Field({ nullable: true, description: "Mix the sets' sentinels evenly into every rater's sequence (default true)." })
  sentinels?: boolean;

  @Field(() => Float, { nullable: true, description: `Share of a rater's items shown again, left/right swapped: 0 or ${RETEST_SHARE.min} to ${RETEST_SHARE.max} (default ${RETEST_SHARE.default}).` })
  retestShare?: number | null;

  @Field(() => Int, { nullable: true, description: 'A retest comes at least this many presentations after the first showing (default 10).' })
  retestMinGap?: number | null;

  @Field(() => Int, { nullable: true, description: 'A break every this many presentations (default 50; 0: none).' })
  breakEvery?: number | null;

  @Field(() => Float, { nullable: true, description: "Display window centre, in stored units (default: each item's own window)." })
  windowCenter?: number | null;

  @Field(() => Float, { nullable: true })
  windowWidth?: number | null;

  @Field(() => Float, { nullable: true, description: `Device pixels per image pixel, the same for every rater: ${ZOOM.min} to ${ZOOM.max} (default ${ZOOM.default}: native pixels).` })
  zoom?: number | null;

  @Field(() => Int, { nullable: true, description: 'JND: how long the reference is shown, in ms (default 1000).' })
  referenceMs?: number | null;

  @Field(() => Int, { nullable: true, description: 'JND: the blank between the two, in ms (default 250, as BAPPS).' })
  blankMs?: number | null;

  @Field(() => Int, { nullable: true, description: 'JND: how long the comparison is shown, in ms (default 1000).' })
  distortedMs?: number | null;

  @Field({ nullable: true, description: 'Whether a rater may change an answer (default false); the old judgment is kept, superseded.' })
  allowAnswerChange?: boolean;
}

@InputType()
export class CreateStudyInput {
  @Field()
  name!: string;

  @Field(() => [ID], { description: 'READY test sets; they are locked from now on.' })
  testSetIds!: string[];

  @Field(() => [ID], { nullable: true, description: 'The panel (rater ids).' })
  raterIds?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'Simulated raters to add to the panel (for medpsim simulate-panel; 0 to 100, default 0).' })
  simulatedRaters?: number | null;

  @Field(() => ProtocolInput, { nullable: true })
  protocol?: ProtocolInput | null;

  @Field(() => Float, { description: 'Seed of the assignment, orders and placements.' })
  seed!: number;
}

@InputType({ description: 'Which raters analyses leave out. Unset rules do not apply.' })
export class ExclusionRulesInput {
  @Field(() => Float, { nullable: true, description: 'Leave out raters whose sentinel pass rate is below this (e.g. 0.8).' })
  minSentinelPassRate?: number | null;

  @Field(() => Float, { nullable: true })
  minRetestAgreement?: number | null;

  @Field(() => Int, { nullable: true, description: 'Leave out raters whose median response time is below this (e.g. 500).' })
  minMedianResponseMs?: number | null;

  @Field(() => [ID], { nullable: true, description: 'Leave out these raters.' })
  raterIds?: string[] | null;
}

@InputType({ description: 'What the client displayed (all optional; stored with the judgment).' })
export class DisplayInput {
  @Field(() => Float, { nullable: true })
  viewportWidth?: number | null;

  @Field(() => Float, { nullable: true })
  viewportHeight?: number | null;

  @Field(() => Float, { nullable: true, description: 'The image as displayed, in device pixels.' })
  imageWidth?: number | null;

  @Field(() => Float, { nullable: true })
  imageHeight?: number | null;

  @Field(() => Float, { nullable: true })
  devicePixelRatio?: number | null;

  @Field(() => Float, { nullable: true, description: 'JND: how long the reference was actually shown, in ms.' })
  shownReferenceMs?: number | null;

  @Field(() => Float, { nullable: true })
  shownBlankMs?: number | null;

  @Field(() => Float, { nullable: true })
  shownComparisonMs?: number | null;
}

@InputType()
export class SubmitJudgmentInput {
  @Field(() => ID)
  presentationId!: string;

  @Field(() => AnswerEnum)
  answer!: AnswerEnum;

  @Field(() => Int, { description: 'From the images appearing (2AFC) or the comparison ending (JND) to the answer, in ms.' })
  responseMs!: number;

  @Field({ description: 'Chosen by the client, unique per answer: a retry with the same key returns the stored judgment.' })
  clientKey!: string;

  @Field(() => DisplayInput, { nullable: true })
  display?: DisplayInput | null;
}

@ObjectType({ description: "The open presentation's images: signed links that expire, 8-bit in the study's window." })
export class RaterImages {
  @Field()
  reference!: string;

  @Field(() => String, { nullable: true, description: '2AFC.' })
  left!: string | null;

  @Field(() => String, { nullable: true, description: '2AFC.' })
  right!: string | null;

  @Field(() => String, { nullable: true, description: 'JND: shown after the reference and a blank.' })
  comparison!: string | null;
}

@ObjectType()
export class JndTimingView {
  @Field(() => Int)
  referenceMs!: number;

  @Field(() => Int)
  blankMs!: number;

  @Field(() => Int)
  distortedMs!: number;
}

@ObjectType({ description: "A rater's next presentation: what to show and how, nothing more." })
export class RaterPresentation {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  studyId!: string;

  @Field({ description: 'TWO_AFC: which side is closer to the reference; JND: same or different.' })
  kind!: string;

  @Field({ description: 'A practice presentation: its answer gets feedback and is not analysed.' })
  practice!: boolean;

  @Field(() => Int, { description: 'Its place in the rater’s sequence (1-based).' })
  number!: number;

  @Field(() => Int)
  total!: number;

  @Field({ description: 'Offer a break before showing it.' })
  breakBefore!: boolean;

  @Field(() => RaterImages)
  images!: RaterImages;

  @Field(() => JndTimingView, { nullable: true })
  jnd!: JndTimingView | null;

  @Field(() => Float, { description: "Show the images at this many device pixels per image pixel (the study's zoom; 1: native pixels)." })
  zoom!: number;

  @Field(() => RaterPresentation, { nullable: true, description: 'The presentation after this one, to load its images ahead (its own upcoming is null).' })
  upcoming!: RaterPresentation | null;
}

@ObjectType()
export class JudgmentReceipt {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  presentationId!: string;

  @Field(() => AnswerEnum)
  answer!: string;

  @Field(() => Int)
  responseMs!: number;

  @Field({ description: 'When the server received it.' })
  receivedAt!: Date;

  @Field({ description: 'The client key was sent before: this is the judgment stored then.' })
  repeated!: boolean;

  @Field(() => Boolean, { nullable: true, description: 'Practice only: whether the answer was right.' })
  correct!: boolean | null;
}

@ObjectType({ description: "A study as its rater sees it: their own progress only." })
export class RaterStudy {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'The study is open and the rater still in it.' })
  open!: boolean;

  @Field(() => Int)
  answered!: number;

  @Field(() => Int)
  total!: number;

  @Field({ description: 'You have done the display check for this study.' })
  displayChecked!: boolean;

  @Field({ description: "The display check's grey steps, rendered by the server in the study's window (a signed link)." })
  displayCheckImage!: string;

  @Field(() => Int, { description: 'How many steps that image shows.' })
  displayCheckSteps!: number;
}

@InputType({ description: "The reading app's display check: the grey steps shown, how many the rater told apart, and the display." })
export class DisplayCheckInput {
  @Field(() => Int)
  stepsShown!: number;

  @Field(() => Int)
  stepsDistinguished!: number;

  @Field(() => Float, { nullable: true })
  screenWidth?: number | null;

  @Field(() => Float, { nullable: true })
  screenHeight?: number | null;

  @Field(() => Float, { nullable: true })
  devicePixelRatio?: number | null;

  @Field(() => Float, { nullable: true, description: 'Browser zoom as the app estimates it (1: none).' })
  zoom?: number | null;

  @Field(() => Float, { nullable: true })
  colorDepth?: number | null;

  @Field(() => Float, { nullable: true })
  viewportWidth?: number | null;

  @Field(() => Float, { nullable: true })
  viewportHeight?: number | null;
}

@ObjectType()
export class ExcludedRater {
  @Field(() => ID)
  raterId!: string;

  @Field()
  pseudonym!: string;

  @Field(() => [String])
  reasons!: string[];
}

@ObjectType({ description: 'Which raters an aggregate used.' })
export class InclusionView {
  @Field(() => [ID])
  includedRaterIds!: string[];

  @Field(() => [ExcludedRater])
  excluded!: ExcludedRater[];

  @Field()
  includeSimulated!: boolean;
}

@ObjectType()
export class RaterQualityView {
  @Field(() => ID)
  raterId!: string;

  @Field()
  pseudonym!: string;

  @Field()
  simulated!: boolean;

  @Field()
  withdrawn!: boolean;

  @Field(() => Int, { description: 'Judgments outside practice.' })
  judgments!: number;

  @Field(() => Int)
  sentinels!: number;

  @Field(() => Float, { nullable: true })
  sentinelPassRate!: number | null;

  @Field(() => Int, { description: 'Retests answered (with their first showing).' })
  retests!: number;

  @Field(() => Float, { nullable: true, description: 'Share of retests answered as the first time (left/right swapped between them).' })
  retestAgreement!: number | null;

  @Field(() => Float, { nullable: true })
  medianResponseMs!: number | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "The rater's display check (reading app), if done." })
  displayCheck!: Record<string, number> | null;

  @Field(() => Date, { nullable: true, description: 'When the rater last answered.' })
  lastActivity!: Date | null;

  @Field()
  excluded!: boolean;

  @Field(() => [String])
  reasons!: string[];
}

@ObjectType()
export class ItemAggregateView {
  @Field(() => ID)
  itemId!: string;

  @Field(() => ID)
  testSetId!: string;

  @Field(() => Int)
  position!: number;

  @Field()
  category!: string;

  @Field()
  kind!: string;

  @Field(() => Int, { description: 'Judgments from first showings by the included raters.' })
  judgments!: number;

  @Field(() => Float, { nullable: true, description: '2AFC: fraction who chose p1 as closer; JND: fraction who said same.' })
  fraction!: number | null;

  @Field(() => [ID])
  raterIds!: string[];

  @Field(() => Float, { nullable: true, description: 'Imported sets: the fraction stored with the set.' })
  importedFraction!: number | null;

  item?: TestSetItem;
}

@ObjectType()
export class ItemAggregates {
  @Field(() => [ItemAggregateView])
  items!: ItemAggregateView[];

  @Field(() => InclusionView)
  inclusion!: InclusionView;
}

@ObjectType()
export class StudyProgressView {
  @Field(() => Int)
  raters!: number;

  @Field(() => Int)
  activeRaters!: number;

  @Field(() => Int)
  presentations!: number;

  @Field(() => Int)
  answered!: number;

  @Field(() => Int, { description: 'Main items of the study’s sets.' })
  items!: number;

  @Field(() => Int, { description: 'Items with fewer presentations than the protocol asks (after withdrawals).' })
  itemsShort!: number;

  @Field(() => Int, { description: 'Items with every judgment the protocol asks.' })
  itemsComplete!: number;
}

@ObjectType()
export class PanelChangeView {
  @Field(() => Study)
  study!: Study;

  @Field(() => Int, { description: 'Open presentations moved between raters.' })
  moved!: number;

  @Field(() => [ID], { description: 'Items no active rater could take: they end short of judgments.' })
  unplaced!: string[];
}

@ObjectType()
export class SimulatedRaterToken {
  @Field(() => ID)
  raterId!: string;

  @Field()
  pseudonym!: string;

  @Field({ description: "The rater's RATER token (shown once; expires in a week)." })
  token!: string;
}
