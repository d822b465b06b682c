/**
 * Test sets: created from a definition (checked, stored, then built by a job), browsed with their items,
 * cloned into a new version, locked once a study judges them. A set is READY once every item is built; its
 * content hash covers every item's choices and pixels (the PNGs' hashes), so a rebuild can be compared.
 */
import { createHash } from 'node:crypto';
import { chooseBackend, checkSeed, type BackendChoice } from '../distortions/apply';
import { checkSteps } from '../distortions/service';
import { findKind } from '../distortions/catalog';
import { getDataset } from '../datasets/service';
import { TestSet, TestSetItem, TestSetState } from '../entities/TestSet';
import type { App } from '../platform/app';
import { inTransaction } from '../platform/database';
import * as jobs from '../platform/jobs/store';
import { AppError, assertUuid, badUserInput, checkText, notFound, NotFoundError, requireIntInRange } from '../platform/errors';
import { BUILD_TEST_SET, eligibleImages, type BuildParams } from './build';
import { familyKinds, normaliseDefinition, type TestSetDefinition, type TestSetDefinitionInput } from './definition';
import type { DisplayWindow } from '../imaging/types';
import { ModelZooState, ZooDrawState } from '../entities/ModelZoo';
import { findZoo, zooDraws, zooState } from '../training/zoo';

/** A set a study judges cannot change: clone it. */
export class TestSetLocked extends AppError {
  constructor(id: string) {
    super('LOCKED', `test set ${id} is being judged and cannot change: clone it (cloneTestSet) to make a new version`, { id });
  }
}

const SET_COLUMNS = `s.id, s.name, s.kind, s.origin, s.version, s.parent_id AS "parentId", s.definition, s.seed::float8 AS seed,
  s.job_id AS "jobId", s.item_count AS "itemCount", s.content_hash AS "contentHash", s.locked_at AS "lockedAt", s.created_at AS "createdAt",
  CASE WHEN s.content_hash IS NOT NULL THEN 'READY' WHEN j.state IN ('QUEUED', 'RUNNING') THEN 'BUILDING' ELSE 'FAILED' END AS state,
  j.failed AS "failedItems"`;

function asSet(row: Record<string, unknown>): TestSet {
  return Object.assign(new TestSet(), row);
}

/** Checks a definition against the database too: the dataset, enough images of the size, every model. */
async function checkAgainstStore(app: App, definition: TestSetDefinition): Promise<void> {
  await getDataset(app, assertUuid('datasetId', definition.source.datasetId), 'datasetId');
  const images = await eligibleImages(app, definition);
  const needed = Math.ceil(definition.source.references / definition.unit.patchesPerImage);
  if (images.length < needed) {
    const what = definition.unit.mode === 'PATCH' ? ` with a shorter side of at least ${definition.unit.size} px (the patch size)` : '';
    throw badUserInput(
      images.length === 0 && definition.unit.mode === 'PATCH' ? 'size' : 'references',
      `${definition.source.references} references at ${definition.unit.patchesPerImage} per image need ${needed} source images${what}; ` +
        `${images.length} match the dataset, splits and labels`,
      { needed, available: images.length },
    );
  }
  const colour = images.every((image) => image.channels === 3);
  for (const [index, entry] of definition.pool.entries()) {
    const field = `pool[${index}]`;
    if (entry.family && familyKinds(entry.family, colour).length === 0) throw badUserInput(`${field}.family`, `no ${entry.family} kind applies to these images`);
    for (const kind of entry.kinds ?? []) {
      await checkSteps(app, [{ kind, severity: entry.severity[1], model: entry.model }], field);
    }
    for (const member of entry.zoo?.members ?? []) {
      await checkSteps(app, [{ kind: member.kind, severity: entry.severity[1], model: member.model }], `${field}.zoo`);
    }
    if (!colour && entry.zoo?.corruptions.includes('colour_removal')) throw badUserInput(`${field}.corruptions`, 'colour_removal acts on colour; these images are greyscale');
    const colourKind = entry.kinds?.find((kind) => findKind(kind)!.needsColor);
    if (!colour && colourKind) throw badUserInput(`${field}.kinds`, `${colourKind} acts on colour; these images are greyscale`);
  }
}

/** Freezes each zoo entry's members into the definition: a zoo that is READY, with at least one member. */
async function withZooMembers(app: App, definition: TestSetDefinition): Promise<TestSetDefinition> {
  const pool = [];
  for (const [index, entry] of definition.pool.entries()) {
    if (!entry.zoo) {
      pool.push(entry);
      continue;
    }
    const field = `pool[${index}].zoo`;
    const zoo = await findZoo(app, entry.zoo.name).catch((error) => {
      throw error instanceof NotFoundError ? badUserInput(field, `no generator zoo named "${entry.zoo!.name}"`) : error;
    });
    const state = await zooState(app, zoo);
    if (state !== ModelZooState.READY) throw badUserInput(field, `zoo "${zoo.name}" is ${state}: a test set draws from a READY zoo`);
    const members = (await zooDraws(app, zoo.id, ZooDrawState.MEMBER)).map((member) => ({
      index: member.index,
      model: member.modelName!,
      // Reconstructing members are registered as dae models, imitating ones as gan-generator models.
      kind: member.knobs.objective === 'reconstruct' ? 'dae_reconstruction' : 'gan_generator',
      sha256: member.sha256!,
    }));
    if (members.length === 0) throw badUserInput(field, `zoo "${zoo.name}" has no members (every one was given up)`);
    pool.push({ ...entry, zoo: { ...entry.zoo, members } });
  }
  return { ...definition, pool };
}

