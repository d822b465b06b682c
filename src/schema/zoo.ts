/** GraphQL types of generator zoos that are not rows: the request, and the knob catalog (src/training/zoo-knobs.ts). */
import { GraphQLJSON, GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { TrainingDevice } from '../training/options';
import { DEFAULT_GUARD, ZOO_DEFAULT_OPTIONS, ZOO_LIMITS } from '../training/zoo';
import { describeRange, ZOO_KNOBS } from '../training/zoo-knobs';

const KNOB_LIST = ZOO_KNOBS.map((knob) => `${knob.name} (${describeRange(knob, knob.default)})`).join(', ');

@InputType({ description: 'The degeneracy guard; what is left out takes its default.' })
export class ZooGuardInput {
  @Field(() => Float, { nullable: true, description: `Least RMS change of a clean held-out image, in [0, 1] (default ${DEFAULT_GUARD.minRmsChange}).` })
  minRmsChange?: number | null;

  @Field(() => Float, { nullable: true, description: `Least output/input contrast ratio, in [0, 1] (default ${DEFAULT_GUARD.minContrastRatio}).` })
  minContrastRatio?: number | null;

  @Field(() => Int, { nullable: true, description: `Draws per member, ${ZOO_LIMITS.draws.min} to ${ZOO_LIMITS.draws.max} (default ${DEFAULT_GUARD.draws}).` })
  draws?: number | null;
}

@InputType()
export class TrainGeneratorZooInput {
  @Field({ description: 'The zoo\'s name (1 to 90 letters, digits, ".", "_" or "-"); its members are registered as <name>-m000, <name>-m001, ...' })
  name!: string;

  @Field(() => ID, { description: 'The dataset the members train on.' })
  datasetId!: string;

  @Field(() => Int, { nullable: true, description: `Members (K), ${ZOO_LIMITS.size.min} to ${ZOO_LIMITS.size.max} (default ${ZOO_LIMITS.size.default}; BAPPS had 96).` })
  size?: number | null;

  @Field(() => Float, { description: 'Seed of every draw (knobs, each member\'s trainer seed); an integer below 2^53.' })
  seed!: number;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: `Knob -> range: [min, max] for numbers, a list of allowed values for choices; each knob left out takes its default. Knobs: ${KNOB_LIST}.`,
  })
  ranges?: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: `Trainer options every member shares (train-gan's, camelCase, without the knobs and the seed); default ${JSON.stringify(ZOO_DEFAULT_OPTIONS)}.`,
  })
  options?: Record<string, unknown> | null;

  @Field(() => ZooGuardInput, { nullable: true })
  guard?: ZooGuardInput | null;

  @Field(() => TrainingDevice, { defaultValue: TrainingDevice.AUTO })
  device!: TrainingDevice;
}

@ObjectType({ description: 'A knob of the zoo (the study\'s Table 1): its range limits and default range.' })
export class ZooKnob {
  @Field()
  name!: string;

  @Field({ description: 'input corruption, objective, generator, discriminator, or loss and learning.' })
  group!: string;

  @Field({ description: 'int, number or choice.' })
  type!: string;

  @Field(() => GraphQLJSON, { description: 'Numbers: [min, max] a range may span; choices: every allowed value.' })
  limits!: unknown;

  @Field(() => GraphQLJSON, { description: 'The range a request that leaves the knob out draws from.' })
  default!: unknown;

  @Field({ description: 'Drawn log-uniformly.' })
  log!: boolean;

  @Field()
  description!: string;
}

export function zooKnobs(): ZooKnob[] {
  return ZOO_KNOBS.map((knob) => ({
    name: knob.name,
    group: knob.group,
    type: knob.type,
    limits: knob.type === 'choice' ? knob.values : knob.limits,
    default: knob.default,
    log: knob.type !== 'choice' && Boolean(knob.log),
    description: knob.description,
  }));
}
