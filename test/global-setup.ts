/**
 * Starts one embedded PostgreSQL server for the whole test run, unless DATABASE_URL names a server.
 * Test files read MEDPSIM_TEST_ADMIN_URL and create a database of their own (test/helpers/db.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres';

export default async function globalSetup(): Promise<void> {
  // Test folders are made under the temporary folder: the servers of the tests (and their child processes)
  // may read there, and in the checkout (fixtures).
  process.env.MEDPSIM_IMPORT_ROOTS = `${tmpdir()},${process.cwd()}`;
  if (process.env.DATABASE_URL) {
    process.env.MEDPSIM_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'medpsim-test-pg-'));
  const server = await startEmbeddedPostgres({ dataDir: dir, port: 0 });
  process.env.MEDPSIM_TEST_ADMIN_URL = server.url;
  (globalThis as Record<string, unknown>).__medpsimTestPg = server;
}
