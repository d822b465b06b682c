/** Opens the database: the external server DATABASE_URL names, or the embedded one under the data folder. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pg, { type PoolClient } from 'pg';
import { DataSource, type MixedList } from 'typeorm';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface Database {
  dataSource: DataSource;
  /** Connection string of the database in use (for pg-boss and LISTEN clients). */
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

const EMBEDDED_DATABASE = 'medpsim';

async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Several processes may start at once against one server: only one migrates at a time. */
async function migrateUnderLock(url: string, dataSource: DataSource): Promise<void> {
  const lock = new pg.Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await lock.end(); // ends the session, which releases the lock
  }
}

const MIGRATION_LOCK_KEY = 7_301_120_001;

export interface Schema {
  entities: MixedList<Function>;
  migrations: MixedList<Function>;
}

export function createDataSource(url: string, schema: Schema): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: schema.entities,
    migrations: schema.migrations,
    migrationsRun: false,
    synchronize: false,
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    extra: { max: 10 },
  });
}

export async function openDatabase(options: Schema & { databaseUrl: string | null; dataDir: string }): Promise<Database> {
  let url = options.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | null = null;
  if (!url) {
    // Traversable (not listable) by others: the embedded server may run as another user (see embedded.ts).
    await fs.mkdir(options.dataDir, { recursive: true, mode: 0o711 });
    const server = await startEmbeddedPostgres({ dataDir: path.join(options.dataDir, 'pg'), port: 0 });
    stopEmbedded = server.stop;
    url = await ensureDatabase(server.url, EMBEDDED_DATABASE);
  }
  const dataSource = createDataSource(url, options);
  try {
    await dataSource.initialize();
    await migrateUnderLock(url, dataSource);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await stopEmbedded?.();
    throw error;
  }
  return {
    dataSource,
    url,
    embedded: stopEmbedded !== null,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await stopEmbedded?.();
    },
  };
}

/** Runs `work` in a transaction on one connection of the pool: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (db: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
