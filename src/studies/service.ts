/**
 * Studies: test sets judged by a panel under a protocol. Creating one locks its sets and lays out every
 * rater's presentations at once (assignment.ts): each item to N distinct raters, balanced, in a seeded order
 * per rater, with practice first, sentinels mixed in evenly and retests. Raters may join or withdraw later;
 * what that does to balance is said at addStudyRaters and withdrawStudyRater.
 */
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { checkSeed } from '../distortions/apply';
import { Study } from '../entities/Study';
import type { App } from '../platform/app';
import { inTransaction } from '../platform/database';
import { AppError, assertUuid, badUserInput, checkText, notFound, requireIntInRange } from '../platform/errors';
import { RandomStream } from '../synth/random';
import { getTestSet } from '../testsets/service';
import { insertSimulatedRaters } from '../access/raters';
import { assignItems, buildSequence, rebalanceForNewRater, reassignWithdrawn, type SequenceEntry } from './assignment';
import { normaliseProtocol, type Protocol, type ProtocolInput } from './protocol';

export interface CreateStudyInput {
  name: string;
  testSetIds: string[];
  raterIds?: string[] | null;
  /** Simulated raters made for the study (medpsim simulate-panel answers as them). */
  simulatedRaters?: number | null;
  protocol?: ProtocolInput | null;
  seed: number;
}

export class StudyClosed extends AppError {
  constructor(id: string) {
    super('LOCKED', `study ${id} is closed`, { id });
  }
}

const STUDY_COLUMNS = `id, name, protocol, seed::float8 AS seed, exclusion_rules AS "exclusionRules", state, created_at AS "createdAt", closed_at AS "closedAt"`;

export async function getStudy(app: App, id: string, field = 'id'): Promise<Study> {
  const { rows } = await app.pool.query(`SELECT ${STUDY_COLUMNS} FROM studies WHERE id = $1`, [assertUuid(field, id)]);
  if (!rows[0]) throw notFound('study', id);
  return Object.assign(new Study(), rows[0]);
}

export async function listStudies(app: App, page: { first: number; offset: number }): Promise<Study[]> {
  const { rows } = await app.pool.query(`SELECT ${STUDY_COLUMNS} FROM studies ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`, [
    requireIntInRange('first', page.first, 1, 500),
    requireIntInRange('offset', page.offset, 0, 2 ** 31 - 1),
  ]);
  return rows.map((row) => Object.assign(new Study(), row));
}

function uniqueIds(field: string, ids: string[], max: number): string[] {
  if (ids.length > max) throw badUserInput(field, `give at most ${max}, got ${ids.length}`);
  ids.forEach((id, index) => assertUuid(`${field}[${index}]`, id));
  const lower = ids.map((id) => id.toLowerCase());
  if (new Set(lower).size !== lower.length) throw badUserInput(field, 'lists an id twice');
  return lower;
}

