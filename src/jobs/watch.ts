/** An async stream of a job's states, for subscriptions and the CLI: the current one, then each change. */
import type { App } from '../platform/app';
import { FINISHED_STATES } from '../platform/jobs/states';
import { JOB_CHANNEL } from '../platform/jobs/store';
import { Job } from '../entities/Job';

export async function* watchJob(app: App, jobId: string): AsyncGenerator<Job> {
  let wake: (() => void) | null = null;
  let changed = true; // yield the current state first
  const onChange = () => {
    changed = true;
    wake?.();
  };
  // After a lost listening connection, notifications may have been missed: read the job again.
  const stops = [app.notifications.watch(JOB_CHANNEL, jobId, onChange), app.notifications.onReconnect(onChange)];
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
    for (const stop of stops) stop();
  }
}
