/** Models: the registry of ONNX models (the API process scans the models folder at start) and their inference. */
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
    // Once per installation start, by the process that serves the API (role all or api): worker processes
    // would hash every model file again to register the same rows. Workers find models through those rows
    // (findModel/namedModel read the registry, whose onnx_path and sha256 the scan checked), and a model a
    // training job installs is registered by that job (training/jobs.ts registerModelFile).
    if (app.config.role !== 'worker') await scanModelsDir(app);
  },
};
