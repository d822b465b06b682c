import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Job } from '../entities/Job';
import { TestSetItem } from '../entities/TestSet';
import { mapPng } from '../metrics/map-image';
import { itemScores, pairImage, startScorePairs, startScoreTestSet, storedScores } from '../metrics/scores';
import { compareStoredImages, registeredModels } from '../metrics/service';
import { checkMetrics } from '../metrics/engine';
import type { App } from '../platform/app';
import type { RequestContext } from '../platform/context';
import { BackendChoiceEnum } from '../schema/distortions';
import { Allow, PIPELINES, READERS } from '../schema/guards';
import {
  ImagePairInput,
  ImageRefInput,
  ItemScoreView,
  MetricInput,
  MetricValueView,
  MetricView,
  metricCatalogView,
  PairScoreView,
} from '../schema/metrics';

const finite = (value: number) => (Number.isFinite(value) ? value : null);

async function mapView(map: { data: Float32Array; width: number; height: number }) {
  const { png, min, max } = await mapPng(map.data, map.width, map.height);
  return { width: map.width, height: map.height, min, max, dataUrl: `data:image/png;base64,${png.toString('base64')}` };
}

const jobById = (app: App, id: string) => app.db.dataSource.getRepository(Job).findOneByOrFail({ id });

@Resolver()
export class MetricResolver {
  @Allow(...READERS)
  @Query(() => [MetricView], { description: 'Every full-reference metric, its pinned settings, parameters and version.' })
  metricCatalog(): MetricView[] {
    return metricCatalogView();
  }

  @Allow(...READERS)
  @Query(() => [MetricValueView], { description: 'Metrics of two stored images of one shape, computed now (stored nowhere).' })
  async compareImages(
    @Arg('a', () => ImageRefInput) a: ImageRefInput,
    @Arg('b', () => ImageRefInput) b: ImageRefInput,
    @Arg('metrics', () => [MetricInput]) metrics: MetricInput[],
    @Arg('dataBits', () => Int, { nullable: true, description: 'The data range as bits; default: the bits the images record (DICOM BitsStored) or their PNG depth.' })
    dataBits: number | null,
    @Arg('maps', { defaultValue: false, description: 'Also return each per-pixel map.' }) maps: boolean,
    @Arg('backend', () => BackendChoiceEnum, { defaultValue: BackendChoiceEnum.AUTO, description: 'Where the engine metrics run (deep metrics: MEDPSIM_ONNX_PROVIDER).' })
    backend: BackendChoiceEnum,
    @Ctx() { app }: RequestContext,
  ): Promise<MetricValueView[]> {
    const values = await compareStoredImages(app, a, b, metrics, { dataBits, maps, backend });
    return Promise.all(
      values.map(async (value) => ({
        ...value,
        value: finite(value.value),
        infinite: value.value === Infinity,
        map: value.map ? await mapView(value.map) : null,
      })),
    );
  }

  @Allow(...PIPELINES)
  @Mutation(() => Job, { description: "Scores a READY test set's items with metrics as a job (2AFC: d(ref, p0), d(ref, p1); JND: d(p0, p1)); values already stored are not recomputed." })
  async scoreTestSet(
    @Arg('testSetId', () => ID) testSetId: string,
    @Arg('metrics', () => [MetricInput]) metrics: MetricInput[],
    @Ctx() { app }: RequestContext,
  ): Promise<Job> {
    return jobById(app, await startScoreTestSet(app, testSetId, metrics));
  }

  @Allow(...PIPELINES)
  @Mutation(() => Job, { description: 'Scores image pairs with metrics as a job; read the values with pairScores.' })
  async scorePairs(
    @Arg('pairs', () => [ImagePairInput]) pairs: ImagePairInput[],
    @Arg('metrics', () => [MetricInput]) metrics: MetricInput[],
    @Ctx() { app }: RequestContext,
  ): Promise<Job> {
    return jobById(app, await startScorePairs(app, pairs, metrics));
  }

  @Allow(...READERS)
  @Query(() => [PairScoreView], { description: "Stored scores of image pairs (each metric's current version); pairs not scored yet have none." })
  async pairScores(
    @Arg('pairs', () => [ImagePairInput]) pairs: ImagePairInput[],
    @Arg('metrics', () => [MetricInput], { nullable: true, description: 'Only these settings; default: every stored one.' }) metrics: MetricInput[] | null,
    @Ctx() { app }: RequestContext,
  ): Promise<PairScoreView[]> {
    const resolved = [];
    for (const [index, pair] of pairs.entries()) {
      resolved.push({ a: await pairImage(app, pair.a, `pairs[${index}].a`), b: await pairImage(app, pair.b, `pairs[${index}].b`) });
    }
    const found = await storedScores(app, resolved, metrics ? await checkMetrics(metrics, 'metrics', registeredModels(app)) : null);
    return resolved.flatMap((pair, index) =>
      (found.get(`${pair.a.hash}/${pair.b.hash}`) ?? []).map((score) => ({ ...score, pair: index, value: finite(score.value), infinite: score.value === Infinity })),
    );
  }
}

@Resolver(() => TestSetItem)
export class TestSetItemScoresResolver {
  @Allow(...READERS)
  @FieldResolver(() => [ItemScoreView], { description: "Stored scores (each metric's current version; see scoreTestSet), optionally of these settings only." })
  async scores(
    @Root() item: TestSetItem,
    @Arg('metrics', () => [MetricInput], { nullable: true }) metrics: MetricInput[] | null,
    @Ctx() { app }: RequestContext,
  ): Promise<ItemScoreView[]> {
    const scores = await itemScores(app, item.id, metrics);
    return scores.map((score) => ({ ...score, d0: finite(score.d0), d1: score.d1 === null ? null : finite(score.d1) }));
  }
}