async function insertSet(app: App, fields: { name: string; definition: TestSetDefinition; seed: number; parentId: string | null; version: number }, backend: BackendChoice) {
  const { backend: chosen } = chooseBackend(backend);
  return inTransaction(app.pool, async (db) => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO test_sets (name, kind, origin, version, parent_id, definition, seed) VALUES ($1, $2, 'BUILT', $3, $4, $5, $6) RETURNING id`,
      [fields.name, fields.definition.kind, fields.version, fields.parentId, JSON.stringify(fields.definition), fields.seed],
    );
    const testSetId = rows[0].id;
    const jobId = await app.jobs.queue(BUILD_TEST_SET, { testSetId, backend: chosen } satisfies BuildParams, db);
    await db.query(`UPDATE test_sets SET job_id = $2 WHERE id = $1`, [testSetId, jobId]);
    return testSetId;
  });
}

export async function createTestSet(app: App, input: TestSetDefinitionInput, backend: BackendChoice = 'AUTO'): Promise<TestSet> {
  const name = checkText('name', input.name, 200);
  const seed = checkSeed(input.seed);
  const definition = await withZooMembers(app, normaliseDefinition(input));
  await checkAgainstStore(app, definition);
  return getTestSet(app, await insertSet(app, { name, definition, seed, parentId: null, version: 1 }, backend));
}

/**
 * A new version of a set: the same definition and seed (an exact rebuild, whose content hash must match),
 * or a changed definition. The original stays as it is.
 */
export async function cloneTestSet(app: App, id: string, changed: TestSetDefinitionInput | null): Promise<TestSet> {
  const original = await getTestSet(app, id);
  if (original.origin !== 'BUILT') throw badUserInput('id', 'an imported set has no definition to build from');
  // Unchanged, the definition keeps the zoo members it froze: the clone rebuilds the same items.
  const definition = changed ? await withZooMembers(app, normaliseDefinition(changed)) : original.definition;
  const seed = changed ? checkSeed(changed.seed) : original.seed;
  const name = changed ? checkText('definition.name', changed.name, 200) : original.name;
  await checkAgainstStore(app, definition);
  const { rows } = await app.pool.query<{ version: number }>(
    `WITH RECURSIVE root AS (SELECT id, parent_id FROM test_sets WHERE id = $1
       UNION ALL SELECT s.id, s.parent_id FROM test_sets s JOIN root ON s.id = root.parent_id)
     SELECT max(t.version) + 1 AS version FROM test_sets t
     WHERE t.id IN (SELECT id FROM root) OR t.parent_id IN (SELECT id FROM root)`,
    [original.id],
  );
  return getTestSet(app, await insertSet(app, { name, definition, seed, parentId: original.id, version: rows[0].version }, 'AUTO'));
}

/** The content hash of a set's items, in position order: every choice and every image's hash. */
async function contentHash(app: App, testSetId: string): Promise<string> {
  const { rows } = await app.pool.query<{ line: string }>(
    `SELECT concat_ws('|', position, role, category, identical, expected, ref_hash, p0_hash, p1_hash, region::text, p0_spec::text, p1_spec::text,
                      imported_judgment) AS line
     FROM test_set_items WHERE test_set_id = $1 ORDER BY position`,
    [testSetId],
  );
  const hash = createHash('sha256');
  for (const row of rows) hash.update(row.line).update('\n');
  return hash.digest('hex');
}

/** A set whose job completed with every item built gets its content hash (once; later calls find it). */
async function finalise(app: App, set: TestSet): Promise<TestSet> {
  if (set.contentHash || !set.jobId) return set;
  const { rows } = await app.pool.query(
    `SELECT j.state, j.failed, (SELECT count(*) FROM test_set_items WHERE test_set_id = $1 AND built_at IS NULL)::int AS unbuilt
     FROM jobs j WHERE j.id = $2`,
    [set.id, set.jobId],
  );
  // A built set needs every item; an imported one keeps the pairs that could be read (the job lists the rest).
  if (rows[0]?.state !== 'COMPLETED' || rows[0].unbuilt > 0 || (set.origin === 'BUILT' && rows[0].failed > 0)) return set;
  const hash = await contentHash(app, set.id);
  const updated = await app.pool.query(
    `UPDATE test_sets SET content_hash = $2, item_count = (SELECT count(*) FROM test_set_items WHERE test_set_id = $1)
     WHERE id = $1 AND content_hash IS NULL RETURNING item_count AS "itemCount"`,
    [set.id, hash],
  );
  return Object.assign(set, { contentHash: hash, state: TestSetState.READY, itemCount: updated.rows[0]?.itemCount ?? set.itemCount });
}

export async function getTestSet(app: App, id: string, field = 'id'): Promise<TestSet> {
  const { rows } = await app.pool.query(`SELECT ${SET_COLUMNS} FROM test_sets s LEFT JOIN jobs j ON j.id = s.job_id WHERE s.id = $1`, [
    assertUuid(field, id),
  ]);
  if (!rows[0]) throw notFound('test set', id);
  return finalise(app, asSet(rows[0]));
}

export async function listTestSets(app: App, page: { first: number; offset: number }): Promise<TestSet[]> {
  const { rows } = await app.pool.query(
    `SELECT ${SET_COLUMNS} FROM test_sets s LEFT JOIN jobs j ON j.id = s.job_id ORDER BY s.created_at DESC, s.id LIMIT $1 OFFSET $2`,
    [requireIntInRange('first', page.first, 1, 500), requireIntInRange('offset', page.offset, 0, 2 ** 31 - 1)],
  );
  return Promise.all(rows.map((row) => finalise(app, asSet(row))));
}

const ITEM_COLUMNS = `id, test_set_id AS "testSetId", position, role, category, split, image_id AS "imageId", patch, region,
  p0_spec AS "p0Spec", p1_spec AS "p1Spec", kinds, identical, expected, ref_hash AS "refHash", p0_hash AS "p0Hash",
  p1_hash AS "p1Hash", width, height, channels, bit_depth AS "bitDepth", window_center AS "windowCenter",
  window_width AS "windowWidth", source_name AS "sourceName", imported_judgment AS "importedJudgment", built_at AS "builtAt"`;

export interface ItemFilter {
  role?: string | null;
  category?: string | null;
}

export async function listItems(app: App, testSetId: string, filter: ItemFilter, page: { first: number; offset: number }): Promise<TestSetItem[]> {
  const { rows } = await app.pool.query(
    `SELECT ${ITEM_COLUMNS} FROM test_set_items
     WHERE test_set_id = $1 AND ($2::text IS NULL OR role = $2) AND ($3::text IS NULL OR category = $3)
     ORDER BY position LIMIT $4 OFFSET $5`,
    [
      assertUuid('testSetId', testSetId),
      filter.role ?? null,
      filter.category ?? null,
      requireIntInRange('first', page.first, 1, 1000),
      requireIntInRange('offset', page.offset, 0, 2 ** 31 - 1),
    ],
  );
  return rows.map((row) => Object.assign(new TestSetItem(), row));
}

/** Items per category and role, for the set's summary. */
export async function itemCounts(app: App, testSetId: string): Promise<Array<{ role: string; category: string; count: number }>> {
  const { rows } = await app.pool.query(
    `SELECT role, category, count(*)::int AS count FROM test_set_items WHERE test_set_id = $1 GROUP BY role, category ORDER BY role, category`,
    [testSetId],
  );
  return rows;
}

export type ItemSlot = 'ref' | 'p0' | 'p1';

/** One of an item's images (its blob and the window the study shows it with), for the image routes. */
export async function itemPicture(app: App, itemId: string, slot: ItemSlot): Promise<{ contentHash: string; window: DisplayWindow | null }> {
  const { rows } = await app.pool.query(
    `SELECT ref_hash, p0_hash, p1_hash, window_center, window_width FROM test_set_items WHERE id = $1`,
    [assertUuid('id', itemId)],
  );
  const row = rows[0];
  const hash = row?.[`${slot}_hash`];
  if (!hash) throw notFound(`image ${slot} of test set item`, itemId);
  return { contentHash: hash, window: row.window_center === null ? null : { center: row.window_center, width: row.window_width } };
}

/** Deletes a set nobody judges (its images stay in the blob store, which other sets may share). */
export async function deleteTestSet(app: App, id: string): Promise<TestSet> {
  const set = await getTestSet(app, id);
  if (set.lockedAt) throw new TestSetLocked(set.id);
  if (set.state === TestSetState.BUILDING && (await jobs.cancelJob(app.pool, set.jobId!))) await jobs.notifyJob(app.pool, set.jobId!);
  await inTransaction(app.pool, async (db) => {
    const { rows } = await db.query(`SELECT locked_at IS NOT NULL AS locked, EXISTS (SELECT 1 FROM test_sets WHERE parent_id = $1) AS cloned FROM test_sets WHERE id = $1 FOR UPDATE`, [set.id]);
    if (rows[0]?.locked) throw new TestSetLocked(set.id);
    if (rows[0]?.cloned) throw badUserInput('id', 'a set with newer versions (clones) cannot be deleted');
    await db.query(`DELETE FROM test_set_items WHERE test_set_id = $1`, [set.id]);
    await db.query(`DELETE FROM test_sets WHERE id = $1`, [set.id]);
  });
  return set;
}
