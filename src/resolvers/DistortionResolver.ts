import { Arg, Ctx, FieldResolver, Float, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DistortedImage, Image, Job } from '../entities';
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
import type { Context } from './context';

@Resolver()
export class DistortionResolver {
  @Query(() => [DistortionKindView], { description: 'Every distortion kind, its parameters, ranges and severity mapping.' })
  distortionCatalog(): DistortionKindView[] {
    return catalogView();
  }

  @Mutation(() => DistortionPreview, { description: 'Distorts one image without storing it.' })
  async previewDistortion(
    @Arg('imageId', () => ID) imageId: string,
    @Arg('steps', () => [DistortionStepInput]) steps: DistortionStepInput[],
    @Arg('seed', () => Float, { defaultValue: 0 }) seed: number,
    @Arg('backend', () => BackendChoiceEnum, { defaultValue: BackendChoiceEnum.AUTO }) backend: BackendChoiceEnum,
    @Ctx() { app }: Context,
  ): Promise<DistortionPreview> {
    const preview = await distortions.previewDistortion(app, { imageId, steps, seed, backend });
    return { ...preview, dataUrl: `data:image/png;base64,${preview.png.toString('base64')}` };
  }

  @Mutation(() => Job, { description: 'Distorts images with specs (or a severity sweep) as a job; each result is stored.' })
  async distortImages(@Arg('input') input: DistortImagesInput, @Ctx() { app }: Context): Promise<Job> {
    const jobId = await distortions.startDistortJob(app, input);
    return app.db.dataSource.getRepository(Job).findOneByOrFail({ id: jobId });
  }

}

@Resolver(() => Image)
export class ImageDistortionsResolver {
  @FieldResolver(() => [DistortedImage], { description: 'Stored distortions of this image, oldest first.' })
  distortions(@Root() image: Image, @Ctx() { app }: Context): Promise<DistortedImage[]> {
    return distortions.listDistortions(app, image.id);
  }
}

@Resolver(() => DistortedImage)
export class DistortedImageResolver {
  @FieldResolver(() => String, { description: 'The stored PNG (same depth as the source image).' })
  url(@Root() distorted: DistortedImage, @Ctx() { baseUrl }: Context): string {
    return imageUrl(baseUrl, distorted.id, { depth: 16 }, 'distortions');
  }
}