async function requireRaters(db: PoolClient | App['pool'], raterIds: string[]): Promise<void> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM raters WHERE id = ANY($1::uuid[])`, [raterIds]);
  const found = new Set(rows.map((row) => row.id));
  const missing = raterIds.find((id) => !found.has(id));
  if (missing) throw notFound('rater', missing);
}

interface StudyItems {
  /** Main items by test-set kind. */
  main: Array<{ kind: 'TWO_AFC' | 'JND'; ids: string[] }>;
  sentinels: string[];
  practice: string[];
}

async function studyItems(db: PoolClient, studyId: string, protocol: Protocol): Promise<StudyItems> {
  const { rows } = await db.query<{ id: string; role: string; kind: 'TWO_AFC' | 'JND' }>(
    `SELECT i.id, i.role, s.kind FROM study_test_sets st JOIN test_sets s ON s.id = st.test_set_id JOIN test_set_items i ON i.test_set_id = s.id
     WHERE st.study_id = $1 ORDER BY s.id, i.position`,
    [studyId],
  );
  const main = (['TWO_AFC', 'JND'] as const).map((kind) => ({ kind, ids: rows.filter((row) => row.role === 'ITEM' && row.kind === kind).map((row) => row.id) }));
  return {
    main: main.filter((group) => group.ids.length > 0),
    sentinels: protocol.sentinels ? rows.filter((row) => row.role === 'SENTINEL').map((row) => row.id) : [],
    practice: protocol.practice ? rows.filter((row) => row.role === 'PRACTICE').map((row) => row.id) : [],
  };
}

interface NewPresentation {
  raterId: string;
  entry: SequenceEntry;
  sequence: number;
  /** A retest: the sequence number of the rater's first showing of the item. */
  retestOfSequence?: number;
  movedFrom?: string | null;
}

/** Inserts presentations in one statement; retests point at their first showing by the ids made here. */
async function insertPresentations(db: PoolClient, studyId: string, presentations: NewPresentation[]): Promise<void> {
  if (presentations.length === 0) return;
  const ids = presentations.map(() => randomUUID());
  const firstShowing = new Map<string, string>(); // rater + sequence index -> id
  presentations.forEach((p, index) => firstShowing.set(`${p.raterId}#${p.sequence}`, ids[index]));
  await db.query(
    `INSERT INTO presentations (id, study_id, rater_id, item_id, sequence, purpose, swapped, retest_of, moved_from)
     SELECT t.id, $1, t.rater_id, t.item_id, t.sequence, t.purpose, t.swapped, t.retest_of, t.moved_from
     FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::text[], $7::bool[], $8::uuid[], $9::uuid[])
          AS t (id, rater_id, item_id, sequence, purpose, swapped, retest_of, moved_from)`,
    [
      studyId,
      ids,
      presentations.map((p) => p.raterId),
      presentations.map((p) => p.entry.itemId),
      presentations.map((p) => p.sequence),
      presentations.map((p) => p.entry.purpose),
      presentations.map((p) => p.entry.swapped),
      presentations.map((p) => (p.retestOfSequence === undefined ? null : firstShowing.get(`${p.raterId}#${p.retestOfSequence}`)!)),
      presentations.map((p) => p.movedFrom ?? null),
    ],
  );
}

/** A rater's whole sequence as presentations, numbered from `start`. */
function sequencePresentations(raterId: string, entries: SequenceEntry[], start: number, movedFrom: Map<string, string> = new Map()): NewPresentation[] {
  return entries.map((entry, index) => ({
    raterId,
    sequence: start + index,
    entry,
    retestOfSequence: entry.retestOf === undefined ? undefined : start + entry.retestOf,
    movedFrom: entry.purpose === 'MAIN' ? (movedFrom.get(entry.itemId) ?? null) : null,
  }));
}

function checkPanel(protocol: Protocol, items: StudyItems, raters: number): void {
  if (raters < 1) throw badUserInput('raterIds', 'a study needs at least one rater');
  for (const group of items.main) {
    const perItem = protocol.judgmentsPerItem[group.kind];
    if (perItem > raters) {
      throw badUserInput('protocol.judgmentsPerItem', `${perItem} judgments per ${group.kind} item, each by a distinct rater, need at least ${perItem} raters; ${raters} given`, {
        needed: perItem,
        raters,
      });
    }
  }
}

