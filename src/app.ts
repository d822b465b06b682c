/**
 * The running application, shared by the HTTP server, the job workers and the tests: database, blob store,
 * queue, progress hub and ONNX inference pool, opened in order and closed in reverse. At start, the models
 * folder is scanned into the model registry.
 */
import path from 'node:path';
import pg from 'pg';
import type PgBoss from 'pg-boss';
import type { Config } from './config';
import { openDatabase, type Database } from './db/database';
import { registerImportWorkers } from './datasets/import-jobs';
import { registerDistortWorkers } from './distortions/service';
import { registerTrainingWorkers } from './training/jobs';
import { ProgressHub } from './jobs/progress';
import { ADMIN_SHUTDOWN, startQueue } from './jobs/queue';
import { InferencePool } from './models/inference';
import { scanModelsDir } from './models/registry';
import { BlobStore } from './storage/blobs';
import { loadPseudonymKey } from './storage/secrets';

export interface App {
  config: Config;
  db: Database;
  /** Plain SQL for the hot paths (import, counters); TypeORM's data source for the rest. */
  pool: pg.Pool;
  blobs: BlobStore;
  pseudonymKey: Buffer;
  boss: PgBoss;
  progress: ProgressHub;
  /** ONNX inference on worker threads (started on first use); models come from the registry (models/registry.ts). */
  inference: InferencePool;
  close(): Promise<void>;
}

export async function startApp(config: Config, options: { work: boolean }): Promise<App> {
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const closers: Array<() => Promise<void>> = [() => db.close()];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch((error) => console.error('[shutdown]', error));
  };
  try {
    const pool = new pg.Pool({ connectionString: db.url, max: 8 });
    // An idle connection lost (server restart or shutdown) must not take the process down; pg reconnects.
    pool.on('error', (error: Error & { code?: string }) => {
      if (error.code !== ADMIN_SHUTDOWN) console.error('[db] idle connection lost:', error.message);
    });
    closers.push(() => pool.end());
    // Closed after the queue (closers run in reverse): jobs finishing during a graceful stop may still infer.
    const inference = new InferencePool({ size: config.inferenceWorkers, provider: config.onnxProvider });
    closers.push(() => inference.close());
    const boss = await startQueue({ url: db.url, expireSeconds: config.jobExpireSeconds });
    closers.push(() => boss.stop({ graceful: true, wait: true, timeout: 10_000 }));
    const progress = new ProgressHub(db.url);
    await progress.start();
    closers.push(() => progress.stop());
    const app: App = {
      config,
      db,
      pool,
      blobs: new BlobStore(path.join(config.dataDir, 'blobs')),
      pseudonymKey: await loadPseudonymKey(config.dataDir),
      boss,
      progress,
      inference,
      close,
    };
    await scanModelsDir(app);
    if (options.work) {
      await registerImportWorkers(app);
      await registerDistortWorkers(app);
      // Last, so that it closes first (closers run in reverse): trainers stop before the queue does.
      closers.push(await registerTrainingWorkers(app));
    }
    return app;
  } catch (error) {
    await close();
    throw error;
  }
}
