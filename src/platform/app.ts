/**
 * The running application, shared by the HTTP server, the job workers and the tests: database, blob store,
 * queue, notifications and the job runtime, opened in order and closed in reverse, with the domain modules
 * it is given (src/modules.ts) wired in. Domains keep their own per-app services (an inference pool, a token
 * cache) through appService, and close them through onClose.
 */
import path from 'node:path';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { Foundation1764115200000 } from '../entities/migrations/1764115200000-Foundation';
import { JobUnits1764400000000 } from '../entities/migrations/1764400000000-JobUnits';
import { BlobStore } from './blobs';
import { settingsOf, type Config, type Settings } from './config';
import { openDatabase, type Database } from './database';
import { ADMIN_SHUTDOWN, JobRuntime } from './jobs/runtime';
import { JOB_CHANNEL } from './jobs/store';
import type { DomainModule } from './module';
import { Notifications } from './notifications';

/** The platform's own tables (jobs, job_items, job_units); the domains' come with their modules. */
const PLATFORM_MIGRATIONS = [Foundation1764115200000, JobUnits1764400000000];

export interface App {
  config: Config;
  db: Database;
  /** Plain SQL for the hot paths (import, counters); TypeORM's data source for the rest. */
  pool: pg.Pool;
  blobs: BlobStore;
  boss: PgBoss;
  notifications: Notifications;
  jobs: JobRuntime;
  modules: readonly DomainModule[];
  /** A domain's settings, read from the app's environment. */
  settings<T>(settings: Settings<T>): T;
  /** Closes a domain's service when the app closes: after the job workers stop, before the database. */
  onClose(closer: () => Promise<void>): void;
  close(): Promise<void>;
}

/** One instance of a domain's service per app, created on first use. */
export function appService<T>(create: (app: App) => T): (app: App) => T {
  const instances = new WeakMap<App, T>();
  return (app) => {
    if (!instances.has(app)) instances.set(app, create(app));
    return instances.get(app)!;
  };
}

export async function startApp(config: Config, modules: readonly DomainModule[], options: { work: boolean }): Promise<App> {
  for (const module of modules) for (const settings of module.settings ?? []) settingsOf(config, settings);
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    entities: modules.flatMap((module) => (module.entities ?? []) as Function[]),
    migrations: [...PLATFORM_MIGRATIONS, ...modules.flatMap((module) => (module.migrations ?? []) as Function[])],
  });
  const platformClosers: Array<() => Promise<void>> = [() => db.close()];
  const serviceClosers: Array<() => Promise<void>> = [];
  let runtime: JobRuntime | null = null;
  const runAll = async (closers: Array<() => Promise<void>>) => {
    for (const closer of closers.splice(0).reverse()) await closer().catch((error) => console.error('[shutdown]', error));
  };
  const close = async () => {
    await runtime?.stopWorkers().catch((error) => console.error('[shutdown]', error));
    await runAll(serviceClosers);
    await runAll(platformClosers);
  };
  try {
    const pool = new pg.Pool({ connectionString: db.url, max: config.dbPoolSize });
    // An idle connection lost (server restart or shutdown) must not take the process down; pg reconnects.
    pool.on('error', (error: Error & { code?: string }) => {
      if (error.code !== ADMIN_SHUTDOWN) console.error('[db] idle connection lost:', error.message);
    });
    platformClosers.push(() => pool.end());
    const boss = await startQueue(db.url);
    platformClosers.push(() => boss.stop({ graceful: true, wait: true, timeout: 10_000 }));
    const notifications = new Notifications(db.url);
    await notifications.start();
    await notifications.listen(JOB_CHANNEL);
    platformClosers.push(() => notifications.stop());
    const blobs = new BlobStore(path.join(config.dataDir, 'blobs'));
    await blobs.open();
    const app: App = {
      config,
      db,
      pool,
      blobs,
      boss,
      notifications,
      jobs: null as unknown as JobRuntime, // set below: the runtime needs the app
      modules,
      settings: (settings) => settingsOf(config, settings),
      onClose: (closer) => void serviceClosers.push(closer),
      close,
    };
    app.jobs = runtime = new JobRuntime(app, modules.flatMap((module) => module.jobs ?? []));
    await runtime.createQueues();
    for (const module of modules) await module.start?.(app);
    if (options.work) await runtime.startWorkers();
    return app;
  } catch (error) {
    await close();
    throw error;
  }
}

async function startQueue(url: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss', max: 4, maintenanceIntervalSeconds: 60, schedule: false });
  boss.on('error', (error: Error & { code?: string }) => {
    // 57P01: the server is shutting down (our own shutdown ends connections pg-boss may still hold).
    if (error.code !== ADMIN_SHUTDOWN) console.error('[queue]', error);
  });
  await boss.start();
  return boss;
}