export async function createStudy(app: App, input: CreateStudyInput): Promise<Study> {
  const name = checkText('name', input.name, 200);
  const seed = checkSeed(input.seed);
  const protocol = normaliseProtocol(input.protocol ?? {});
  const testSetIds = uniqueIds('testSetIds', input.testSetIds, 20);
  if (testSetIds.length === 0) throw badUserInput('testSetIds', 'give at least one test set');
  const realRaterIds = uniqueIds('raterIds', input.raterIds ?? [], 10_000);
  const simulated = requireIntInRange('simulatedRaters', input.simulatedRaters ?? 0, 0, 100);
  for (const [index, id] of testSetIds.entries()) {
    const set = await getTestSet(app, id, `testSetIds[${index}]`);
    if (set.state !== 'READY') throw badUserInput(`testSetIds[${index}]`, `test set ${id} is ${set.state}, not READY`);
  }
  await requireRaters(app.pool, realRaterIds);
  const studyId = await inTransaction(app.pool, async (db) => {
    const made = simulated > 0 ? await insertSimulatedRaters(db, simulated, 'made by createStudy') : [];
    const raterIds = [...realRaterIds, ...made.map((rater) => rater.id)];
    const { rows } = await db.query<{ id: string }>(`INSERT INTO studies (name, protocol, seed) VALUES ($1, $2, $3) RETURNING id`, [
      name,
      JSON.stringify(protocol),
      seed,
    ]);
    const id = rows[0].id;
    await db.query(`INSERT INTO study_test_sets (study_id, test_set_id) SELECT $1, unnest($2::uuid[])`, [id, testSetIds]);
    // From now on the sets cannot change (a trigger guards their items).
    await db.query(`UPDATE test_sets SET locked_at = COALESCE(locked_at, now()) WHERE id = ANY($1::uuid[])`, [testSetIds]);
    const items = await studyItems(db, id, protocol);
    checkPanel(protocol, items, raterIds.length);
    await db.query(`INSERT INTO study_raters (study_id, rater_id, stream) SELECT $1, r, ordinality - 1 FROM unnest($2::uuid[]) WITH ORDINALITY AS t (r, ordinality)`, [
      id,
      raterIds,
    ]);
    const mainByRater = new Map<string, string[]>(raterIds.map((raterId) => [raterId, []]));
    for (const [index, group] of items.main.entries()) {
      const assigned = assignItems(group.ids, raterIds, protocol.judgmentsPerItem[group.kind], seed + index);
      for (const [raterId, ids] of assigned) mainByRater.get(raterId)!.push(...ids);
    }
    const presentations = raterIds.flatMap((raterId, stream) =>
      sequencePresentations(raterId, raterSequence(protocol, items, mainByRater.get(raterId)!, seed, stream), 0),
    );
    await insertPresentations(db, id, presentations);
    return id;
  });
  return getStudy(app, studyId);
}

function raterSequence(protocol: Protocol, items: StudyItems, mainItemIds: string[], seed: number, stream: number): SequenceEntry[] {
  return buildSequence({
    mainItemIds,
    sentinelItemIds: items.sentinels,
    practiceItemIds: items.practice,
    retestShare: protocol.retestShare,
    retestMinGap: protocol.retestMinGap,
    seed,
    stream,
  });
}

async function lockOpenStudy(db: PoolClient, studyId: string): Promise<{ protocol: Protocol; seed: number }> {
  const { rows } = await db.query(`SELECT state, protocol, seed::float8 AS seed FROM studies WHERE id = $1 FOR UPDATE`, [studyId]);
  if (!rows[0]) throw notFound('study', studyId);
  if (rows[0].state !== 'OPEN') throw new StudyClosed(studyId);
  return rows[0];
}

/** Items each rater of the study holds or held as MAIN (answered, open or withdrawn), and their open ones. */
async function holdings(db: PoolClient, studyId: string) {
  const { rows } = await db.query<{ rater_id: string; item_id: string; state: string }>(
    `SELECT rater_id, item_id, state FROM presentations WHERE study_id = $1 AND purpose = 'MAIN' ORDER BY rater_id, sequence`,
    [studyId],
  );
  const held = new Map<string, Set<string>>();
  const open = new Map<string, string[]>();
  for (const row of rows) {
    if (!held.has(row.rater_id)) held.set(row.rater_id, new Set());
    held.get(row.rater_id)!.add(row.item_id);
    if (row.state === 'OPEN') open.set(row.rater_id, [...(open.get(row.rater_id) ?? []), row.item_id]);
  }
  return { held, open };
}

