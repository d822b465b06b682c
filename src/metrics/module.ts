/** Metrics: the catalog, metrics of stored image pairs, scoring jobs and their stored values, and the CLI. */
import { registerMetricCommand, registerScoreCommand } from '../cli/metric';
import { MetricScores1764600000000 } from '../entities/migrations/1764600000000-MetricScores';
import type { DomainModule } from '../platform/module';
import { MetricResolver, TestSetItemScoresResolver } from '../resolvers/MetricResolver';
import { scoreJob } from './scores';

export const metricsModule: DomainModule = {
  name: 'metrics',
  migrations: [MetricScores1764600000000],
  resolvers: [MetricResolver, TestSetItemScoresResolver],
  jobs: [scoreJob],
  cli(program) {
    registerMetricCommand(program);
    registerScoreCommand(program);
  },
};
