/**
 * API tokens: `mpsim_<8 hex>_<43 base64url>`, 256 random bits after a visible prefix. Only the SHA-256 of
 * the whole token is stored; the token itself is shown once, when it is made.
 *
 * A request's token is found by its prefix and compared by hash in constant time. Valid tokens are kept in
 * a per-process cache (so that checking a token costs no query); a revoked token is dropped from it at
 * once in this process, and in every other one through a PostgreSQL notification. Entries are also
 * re-read after 30 s, and all are dropped when the notification connection was lost, in case a revocation
 * was missed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { ApiToken, TokenOrigin } from '../entities/ApiToken';
import { appService, type App } from '../platform/app';
import { Role, type Principal } from '../platform/context';
import { assertUuid, badUserInput, checkText, notFound, UnauthenticatedError } from '../platform/errors';
import { notify } from '../platform/notifications';

export const TOKENS_CHANNEL = 'medpsim_tokens';
const TOKEN = /^mpsim_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;
const CACHE_MS = 30_000;
const LAST_USED_EVERY_MS = 60_000;

type Queryable = Pool | PoolClient;

export interface NewToken {
  /** The token itself: give it to its holder now, it cannot be shown again. */
  secret: string;
  token: ApiToken;
}

interface CachedToken {
  principal: Principal;
  hash: Buffer;
  loadedAt: number;
}

