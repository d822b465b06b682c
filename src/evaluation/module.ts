/** The classifier, evaluated: predictions of stored images, evaluations of dataset splits, flips of distorted images. */
import { registerEvaluateCommand } from '../cli/evaluate';
import { ClassifierPredictions1764600000002 } from '../entities/migrations/1764600000002-ClassifierPredictions';
import type { DomainModule } from '../platform/module';
import { DistortedImagePredictionResolver, EvaluationResolver, TestSetItemPredictionsResolver } from '../resolvers/EvaluationResolver';
import { predictJob } from './service';

export const evaluationModule: DomainModule = {
  name: 'evaluation',
  migrations: [ClassifierPredictions1764600000002],
  resolvers: [EvaluationResolver, DistortedImagePredictionResolver, TestSetItemPredictionsResolver],
  jobs: [predictJob],
  cli(program) {
    registerEvaluateCommand(program);
  },
};
