/** Training: models trained by the Python package in training/, as jobs, registered when done; generator zoos. */
import { registerTrainCommand, registerZooCommand } from '../cli/train';
import { ModelZoo, ZooDraw } from '../entities/ModelZoo';
import { TrainingRun } from '../entities/TrainingRun';
import { Training1764300000001 } from '../entities/migrations/1764300000001-Training';
import { ModelZoos1764800000000 } from '../entities/migrations/1764800000000-ModelZoos';
import type { DomainModule } from '../platform/module';
import { JobTrainingResolver, TrainingResolver, TrainingRunResolver } from '../resolvers/TrainingResolver';
import { ZooDrawResolver, ZooResolver } from '../resolvers/ZooResolver';
import { TRAINING_SETTINGS, trainingJob } from './jobs';
import { trainZooJob } from './zoo';

export const trainingModule: DomainModule = {
  name: 'training',
  entities: [TrainingRun, ModelZoo, ZooDraw],
  migrations: [Training1764300000001, ModelZoos1764800000000],
  resolvers: [TrainingResolver, JobTrainingResolver, TrainingRunResolver, ZooResolver, ZooDrawResolver],
  jobs: [trainingJob, trainZooJob],
  settings: [TRAINING_SETTINGS],
  cli(program) {
    registerTrainCommand(program);
    registerZooCommand(program);
  },
};
