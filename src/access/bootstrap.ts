/**
 * The first admin token, and the one Apollo Sandbox gets on the server machine.
 *
 * At start, a serving process makes an ADMIN token when there is none (besides Sandbox ones) and writes it
 * to data/secrets/admin-token (mode 0600), where the CLI on the same machine finds it; the start message
 * names the file, never the token. Sandbox opened in a browser on the server machine is given a token of
 * its own (ADMIN, 12 h, made on first need and kept in memory only), so that a newcomer copies nothing by
 * hand; src/server/landing-page.ts decides who counts as "on the server machine".
 */
import { promises as fs } from 'node:fs';
import { TokenOrigin } from '../entities/ApiToken';
import { appService, type App } from '../platform/app';
import { inTransaction } from '../platform/database';
import { Role } from '../platform/context';
import { secretPath, writeSecret } from '../platform/secrets';
import { issueToken } from './tokens';

export const ADMIN_TOKEN_FILE = 'admin-token';
const SANDBOX_HOURS = 12;

export interface AdminTokenState {
  /** data/secrets/admin-token, when it exists. */
  file: string | null;
  /** A token was made (and written to the file) by this call. */
  created: boolean;
}

export async function ensureAdminToken(app: App): Promise<AdminTokenState> {
  const file = secretPath(app.config.dataDir, ADMIN_TOKEN_FILE);
  const created = await inTransaction(app.pool, async (db) => {
    // Several processes may start at once against one database: one makes the token.
    await db.query(`SELECT pg_advisory_xact_lock(hashtext('medpsim.admin-token'))`);
    const { rows } = await db.query(
      `SELECT 1 FROM api_tokens WHERE role = 'ADMIN' AND origin <> 'SANDBOX' AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
    );
    if (rows.length > 0) return false;
    const { secret } = await issueToken(db, { label: 'first admin token (data/secrets/admin-token)', role: Role.ADMIN, origin: TokenOrigin.BOOTSTRAP, expiresAt: null });
    await writeSecret(app.config.dataDir, ADMIN_TOKEN_FILE, `${secret}\n`); // before COMMIT: a token nobody holds is never kept
    return true;
  });
  const exists = await fs.access(file).then(() => true, () => false);
  return { file: exists ? file : null, created };
}

interface SandboxToken {
  secret: string;
  expiresAt: number;
}

const sandboxTokens = appService((): { value: SandboxToken | null; pending: Promise<SandboxToken> | null } => ({ value: null, pending: null }));

/** This process's Sandbox token, renewed when less than an hour is left. */
export async function sandboxToken(app: App): Promise<string> {
  const state = sandboxTokens(app);
  if (state.value && state.value.expiresAt - Date.now() >= 3_600_000) return state.value.secret;
  state.pending ??= (async () => {
    const expiresAt = Date.now() + SANDBOX_HOURS * 3_600_000;
    const { secret } = await issueToken(app.pool, {
      label: `Apollo Sandbox on the server machine (process ${process.pid})`,
      role: Role.ADMIN,
      origin: TokenOrigin.SANDBOX,
      expiresAt: new Date(expiresAt),
    });
    return (state.value = { secret, expiresAt });
  })().finally(() => (state.pending = null));
  return (await state.pending).secret;
}
