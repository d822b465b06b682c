import { Arg, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { Job, JobItem, JobState } from '../entities/Job';
import * as jobs from '../jobs/service';
import { GraphQLJSONObject } from 'graphql-scalars';
import type { RequestContext } from '../platform/context';
import { shownParams, shownText } from './paths';
import { Allow, PIPELINES, READERS } from '../schema/guards';

@Resolver(() => Job)
export class JobResolver {
  @Allow(...READERS)
  @Query(() => Job)
  job(@Arg('id', () => ID) id: string, @Ctx() { app }: RequestContext): Promise<Job> {
    return jobs.getJob(app, id);
  }

  @Allow(...READERS)
  @Query(() => [Job], { description: 'Most recent first.' })
  jobs(
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('state', () => JobState, { nullable: true }) state: JobState | null,
    @Ctx() { app }: RequestContext,
  ): Promise<Job[]> {
    return jobs.listJobs(app, { first, state });
  }

  @FieldResolver(() => GraphQLJSONObject, { description: "The job's request; server paths outside the import roots are shown to ADMIN and PIPELINE only." })
  params(@Root() job: Job, @Ctx() context: RequestContext): Record<string, unknown> {
    return shownParams(context, job.params) as Record<string, unknown>;
  }

  @FieldResolver(() => String, { nullable: true, description: 'Why the job as a whole failed.' })
  error(@Root() job: Job, @Ctx() context: RequestContext): string | null {
    return shownText(context, job.error);
  }

  @FieldResolver(() => Float, { nullable: true, description: 'Fraction of items with an outcome, 0..1.' })
  progress(@Root() job: Job): number | null {
    if (job.total === null) return null;
    return job.total === 0 ? 1 : (job.done + job.skipped + job.failed) / job.total;
  }

  @FieldResolver(() => [JobItem], {
    description: 'Items that failed, oldest first.',
    complexity: ({ args, childComplexity }) => 1 + (Number(args.first) || 1) * childComplexity,
  })
  failures(
    @Root() job: Job,
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset: number,
    @Ctx() { app }: RequestContext,
  ): Promise<JobItem[]> {
    return jobs.listFailures(app, job.id, { first, offset });
  }

  @Allow(...PIPELINES)
  @Mutation(() => Job, { description: 'Stops a queued or running job; items already processed stay.' })
  cancelJob(@Arg('id', () => ID) id: string, @Ctx() { app }: RequestContext): Promise<Job> {
    return jobs.cancel(app, id);
  }

  @Allow(...READERS)
  @Subscription(() => Job, {
    description: 'The job now, then after each change (at most ~10 per second); ends when the job finishes.',
    subscribe: ({ args, context }) => jobs.subscribe((context as RequestContext).app, args.id as string),
  })
  jobProgress(@Arg('id', () => ID) _id: string, @Root() job: Job): Job {
    return job;
  }
}
