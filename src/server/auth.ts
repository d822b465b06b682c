/**
 * Authentication at the edge, for HTTP requests and WebSocket connections alike: the bearer token of a
 * request becomes its principal (access/tokens.ts), or the request is refused with UNAUTHENTICATED. Failed
 * attempts are counted per client address (rate-limiter-flexible): after MEDPSIM_AUTH_FAILURES_PER_MINUTE
 * in a minute, that address's credentials are refused (TOO_MANY_REQUESTS) for a minute, good ones too.
 * Requests without credentials still reach the public routes (a health check behind the same proxy).
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';

const BLOCK_MS = 60_000;
import { ACCESS_SETTINGS } from '../access/settings';
import { authenticate, bearerToken } from '../access/tokens';
import type { App } from '../platform/app';
import type { Principal } from '../platform/context';
import { AppError, UnauthenticatedError } from '../platform/errors';

export class TooManyRequestsError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', `too many failed authentications from this address; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
}

export class Authenticator {
  private readonly failures: RateLimiterMemory;
  /** Blocked addresses and until when (ms): checked on every request with credentials, without a promise. */
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly app: App,
    /** Express's compiled "trust proxy" function, so that WebSocket clients are named as HTTP ones are. */
    private readonly trustProxy: (address: string, hop: number) => boolean,
  ) {
    const limit = app.settings(ACCESS_SETTINGS).authFailuresPerMinute;
    this.failures = new RateLimiterMemory({ points: limit, duration: 60 });
  }

  clientAddress(request: IncomingMessage): string | null {
    try {
      return proxyAddr(request, this.trustProxy);
    } catch {
      return request.socket.remoteAddress ?? null;
    }
  }

  /** The principal of an Authorization value (null without one); throws UNAUTHENTICATED or TOO_MANY_REQUESTS. */
  async principalOf(authorization: unknown, address: string | null): Promise<Principal | null> {
    if (authorization === undefined) return null;
    this.assertNotBlocked(address);
    try {
      if (typeof authorization !== 'string') throw new UnauthenticatedError('the authorization value must be a string: "Bearer <token>"');
      const token = bearerToken(authorization);
      return token === null ? null : await authenticate(this.app, token);
    } catch (error) {
      if (error instanceof UnauthenticatedError) await this.failed(address);
      throw error;
    }
  }

  assertNotBlocked(address: string | null): void {
    const key = address ?? 'unknown';
    const until = this.blockedUntil.get(key);
    if (until === undefined) return;
    const left = until - Date.now();
    if (left <= 0) this.blockedUntil.delete(key);
    else throw new TooManyRequestsError(Math.ceil(left / 1000));
  }

  /** Counts a failed attempt (a bad token, a bad image signature); the limit's last one blocks the address. */
  async failed(address: string | null): Promise<void> {
    const key = address ?? 'unknown';
    const state = await this.failures.consume(key).catch((refusal: RateLimiterRes) => refusal);
    if (state.remainingPoints > 0) return;
    const now = Date.now();
    if (this.blockedUntil.size > 10_000) for (const [other, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(other);
    this.blockedUntil.set(key, now + BLOCK_MS);
  }
}
