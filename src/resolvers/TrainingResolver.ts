import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { Job } from '../entities/Job';
import { TrainingRun } from '../entities/TrainingRun';
import { StartTrainingInput } from '../schema/training';
import { startTraining, TRAIN } from '../training/jobs';
import { loadRun } from '../training/store';
import type { RequestContext } from '../platform/context';
import { Allow, PIPELINES } from '../schema/guards';
import { shownPath, shownText } from './paths';

@Resolver()
export class TrainingResolver {
  @Allow(...PIPELINES)
  @Mutation(() => Job, {
    description:
      'Trains a model as a job (kind TRAIN); returns the job at once. Progress: jobProgress (done/total are epochs) ' +
      'and job.training; when COMPLETED, job.training has the model path and its metrics, and the model is registered.',
  })
  async startTraining(@Arg('input') input: StartTrainingInput, @Ctx() { app }: RequestContext): Promise<Job> {
    const jobId = await startTraining(app, input);
    return app.db.dataSource.getRepository(Job).findOneByOrFail({ id: jobId });
  }
}

@Resolver(() => TrainingRun)
export class TrainingRunResolver {
  @FieldResolver(() => String, { nullable: true, description: 'The trained .onnx file on the server, once completed.' })
  modelPath(@Root() run: TrainingRun, @Ctx() context: RequestContext): string | null {
    return shownPath(context, run.modelPath);
  }

  @FieldResolver(() => String, { nullable: true, description: 'Its manifest (.json) beside it.' })
  manifestPath(@Root() run: TrainingRun, @Ctx() context: RequestContext): string | null {
    return shownPath(context, run.manifestPath);
  }

  @FieldResolver(() => String, { nullable: true, description: 'The last lines the trainer wrote to stderr, once it has ended.' })
  log(@Root() run: TrainingRun, @Ctx() context: RequestContext): string | null {
    return shownText(context, run.log);
  }
}

@Resolver(() => Job)
export class JobTrainingResolver {
  @FieldResolver(() => TrainingRun, {
    nullable: true,
    description: "A TRAIN job's progress and result; null for other kinds and until a worker starts it.",
  })
  async training(@Root() job: Job, @Ctx() { app }: RequestContext): Promise<TrainingRun | null> {
    return job.kind === TRAIN ? loadRun(app.pool, job.id) : null;
  }
}