function hashOf(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

class TokenCache {
  readonly byPrefix = new Map<string, CachedToken>();
  readonly lastUsedWritten = new Map<string, number>();
  private readonly revokedListeners = new Set<(tokenId: string) => void>();

  constructor(private readonly app: App) {}

  async start(): Promise<void> {
    await this.app.notifications.listen(TOKENS_CHANNEL);
    this.app.notifications.onChannel(TOKENS_CHANNEL, (tokenId) => this.forget(tokenId));
    this.app.notifications.onReconnect(() => this.byPrefix.clear());
  }

  forget(tokenId: string): void {
    for (const [prefix, entry] of this.byPrefix) if (entry.principal.tokenId === tokenId) this.byPrefix.delete(prefix);
    for (const listener of this.revokedListeners) listener(tokenId);
  }

  onRevoked(listener: (tokenId: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }
}

const tokenCache = appService((app) => new TokenCache(app));

/** Listens for revocations made by other processes; the access module calls it at start. */
export function startTokenCache(app: App): Promise<void> {
  return tokenCache(app).start();
}

/** Calls listener with the id of each token revoked from now on (in any process). */
export function onTokenRevoked(app: App, listener: (tokenId: string) => void): () => void {
  return tokenCache(app).onRevoked(listener);
}

/** The token of an Authorization header; null without a header. Anything but "Bearer <token>" is refused. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer +(\S+)\s*$/i.exec(header);
  if (!match) throw new UnauthenticatedError('malformed Authorization header: expected "Authorization: Bearer <token>"');
  return match[1];
}

const INVALID = 'invalid token: unknown, expired or revoked';

/** The principal of a token; UNAUTHENTICATED (one message for unknown, expired and revoked) otherwise. */
export async function authenticate(app: App, secret: string): Promise<Principal> {
  const match = TOKEN.exec(secret);
  if (!match) throw new UnauthenticatedError(INVALID);
  const prefix = `mpsim_${match[1]}`;
  const cache = tokenCache(app);
  const now = Date.now();
  let entry: CachedToken | null | undefined = cache.byPrefix.get(prefix);
  if (!entry || now - entry.loadedAt > CACHE_MS) {
    entry = await loadToken(app.pool, prefix, now);
    if (entry) cache.byPrefix.set(prefix, entry);
    else cache.byPrefix.delete(prefix);
  }
  // Compared even when there is no such token, so that the time taken does not tell.
  const hash = hashOf(secret);
  const equal = timingSafeEqual(hash, entry?.hash ?? Buffer.alloc(32));
  const expiresAt = entry?.principal.expiresAt ?? null;
  if (!entry || !equal || (expiresAt !== null && expiresAt <= now)) throw new UnauthenticatedError(INVALID);
  noteUse(app, entry.principal.tokenId, now);
  return entry.principal;
}

async function loadToken(db: Queryable, prefix: string, now: number): Promise<CachedToken | null> {
  const { rows } = await db.query<{ id: string; role: Role; rater_id: string | null; secret_hash: Buffer; expires_at: Date | null }>(
    `SELECT id, role, rater_id, secret_hash, expires_at FROM api_tokens WHERE prefix = $1 AND revoked_at IS NULL`,
    [prefix],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    principal: { tokenId: row.id, role: row.role, raterId: row.rater_id, prefix, expiresAt: row.expires_at ? row.expires_at.getTime() : null },
    hash: row.secret_hash,
    loadedAt: now,
  };
}

/** last_used_at, written at most once a minute per token and never in the request's way. */
function noteUse(app: App, tokenId: string, now: number): void {
  const cache = tokenCache(app);
  if (now - (cache.lastUsedWritten.get(tokenId) ?? 0) < LAST_USED_EVERY_MS) return;
  cache.lastUsedWritten.set(tokenId, now);
  app.pool
    .query(`UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, [tokenId])
    .catch((error) => console.error('[access] noting a token use:', (error as Error).message));
}

export interface TokenRequest {
  label: string;
  role: Role;
  expiresInDays?: number | null;
}

/** Checks a client's request for a token (RATER tokens come from invitations only). */
export function checkTokenRequest(request: TokenRequest): { label: string; role: Role; expiresAt: Date | null } {
  const label = checkText('label', request.label, 100);
  if (!Object.values(Role).includes(request.role)) throw badUserInput('role', `must be one of ${Object.values(Role).join(', ')}`);
  if (request.role === Role.RATER) throw badUserInput('role', 'RATER tokens come from invitations: createRater, then the rater accepts the code');
  const days = request.expiresInDays;
  if (days !== null && days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650)) {
    throw badUserInput('expiresInDays', `must be an integer in [1, 3650] (or null: no expiry), got ${days}`, { min: 1, max: 3650 });
  }
  return { label, role: request.role, expiresAt: days ? new Date(Date.now() + days * 86_400_000) : null };
}

/** Makes a token; the secret is returned once and only its hash is stored. */
export async function issueToken(
  db: Queryable,
  spec: { label: string; role: Role; origin: TokenOrigin; expiresAt: Date | null; raterId?: string | null; createdBy?: string | null },
): Promise<NewToken> {
  for (;;) {
    const prefix = `mpsim_${randomBytes(4).toString('hex')}`;
    const secret = `${prefix}_${randomBytes(32).toString('base64url')}`;
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO api_tokens (prefix, secret_hash, label, role, origin, rater_id, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (prefix) DO NOTHING RETURNING id`,
      [prefix, hashOf(secret), spec.label, spec.role, spec.origin, spec.raterId ?? null, spec.createdBy ?? null, spec.expiresAt],
    );
    if (rows.length === 0) continue; // a prefix taken already (1 in 4 billion): draw again
    return { secret, token: await tokenById(db, rows[0].id) };
  }
}

const TOKEN_COLUMNS = `id, prefix, label, role, origin, rater_id AS "raterId", created_at AS "createdAt", created_by AS "createdBy",
  expires_at AS "expiresAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"`;

function asToken(row: Record<string, unknown>): ApiToken {
  return Object.assign(new ApiToken(), row);
}

export async function tokenById(db: Queryable, id: string): Promise<ApiToken> {
  const { rows } = await db.query(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = $1`, [id]);
  if (!rows[0]) throw notFound('token', id);
  return asToken(rows[0]);
}

export async function listTokens(app: App, options: { includeInactive: boolean; role?: Role | null }): Promise<ApiToken[]> {
  const { rows } = await app.pool.query(
    `SELECT ${TOKEN_COLUMNS} FROM api_tokens
     WHERE ($1 OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()))) AND ($2::text IS NULL OR role = $2)
     ORDER BY created_at DESC`,
    [options.includeInactive, options.role ?? null],
  );
  return rows.map(asToken);
}

/** Revokes a token (by id or prefix): it fails its next request, and its open subscriptions are closed. */
export async function revokeToken(app: App, idOrPrefix: string): Promise<ApiToken> {
  const byPrefix = /^mpsim_[0-9a-f]{8}$/.test(idOrPrefix);
  if (!byPrefix) assertUuid('id', idOrPrefix);
  const { rows } = await app.pool.query<{ id: string }>(
    `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE ${byPrefix ? 'prefix' : 'id'} = $1 RETURNING id`,
    [idOrPrefix],
  );
  if (!rows[0]) throw notFound('token', idOrPrefix);
  const tokenId = rows[0].id;
  tokenCache(app).forget(tokenId); // this process: at once
  await notify(app.pool, TOKENS_CHANNEL, tokenId); // the others
  return tokenById(app.pool, tokenId);
}
