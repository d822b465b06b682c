/**
 * Raters are people: each gets a pseudonym at creation (what exports and analyses show) and signs in with a
 * one-time, expiring invitation code, which the reading app exchanges for the rater's own RATER token.
 * Codes are 128 random bits, stored only as their SHA-256; a new invitation withdraws the rater's unused ones.
 */
import { createHash, randomBytes } from 'node:crypto';
import { TokenOrigin } from '../entities/ApiToken';
import { Rater } from '../entities/Rater';
import type { PoolClient } from 'pg';
import type { App } from '../platform/app';
import { inTransaction } from '../platform/database';
import { Role } from '../platform/context';
import { AppError, assertUuid, badUserInput, checkOptionalText, checkText, notFound } from '../platform/errors';
import { ACCESS_SETTINGS } from './settings';
import { issueToken, type NewToken } from './tokens';

export interface RaterInput {
  displayName: string;
  specialty?: string | null;
  yearsOfExperience?: number | null;
}

export interface Invitation {
  rater: Rater;
  code: string;
  expiresAt: Date;
}

function codeHash(code: string): Buffer {
  return createHash('sha256').update(code, 'utf8').digest();
}

const RATER_COLUMNS = `id, pseudonym, display_name AS "displayName", specialty, years_of_experience AS "yearsOfExperience", simulated, created_at AS "createdAt"`;

function asRater(row: Record<string, unknown>): Rater {
  return Object.assign(new Rater(), row);
}

function checkHours(hours: number | null | undefined, fallback: number): number {
  const value = hours ?? fallback;
  if (!Number.isInteger(value) || value < 1 || value > 720) {
    throw badUserInput('expiresInHours', `must be an integer in [1, 720], got ${value}`, { min: 1, max: 720 });
  }
  return value;
}

export async function createRater(app: App, input: RaterInput, expiresInHours?: number | null): Promise<Invitation> {
  const displayName = checkText('displayName', input.displayName, 100);
  const specialty = checkOptionalText('specialty', input.specialty, 100);
  const years = input.yearsOfExperience ?? null;
  if (years !== null && (!Number.isInteger(years) || years < 0 || years > 80)) {
    throw badUserInput('yearsOfExperience', `must be an integer in [0, 80], got ${years}`, { min: 0, max: 80 });
  }
  const hours = checkHours(expiresInHours, app.settings(ACCESS_SETTINGS).invitationHours);
  return inTransaction(app.pool, async (db) => {
    let rater: Rater | null = null;
    while (!rater) {
      const { rows } = await db.query(
        `INSERT INTO raters (pseudonym, display_name, specialty, years_of_experience) VALUES ($1, $2, $3, $4)
         ON CONFLICT (pseudonym) DO NOTHING RETURNING ${RATER_COLUMNS}`,
        [`R-${randomBytes(3).toString('hex')}`, displayName, specialty, years],
      );
      if (rows[0]) rater = asRater(rows[0]); // else the pseudonym was taken: draw again
    }
    return { rater, ...(await addInvitation(db, rater.id, hours)) };
  });
}

/** A new invitation for a rater (e.g. on another browser); their unused ones are withdrawn. */
export async function inviteRater(app: App, raterId: string, expiresInHours?: number | null): Promise<Invitation> {
  const rater = await getRater(app, raterId);
  const hours = checkHours(expiresInHours, app.settings(ACCESS_SETTINGS).invitationHours);
  return inTransaction(app.pool, async (db) => {
    await db.query(`UPDATE rater_invitations SET withdrawn_at = now() WHERE rater_id = $1 AND used_at IS NULL AND withdrawn_at IS NULL`, [rater.id]);
    return { rater, ...(await addInvitation(db, rater.id, hours)) };
  });
}

async function addInvitation(db: PoolClient, raterId: string, hours: number): Promise<{ code: string; expiresAt: Date }> {
  const code = randomBytes(16).toString('base64url');
  const expiresAt = new Date(Date.now() + hours * 3_600_000);
  await db.query(`INSERT INTO rater_invitations (rater_id, code_hash, expires_at) VALUES ($1, $2, $3)`, [raterId, codeHash(code), expiresAt]);
  return { code, expiresAt };
}

/** INVITATION_INVALID, with why: the code is unknown, used, withdrawn or expired. */
export class InvitationError extends AppError {
  constructor(reason: 'UNKNOWN' | 'USED' | 'WITHDRAWN' | 'EXPIRED') {
    const why = {
      UNKNOWN: 'is not a code this server issued',
      USED: 'has been used already',
      WITHDRAWN: 'was replaced by a newer invitation',
      EXPIRED: 'has expired',
    }[reason];
    super('INVITATION_INVALID', `this invitation code ${why}; ask the study's administrator for a new invitation`, { reason });
  }
}

/** Exchanges a one-time code for the rater's token (shown once). */
export async function acceptInvitation(app: App, code: string): Promise<NewToken> {
  if (!/^[A-Za-z0-9_-]{22}$/.test(code.trim())) throw new InvitationError('UNKNOWN');
  return inTransaction(app.pool, async (db) => {
    const { rows } = await db.query<{ id: string; rater_id: string; used_at: Date | null; withdrawn_at: Date | null; expired: boolean; pseudonym: string }>(
      `SELECT i.id, i.rater_id, i.used_at, i.withdrawn_at, i.expires_at <= now() AS expired, r.pseudonym
       FROM rater_invitations i JOIN raters r ON r.id = i.rater_id WHERE i.code_hash = $1 FOR UPDATE OF i`,
      [codeHash(code.trim())],
    );
    const invitation = rows[0];
    if (!invitation) throw new InvitationError('UNKNOWN');
    if (invitation.used_at) throw new InvitationError('USED');
    if (invitation.withdrawn_at) throw new InvitationError('WITHDRAWN');
    if (invitation.expired) throw new InvitationError('EXPIRED');
    const issued = await issueToken(db, {
      label: `rater ${invitation.pseudonym}`,
      role: Role.RATER,
      origin: TokenOrigin.INVITATION,
      expiresAt: null,
      raterId: invitation.rater_id,
    });
    await db.query(`UPDATE rater_invitations SET used_at = now(), token_id = $2 WHERE id = $1`, [invitation.id, issued.token.id]);
    return issued;
  });
}

export async function getRater(app: App, id: string): Promise<Rater> {
  const { rows } = await app.pool.query(`SELECT ${RATER_COLUMNS} FROM raters WHERE id = $1`, [assertUuid('id', id)]);
  if (!rows[0]) throw notFound('rater', id);
  return asRater(rows[0]);
}

export async function listRaters(app: App): Promise<Rater[]> {
  const { rows } = await app.pool.query(`SELECT ${RATER_COLUMNS} FROM raters ORDER BY created_at, pseudonym`);
  return rows.map(asRater);
}

/** Simulated rater accounts (pseudonyms S-xxxxxx, marked simulated), made in the caller's transaction. */
export async function insertSimulatedRaters(db: PoolClient, count: number, observer: string): Promise<Array<{ id: string; pseudonym: string }>> {
  const made: Array<{ id: string; pseudonym: string }> = [];
  while (made.length < count) {
    const pseudonym = `S-${randomBytes(3).toString('hex')}`;
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO raters (pseudonym, display_name, simulated) VALUES ($1, $2, true) ON CONFLICT (pseudonym) DO NOTHING RETURNING id`,
      [pseudonym, `simulated: ${observer}`],
    );
    if (rows[0]) made.push({ id: rows[0].id, pseudonym }); // else the pseudonym was taken: draw again
  }
  return made;
}
