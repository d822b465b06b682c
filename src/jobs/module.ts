/** Jobs as clients see them: the job rows the runtime (src/platform/jobs) keeps, queries, cancel, progress. */
import type { DomainModule } from '../platform/module';
import { registerJobCommand } from '../cli/jobs';
import { Job, JobItem } from '../entities/Job';
import { JobResolver } from '../resolvers/JobResolver';

export const jobsModule: DomainModule = {
  name: 'jobs',
  entities: [Job, JobItem],
  resolvers: [JobResolver],
  cli: registerJobCommand,
};
