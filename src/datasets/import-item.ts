/** Imports one file: read, hash, decode and check, store the blob, insert the row, record the outcome. */
import { promises as fs } from 'node:fs';
import type { PoolClient } from 'pg';
import type { App } from '../app';
import { ItemOutcome } from '../entities';
import { ingestImage } from '../imaging/ingest';
import { ImageError, type IngestedImage } from '../imaging/types';
import * as jobs from '../jobs/store';
import { sha256 } from '../storage/blobs';
import { patientIdFromFileName, type ImportItem } from './layout';

export interface ImageFacts {
  datasetId: string;
  sourcePath: string;
  split: string | null;
  label: string | null;
  synthetic: boolean;
  importJobId: string | null;
}

/** Decodes and stores the blob; the row is inserted by the caller (inside its transaction). */
export async function ingestAndStore(app: App, bytes: Buffer): Promise<{ hash: string; image: IngestedImage }> {
  const image = await ingestImage(bytes, { maxPixels: app.config.maxPixels, pseudonymKey: app.pseudonymKey });
  const hash = sha256(bytes);
  await app.blobs.put(hash, image.png);
  return { hash, image };
}

/** Inserts the row unless (dataset, path) exists; returns the new id, or null when it was already there. */
export async function insertImageRow(
  db: PoolClient | App['pool'],
  facts: ImageFacts,
  hash: string,
  byteSize: number,
  image: IngestedImage,
): Promise<string | null> {
  const patientId = image.dicom ? image.dicom.patientKey : patientIdFromFileName(facts.sourcePath);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO images (dataset_id, split, label, source_path, patient_id, width, height, channels, bit_depth,
                         format, content_hash, byte_size, window_center, window_width, dicom_attributes,
                         synthetic, import_job_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (dataset_id, source_path) DO NOTHING
     RETURNING id`,
    [
      facts.datasetId,
      facts.split,
      facts.label,
      facts.sourcePath,
      patientId,
      image.width,
      image.height,
      image.channels,
      image.bitDepth,
      image.format,
      hash,
      byteSize,
      image.window?.center ?? null,
      image.window?.width ?? null,
      image.dicom ? JSON.stringify(image.dicom.attributes) : null,
      facts.synthetic,
      facts.importJobId,
    ],
  );
  return rows[0]?.id ?? null;
}

function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof ImageError) return { code: error.code, message: error.message };
  const errno = error as NodeJS.ErrnoException;
  if (errno?.code && typeof errno.code === 'string' && errno.syscall) {
    return { code: 'IO_ERROR', message: `cannot read file: ${errno.message}` };
  }
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export async function importFileItem(
  app: App,
  unit: { jobId: string; datasetId: string; absolutePath: string; item: ImportItem; synthetic: boolean },
): Promise<ItemOutcome> {
  const { jobId, item } = unit;
  const existing = await app.pool.query(`SELECT 1 FROM images WHERE dataset_id = $1 AND source_path = $2`, [
    unit.datasetId,
    item.path,
  ]);
  if (existing.rowCount) {
    await jobs.recordOutcome(app.pool, jobId, item.path, ItemOutcome.SKIPPED);
    return ItemOutcome.SKIPPED;
  }

  let stored: { hash: string; image: IngestedImage; byteSize: number };
  try {
    const bytes = await fs.readFile(unit.absolutePath);
    stored = { ...(await ingestAndStore(app, bytes)), byteSize: bytes.length };
  } catch (error) {
    await jobs.recordOutcome(app.pool, jobId, item.path, ItemOutcome.FAILED, failureOf(error));
    return ItemOutcome.FAILED;
  }

  const client = await app.pool.connect();
  try {
    await client.query('BEGIN');
    const facts: ImageFacts = {
      datasetId: unit.datasetId,
      sourcePath: item.path,
      split: item.split,
      label: item.label,
      synthetic: unit.synthetic,
      importJobId: jobId,
    };
    const id = await insertImageRow(client, facts, stored.hash, stored.byteSize, stored.image);
    const outcome = id ? ItemOutcome.DONE : ItemOutcome.SKIPPED;
    await jobs.recordOutcome(client, jobId, item.path, outcome);
    await client.query('COMMIT');
    return outcome;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
