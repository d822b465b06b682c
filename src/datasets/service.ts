/** Datasets and images: creation, lookup, listing with keyset pagination, counts. Used by resolvers and CLI. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { App } from '../platform/app';
import type { SelectQueryBuilder } from 'typeorm';
import { Dataset } from '../entities/Dataset';
import { Image } from '../entities/Image';
import { assertUuid, badUserInput, notFound, requireIntInRange } from '../platform/errors';
import { queueImport } from './import-jobs';
import { imageInsert, ingestAndStore } from './import-item';
import { SPLITS, type Split } from './layout';
import type { DisplayWindow, StoredPicture } from '../imaging/types';

export const MAX_PAGE_SIZE = 500;

export interface ImageFilter {
  split?: string | null;
  label?: string | null;
}

export interface ImagePage {
  images: Image[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** Cursors are opaque to clients: base64url of the last source path (images are listed in path order). */
export function encodeCursor(sourcePath: string): string {
  return Buffer.from(sourcePath, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!cursor || encodeCursor(decoded) !== cursor) throw badUserInput('after', 'is not a cursor returned by this API');
  return decoded;
}

export function parseSplit(field: string, value: string | null | undefined): Split | null {
  if (value === null || value === undefined) return null;
  if (!(SPLITS as readonly string[]).includes(value)) {
    throw badUserInput(field, `must be one of ${SPLITS.join(', ')}, got "${value}"`, { allowed: SPLITS });
  }
  return value as Split;
}

export async function getDataset(app: App, id: string, field = 'id'): Promise<Dataset> {
  const dataset = await app.db.dataSource.getRepository(Dataset).findOneBy({ id: assertUuid(field, id) });
  if (!dataset) throw notFound('dataset', id);
  return dataset;
}

/** Finds the dataset by name, creating it on first use. */
export async function datasetNamed(app: App, name: string, description: string | null = null): Promise<Dataset> {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 200) throw badUserInput('name', 'must be 1 to 200 characters');
  await app.pool.query(
    `INSERT INTO datasets (name, description) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
    [trimmed, description],
  );
  return app.db.dataSource.getRepository(Dataset).findOneByOrFail({ name: trimmed });
}

export async function listDatasets(app: App): Promise<Dataset[]> {
  return app.db.dataSource.getRepository(Dataset).find({ order: { name: 'ASC' } });
}

export async function startFolderImport(
  app: App,
  input: { path: string; datasetName: string; description?: string | null; split?: string | null; label?: string | null },
): Promise<string> {
  const root = path.resolve(input.path);
  const stat = await fs.stat(root).catch(() => null);
  if (!stat) throw badUserInput('path', `folder not found on the server: ${root}`);
  if (!stat.isDirectory()) throw badUserInput('path', `not a folder: ${root}`);
  const split = parseSplit('split', input.split);
  const dataset = await datasetNamed(app, input.datasetName, input.description ?? null);
  return queueImport(app, { datasetId: dataset.id, root, split, label: input.label ?? null });
}

export function filteredImages(app: App, datasetId: string, filter: ImageFilter): SelectQueryBuilder<Image> {
  const query = app.db.dataSource
    .getRepository(Image)
    .createQueryBuilder('image')
    .where('image.datasetId = :datasetId', { datasetId });
  const split = parseSplit('filter.split', filter.split);
  if (split) query.andWhere('image.split = :split', { split });
  if (filter.label !== undefined && filter.label !== null) query.andWhere('image.label = :label', { label: filter.label });
  return query;
}

export async function listImages(
  app: App,
  datasetId: string,
  filter: ImageFilter,
  page: { first: number; after?: string | null },
): Promise<ImagePage> {
  const first = requireIntInRange('first', page.first, 1, MAX_PAGE_SIZE);
  const query = filteredImages(app, datasetId, filter);
  if (page.after) query.andWhere('image.sourcePath > :after', { after: decodeCursor(page.after) });
  const rows = await query
    .orderBy('image.sourcePath', 'ASC')
    .take(first + 1)
    .getMany();
  const images = rows.slice(0, first);
  return {
    images,
    hasNextPage: rows.length > first,
    endCursor: images.length ? encodeCursor(images[images.length - 1].sourcePath) : null,
  };
}

export async function countImages(app: App, datasetId: string, filter: ImageFilter = {}): Promise<number> {
  return filteredImages(app, datasetId, filter).getCount();
}

export interface SplitLabelCount {
  split: string | null;
  label: string | null;
  count: number;
}

export async function countsBySplitAndLabel(app: App, datasetId: string): Promise<SplitLabelCount[]> {
  const { rows } = await app.pool.query<{ split: string | null; label: string | null; count: string }>(
    `SELECT split, label, count(*) FROM images WHERE dataset_id = $1
     GROUP BY split, label ORDER BY split NULLS LAST, label NULLS LAST`,
    [datasetId],
  );
  return rows.map((row) => ({ split: row.split, label: row.label, count: Number(row.count) }));
}

export function windowOf(image: Image): DisplayWindow | null {
  return image.windowCenter !== null && image.windowWidth !== null ? { center: image.windowCenter, width: image.windowWidth } : null;
}

/** The blob and default window of a stored image, for the image route. */
export async function storedImage(app: App, id: string): Promise<StoredPicture> {
  const image = await getImage(app, id);
  return { contentHash: image.contentHash, window: windowOf(image) };
}

export async function getImage(app: App, id: string): Promise<Image> {
  const image = await app.db.dataSource.getRepository(Image).findOneBy({ id: assertUuid('id', id) });
  if (!image) throw notFound('image', id);
  return image;
}

/**
 * Stores one uploaded image. Its source path is "uploads/<hash prefix>/<file name>", so uploading the same
 * bytes again returns the existing image instead of a duplicate.
 */
export async function importUpload(
  app: App,
  upload: { datasetName: string; fileName: string; bytes: Buffer; split?: string | null; label?: string | null },
): Promise<{ image: Image; created: boolean }> {
  const split = parseSplit('split', upload.split);
  const dataset = await datasetNamed(app, upload.datasetName);
  const stored = await ingestAndStore(app, upload.bytes);
  const safeName = path.basename(upload.fileName).replace(/[^\w.-]+/g, '_').slice(0, 200) || 'upload';
  const sourcePath = `uploads/${stored.hash.slice(0, 16)}/${safeName}`;
  const facts = { datasetId: dataset.id, sourcePath, split, label: upload.label ?? null, synthetic: false, importJobId: null };
  const insert = imageInsert(facts, stored);
  const { rows } = await app.pool.query<{ id: string }>(insert.sql, insert.values);
  const id = rows[0]?.id ?? null;
  const image = await app.db.dataSource
    .getRepository(Image)
    .findOneByOrFail(id ? { id } : { datasetId: dataset.id, sourcePath });
  return { image, created: id !== null };
}
