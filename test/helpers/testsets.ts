/** Fixtures for test-set and study tests: a dataset of synthetic phantoms, and sets built from a definition. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFolderImport } from '../../src/datasets/service';
import { synthesizeDataset } from '../../src/synth/dataset';
import { waitForJob, type TestApp } from './app';

/** Imports `count` synthetic phantoms of size x size (16-bit) into a dataset; returns its id. */
export async function importPhantoms(t: TestApp, count: number, size: number, name = 'phantoms'): Promise<string> {
  const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-phantoms-'));
  await synthesizeDataset({ outDir: folder, count, width: size, height: size, seed: 3, bitDepth: 16 });
  const jobId = await startFolderImport(t.app, { path: folder, datasetName: name });
  const job = await waitForJob(t, jobId);
  if (job.state !== 'COMPLETED' || job.failed > 0) throw new Error(`phantom import ${job.state}, ${job.failed} failed`);
  const { rows } = await t.app.pool.query(`SELECT id FROM datasets WHERE name = $1`, [name]);
  return rows[0].id;
}

export const CREATE_SET = `mutation ($definition: TestSetDefinitionInput!) {
  createTestSet(definition: $definition) { id state jobId itemCount } }`;

export const SET_FIELDS = `id name kind state version parentId itemCount contentHash lockedAt definition seed failedItems`;

/** Creates a set and waits until its build job ends; returns the set as GraphQL gives it. */
export async function buildSet(t: TestApp, definition: Record<string, unknown>): Promise<Record<string, any>> {
  const created = await t.gql(CREATE_SET, { definition });
  if (created.errors) throw new Error(JSON.stringify(created.errors));
  await waitForJob(t, created.data!.createTestSet.jobId, 120_000);
  const { data, errors } = await t.gql(`query ($id: ID!) { testSet(id: $id) { ${SET_FIELDS} } }`, { id: created.data!.createTestSet.id });
  if (errors) throw new Error(JSON.stringify(errors));
  return data!.testSet;
}
