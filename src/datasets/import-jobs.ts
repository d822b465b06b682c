/**
 * Folder imports as item jobs (platform/jobs/items.ts): the planner lists the folder, chunk units import
 * file by file. An image row is unique per (dataset, path), so nothing is imported twice.
 */
import type { DetectorResponse } from '../imaging/detector-response';
import type { App } from '../platform/app';
import { folderInsideRoots } from '../platform/files';
import { defineItemJob, PlanError } from '../platform/jobs/items';
import { isSyntheticDatasetRoot } from '../synth/dataset';
import { importFileItem, skipExisting } from './import-item';
import { LayoutError, scanFolder, type ImportItem, type Split } from './layout';

export const IMPORT = 'IMPORT';

export interface ImportParams {
  datasetId: string;
  root: string;
  /** Split/label for files that are not in split/label folders. */
  split: Split | null;
  label: string | null;
  /** For plain (non-DICOM) files: the client's response (source 'user'); null or absent: DEFAULT_RESPONSE. */
  detectorResponse?: DetectorResponse | null;
}

export function queueImport(app: App, params: ImportParams): Promise<string> {
  return app.jobs.queue(IMPORT, params);
}

type PlannedFile = ImportItem & { synthetic: boolean };

export const importJob = defineItemJob<ImportParams, PlannedFile>({
  kind: IMPORT,
  description: 'Imports a folder of images into a dataset, file by file.',
  key: (item) => item.path,
  chunkSize: (app) => app.config.jobChunkSize,
  inFlight: 2, // libvips already spreads one decode over the cores

  async plan(app, _jobId, params) {
    // Checked again where the files are read: the roots of this worker process are the ones that count.
    try {
      await folderInsideRoots(app.config, params.root, 'path');
    } catch (error) {
      throw new PlanError((error as Error).message);
    }
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
      root: params.root,
      item,
      synthetic: item.synthetic,
      plainResponse: params.detectorResponse ?? null,
    });
  },
});
