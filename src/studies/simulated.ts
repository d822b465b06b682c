/**
 * Simulated raters: accounts marked simulated (pseudonyms S-xxxxxx), each reached with a RATER token, in a
 * study like any rater. A client (medpsim simulate-panel) answers as them through the public API. Their
 * judgments are marked simulated everywhere and left out of analyses unless asked for.
 */
import { insertSimulatedRaters } from '../access/raters';
import { issueToken } from '../access/tokens';
import { TokenOrigin } from '../entities/ApiToken';
import type { App } from '../platform/app';
import { Role } from '../platform/context';
import { inTransaction } from '../platform/database';
import { checkText, requireIntInRange } from '../platform/errors';
import type { PoolClient } from 'pg';
import { addStudyRaters, getStudy, type PanelChange } from './service';

/** Simulated raters' tokens live a week: long enough for any run, short enough not to linger. */
const TOKEN_HOURS = 24 * 7;

export interface SimulatedRater {
  raterId: string;
  pseudonym: string;
  token: string;
}

async function tokensFor(db: PoolClient, raters: Array<{ id: string; pseudonym: string }>): Promise<SimulatedRater[]> {
  const out: SimulatedRater[] = [];
  for (const rater of raters) {
    const issued = await issueToken(db, {
      label: `simulated rater ${rater.pseudonym}`,
      role: Role.RATER,
      origin: TokenOrigin.CREATED,
      expiresAt: new Date(Date.now() + TOKEN_HOURS * 3_600_000),
      raterId: rater.id,
    });
    out.push({ raterId: rater.id, pseudonym: rater.pseudonym, token: issued.secret });
  }
  return out;
}

/** New simulated raters joining a study (as addStudyRaters does), with their tokens. */
export async function addSimulatedRaters(app: App, studyId: string, count: number, observer: string): Promise<{ change: PanelChange; raters: SimulatedRater[] }> {
  await getStudy(app, studyId, 'studyId');
  requireIntInRange('count', count, 1, 100);
  const label = checkText('observer', observer, 200);
  const raters = await inTransaction(app.pool, async (db) => tokensFor(db, await insertSimulatedRaters(db, count, label)));
  const change = await addStudyRaters(app, studyId, raters.map((rater) => rater.raterId));
  return { change, raters };
}

/** Fresh tokens for the study's active simulated raters (e.g. those createStudy made). */
export async function simulatedRaterTokens(app: App, studyId: string): Promise<SimulatedRater[]> {
  const study = await getStudy(app, studyId, 'studyId');
  return inTransaction(app.pool, async (db) => {
    const { rows } = await db.query<{ id: string; pseudonym: string }>(
      `SELECT r.id, r.pseudonym FROM study_raters sr JOIN raters r ON r.id = sr.rater_id
       WHERE sr.study_id = $1 AND sr.withdrawn_at IS NULL AND r.simulated ORDER BY sr.stream`,
      [study.id],
    );
    return tokensFor(db, rows);
  });
}
