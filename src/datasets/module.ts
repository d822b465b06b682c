/** Datasets: imports (folders, DICOM, uploads), the stored images, listings and counts. */
import { registerDatasetCommands } from '../cli/datasets';
import { registerSynthCommand } from '../cli/synth';
import { Dataset } from '../entities/Dataset';
import { Image } from '../entities/Image';
import { Datasets1764115200001 } from '../entities/migrations/1764115200001-Datasets';
import { DetectorResponse1764700000000 } from '../entities/migrations/1764700000000-DetectorResponse';
import type { DomainModule } from '../platform/module';
import { DatasetResolver } from '../resolvers/DatasetResolver';
import { ImageResolver } from '../resolvers/ImageResolver';
import { PIPELINES, READERS } from '../schema/guards';
import { imageRoute } from '../server/image-route';
import { upload, uploadBody } from '../server/upload-route';
import { importJob } from './import-jobs';
import { storedImage } from './service';
import { DATASET_SETTINGS } from './settings';

export const datasetsModule: DomainModule = {
  name: 'datasets',
  entities: [Dataset, Image],
  migrations: [Datasets1764115200001, DetectorResponse1764700000000],
  resolvers: [DatasetResolver, ImageResolver],
  jobs: [importJob],
  settings: [DATASET_SETTINGS],
  routes: [
    { method: 'get', path: '/images/:id.png', access: { roles: READERS }, signedUrls: true, handle: imageRoute(storedImage) },
    { method: 'post', path: '/upload', access: { roles: PIPELINES }, before: uploadBody, audit: 'POST /upload', handle: upload },
  ],
  cli(program) {
    registerDatasetCommands(program);
    registerSynthCommand(program);
  },
};
