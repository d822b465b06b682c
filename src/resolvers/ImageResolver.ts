import { Arg, Ctx, FieldResolver, Float, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { Dataset, Image } from '../entities';
import * as datasets from '../datasets/service';
import { imageUrl } from '../server/image-route';
import type { Context } from './context';

@Resolver(() => Image)
export class ImageResolver {
  @Query(() => Image)
  image(@Arg('id', () => ID) id: string, @Ctx() { app }: Context): Promise<Image> {
    return datasets.getImage(app, id);
  }

  @FieldResolver(() => Dataset)
  dataset(@Root() image: Image, @Ctx() { app }: Context): Promise<Dataset> {
    return datasets.getDataset(app, image.datasetId);
  }

  @FieldResolver(() => String, {
    description:
      'PNG served by this server. depth 16 (default) is the stored image (16-bit stays 16-bit); depth 8 gives a ' +
      'windowed 8-bit rendition: the given window, else the image default window, else its own min..max.',
  })
  url(
    @Root() image: Image,
    @Ctx() { baseUrl }: Context,
    @Arg('depth', () => Int, { defaultValue: 16 }) depth: number,
    @Arg('windowCenter', () => Float, { nullable: true }) windowCenter: number | null,
    @Arg('windowWidth', () => Float, { nullable: true }) windowWidth: number | null,
  ): string {
    return imageUrl(baseUrl, image.id, { depth, windowCenter, windowWidth });
  }
}
