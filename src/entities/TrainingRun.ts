import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What a TRAIN job's trainer reported: the latest progress line while it runs, then the model it wrote and
 * the manifest's metrics. The job row keeps state, epochs (done/total) and the error; the request is in the
 * job's params. Written with plain SQL by src/training/store.ts (every progress line is an update).
 */
@ObjectType({ description: "A training job's progress and result, as the Python trainer reported them." })
@Entity({ name: 'training_runs' })
export class TrainingRun {
  @PrimaryColumn({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Field({ description: 'The worker process running (or that ran) the trainer (host:pid).' })
  @Column({ type: 'text' })
  worker!: string;

  @Field(() => Int, { nullable: true, description: "The trainer's process group id on the worker's host." })
  @Column({ type: 'int', nullable: true })
  pid!: number | null;

  @Field(() => String, { nullable: true, description: 'The device the trainer chose (cpu, cuda, cuda:0...).' })
  @Column({ type: 'text', nullable: true })
  device!: string | null;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: 'The latest epoch (or progress) line: epoch, epochs, losses, metrics.val, lr, seconds.',
  })
  @Column({ type: 'jsonb', nullable: true })
  progress!: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'What the trainer found: counts per split and label, parts used.' })
  @Column({ type: 'jsonb', nullable: true })
  data!: Record<string, unknown> | null;

  @Field(() => [String], { description: "The trainer's warnings (at most the first 50)." })
  @Column({ type: 'jsonb', default: [] })
  warnings!: string[];

  @Field(() => GraphQLJSONObject, { nullable: true, description: "The model manifest's metrics, once completed." })
  @Column({ type: 'jsonb', nullable: true })
  metrics!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'The trained .onnx file on the server, once completed.' })
  @Column({ name: 'model_path', type: 'text', nullable: true })
  modelPath!: string | null;

  @Field(() => String, { nullable: true, description: 'Its manifest (.json) beside it.' })
  @Column({ name: 'manifest_path', type: 'text', nullable: true })
  manifestPath!: string | null;

  @Field(() => String, { nullable: true, description: "The last lines the trainer wrote to stderr, once it has ended." })
  @Column({ type: 'text', nullable: true })
  log!: string | null;

  @Field(() => Int, { nullable: true, description: "The trainer's exit code (null while running or when killed by a signal)." })
  @Column({ name: 'exit_code', type: 'int', nullable: true })
  exitCode!: number | null;

  @Field()
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
