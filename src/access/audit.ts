/**
 * The audit log: every mutation and upload, who asked (token and role), what it named or returned (ids),
 * and how it ended. Rows are only ever inserted (a trigger refuses changes; see the Access migration).
 */
import { AuditEntry } from '../entities/AuditEntry';
import type { App } from '../platform/app';
import type { Principal } from '../platform/context';
import { assertUuid, badUserInput, isUuid, requireIntInRange } from '../platform/errors';

export interface AuditRecord {
  principal: Principal | null;
  operation: string;
  affectedIds: string[];
  /** OK, or the error code. */
  outcome: string;
  clientAddress: string | null;
}

export async function recordAudit(app: App, records: AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  const values = records.flatMap((record) => [
    record.principal?.tokenId ?? null,
    record.principal?.role ?? null,
    record.operation,
    record.affectedIds,
    record.outcome,
    record.clientAddress,
  ]);
  const rows = records.map((_, index) => `(${[1, 2, 3, 4, 5, 6].map((column) => `$${index * 6 + column}`).join(', ')})`);
  await app.pool.query(
    `INSERT INTO audit_log (token_id, role, operation, affected_ids, outcome, client_address) VALUES ${rows.join(', ')}`,
    values,
  );
}

const MAX_IDS = 100;

/**
 * The ids an operation named (UUIDs anywhere in its arguments) and returned (the result's `id`, and the
 * `id` of objects it holds one level down: `{ model: { id } }`), at most 100. Never other values, which
 * may be secrets (an invitation code).
 */
export function affectedIds(args: unknown, result: unknown): string[] {
  const ids = new Set<string>();
  const fromArgs = (value: unknown, depth: number): void => {
    if (ids.size >= MAX_IDS || depth > 6) return;
    if (typeof value === 'string' && isUuid(value)) ids.add(value.toLowerCase());
    else if (Array.isArray(value)) value.forEach((item) => fromArgs(item, depth + 1));
    else if (value && typeof value === 'object') Object.values(value).forEach((item) => fromArgs(item, depth + 1));
  };
  const idOf = (value: unknown) => {
    const id = (value as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && ids.size < MAX_IDS) ids.add(id);
  };
  fromArgs(args, 0);
  if (result && typeof result === 'object') {
    idOf(result);
    for (const value of Object.values(result)) if (value && typeof value === 'object' && !Array.isArray(value)) idOf(value);
  }
  return [...ids];
}

export async function listAudit(
  app: App,
  options: { first: number; before?: string | null; operation?: string | null; tokenId?: string | null },
): Promise<AuditEntry[]> {
  const first = requireIntInRange('first', options.first, 1, 1000);
  if (options.before !== null && options.before !== undefined && !/^\d{1,18}$/.test(options.before)) {
    throw badUserInput('before', 'must be the id of an audit entry');
  }
  if (options.tokenId) assertUuid('tokenId', options.tokenId);
  const { rows } = await app.pool.query(
    `SELECT id::text, at, token_id AS "tokenId", role, operation, affected_ids AS "affectedIds", outcome, client_address AS "clientAddress"
     FROM audit_log
     WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR operation = $2) AND ($3::uuid IS NULL OR token_id = $3)
     ORDER BY audit_log.id DESC LIMIT $4`,
    [options.before ?? null, options.operation ?? null, options.tokenId ?? null, first],
  );
  return rows.map((row) => Object.assign(new AuditEntry(), row));
}
