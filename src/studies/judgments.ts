/**
 * What a rater does: get their next presentation, see their progress, submit an answer, and load the images
 * of their current presentation. A rater reaches only their own presentations, and what they get says
 * nothing of kinds, severities, categories, scores, sentinels, retests or other raters' answers.
 *
 * A submission is one SQL statement on the normal path: it claims the open presentation (a row lock, so that
 * concurrent retries queue behind it), stores the judgment with the answer mapped to p0/p1 through the
 * recorded placement, and returns what feedback needs. Anything else (a retry, another rater's presentation,
 * an unknown one) is sorted out afterwards, off the normal path.
 */
import type { DatabaseError } from 'pg';
import type { App } from '../platform/app';
import { inTransaction } from '../platform/database';
import { AppError, assertUuid, badUserInput, checkText, ForbiddenError, notFound, requireIntInRange } from '../platform/errors';
import type { DisplayWindow } from '../imaging/types';
import { ZOOM, type Protocol } from './protocol';

export type Answer = 'LEFT' | 'RIGHT' | 'SAME' | 'DIFFERENT';
export type Slot = 'reference' | 'left' | 'right' | 'comparison';

export interface DisplayReport {
  viewportWidth?: number | null;
  viewportHeight?: number | null;
  /** The image as displayed, in device pixels. */
  imageWidth?: number | null;
  imageHeight?: number | null;
  devicePixelRatio?: number | null;
  /** JND: what was actually shown, in ms (browsers are off by a frame or two). */
  shownReferenceMs?: number | null;
  shownBlankMs?: number | null;
  shownComparisonMs?: number | null;
}

export interface SubmitInput {
  presentationId: string;
  answer: Answer;
  responseMs: number;
  clientKey: string;
  display?: DisplayReport | null;
}

export interface Receipt {
  id: string;
  presentationId: string;
  answer: Answer;
  responseMs: number;
  receivedAt: Date;
  /** The same client key was sent before: this is the stored judgment, not a new one. */
  repeated: boolean;
  /** Practice items only: whether the answer was the right one. */
  correct: boolean | null;
}

export interface NextPresentation {
  id: string;
  studyId: string;
  kind: 'TWO_AFC' | 'JND';
  practice: boolean;
  /** 1-based place in the rater's sequence (withdrawn presentations not counted), and the total. */
  number: number;
  total: number;
  /** A break is due before this presentation. */
  breakBefore: boolean;
  slots: Slot[];
  jnd: Protocol['jnd'] | null;
  zoom: number;
  /** The one after it, so that a client can load its images ahead (null at the end). */
  upcoming: Omit<NextPresentation, 'upcoming'> | null;
}

export class AlreadyAnswered extends AppError {
  constructor(presentationId: string) {
    super('ALREADY_ANSWERED', `presentation ${presentationId} has been answered; this study's protocol does not allow changing an answer`, { presentationId });
  }
}

const ANSWERS: Record<'TWO_AFC' | 'JND', Answer[]> = { TWO_AFC: ['LEFT', 'RIGHT'], JND: ['SAME', 'DIFFERENT'] };
const DISPLAY_LIMITS: Record<keyof DisplayReport, number> = {
  viewportWidth: 100_000,
  viewportHeight: 100_000,
  imageWidth: 100_000,
  imageHeight: 100_000,
  devicePixelRatio: 16,
  shownReferenceMs: 600_000,
  shownBlankMs: 600_000,
  shownComparisonMs: 600_000,
};

function checkDisplay(display: DisplayReport | null | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, max] of Object.entries(DISPLAY_LIMITS)) {
    const value = display?.[key as keyof DisplayReport];
    if (value === null || value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || value > max) throw badUserInput(`display.${key}`, `must be a number in [0, ${max}], got ${value}`, { min: 0, max });
    out[key] = value;
  }
  return out;
}

