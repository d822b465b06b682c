/**
 * The domain modules, in the order of the data's flow. The app, the migrations, the schema, the HTTP
 * routes and the CLI are built from this list: a new domain adds its files and one line here.
 */
import { accessModule } from './access/module';
import { agreementModule } from './agreement/module';
import { datasetsModule } from './datasets/module';
import { evaluationModule } from './evaluation/module';
import { distortionsModule } from './distortions/module';
import { jobsModule } from './jobs/module';
import { metricsModule } from './metrics/module';
import { modelsModule } from './models/module';
import type { DomainModule } from './platform/module';
import { readingModule } from './reading/module';
import { studiesModule } from './studies/module';
import { testSetsModule } from './testsets/module';
import { trainingModule } from './training/module';

export const MODULES: readonly DomainModule[] = [accessModule, jobsModule, datasetsModule, distortionsModule, modelsModule, trainingModule, testSetsModule, studiesModule, readingModule, metricsModule, evaluationModule, agreementModule];
