import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { ItemOutcome, JOB_KIND_DESCRIPTIONS, JOB_KINDS, JobState } from '../platform/jobs/states';

export { ItemOutcome, JobState };

registerEnumType(JobState, { name: 'JobState' });
// Filled by the modules' job definitions before the schema is built (src/platform/jobs/states.ts).
registerEnumType(JOB_KINDS, { name: 'JobKind', description: 'What a job does.', valuesConfig: JOB_KIND_DESCRIPTIONS });

@ObjectType({ description: 'Long work run by the worker processes; poll it or subscribe to jobProgress.' })
@Entity({ name: 'jobs' })
export class Job {
  @Field(() => ID)
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Field(() => JOB_KINDS)
  @Column({ type: 'text' })
  kind!: string;

  @Field(() => JobState)
  @Column({ type: 'text', default: JobState.QUEUED })
  state!: JobState;

  @Field(() => Int, { nullable: true, description: 'Items to process; null until the job has listed them.' })
  @Column({ type: 'int', nullable: true })
  total!: number | null;

  @Field(() => Int, { description: 'Items processed successfully.' })
  @Column({ type: 'int', default: 0 })
  done!: number;

  @Field(() => Int, { description: 'Items that were already there (e.g. the same file imported before).' })
  @Column({ type: 'int', default: 0 })
  skipped!: number;

  @Field(() => Int, { description: 'Items that failed; see failures.' })
  @Column({ type: 'int', default: 0 })
  failed!: number;

  @Field(() => GraphQLJSONObject)
  @Column({ type: 'jsonb', default: {} })
  params!: Record<string, unknown>;

  @Field(() => String, { nullable: true, description: 'Why the job as a whole failed.' })
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** Set once the job's items have been listed and queued, so a retried planner does not queue them twice. */
  @Column({ type: 'boolean', default: false })
  planned!: boolean;

  @Field()
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Field(() => Float, { nullable: true, description: 'Seconds from start to finish (or until now while running).' })
  get elapsedSeconds(): number | null {
    if (!this.startedAt) return null;
    const end = this.finishedAt ?? new Date();
    return (end.getTime() - this.startedAt.getTime()) / 1000;
  }
}

/**
 * The outcome of one item of a job, recorded once: counters move only when this row is first inserted,
 * so an item retried after a crash is never counted (or imported) twice.
 */
@ObjectType('JobItemFailure', { description: 'One item a job could not process, and why; the rest of the job goes on.' })
@Entity({ name: 'job_items' })
export class JobItem {
  @PrimaryColumn({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Field({ description: 'The item, e.g. a file path relative to the imported folder.' })
  @PrimaryColumn({ type: 'text' })
  item!: string;

  @Column({ type: 'text' })
  outcome!: ItemOutcome;

  @Field(() => String, {
    nullable: true,
    description: 'Machine-readable reason: CORRUPT, TOO_LARGE, UNSUPPORTED_FORMAT, NO_PIXEL_DATA, IO_ERROR...',
  })
  @Column({ type: 'text', nullable: true })
  code!: string | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  message!: string | null;

  @Field({ description: 'The worker process that recorded the outcome (host:pid).' })
  @Column({ type: 'text' })
  worker!: string;

  @Field()
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
