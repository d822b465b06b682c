/** An async stream of a job's states, for subscriptions and the CLI: the current one, then each change. */
import type { App } from '../app';
import { FINISHED_STATES, Job } from '../entities';

export async function* watchJob(app: App, jobId: string): AsyncGenerator<Job> {
  let wake: (() => void) | null = null;
  let changed = true; // yield the current state first
  const stop = app.progress.watch(jobId, () => {
    changed = true;
    wake?.();
  });
  try {
    for (;;) {
      if (!changed) await new Promise<void>((resolve) => (wake = resolve));
      changed = false;
      wake = null;
      const job = await app.db.dataSource.getRepository(Job).findOneBy({ id: jobId });
      if (!job) return;
      yield job;
      if (FINISHED_STATES.includes(job.state)) return;
    }
  } finally {
    stop();
  }
}
