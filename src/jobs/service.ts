/** Job queries for resolvers and the CLI. */
import type { App } from '../platform/app';
import { ItemOutcome, Job, JobItem, JobState } from '../entities/Job';
import { assertUuid, notFound, requireIntInRange } from '../platform/errors';
import * as store from '../platform/jobs/store';
import { watchJob } from './watch';

export async function getJob(app: App, id: string): Promise<Job> {
  const job = await app.db.dataSource.getRepository(Job).findOneBy({ id: assertUuid('id', id) });
  if (!job) throw notFound('job', id);
  return job;
}

export async function listJobs(app: App, options: { first: number; state: JobState | null }): Promise<Job[]> {
  const take = requireIntInRange('first', options.first, 1, 500);
  return app.db.dataSource.getRepository(Job).find({
    where: options.state ? { state: options.state } : {},
    order: { createdAt: 'DESC' },
    take,
  });
}

export async function listFailures(app: App, jobId: string, page: { first: number; offset: number }): Promise<JobItem[]> {
  return app.db.dataSource.getRepository(JobItem).find({
    where: { jobId, outcome: ItemOutcome.FAILED },
    order: { createdAt: 'ASC', item: 'ASC' },
    take: requireIntInRange('first', page.first, 1, 1000),
    skip: requireIntInRange('offset', page.offset, 0, 2 ** 31 - 1),
  });
}

export async function cancel(app: App, id: string): Promise<Job> {
  await getJob(app, id);
  if (await store.cancelJob(app.pool, id)) await store.notifyJob(app.pool, id);
  return getJob(app, id);
}

/** Validates before the stream starts, so a bad id is an error rather than an empty stream. */
export async function subscribe(app: App, id: string): Promise<AsyncIterable<Job>> {
  await getJob(app, id);
  return watchJob(app, id);
}
