/** GraphQL types of training jobs that are not rows: the request and its enums. */
import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, registerEnumType } from 'type-graphql';
import { TrainingDevice, TrainingTask } from '../training/options';

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