const CLAIM_AND_STORE = `
  WITH claimed AS (
    UPDATE presentations p SET state = 'ANSWERED'
    FROM test_set_items i, test_sets s, studies st
    WHERE p.id = $1 AND p.rater_id = $2 AND p.state = 'OPEN' AND i.id = p.item_id AND s.id = i.test_set_id
      AND st.id = p.study_id AND st.state = 'OPEN'
      AND $4 = ANY (CASE s.kind WHEN 'TWO_AFC' THEN ARRAY['LEFT', 'RIGHT'] ELSE ARRAY['SAME', 'DIFFERENT'] END)
    RETURNING p.id, p.study_id, p.item_id, p.swapped, p.purpose, s.kind, i.expected
  ), stored AS (
    INSERT INTO judgments (presentation_id, study_id, rater_id, item_id, client_key, answer, chose_p1, said_same, response_ms, display)
    SELECT c.id, c.study_id, $2, c.item_id, $3, $4,
           CASE WHEN c.kind = 'TWO_AFC' THEN ($4 = 'LEFT') = c.swapped END,
           CASE WHEN c.kind = 'JND' THEN $4 = 'SAME' END,
           $5, $6
    FROM claimed c
    RETURNING id, presentation_id, answer, response_ms, received_at, chose_p1, said_same
  )
  SELECT s.id, s.presentation_id AS "presentationId", s.answer, s.response_ms AS "responseMs", s.received_at AS "receivedAt",
         CASE WHEN c.purpose = 'PRACTICE' THEN
           CASE c.expected WHEN 'P1' THEN s.chose_p1 WHEN 'P0' THEN NOT s.chose_p1 WHEN 'SAME' THEN s.said_same WHEN 'DIFFERENT' THEN NOT s.said_same END
         END AS correct
  FROM stored s, claimed c`;

/** Stores a rater's answer (idempotent by client key). */
export async function submitJudgment(app: App, raterId: string, input: SubmitInput): Promise<Receipt> {
  const presentationId = assertUuid('presentationId', input.presentationId);
  const clientKey = checkText('clientKey', input.clientKey, 128);
  const responseMs = requireIntInRange('responseMs', input.responseMs, 0, 3_600_000);
  if (!['LEFT', 'RIGHT', 'SAME', 'DIFFERENT'].includes(input.answer)) throw badUserInput('answer', 'must be LEFT, RIGHT, SAME or DIFFERENT');
  const display = JSON.stringify(checkDisplay(input.display));
  const params = [presentationId, raterId, clientKey, input.answer, responseMs, display];
  try {
    // Prepared once per connection: the statement is parsed and planned once, not per answer.
    const { rows } = await app.pool.query({ name: 'claim-and-store-judgment', text: CLAIM_AND_STORE, values: params });
    if (rows[0]) return { ...rows[0], repeated: false };
  } catch (error) {
    if ((error as DatabaseError).code !== '23505') throw error; // the client key was used before
  }
  return explainRefusal(app, raterId, { ...input, presentationId, clientKey }, params);
}

