/** Training: models trained by the Python package in training/, as jobs, registered when done. */
import { registerTrainCommand } from '../cli/train';
import { TrainingRun } from '../entities/TrainingRun';
import { Training1764300000001 } from '../entities/migrations/1764300000001-Training';
import type { DomainModule } from '../platform/module';
import { JobTrainingResolver, TrainingResolver, TrainingRunResolver } from '../resolvers/TrainingResolver';
import { TRAINING_SETTINGS, trainingJob } from './jobs';

export const trainingModule: DomainModule = {
  name: 'training',
  entities: [TrainingRun],
  migrations: [Training1764300000001],
  resolvers: [TrainingResolver, JobTrainingResolver, TrainingRunResolver],
  jobs: [trainingJob],
  settings: [TRAINING_SETTINGS],
  cli: registerTrainCommand,
};
