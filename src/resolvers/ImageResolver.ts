import { Arg, Ctx, FieldResolver, Float, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { Dataset } from '../entities/Dataset';
import { Image } from '../entities/Image';
import * as datasets from '../datasets/service';
import { imageUrl } from '../server/image-route';
import type { RequestContext } from '../platform/context';
import { Allow, READERS } from '../schema/guards';

@Resolver(() => Image)
export class ImageResolver {
  @Allow(...READERS)
  @Query(() => Image)
  image(@Arg('id', () => ID) id: string, @Ctx() { app }: RequestContext): Promise<Image> {
    return datasets.getImage(app, id);
  }

  @FieldResolver(() => Dataset)
  dataset(@Root() image: Image, @Ctx() { app }: RequestContext): Promise<Dataset> {
    return datasets.getDataset(app, image.datasetId);
  }

  @FieldResolver(() => String, {
    description:
      'PNG served by this server, a signed link that works without a token until it expires (MEDPSIM_SIGNED_URL_SECONDS). ' +
      'depth 16 (default) is the stored image (16-bit stays 16-bit); depth 8 gives a windowed 8-bit rendition: the ' +
      'given window, else the image default window, else its own min..max.',
  })
  url(
    @Root() image: Image,
    @Ctx() context: RequestContext,
    @Arg('depth', () => Int, { defaultValue: 16 }) depth: number,
    @Arg('windowCenter', () => Float, { nullable: true }) windowCenter: number | null,
    @Arg('windowWidth', () => Float, { nullable: true }) windowWidth: number | null,
  ): Promise<string> {
    return imageUrl(context, 'images', image.id, { depth, windowCenter, windowWidth });
  }
}