/** Why the statement stored nothing: a retry, a change of answer, or a presentation the rater may not answer. */
async function explainRefusal(app: App, raterId: string, input: SubmitInput, params: unknown[]): Promise<Receipt> {
  const earlier = await app.pool.query(
    `SELECT j.id, j.presentation_id AS "presentationId", j.answer, j.response_ms AS "responseMs", j.received_at AS "receivedAt", p.purpose, i.expected,
            j.chose_p1, j.said_same
     FROM judgments j JOIN presentations p ON p.id = j.presentation_id JOIN test_set_items i ON i.id = p.item_id
     WHERE j.rater_id = $1 AND j.client_key = $2`,
    [raterId, input.clientKey],
  );
  if (earlier.rows[0]) {
    const row = earlier.rows[0];
    if (row.presentationId !== input.presentationId) throw badUserInput('clientKey', 'this client key was used for another presentation');
    if (row.answer !== input.answer) throw badUserInput('clientKey', 'this client key was used for another answer');
    const correct = row.purpose !== 'PRACTICE' ? null : row.expected === 'P1' ? row.chose_p1 : row.expected === 'P0' ? !row.chose_p1 : row.expected === 'SAME' ? row.said_same : !row.said_same;
    return { id: row.id, presentationId: row.presentationId, answer: row.answer, responseMs: row.responseMs, receivedAt: row.receivedAt, repeated: true, correct };
  }
  const { rows } = await app.pool.query(
    `SELECT p.rater_id AS "raterId", p.state, s.kind, st.state AS "studyState", st.protocol -> 'allowAnswerChange' AS "allowChange"
     FROM presentations p JOIN test_set_items i ON i.id = p.item_id JOIN test_sets s ON s.id = i.test_set_id JOIN studies st ON st.id = p.study_id
     WHERE p.id = $1`,
    [input.presentationId],
  );
  const presentation = rows[0];
  if (!presentation) throw notFound('presentation', input.presentationId);
  if (presentation.raterId !== raterId) throw new ForbiddenError('this presentation is not yours');
  if (!ANSWERS[presentation.kind as 'TWO_AFC' | 'JND'].includes(input.answer)) {
    throw badUserInput('answer', `a ${presentation.kind} presentation takes ${ANSWERS[presentation.kind as 'TWO_AFC' | 'JND'].join(' or ')}`);
  }
  if (presentation.studyState !== 'OPEN') throw new AppError('LOCKED', 'this study is closed');
  if (presentation.state === 'WITHDRAWN') throw new AppError('WITHDRAWN', 'this presentation was withdrawn (moved to another rater)');
  if (presentation.state === 'ANSWERED' && presentation.allowChange === true) return changeAnswer(app, params);
  if (presentation.state === 'ANSWERED') throw new AlreadyAnswered(input.presentationId);
  throw new Error(`judgment of presentation ${input.presentationId} was not stored`); // a state the checks above do not know
}

/** A changed answer, where the protocol allows it: the old judgment is kept, marked superseded. */
async function changeAnswer(app: App, params: unknown[]): Promise<Receipt> {
  return inTransaction(app.pool, async (db) => {
    await db.query(`UPDATE judgments SET superseded_at = clock_timestamp() WHERE presentation_id = $1 AND superseded_at IS NULL`, [params[0]]);
    await db.query(`UPDATE presentations SET state = 'OPEN' WHERE id = $1`, [params[0]]);
    const { rows } = await db.query(CLAIM_AND_STORE, params);
    return { ...rows[0], repeated: false };
  });
}

/** The rater's first open presentation in a study (null when they are done), and the one after it. */
export async function nextPresentation(app: App, raterId: string, studyId: string): Promise<NextPresentation | null> {
  assertUuid('studyId', studyId);
  const { rows } = await app.pool.query(
    `SELECT p.id, p.study_id AS "studyId", s.kind, p.purpose, st.protocol,
            (SELECT count(*) FROM presentations q WHERE q.study_id = p.study_id AND q.rater_id = p.rater_id AND q.state <> 'WITHDRAWN' AND q.sequence <= p.sequence)::int AS number,
            (SELECT count(*) FROM presentations q WHERE q.study_id = p.study_id AND q.rater_id = p.rater_id AND q.state <> 'WITHDRAWN')::int AS total,
            (SELECT count(*) FROM presentations q WHERE q.study_id = p.study_id AND q.rater_id = p.rater_id AND q.state <> 'WITHDRAWN' AND q.purpose = 'PRACTICE')::int AS practice
     FROM presentations p JOIN test_set_items i ON i.id = p.item_id JOIN test_sets s ON s.id = i.test_set_id JOIN studies st ON st.id = p.study_id
     WHERE p.study_id = $1 AND p.rater_id = $2 AND p.state = 'OPEN' AND st.state = 'OPEN'
     ORDER BY p.sequence LIMIT 2`,
    [studyId, raterId],
  );
  if (!rows[0]) {
    await requireMembership(app, raterId, studyId);
    return null;
  }
  const [current, after] = rows.map((row) => {
    const protocol = row.protocol as Protocol;
    const judged = row.number - 1 - row.practice; // presentations after the practice block already behind the rater
    return {
      id: row.id,
      studyId: row.studyId,
      kind: row.kind,
      practice: row.purpose === 'PRACTICE',
      number: row.number,
      total: row.total,
      breakBefore: row.purpose !== 'PRACTICE' && protocol.breakEvery > 0 && judged > 0 && judged % protocol.breakEvery === 0,
      slots: (row.kind === 'TWO_AFC' ? ['reference', 'left', 'right'] : ['reference', 'comparison']) as Slot[],
      jnd: row.kind === 'JND' ? protocol.jnd : null,
      zoom: protocol.zoom ?? ZOOM.default, // studies made before the protocol had a zoom show native pixels
    };
  });
  return { ...current, upcoming: after ?? null };
}

