/** Imports one file: read, hash, decode and check, store the blob, insert the row, record the outcome. */
import path from 'node:path';
import type { App } from '../platform/app';
import { ItemOutcome } from '../entities/Job';
import { DEFAULT_RESPONSE, type DetectorResponse } from '../imaging/detector-response';
import { ingestImage } from '../imaging/ingest';
import { ImageError, type IngestedImage } from '../imaging/types';
import { readFileSafely, UnreadableFile } from '../platform/files';
import * as jobs from '../platform/jobs/store';
import { sha256 } from '../platform/blobs';
import { patientIdFromFileName, type ImportItem } from './layout';
import { DATASET_SETTINGS, pseudonymKey } from './settings';

export interface ImageFacts {
  datasetId: string;
  sourcePath: string;
  split: string | null;
  label: string | null;
  synthetic: boolean;
  importJobId: string | null;
  /** The detector response of a file that brings none (not DICOM); null or absent: DEFAULT_RESPONSE. */
  plainResponse?: DetectorResponse | null;
}

export interface StoredImage {
  hash: string;
  byteSize: number;
  image: IngestedImage;
}

/** Decodes and stores the blob; the row is inserted by the caller. */
export async function ingestAndStore(app: App, bytes: Buffer): Promise<StoredImage> {
  const image = await ingestImage(bytes, { maxPixels: app.settings(DATASET_SETTINGS).maxPixels, pseudonymKey: await pseudonymKey(app) });
  const hash = sha256(bytes);
  await app.blobs.put(hash, image.png);
  return { hash, byteSize: bytes.length, image };
}

const IMAGE_COLUMNS = `dataset_id, split, label, source_path, patient_id, width, height, channels, bit_depth, format,
  content_hash, byte_size, window_center, window_width, dicom_attributes, synthetic, import_job_id, detector_response`;

/**
 * INSERT of an image row that does nothing when (dataset, path) exists, with its parameters numbered from
 * `first`, so it can stand alone or inside another statement.
 */
export function imageInsert(facts: ImageFacts, stored: StoredImage, first = 1): { sql: string; values: unknown[] } {
  const { image } = stored;
  const values = [
    facts.datasetId,
    facts.split,
    facts.label,
    facts.sourcePath,
    image.dicom ? image.dicom.patientKey : patientIdFromFileName(facts.sourcePath),
    image.width,
    image.height,
    image.channels,
    image.bitDepth,
    image.format,
    stored.hash,
    stored.byteSize,
    image.window?.center ?? null,
    image.window?.width ?? null,
    image.dicom ? JSON.stringify(image.dicom.attributes) : null,
    facts.synthetic || image.synthetic,
    facts.importJobId,
    JSON.stringify(image.detectorResponse ?? facts.plainResponse ?? DEFAULT_RESPONSE),
  ];
  const placeholders = values.map((_, index) => `$${first + index}`).join(', ');
  return {
    sql: `INSERT INTO images (${IMAGE_COLUMNS}) VALUES (${placeholders})
          ON CONFLICT (dataset_id, source_path) DO NOTHING RETURNING id`,
    values,
  };
}

function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof ImageError || error instanceof UnreadableFile) return { code: error.code, message: error.message };
  const errno = error as NodeJS.ErrnoException;
  if (typeof errno?.code === 'string' && errno.syscall) {
    return { code: 'IO_ERROR', message: `cannot read file: ${errno.message}` };
  }
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/**
 * Imports a file the job has no outcome for yet. The row and the outcome are written by one statement:
 * DONE if the row was inserted, SKIPPED if (dataset, path) was there already.
 */
export async function importFileItem(
  app: App,
  unit: { jobId: string; datasetId: string; root: string; item: ImportItem; synthetic: boolean; plainResponse?: DetectorResponse | null },
): Promise<void> {
  const { jobId, item } = unit;
  if (item.rejected) {
    await jobs.recordOutcome(app.pool, jobId, item.path, ItemOutcome.FAILED, item.rejected);
    return;
  }
  let stored: StoredImage;
  try {
    const bytes = await readFileSafely(unit.root, path.join(unit.root, item.path), app.settings(DATASET_SETTINGS).maxUploadBytes);
    stored = await ingestAndStore(app, bytes);
  } catch (error) {
    await jobs.recordOutcome(app.pool, jobId, item.path, ItemOutcome.FAILED, failureOf(error));
    return;
  }
  const facts: ImageFacts = {
    datasetId: unit.datasetId,
    sourcePath: item.path,
    split: item.split,
    label: item.label,
    synthetic: unit.synthetic,
    importJobId: jobId,
    plainResponse: unit.plainResponse ?? null,
  };
  const insert = imageInsert(facts, stored, 6);
  if (stored.image.synthetic && !unit.synthetic) await markSynthetic(app, unit.datasetId);
  await app.pool.query(
    jobs.recordOutcomeSql(`CASE WHEN EXISTS (SELECT 1 FROM image) THEN 'DONE' ELSE 'SKIPPED' END`, `image AS (${insert.sql})`),
    [...jobs.recordOutcomeParams(jobId, item.path), ...insert.values],
  );
}

/** A dataset with a synthetic phantom in it is marked synthetic (it holds images that are not patient data). */
export async function markSynthetic(app: App, datasetId: string): Promise<void> {
  await app.pool.query(`UPDATE datasets SET synthetic = true WHERE id = $1 AND NOT synthetic`, [datasetId]);
}

/** Items whose path is already in the dataset: recorded as SKIPPED without reading the file. */
export async function skipExisting<T extends ImportItem>(app: App, jobId: string, datasetId: string, items: T[]): Promise<T[]> {
  const { rows } = await app.pool.query<{ source_path: string }>(
    `SELECT source_path FROM images WHERE dataset_id = $1 AND source_path = ANY($2)`,
    [datasetId, items.map((item) => item.path)],
  );
  const existing = new Set(rows.map((row) => row.source_path));
  for (const path of existing) await jobs.recordOutcome(app.pool, jobId, path, ItemOutcome.SKIPPED);
  return items.filter((item) => !existing.has(item.path));
}
