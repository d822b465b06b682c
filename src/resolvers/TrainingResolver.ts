import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Ctx, Field, FieldResolver, ID, InputType, Mutation, registerEnumType, Resolver, Root } from 'type-graphql';
import { Job, JobKind } from '../entities';
import { TrainingRun } from '../entities/TrainingRun';
import { startTraining } from '../training/jobs';
import { TrainingDevice, TrainingTask } from '../training/options';
import { loadRun } from '../training/store';
import type { Context } from './context';

registerEnumType(TrainingTask, {
  name: 'TrainingTask',
  valuesConfig: {
    CLASSIFIER: { description: 'ResNet50 NORMAL/PNEUMONIA classifier (train-classifier); needs those labels.' },
    DAE: { description: 'Denoising autoencoder (train-dae); labels are not used.' },
    GAN: { description: 'pix2pix-like generator of a distortion (train-gan); labels are not used.' },
  },
});
registerEnumType(TrainingDevice, {
  name: 'TrainingDevice',
  description: "Where the trainer runs: AUTO is CUDA when the worker's torch sees a GPU, else the CPU.",
});

@InputType()
export class StartTrainingInput {
  @Field(() => TrainingTask)
  task!: TrainingTask;

  @Field(() => ID, { nullable: true, description: 'A dataset on the server (exported for the trainer); or give dataFolder.' })
  datasetId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'A folder on the server the trainer reads ({train,test,val}/<LABEL>/*, <LABEL>/*, flat, or an export).',
  })
  dataFolder?: string | null;

  @Field({ description: 'Model name: 1 to 100 letters, digits, ".", "_" or "-", a letter or digit first; the files are <name>.onnx and <name>.json.' })
  name!: string;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description:
      'Trainer options, named as the CLI options in camelCase (epochs, batchSize, lr, imageSize, seed, ...; ' +
      'python -m medpsim_training train-<task> --help). Each task has its allow-list and ranges.',
  })
  options?: Record<string, unknown> | null;

  @Field(() => TrainingDevice, { defaultValue: TrainingDevice.AUTO })
  device!: TrainingDevice;
}

@Resolver()
export class TrainingResolver {
  @Mutation(() => Job, {
    description:
      'Trains a model as a job (kind TRAIN); returns the job at once. Progress: jobProgress (done/total are epochs) ' +
      'and job.training; when COMPLETED, job.training has the model path and its metrics, and the model is registered.',
  })
  async startTraining(@Arg('input') input: StartTrainingInput, @Ctx() { app }: Context): Promise<Job> {
    const jobId = await startTraining(app, input);
    return app.db.dataSource.getRepository(Job).findOneByOrFail({ id: jobId });
  }
}

@Resolver(() => Job)
export class JobTrainingResolver {
  @FieldResolver(() => TrainingRun, {
    nullable: true,
    description: "A TRAIN job's progress and result; null for other kinds and until a worker starts it.",
  })
  async training(@Root() job: Job, @Ctx() { app }: Context): Promise<TrainingRun | null> {
    return job.kind === JobKind.TRAIN ? loadRun(app.pool, job.id) : null;
  }
}