/** Withdraws open presentations of one rater for these items (and their open retests). */
async function withdrawOpen(db: PoolClient, studyId: string, raterId: string, itemIds: string[] | null): Promise<void> {
  await db.query(
    `WITH moved AS (
       UPDATE presentations SET state = 'WITHDRAWN'
       WHERE study_id = $1 AND rater_id = $2 AND state = 'OPEN' AND ($3::uuid[] IS NULL OR (purpose = 'MAIN' AND item_id = ANY($3::uuid[])))
       RETURNING id)
     UPDATE presentations SET state = 'WITHDRAWN' WHERE state = 'OPEN' AND retest_of IN (SELECT id FROM moved)`,
    [studyId, raterId, itemIds],
  );
}

export interface PanelChange {
  study: Study;
  /** Open presentations moved from one rater to another. */
  moved: number;
  /** Items that no active rater could take (they will have fewer judgments than the protocol asks). */
  unplaced: string[];
}

/**
 * Raters joining a running study: each gets the practice items and sentinels, and open (unjudged) main
 * items taken from the raters with the most open ones until the open loads are even (differ by at most 1),
 * never an item the new rater already holds. Judged presentations never move, so the total per rater is
 * balanced only over what was still open.
 */
export async function addStudyRaters(app: App, studyId: string, raterIdsInput: string[]): Promise<PanelChange> {
  assertUuid('studyId', studyId);
  const raterIds = uniqueIds('raterIds', raterIdsInput, 1000);
  if (raterIds.length === 0) throw badUserInput('raterIds', 'give at least one rater');
  await requireRaters(app.pool, raterIds);
  let moved = 0;
  await inTransaction(app.pool, async (db) => {
    const { protocol, seed } = await lockOpenStudy(db, studyId);
    const { rows: existing } = await db.query(`SELECT rater_id FROM study_raters WHERE study_id = $1 AND rater_id = ANY($2::uuid[])`, [studyId, raterIds]);
    if (existing.length > 0) throw badUserInput('raterIds', `rater ${existing[0].rater_id} is in this study already`);
    const items = await studyItems(db, studyId, protocol);
    for (const raterId of raterIds) {
      const { rows } = await db.query<{ stream: number }>(
        `INSERT INTO study_raters (study_id, rater_id, stream) SELECT $1, $2, COALESCE(max(stream) + 1, 0) FROM study_raters WHERE study_id = $1 RETURNING stream`,
        [studyId, raterId],
      );
      const { held, open } = await holdings(db, studyId); // withdrawn raters have nothing open
      open.set(raterId, []);
      const moves = rebalanceForNewRater(open, held, raterId);
      for (const [from, group] of groupBy(moves, (move) => move.from)) await withdrawOpen(db, studyId, from, group.map((move) => move.itemId));
      const movedFrom = new Map(moves.map((move) => [move.itemId, move.from]));
      const sequence = raterSequence(protocol, items, moves.map((move) => move.itemId), seed, rows[0].stream);
      await insertPresentations(db, studyId, sequencePresentations(raterId, sequence, 0, movedFrom));
      moved += moves.length;
    }
  });
  return { study: await getStudy(app, studyId), moved, unplaced: [] };
}

function groupBy<T>(values: T[], key: (value: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const value of values) groups.set(key(value), [...(groups.get(key(value)) ?? []), value]);
  return groups;
}

/**
 * A rater leaving: their judgments stay (exclusion is a separate, analysis-time choice); each open main
 * item goes to the active rater with the fewest open items who does not hold it, at the end of that rater's
 * sequence (left/right drawn anew); their open sentinels, practice items and retests are withdrawn. Items
 * nobody can take are reported: they end with fewer judgments than the protocol asks.
 */
