/**
 * The job queue: pg-boss tables in the same PostgreSQL database, so any number of worker processes (on any
 * machine that reaches the database) share the work. Units of work are small (a chunk of an import), so a
 * worker that dies loses at most one chunk, which pg-boss hands out again once it expires.
 */
import PgBoss from 'pg-boss';
import { JobKind } from '../entities';
import { itemJobQueues } from './items';

/** PostgreSQL's code for connections ended by a server shutdown (ours, at exit, included). */
export const ADMIN_SHUTDOWN = '57P01';

export interface QueueOptions {
  url: string;
  /** Seconds a unit may stay active before it is considered abandoned and retried. */
  expireSeconds: number;
}

export async function startQueue(options: QueueOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: options.url,
    schema: 'pgboss',
    max: 4,
    // Expiry is checked by pg-boss's maintenance: run it often enough that an abandoned chunk is retried soon.
    maintenanceIntervalSeconds: Math.max(1, Math.min(60, Math.floor(options.expireSeconds / 2))),
    schedule: false,
  });
  boss.on('error', (error: Error & { code?: string }) => {
    // 57P01: the server is shutting down (our own shutdown ends connections pg-boss may still hold).
    if (error.code !== ADMIN_SHUTDOWN) console.error('[queue]', error);
  });
  await boss.start();
  for (const name of Object.values(JobKind).flatMap(itemJobQueues)) {
    await boss.createQueue(name, {
      name,
      retryLimit: 5,
      retryDelay: 1,
      expireInSeconds: options.expireSeconds,
      retentionDays: 7,
    });
  }
  return boss;
}
