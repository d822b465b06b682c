/**
 * Importing a folder in the BAPPS layout (LPIPS's own data, or anyone's set written that way) as a test set
 * with its aggregated judgments: an IMPORT_BAPPS item job over the pairs of one kind (2afc or jnd). Each
 * image is decoded and stored as a canonical PNG (8-bit, grey or RGB as given); the judge/same value is
 * kept on the item (importedJudgment), so that the set can be scored beside medpsim's own.
 * Files are read only inside the import roots, never following symlinks.
 */
import path from 'node:path';
import sharp from 'sharp';
import { DATASET_SETTINGS } from '../datasets/settings';
import { ItemOutcome } from '../entities/Job';
import { encodePng } from '../imaging/png';
import type { App } from '../platform/app';
import { sha256 } from '../platform/blobs';
import { inTransaction } from '../platform/database';
import { badUserInput, checkText } from '../platform/errors';
import { folderInsideRoots, readFileSafely, UnreadableFile } from '../platform/files';
import { defineItemJob, PlanError } from '../platform/jobs/items';
import * as jobs from '../platform/jobs/store';
import { BappsLayoutError, readBappsFolder, type BappsItem, type BappsKind } from './bapps-folder';
import { decodeNpy, NpyError } from './npy';

export const IMPORT_BAPPS = 'IMPORT_BAPPS';

interface ImportParams {
  testSetId: string;
  root: string;
  kind: BappsKind;
}

async function listing(root: string, kind: BappsKind): Promise<BappsItem[]> {
  const { items } = await readBappsFolder(root);
  return items.filter((item) => item.kind === kind);
}

/** Checks the folder and its layout, makes the set and queues its import; returns the set's id. */
export async function startBappsImport(app: App, input: { path: string; name: string; kind: BappsKind }): Promise<string> {
  const name = checkText('name', input.name, 200);
  const root = await folderInsideRoots(app.config, input.path, 'path');
  let items: BappsItem[];
  try {
    items = await listing(root, input.kind);
  } catch (error) {
    if (error instanceof BappsLayoutError) throw badUserInput('path', error.message);
    throw error;
  }
  if (items.length === 0) throw badUserInput('kind', `the folder has no complete ${input.kind === 'TWO_AFC' ? '2afc' : 'jnd'} items`);
  const definition = { schema: 1, imported: { path: root, kind: input.kind, items: items.length } };
  return inTransaction(app.pool, async (db) => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO test_sets (name, kind, origin, definition, seed, item_count) VALUES ($1, $2, 'IMPORTED', $3, 0, $4) RETURNING id`,
      [name, input.kind, JSON.stringify(definition), items.length],
    );
    const jobId = await app.jobs.queue(IMPORT_BAPPS, { testSetId: rows[0].id, root, kind: input.kind } satisfies ImportParams, db);
    await db.query(`UPDATE test_sets SET job_id = $2 WHERE id = $1`, [rows[0].id, jobId]);
    return rows[0].id;
  });
}

/** A stored canonical PNG of one image file; grey when every pixel's channels are equal. */
async function storeImage(app: App, root: string, file: string): Promise<{ hash: string; width: number; height: number; channels: number }> {
  const settings = app.settings(DATASET_SETTINGS);
  const bytes = await readFileSafely(root, file, settings.maxUploadBytes);
  const { data, info } = await sharp(bytes, { limitInputPixels: settings.maxPixels }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  let grey = true;
  for (let i = 0; i < data.length && grey; i += 3) grey = data[i] === data[i + 1] && data[i] === data[i + 2];
  const samples = grey ? data.filter((_, index) => index % 3 === 0) : data;
  const png = await encodePng({ data: new Uint8Array(samples), width: info.width, height: info.height, channels: grey ? 1 : 3 });
  const hash = sha256(png);
  await app.blobs.put(hash, png);
  return { hash, width: info.width, height: info.height, channels: grey ? 1 : 3 };
}

async function importItem(app: App, jobId: string, params: ImportParams, item: { position: number; item: BappsItem }): Promise<void> {
  const key = `${item.item.split}/${item.item.category}/${item.item.name}`;
  try {
    const judgment = decodeNpy(await readFileSafely(params.root, item.item.judgment, 1 << 16));
    const value = judgment.data[0];
    if (judgment.data.length !== 1 || !(value >= 0 && value <= 1)) throw new NpyError(`${path.basename(item.item.judgment)}: expected one value in [0, 1]`);
    const ref = item.item.files.ref ? await storeImage(app, params.root, item.item.files.ref) : null;
    const p0 = await storeImage(app, params.root, item.item.files.p0);
    const p1 = await storeImage(app, params.root, item.item.files.p1);
    await app.pool.query(
      jobs.recordOutcomeSql(
        `'DONE'`,
        `stored AS (
           INSERT INTO test_set_items (test_set_id, position, role, category, split, source_name, identical, ref_hash, p0_hash, p1_hash,
                                       width, height, channels, bit_depth, imported_judgment, built_at)
           VALUES ($6, $7, 'ITEM', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 8, $18, now())
           ON CONFLICT (test_set_id, position) DO NOTHING RETURNING 1)`,
      ),
      [
        ...jobs.recordOutcomeParams(jobId, key),
        params.testSetId,
        item.position,
        item.item.category,
        item.item.split,
        key,
        params.kind === 'JND' && p0.hash === p1.hash,
        ref?.hash ?? null,
        p0.hash,
        p1.hash,
        p0.width,
        p0.height,
        p0.channels,
        value,
      ],
    );
  } catch (error) {
    const known = error instanceof UnreadableFile ? error.code : error instanceof NpyError ? 'BAD_JUDGMENT' : 'CORRUPT';
    await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code: known, message: (error as Error).message.slice(0, 300) });
  }
}

export const importBappsJob = defineItemJob<ImportParams, { position: number; item: BappsItem }>({
  kind: IMPORT_BAPPS,
  description: 'Imports a folder in the BAPPS layout (2afc or jnd) as a test set with its stored judgments.',
  key: (entry) => `${entry.item.split}/${entry.item.category}/${entry.item.name}`,
  chunkSize: (app) => app.config.jobChunkSize,
  inFlight: 2,
  async plan(_app, _jobId, params) {
    try {
      return (await listing(params.root, params.kind)).map((item, position) => ({ position, item }));
    } catch (error) {
      throw new PlanError((error as Error).message);
    }
  },
  run: importItem,
});