export async function requireMembership(app: App, raterId: string, studyId: string): Promise<void> {
  const { rowCount } = await app.pool.query(`SELECT 1 FROM study_raters WHERE study_id = $1 AND rater_id = $2`, [studyId, raterId]);
  if (rowCount === 0) throw notFound('study', studyId); // a study the rater is not in does not exist for them
}

export interface RaterStudy {
  id: string;
  name: string;
  open: boolean;
  answered: number;
  total: number;
  displayChecked: boolean;
}

/** The studies a rater is in, with their own progress only. */
export async function raterStudies(app: App, raterId: string): Promise<RaterStudy[]> {
  const { rows } = await app.pool.query(
    `SELECT st.id, st.name, st.state = 'OPEN' AND sr.withdrawn_at IS NULL AS open,
            count(p.id) FILTER (WHERE p.state = 'ANSWERED')::int AS answered, count(p.id) FILTER (WHERE p.state <> 'WITHDRAWN')::int AS total,
            sr.display_checked_at IS NOT NULL AS "displayChecked"
     FROM study_raters sr JOIN studies st ON st.id = sr.study_id LEFT JOIN presentations p ON p.study_id = sr.study_id AND p.rater_id = sr.rater_id
     WHERE sr.rater_id = $1 GROUP BY st.id, sr.withdrawn_at, sr.display_checked_at ORDER BY st.created_at, st.id`,
    [raterId],
  );
  return rows;
}

/**
 * The blob behind one slot of a presentation, for the image route: only while it is open, and for a rater
 * only their own. 2AFC: the reference, and p0/p1 on the sides the placement recorded; JND: the reference and
 * the comparison (a distorted copy, or the reference again).
 */
export async function presentationPicture(app: App, presentationId: string, slot: Slot, raterId: string | null): Promise<{ contentHash: string; window: DisplayWindow | null }> {
  const { rows } = await app.pool.query(
    `SELECT p.rater_id AS "raterId", p.state, p.swapped, s.kind, i.ref_hash, i.p0_hash, i.p1_hash, i.window_center, i.window_width, st.protocol -> 'window' AS window
     FROM presentations p JOIN test_set_items i ON i.id = p.item_id JOIN test_sets s ON s.id = i.test_set_id JOIN studies st ON st.id = p.study_id
     WHERE p.id = $1`,
    [assertUuid('id', presentationId)],
  );
  const row = rows[0];
  if (!row || row.state !== 'OPEN' || (raterId !== null && row.raterId !== raterId)) throw notFound('open presentation', presentationId);
  const hashes: Partial<Record<Slot, string>> =
    row.kind === 'TWO_AFC'
      ? { reference: row.ref_hash, left: row.swapped ? row.p1_hash : row.p0_hash, right: row.swapped ? row.p0_hash : row.p1_hash }
      : { reference: row.p0_hash, comparison: row.p1_hash };
  const contentHash = hashes[slot];
  if (!contentHash) throw notFound(`${slot} image of presentation`, presentationId);
  const window = row.window ?? (row.window_center === null ? null : { center: row.window_center, width: row.window_width });
  return { contentHash, window };
}
