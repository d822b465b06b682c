import { Arg, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DistortedImage } from '../entities/DistortedImage';
import { Image } from '../entities/Image';
import { Job } from '../entities/Job';
import * as distortions from '../distortions/service';
import {
  BackendChoiceEnum,
  catalogView,
  DistortImagesInput,
  DistortionKindView,
  DistortionPreview,
  DistortionStepInput,
} from '../schema/distortions';
import { imageUrl } from '../server/image-route';
import type { RequestContext } from '../platform/context';
import { Allow, PIPELINES, READERS } from '../schema/guards';

@Resolver()
export class DistortionResolver {
  @Allow(...READERS)
  @Query(() => [DistortionKindView], { description: 'Every distortion kind, its parameters, ranges and severity mapping.' })
  distortionCatalog(): DistortionKindView[] {
    return catalogView();
  }

  @Allow(...READERS) // stores nothing: analysts may try kinds too
  @Mutation(() => DistortionPreview, { description: 'Distorts one image without storing it.' })
  async previewDistortion(
    @Arg('imageId', () => ID) imageId: string,
    @Arg('steps', () => [DistortionStepInput]) steps: DistortionStepInput[],
    @Arg('seed', () => Float, { defaultValue: 0 }) seed: number,
    @Arg('backend', () => BackendChoiceEnum, { defaultValue: BackendChoiceEnum.AUTO }) backend: BackendChoiceEnum,
    @Ctx() { app, signal }: RequestContext,
  ): Promise<DistortionPreview> {
    const preview = await distortions.previewDistortion(app, { imageId, steps, seed, backend }, signal);
    return { ...preview, dataUrl: `data:image/png;base64,${preview.png.toString('base64')}` };
  }

  @Allow(...PIPELINES)
  @Mutation(() => Job, { description: 'Distorts images with specs (or a severity sweep) as a job; each result is stored.' })
  async distortImages(@Arg('input') input: DistortImagesInput, @Ctx() { app }: RequestContext): Promise<Job> {
    const jobId = await distortions.startDistortJob(app, input);
    return app.db.dataSource.getRepository(Job).findOneByOrFail({ id: jobId });
  }

}

@Resolver(() => Image)
export class ImageDistortionsResolver {
  @FieldResolver(() => [DistortedImage], { description: 'Stored distortions of this image, oldest first (the first `first`, at most 1000).' })
  distortions(
    @Root() image: Image,
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset: number,
    @Ctx() { app }: RequestContext,
  ): Promise<DistortedImage[]> {
    return distortions.listDistortions(app, image.id, { first, offset });
  }
}

@Resolver(() => DistortedImage)
export class DistortedImageResolver {
  @FieldResolver(() => String, { description: 'The stored PNG (same depth as the source image), a signed link that expires.' })
  url(@Root() distorted: DistortedImage, @Ctx() context: RequestContext): Promise<string> {
    return imageUrl(context, 'distortions', distorted.id, { depth: 16 });
  }
}
