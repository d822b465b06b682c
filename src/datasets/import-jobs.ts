/**
 * Folder imports as item jobs (jobs/items.ts): the planner lists the folder, chunk workers import file by
 * file. An image row is unique per (dataset, path), so nothing is imported twice.
 */
import path from 'node:path';
import type { App } from '../app';
import { JobKind } from '../entities';
import { PlanError, queueItemJob, registerItemJob, type ItemJob } from '../jobs/items';
import { isSyntheticDatasetRoot } from '../synth/dataset';
import { importFileItem, skipExisting } from './import-item';
import { LayoutError, scanFolder, type ImportItem, type Split } from './layout';

export interface ImportParams {
  datasetId: string;
  root: string;
  /** Split/label for files that are not in split/label folders. */
  split: Split | null;
  label: string | null;
}

export function queueImport(app: App, params: ImportParams): Promise<string> {
  return queueItemJob(app, JobKind.IMPORT, params);
}

type PlannedFile = ImportItem & { synthetic: boolean };

const importJob: ItemJob<ImportParams, PlannedFile> = {
  kind: JobKind.IMPORT,
  key: (item) => item.path,
  chunkSize: (app) => app.config.importChunkSize,
  inFlight: 2, // libvips already spreads one decode over the cores

  async plan(app, _jobId, params) {
    let items: ImportItem[];
    try {
      ({ items } = await scanFolder(params.root));
    } catch (error) {
      // The folder went away or cannot be read: retrying will not help.
      throw new PlanError(error instanceof LayoutError ? error.message : `cannot list folder: ${(error as Error).message}`);
    }
    const synthetic = await isSyntheticDatasetRoot(params.root);
    await app.pool.query(`UPDATE datasets SET source_root = $2, synthetic = synthetic OR $3 WHERE id = $1`, [
      params.datasetId,
      params.root,
      synthetic,
    ]);
    return items.map((item) => ({ ...item, split: item.split ?? params.split, label: item.label ?? params.label, synthetic }));
  },

  settle: (app, jobId, params, items) => skipExisting(app, jobId, params.datasetId, items),

  async run(app, jobId, params, item) {
    await importFileItem(app, {
      jobId,
      datasetId: params.datasetId,
      absolutePath: path.join(params.root, item.path),
      item,
      synthetic: item.synthetic,
    });
  },
};

export function registerImportWorkers(app: App): Promise<void> {
  return registerItemJob(app, importJob);
}
