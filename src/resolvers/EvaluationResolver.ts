import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DistortedImage } from '../entities/DistortedImage';
import { Job } from '../entities/Job';
import { TestSetItem } from '../entities/TestSet';
import { classifierEvaluation, classifierNamed, predictionsOf, startPredictions } from '../evaluation/service';
import type { App } from '../platform/app';
import type { RequestContext } from '../platform/context';
import { ClassifierEvaluationView, ItemPredictionsView, PredictionFlipView } from '../schema/evaluation';
import { Allow, PIPELINES, READERS } from '../schema/guards';

const jobById = (app: App, id: string) => app.db.dataSource.getRepository(Job).findOneByOrFail({ id });

@Resolver()
export class EvaluationResolver {
  @Allow(...PIPELINES)
  @Mutation(() => Job, { description: 'Runs a registered classifier on a dataset split as a job (images predicted before are kept); read the result with classifierEvaluation.' })
  async evaluateClassifier(
    @Arg('model') model: string,
    @Arg('datasetId', () => ID) datasetId: string,
    @Arg('split', () => String, { nullable: true, description: 'train, test or val; default: every image of the dataset.' }) split: string | null,
    @Ctx() { app }: RequestContext,
  ): Promise<Job> {
    return jobById(app, await startPredictions(app, model, { kind: 'split', datasetId, split }));
  }

  @Allow(...PIPELINES)
  @Mutation(() => Job, { description: "Predicts every image of a test set's items with a classifier (TestSetItem.predictions then says whether a distortion flips the diagnosis)." })
  async predictTestSet(@Arg('model') model: string, @Arg('testSetId', () => ID) testSetId: string, @Ctx() { app }: RequestContext): Promise<Job> {
    return jobById(app, await startPredictions(app, model, { kind: 'testSet', testSetId }));
  }

  @Allow(...PIPELINES)
  @Mutation(() => Job, { description: "Predicts a dataset's distorted images and their sources with a classifier (DistortedImage.prediction)." })
  async predictDistortions(@Arg('model') model: string, @Arg('datasetId', () => ID) datasetId: string, @Ctx() { app }: RequestContext): Promise<Job> {
    return jobById(app, await startPredictions(app, model, { kind: 'distortions', datasetId }));
  }

  @Allow(...READERS)
  @Query(() => ClassifierEvaluationView, { description: "A classifier's accuracy, sensitivity, specificity, ROC AUC with its 95% CI, confusion matrix and ROC curve on a dataset split." })
  classifierEvaluation(
    @Arg('model') model: string,
    @Arg('datasetId', () => ID) datasetId: string,
    @Arg('split', () => String, { nullable: true }) split: string | null,
    @Ctx() { app }: RequestContext,
  ): Promise<ClassifierEvaluationView> {
    return classifierEvaluation(app, model, datasetId, split);
  }
}

@Resolver(() => DistortedImage)
export class DistortedImagePredictionResolver {
  @Allow(...READERS)
  @FieldResolver(() => PredictionFlipView, { nullable: true, description: 'The classifier on this image and on its source (null until predictDistortions ran).' })
  async prediction(@Root() distorted: DistortedImage, @Arg('model') model: string, @Ctx() { app }: RequestContext): Promise<PredictionFlipView | null> {
    const classifier = await classifierNamed(app, model);
    const { rows } = await app.pool.query<{ content_hash: string }>(`SELECT content_hash FROM images WHERE id = $1`, [distorted.imageId]);
    const found = await predictionsOf(app, classifier, [distorted.contentHash, rows[0].content_hash]);
    const [mine, source] = [found.get(distorted.contentHash), found.get(rows[0].content_hash)];
    return mine && source ? { distorted: mine, source, flipped: mine.label !== source.label } : null;
  }
}

@Resolver(() => TestSetItem)
export class TestSetItemPredictionsResolver {
  @Allow(...READERS)
  @FieldResolver(() => ItemPredictionsView, { nullable: true, description: "The classifier on the item's images (null until built)." })
  async predictions(@Root() item: TestSetItem, @Arg('model') model: string, @Ctx() { app }: RequestContext): Promise<ItemPredictionsView | null> {
    if (!item.p0Hash || !item.p1Hash) return null;
    const classifier = await classifierNamed(app, model);
    const found = await predictionsOf(app, classifier, [item.refHash, item.p0Hash, item.p1Hash].filter((hash): hash is string => hash !== null));
    const [ref, p0, p1] = [item.refHash, item.p0Hash, item.p1Hash].map((hash) => (hash ? (found.get(hash) ?? null) : null));
    const differs = (a: typeof ref, b: typeof ref) => (a && b ? a.label !== b.label : null);
    return item.refHash ? { ref, p0, p1, p0Flipped: differs(ref, p0), p1Flipped: differs(ref, p1) } : { ref: null, p0, p1, p0Flipped: null, p1Flipped: differs(p0, p1) };
  }
}
