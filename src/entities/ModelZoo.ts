import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export enum ModelZooState {
  TRAINING = 'TRAINING',
  READY = 'READY',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(ModelZooState, {
  name: 'ModelZooState',
  valuesConfig: {
    TRAINING: { description: 'Its job is queued or running: members are still being trained.' },
    READY: { description: 'Every member was trained or given up (see job.failures); test sets may draw from its members.' },
    FAILED: { description: 'Its job failed as a whole (see job.error).' },
    CANCELLED: { description: 'Its job was cancelled; the members trained before stay registered.' },
  },
});

export enum ZooDrawState {
  MEMBER = 'MEMBER',
  DEGENERATE = 'DEGENERATE',
}
registerEnumType(ZooDrawState, {
  name: 'ZooDrawState',
  valuesConfig: {
    MEMBER: { description: 'Passed the guard: registered as the member of its index.' },
    DEGENERATE: { description: 'Nearly the identity, nearly constant or not finite on held-out images: replaced by the next draw, not registered.' },
  },
});

@ObjectType({ description: "The degeneracy guard of a zoo: a draw is replaced when it falls below either limit (docs/zoo.md)." })
export class ZooGuardSettings {
  @Field(() => Float, { description: 'Least RMS change a member makes to a clean held-out image (in [0, 1] units).' })
  minRmsChange!: number;

  @Field(() => Float, { description: "Least ratio of the output's contrast (std) to the input's." })
  minContrastRatio!: number;

  @Field(() => Int, { description: 'Draws per member (the first and its replacements) before the member is given up.' })
  draws!: number;
}

@ObjectType({ description: 'A named group of generators trained with knobs drawn from stated ranges (trainGeneratorZoo).' })
@Entity({ name: 'model_zoos' })
export class ModelZoo {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field()
  @Column({ type: 'text', unique: true })
  name!: string;

  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId!: string | null;

  @Field(() => ID, { nullable: true, description: 'The dataset the members were trained on (null once deleted).' })
  @Column({ name: 'dataset_id', type: 'uuid', nullable: true })
  datasetId!: string | null;

  @Field(() => Int, { description: 'Members asked for (K).' })
  @Column({ type: 'int' })
  size!: number;

  @Field(() => Float)
  @Column({ type: 'bigint', transformer: { to: (value: number) => value, from: (value: string) => Number(value) } })
  seed!: number;

  @Field(() => GraphQLJSONObject, { description: 'Every knob\'s range the members were drawn from ([min, max], or the allowed values).' })
  @Column({ type: 'jsonb' })
  ranges!: Record<string, unknown>;

  @Field(() => GraphQLJSONObject, { description: 'The trainer options every member shares (epochs, imageSize, batchSize, ...).' })
  @Column({ type: 'jsonb' })
  options!: Record<string, unknown>;

  @Field(() => ZooGuardSettings)
  @Column({ type: 'jsonb' })
  guard!: ZooGuardSettings;

  @Field()
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}

@ObjectType({ description: 'One trained draw of a zoo member: the member itself, or a degenerate draw the guard replaced.' })
@Entity({ name: 'model_zoo_draws' })
export class ZooDraw {
  @PrimaryColumn({ name: 'zoo_id', type: 'uuid' })
  zooId!: string;

  @Field(() => Int, { description: 'The member index, 0 .. size - 1.' })
  @PrimaryColumn({ type: 'int' })
  index!: number;

  @Field(() => Int, { description: "Which of the member's draws: 0 first, then the replacements of degenerate ones." })
  @PrimaryColumn({ type: 'int' })
  draw!: number;

  @Field(() => ZooDrawState)
  @Column({ type: 'text' })
  state!: ZooDrawState;

  @Field(() => GraphQLJSONObject, { description: 'The knobs drawn for it (only those it uses: no target for reconstructing members).' })
  @Column({ type: 'jsonb' })
  knobs!: Record<string, unknown>;

  @Field(() => GraphQLJSONObject, { description: 'The trainer options it was trained with (train-gan, camelCase), seed included.' })
  @Column({ type: 'jsonb' })
  options!: Record<string, unknown>;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "The guard's statistics on held-out images: rmsChange, contrastRatio, finite, images, on." })
  @Column({ type: 'jsonb', nullable: true })
  guard!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'Why a degenerate draw was replaced.' })
  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Field(() => String, { nullable: true, description: "A member's registered model name (<zoo>-m<index>)." })
  @Column({ name: 'model_name', type: 'text', nullable: true })
  modelName!: string | null;

  @Field(() => String, { nullable: true, description: "SHA-256 of a member's .onnx file." })
  @Column({ type: 'char', length: 64, nullable: true })
  sha256!: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "The training summary: the trainer's final metrics and seconds." })
  @Column({ type: 'jsonb', nullable: true })
  summary!: Record<string, unknown> | null;
}
