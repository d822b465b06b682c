/** Models: the registry of ONNX models (scanned from the models folder at start) and their inference. */
import { Model } from '../entities/Model';
import { Models1764300000000 } from '../entities/migrations/1764300000000-Models';
import { BackboneModels1764600000001 } from '../entities/migrations/1764600000001-BackboneModels';
import type { DomainModule } from '../platform/module';
import { ModelResolver } from '../resolvers/ModelResolver';
import { scanModelsDir } from './registry';
import { MODEL_SETTINGS } from './settings';

export const modelsModule: DomainModule = {
  name: 'models',
  entities: [Model],
  migrations: [Models1764300000000, BackboneModels1764600000001],
  resolvers: [ModelResolver],
  settings: [MODEL_SETTINGS],
  async start(app) {
    await scanModelsDir(app);
  },
};
