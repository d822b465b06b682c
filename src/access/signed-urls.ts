/**
 * Short-lived signed links to images, for <img> tags (the reading app, analysis pages), which cannot send a
 * bearer token, and a token never goes into a URL. A link is `<path>?exp=<unix seconds>&sig=<HMAC>`; the
 * HMAC-SHA256 covers the path (so it opens that image, in that collection, only) and the expiry. Expiries
 * are rounded up to 5 minutes, so the same image gets the same link for a while and browsers can cache it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { appService } from '../platform/app';
import type { App } from '../platform/app';
import { loadSecretKey } from '../platform/secrets';
import { ACCESS_SETTINGS } from './settings';

const ROUND_S = 300;

const signingKey = appService((app) => loadSecretKey(app.config.dataDir, 'url-signing.key', app.config.env.MEDPSIM_URL_SIGNING_KEY));

function signature(key: Buffer, path: string, expires: number): string {
  return createHmac('sha256', key).update(`${path}\n${expires}`).digest('base64url');
}

/** `path?exp=...&sig=...`, valid for MEDPSIM_SIGNED_URL_SECONDS (and up to 5 minutes more). */
export async function signedPath(app: App, path: string, now = Date.now()): Promise<string> {
  const ttl = app.settings(ACCESS_SETTINGS).signedUrlSeconds;
  const expires = Math.ceil((now / 1000 + ttl) / ROUND_S) * ROUND_S;
  return `${path}?exp=${expires}&sig=${signature(await signingKey(app), path, expires)}`;
}

export type SignatureCheck = 'valid' | 'expired' | 'invalid';

/** Checks the exp/sig query of a request for `path` (in constant time). */
export async function checkSignature(app: App, path: string, query: { exp?: unknown; sig?: unknown }, now = Date.now()): Promise<SignatureCheck> {
  const expires = Number(query.exp);
  if (typeof query.exp !== 'string' || typeof query.sig !== 'string' || !Number.isSafeInteger(expires)) return 'invalid';
  const expected = Buffer.from(signature(await signingKey(app), path, expires));
  const given = Buffer.from(query.sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return expires * 1000 > now ? 'valid' : 'expired';
}
