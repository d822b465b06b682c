import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Dataset } from '../entities/Dataset';
import { Job } from '../entities/Job';
import * as datasets from '../datasets/service';
import { setDetectorResponse } from '../datasets/detector-response';
import { SetDetectorResponseInput } from '../schema/detector-response';
import { ImageConnection, ImageFilter, ImportDatasetInput, SplitLabelCount } from '../schema/types';
import type { RequestContext } from '../platform/context';
import { Allow, PIPELINES, READERS } from '../schema/guards';
import { shownPath } from './paths';

@Resolver(() => Dataset)
export class DatasetResolver {
  @Allow(...READERS)
  @Query(() => [Dataset])
  datasets(@Ctx() { app }: RequestContext): Promise<Dataset[]> {
    return datasets.listDatasets(app);
  }

  @Allow(...READERS)
  @Query(() => Dataset)
  dataset(@Arg('id', () => ID) id: string, @Ctx() { app }: RequestContext): Promise<Dataset> {
    return datasets.getDataset(app, id);
  }

  @FieldResolver(() => String, { nullable: true, description: 'Folder of the last import into this dataset, on the server.' })
  sourceRoot(@Root() dataset: Dataset, @Ctx() context: RequestContext): string | null {
    return shownPath(context, dataset.sourceRoot);
  }

  @FieldResolver(() => Int, { description: 'Number of images, optionally filtered.' })
  imageCount(
    @Root() dataset: Dataset,
    @Arg('filter', () => ImageFilter, { nullable: true }) filter: ImageFilter | null,
    @Ctx() { app }: RequestContext,
  ): Promise<number> {
    return datasets.countImages(app, dataset.id, filter ?? {});
  }

  @FieldResolver(() => [String], { description: 'Which of these SHA-256 hashes of files (at most 1000) the dataset holds already: an upload that resumes skips them.' })
  knownContent(@Root() dataset: Dataset, @Arg('sha256', () => [String]) sha256: string[], @Ctx() { app }: RequestContext): Promise<string[]> {
    return datasets.knownContent(app, dataset.id, sha256);
  }

  @FieldResolver(() => [SplitLabelCount], { description: 'Image counts per split and label.' })
  counts(@Root() dataset: Dataset, @Ctx() { app }: RequestContext): Promise<SplitLabelCount[]> {
    return datasets.countsBySplitAndLabel(app, dataset.id);
  }

  @FieldResolver(() => ImageConnection, {
    description: `Images in source-path order, ${datasets.MAX_PAGE_SIZE} at most per page.`,
    complexity: ({ args, childComplexity }) => 1 + (Number(args.first) || 1) * childComplexity,
  })
  async images(
    @Root() dataset: Dataset,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('filter', () => ImageFilter, { nullable: true }) filter: ImageFilter | null,
    @Ctx() { app }: RequestContext,
  ): Promise<ImageConnection> {
    const page = await datasets.listImages(app, dataset.id, filter ?? {}, { first, after });
    return {
      edges: page.images.map((node) => ({ node, cursor: datasets.encodeCursor(node.sourcePath) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    };
  }

  @Allow(...PIPELINES)
  @Mutation(() => Dataset, { description: 'Creates an empty dataset (or returns the one of that name).' })
  createDataset(
    @Arg('name') name: string,
    @Arg('description', () => String, { nullable: true }) description: string | null,
    @Ctx() { app }: RequestContext,
  ): Promise<Dataset> {
    return datasets.datasetNamed(app, name, description);
  }

  @Allow(...PIPELINES)
  @Mutation(() => Job, { description: 'Imports a folder on the server as a job; returns the job at once.' })
  async importDataset(@Arg('input') input: ImportDatasetInput, @Ctx() { app }: RequestContext): Promise<Job> {
    const jobId = await datasets.startFolderImport(app, input);
    return app.db.dataSource.getRepository(Job).findOneByOrFail({ id: jobId });
  }

  @Allow(...PIPELINES)
  @Mutation(() => Int, {
    description:
      'Sets the detector response (source USER) of every image of a dataset or of the images named (exactly one of ' +
      'datasetId and imageIds), DICOM images included; returns how many images changed (those that had it already are not counted).',
  })
  setDetectorResponse(@Arg('input') input: SetDetectorResponseInput, @Ctx() { app }: RequestContext): Promise<number> {
    return setDetectorResponse(app, input);
  }
}
