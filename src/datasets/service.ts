/** Datasets and images: creation, lookup, listing with keyset pagination, counts. Used by resolvers and CLI. */
import path from 'node:path';
import type { App } from '../platform/app';
import type { SelectQueryBuilder } from 'typeorm';
import { Dataset } from '../entities/Dataset';
import { Image } from '../entities/Image';
import { assertUuid, badUserInput, checkOptionalText, checkText, notFound, quoted, requireIntInRange } from '../platform/errors';
import { folderInsideRoots } from '../platform/files';
import { userResponse, type DetectorResponseInput } from './detector-response';
import { queueImport } from './import-jobs';
import { imageInsert, ingestAndStore, markSynthetic } from './import-item';
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
    throw badUserInput(field, `must be one of ${SPLITS.join(', ')}, got ${quoted(value)}`, { allowed: SPLITS });
  }
  return value as Split;
}

export async function getDataset(app: App, id: string, field = 'id'): Promise<Dataset> {
  const dataset = await app.db.dataSource.getRepository(Dataset).findOneBy({ id: assertUuid(field, id) });
  if (!dataset) throw notFound('dataset', id);
  return dataset;
}

/** Finds the dataset by name, creating it on first use (`field` names the name in errors). */
export async function datasetNamed(app: App, name: string, description: string | null = null, field = 'name'): Promise<Dataset> {
  const trimmed = checkText(field, name, 200);
  description = checkOptionalText('description', description, 2000, { multiline: true });
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
  input: {
    path: string;
    datasetName: string;
    description?: string | null;
    split?: string | null;
    label?: string | null;
    /** For the plain (non-DICOM) files of this import; DICOM files keep their header's. */
    detectorResponse?: DetectorResponseInput | null;
  },
): Promise<string> {
  const root = await folderInsideRoots(app.config, input.path, 'path');
  const split = parseSplit('split', input.split);
  const label = checkOptionalText('label', input.label, 100);
  const detectorResponse = input.detectorResponse ? userResponse('detectorResponse', input.detectorResponse) : null;
  const dataset = await datasetNamed(app, input.datasetName, input.description ?? null, 'datasetName');
  return queueImport(app, { datasetId: dataset.id, root, split, label, detectorResponse });
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

export function windowOf(image: Pick<Image, 'windowCenter' | 'windowWidth'>): DisplayWindow | null {
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

export interface UploadInput {
  datasetName: string;
  bytes: Buffer;
  /** The file's name (its base name is kept), for an upload that stands alone. */
  fileName: string;
  /** Or its path relative to an uploaded folder (medpsim import --upload): the image's source path. */
  path?: string | null;
  split?: string | null;
  label?: string | null;
  /** When the image is there already with another split or label: change them to these. */
  update?: boolean;
}

export interface UploadResult {
  image: Image;
  created: boolean;
  /** An existing image whose split or label were changed (update). */
  updated: boolean;
  /** An existing image that differs from what was sent (left as it was unless update): stored vs given. */
  differences: Record<string, { stored: string | null; given: string | null }>;
}

/** A relative path inside an uploaded folder: forward slashes, no "..", no empty or hidden parts. */
function checkRelativePath(field: string, value: string): string {
  const relative = checkText(field, value, 500);
  const parts = relative.split('/');
  if (relative.startsWith('/') || parts.some((part) => part === '' || part === '.' || part === '..' || part.startsWith('.'))) {
    throw badUserInput(field, `must be a relative path inside the uploaded folder (a/b/c.jpeg, without "..", "." or empty parts), got ${quoted(relative)}`);
  }
  return relative;
}

/**
 * Stores one uploaded image. Its source path is the given relative path, or "uploads/<hash prefix>/<file
 * name>", so that the same upload again finds the image it made instead of a duplicate; what differs from
 * the stored image (split, label, content at the same path) is reported, and split and label are changed
 * only when asked (update).
 */
export async function importUpload(app: App, upload: UploadInput): Promise<UploadResult> {
  const split = parseSplit('split', upload.split);
  const label = checkOptionalText('label', upload.label, 100);
  const fileName = checkText('filename', upload.fileName, 200);
  const relativePath = upload.path ? checkRelativePath('path', upload.path) : null;
  const dataset = await datasetNamed(app, upload.datasetName, null, 'dataset');
  const stored = await ingestAndStore(app, upload.bytes);
  if (stored.image.synthetic) await markSynthetic(app, dataset.id);
  const safeName = path.basename(fileName).replace(/[^\w.-]+/g, '_') || 'upload';
  const sourcePath = relativePath ?? `uploads/${stored.hash.slice(0, 16)}/${safeName}`;
  const facts = { datasetId: dataset.id, sourcePath, split, label, synthetic: false, importJobId: null };
  const insert = imageInsert(facts, stored);
  const { rows } = await app.pool.query<{ id: string }>(insert.sql, insert.values);
  const images = app.db.dataSource.getRepository(Image);
  if (rows[0]) return { image: await images.findOneByOrFail({ id: rows[0].id }), created: true, updated: false, differences: {} };

  let image = await images.findOneByOrFail({ datasetId: dataset.id, sourcePath });
  const differences: UploadResult['differences'] = {};
  if (image.split !== split) differences.split = { stored: image.split, given: split };
  if (image.label !== label) differences.label = { stored: image.label, given: label };
  if (image.contentHash !== stored.hash) differences.contentHash = { stored: image.contentHash, given: stored.hash };
  const updated = upload.update === true && (differences.split !== undefined || differences.label !== undefined);
  if (updated) {
    await app.pool.query(`UPDATE images SET split = $2, label = $3 WHERE id = $1`, [image.id, split, label]);
    image = await images.findOneByOrFail({ id: image.id });
    delete differences.split;
    delete differences.label;
  }
  return { image, created: false, updated, differences };
}

/** Which of these SHA-256 hashes of files the dataset already holds (for uploads that resume). */
export async function knownContent(app: App, datasetId: string, hashes: string[]): Promise<string[]> {
  if (hashes.length > 1000) throw badUserInput('sha256', `at most 1000 hashes at once, got ${hashes.length}`, { max: 1000 });
  hashes.forEach((hash, index) => {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw badUserInput(`sha256[${index}]`, `must be a SHA-256 in lowercase hex, got ${quoted(hash)}`);
  });
  const { rows } = await app.pool.query<{ content_hash: string }>(
    `SELECT DISTINCT content_hash FROM images WHERE dataset_id = $1 AND content_hash = ANY($2)`,
    [datasetId, hashes],
  );
  return rows.map((row) => row.content_hash);
}
