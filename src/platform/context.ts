/**
 * Who is asking: the roles, the principal a request runs as, and the context every resolver and route
 * gets. Which role may do what is declared beside each operation (src/resolvers/guards.ts); tokens are
 * issued and checked by the access module.
 */
import type { App } from './app';

export enum Role {
  /** Everything, accounts and tokens included. */
  ADMIN = 'ADMIN',
  /** What scripts do: imports, uploads, distortion and training jobs, model registration, scoring, exports. */
  PIPELINE = 'PIPELINE',
  /** Reads everything but secrets; starts scoring, analyses and exports. */
  ANALYST = 'ANALYST',
  /** A physician: only their own assignments, judgments and the images of items assigned to them. */
  RATER = 'RATER',
}

export const ALL_ROLES: readonly Role[] = [Role.ADMIN, Role.PIPELINE, Role.ANALYST, Role.RATER];

export interface Principal {
  tokenId: string;
  role: Role;
  /** The rater a RATER token belongs to. */
  raterId: string | null;
  /** The token's short visible prefix, for logs. */
  prefix: string;
  /** When the token expires (ms since the epoch); null: never. */
  expiresAt: number | null;
}

/** Who may call an operation or route: anyone (public), or a token of one of these roles. */
export type AccessRule = { readonly public: true } | { readonly roles: readonly Role[] };

export function allows(rule: AccessRule, principal: Principal | null): boolean {
  if ('public' in rule) return true;
  return principal !== null && rule.roles.includes(principal.role);
}

export function describeRule(rule: AccessRule): string {
  return 'public' in rule ? 'anyone (no token)' : rule.roles.join(', ');
}

export interface RequestContext {
  app: App;
  /** The token's holder; null for requests without one (public operations only). */
  principal: Principal | null;
  /** Origin clients reach this server at, for absolute links (MEDPSIM_PUBLIC_URL, else from the request). */
  baseUrl: string;
  /** The client's address (for the audit log and rate limits). */
  clientAddress: string | null;
  /** Aborted when the client goes away before its answer (interactive work stops then). */
  signal: AbortSignal;
}
