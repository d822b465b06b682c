/** Distortions: the catalog, previews, distortion jobs and the stored distorted images. */
import { registerDistortCommand } from '../cli/distort';
import { registerDistortionsCommand } from '../cli/distortions';
import { DistortedImage } from '../entities/DistortedImage';
import { Distortions1764122400000 } from '../entities/migrations/1764122400000-Distortions';
import type { DomainModule } from '../platform/module';
import { DistortedImageResolver, DistortionResolver, ImageDistortionsResolver } from '../resolvers/DistortionResolver';
import { READERS } from '../schema/guards';
import { imageRoute } from '../server/image-route';
import { distortJob, storedDistortion } from './service';

export const distortionsModule: DomainModule = {
  name: 'distortions',
  entities: [DistortedImage],
  migrations: [Distortions1764122400000],
  resolvers: [DistortionResolver, ImageDistortionsResolver, DistortedImageResolver],
  jobs: [distortJob],
  routes: [{ method: 'get', path: '/distortions/:id.png', access: { roles: READERS }, signedUrls: true, handle: imageRoute(storedDistortion) }],
  cli(program) {
    registerDistortionsCommand(program);
    registerDistortCommand(program);
  },
};