export async function withdrawStudyRater(app: App, studyId: string, raterId: string): Promise<PanelChange> {
  assertUuid('studyId', studyId);
  assertUuid('raterId', raterId);
  const change = await inTransaction(app.pool, async (db) => {
    const { seed } = await lockOpenStudy(db, studyId);
    const { rowCount } = await db.query(`UPDATE study_raters SET withdrawn_at = now() WHERE study_id = $1 AND rater_id = $2 AND withdrawn_at IS NULL`, [
      studyId,
      raterId,
    ]);
    if (rowCount === 0) throw notFound('active rater of this study', raterId);
    const { held, open } = await holdings(db, studyId);
    const { rows: active } = await db.query<{ rater_id: string; stream: number }>(
      `SELECT rater_id, stream FROM study_raters WHERE study_id = $1 AND withdrawn_at IS NULL ORDER BY rater_id`,
      [studyId],
    );
    const counts = new Map(active.map((row) => [row.rater_id, open.get(row.rater_id)?.length ?? 0]));
    const result = reassignWithdrawn(open.get(raterId) ?? [], counts, held);
    await withdrawOpen(db, studyId, raterId, null);
    const random = new RandomStream(seed, 1_000_000 + active.length);
    const { rows: ends } = await db.query<{ rater_id: string; last: number }>(
      `SELECT rater_id, max(sequence) AS last FROM presentations WHERE study_id = $1 GROUP BY rater_id`,
      [studyId],
    );
    const next = new Map(ends.map((row) => [row.rater_id, row.last + 1]));
    const presentations = result.moves.map((move) => {
      const sequence = next.get(move.to) ?? 0;
      next.set(move.to, sequence + 1);
      return { raterId: move.to, sequence, movedFrom: raterId, entry: { itemId: move.itemId, purpose: 'MAIN' as const, swapped: random.chance(0.5) } };
    });
    await insertPresentations(db, studyId, presentations);
    return { moved: result.moves.length, unplaced: result.unplaced };
  });
  return { study: await getStudy(app, studyId), ...change };
}

export async function closeStudy(app: App, studyId: string): Promise<Study> {
  const study = await getStudy(app, studyId);
  await app.pool.query(`UPDATE studies SET state = 'CLOSED', closed_at = now() WHERE id = $1 AND state = 'OPEN'`, [study.id]);
  return getStudy(app, study.id);
}

export interface StudyProgress {
  raters: number;
  activeRaters: number;
  presentations: number;
  answered: number;
  /** Main items of the study's sets. */
  items: number;
  /** Main items with fewer open or answered presentations than the protocol asks (after withdrawals). */
  itemsShort: number;
  /** Main items with all the judgments the protocol asks. */
  itemsComplete: number;
}

export async function studyProgress(app: App, studyId: string): Promise<StudyProgress> {
  const { rows } = await app.pool.query(
    `SELECT (SELECT count(*) FROM study_raters WHERE study_id = $1)::int AS raters,
            (SELECT count(*) FROM study_raters WHERE study_id = $1 AND withdrawn_at IS NULL)::int AS "activeRaters",
            count(*) FILTER (WHERE p.state <> 'WITHDRAWN')::int AS presentations,
            count(*) FILTER (WHERE p.state = 'ANSWERED')::int AS answered
     FROM presentations p WHERE p.study_id = $1`,
    [studyId],
  );
  // Per main item: presentations still given (not withdrawn) and those answered, against what the protocol asks.
  const coverage = await app.pool.query(
    `SELECT count(*)::int AS items,
            count(*) FILTER (WHERE t.given < t.wanted)::int AS short,
            count(*) FILTER (WHERE t.answered >= t.wanted)::int AS complete
     FROM (
       SELECT count(p.id) FILTER (WHERE p.state <> 'WITHDRAWN') AS given, count(p.id) FILTER (WHERE p.state = 'ANSWERED') AS answered,
              (studies.protocol -> 'judgmentsPerItem' ->> s.kind)::int AS wanted
       FROM studies JOIN study_test_sets st ON st.study_id = studies.id JOIN test_sets s ON s.id = st.test_set_id
       JOIN test_set_items i ON i.test_set_id = s.id AND i.role = 'ITEM'
       LEFT JOIN presentations p ON p.study_id = st.study_id AND p.item_id = i.id AND p.purpose = 'MAIN'
       WHERE studies.id = $1 GROUP BY i.id, s.kind, studies.protocol) t`,
    [studyId],
  );
  const { items, short, complete } = coverage.rows[0];
  return { ...rows[0], items, itemsShort: short, itemsComplete: complete };
}
