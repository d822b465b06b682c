import { Query, Resolver } from 'type-graphql';
import { catalogView, DistortionKindView } from '../schema/distortions';

@Resolver()
export class DistortionResolver {
  @Query(() => [DistortionKindView], { description: 'Every distortion kind, its parameters, ranges and severity mapping.' })
  distortionCatalog(): DistortionKindView[] {
    return catalogView();
  }
}
