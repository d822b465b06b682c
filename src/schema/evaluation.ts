/** GraphQL types of the classifier's evaluation and of its predictions of distorted images. */
import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

@ObjectType()
export class ConfusionView {
  @Field(() => Int, { description: 'Positives predicted positive.' })
  tp!: number;

  @Field(() => Int, { description: 'Negatives predicted positive.' })
  fp!: number;

  @Field(() => Int, { description: 'Negatives predicted negative.' })
  tn!: number;

  @Field(() => Int, { description: 'Positives predicted negative.' })
  fn!: number;
}

@ObjectType()
export class RocPointView {
  @Field(() => Float, { nullable: true, description: 'P(positive) >= threshold counts as positive; null for the first point.' })
  threshold!: number | null;

  @Field(() => Float)
  fpr!: number;

  @Field(() => Float)
  tpr!: number;
}

@ObjectType({ description: "A classifier's evaluation on a dataset split, from its stored predictions (the decision: the most probable class)." })
export class ClassifierEvaluationView {
  @Field()
  model!: string;

  @Field({ description: 'SHA-256 of the model file the predictions were made with.' })
  modelSha256!: string;

  @Field(() => ID)
  datasetId!: string;

  @Field(() => String, { nullable: true })
  split!: string | null;

  @Field()
  positiveClass!: string;

  @Field(() => Int, { description: "Images of the split labelled with one of the model's classes." })
  images!: number;

  @Field(() => Int, { description: 'Of those, images not predicted yet (run evaluateClassifier).' })
  missing!: number;

  @Field(() => Int, { description: "Images labelled with none of the model's classes (not counted)." })
  otherLabels!: number;

  @Field(() => Int, { description: 'Images counted (predicted).' })
  n!: number;

  @Field(() => Int)
  positives!: number;

  @Field(() => Int)
  negatives!: number;

  @Field(() => Float, { nullable: true })
  accuracy!: number | null;

  @Field(() => Float, { nullable: true, description: 'Recall of the positive class (PNEUMONIA).' })
  sensitivity!: number | null;

  @Field(() => Float, { nullable: true, description: 'Recall of the negative class.' })
  specificity!: number | null;

  @Field(() => Float, { nullable: true, description: 'ROC AUC (Mann-Whitney, ties count half); null unless both classes are present.' })
  auc!: number | null;

  @Field(() => [Float], { nullable: true, description: "95% CI of the AUC: DeLong's variance, normal interval clipped to [0, 1]." })
  aucCi95!: [number, number] | null;

  @Field(() => ConfusionView)
  confusion!: ConfusionView;

  @Field(() => [RocPointView], { description: 'The ROC curve through every distinct score, from (0, 0) to (1, 1).' })
  roc!: RocPointView[];
}

@ObjectType({ description: "The classifier's prediction of one image." })
export class PredictionView {
  @Field({ description: 'The most probable class.' })
  label!: string;

  @Field(() => Float, { description: 'P(positive class).' })
  probability!: number;

  @Field(() => [Float], { description: "Every class's probability, in the manifest's class order." })
  probabilities!: number[];
}

@ObjectType({ description: 'A distorted image predicted beside its source: does the diagnosis change?' })
export class PredictionFlipView {
  @Field(() => PredictionView)
  distorted!: PredictionView;

  @Field(() => PredictionView)
  source!: PredictionView;

  @Field({ description: "The predicted class differs from the source's." })
  flipped!: boolean;
}

@ObjectType({ description: "A test-set item's images predicted (null where not predicted yet: run predictTestSet)." })
export class ItemPredictionsView {
  @Field(() => PredictionView, { nullable: true, description: '2AFC only.' })
  ref!: PredictionView | null;

  @Field(() => PredictionView, { nullable: true, description: 'JND: the reference.' })
  p0!: PredictionView | null;

  @Field(() => PredictionView, { nullable: true })
  p1!: PredictionView | null;

  @Field(() => Boolean, { nullable: true, description: "2AFC: p0's class differs from ref's; JND: null." })
  p0Flipped!: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "2AFC: p1's class differs from ref's; JND: p1's from p0's." })
  p1Flipped!: boolean | null;
}
