/**
 * Which worker runs which unit, so that the unit of a worker that died is handed out again at once rather
 * than when pg-boss's expiry (hours, for a training) comes round.
 *
 * A worker process holds one PostgreSQL connection for its leases and, for each unit it runs, an advisory
 * lock on that connection, beside a job_units row naming the lock. PostgreSQL drops the locks of a
 * connection that dies with its process; any worker's reaper then finds rows whose lock it can take: those
 * units lost their worker. The lock is taken before the row is written and released after it is deleted,
 * so a row whose lock is free belongs to nobody.
 *
 * Each change of a unit's pg-boss state and of its row is one transaction, so that no moment exists at which
 * a unit is "active" in pg-boss without a row saying who runs it (a worker dying then would leave it to
 * pg-boss's expiry):
 * - claim: pg-boss's fetch (the unit becomes active), the lock and the row, on the lease connection;
 * - settle: the row deleted and the unit completed, failed or handed back (a worker dying before the
 *   commit leaves the row, whose lock its death frees: a reaper settles it);
 * - reap: a dead worker's row deleted and its unit failed (to be retried) or cancelled.
 */
import type PgBoss from 'pg-boss';
import pg from 'pg';
import { WORKER_ID } from './store';

/** The first key of our two-key advisory locks (a key space of its own; the second key is job_units.lock_key). */
const LOCK_SPACE = 7_301_121;

/** pg-boss's statements on one of our connections (its `db` option), e.g. in our transaction. */
export function executor(client: pg.ClientBase): PgBoss.Db {
  return { executeSql: (text: string, values: unknown[]) => client.query(text, values) };
}

export interface Lease {
  /**
   * Runs `change` (the unit's new pg-boss state, on the connection it is given) in the transaction that
   * deletes the unit's row, then releases the lock. When the row is no longer this lease's (a reaper took
   * it after the lease connection was lost), nothing is changed: the reaper settled the unit.
   */
  settle(change: (db: pg.PoolClient) => Promise<void>): Promise<void>;
}

export interface Claimed<T> {
  unit: T;
  lease: Lease;
}

export interface LostUnit {
  unitId: string;
  queue: string;
  jobId: string;
}

interface Unit {
  id: string;
  data: { jobId: string };
}

export class Leases {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  /** The lease connection runs one thing at a time (a claim is a transaction on it). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    /** Called when the lease connection is lost: every unit of this process must stop. */
    private readonly onLost: (error: Error) => void,
  ) {}

  /**
   * The next unit of a queue with its lease, or null when there is none to run: none queued, or the one
   * fetched is run by a live worker already (a repeated delivery, e.g. after pg-boss's expiry; it is left
   * to that worker). `fetch` is pg-boss's fetch with the `db` it is given; `mine` tells this process's
   * running units (whose locks its own connection would take again: they nest).
   */
  claim<T extends Unit>(queue: string, fetch: (db: PgBoss.Db) => Promise<T[]>, mine: (unitId: string) => boolean): Promise<Claimed<T> | null> {
    return this.exclusive(async (client) => {
      let key: number | null = null;
      await client.query('BEGIN');
      try {
        const [unit] = await fetch(executor(client));
        if (!unit) {
          await client.query('ROLLBACK'); // also ends a transaction a failed fetch aborted (pg-boss swallows the error)
          return null;
        }
        if (mine(unit.id)) {
          await client.query('COMMIT'); // delivered again while this process runs it: ours to settle
          return null;
        }
        const { rows } = await client.query<{ key: number }>(`SELECT nextval('job_unit_locks')::int AS key`);
        key = rows[0].key;
        await client.query(`SELECT pg_advisory_lock($1, $2)`, [LOCK_SPACE, key]); // a new key: never waits
        for (let written = false; !written; ) {
          const inserted = await client.query(
            `INSERT INTO job_units (unit_id, queue, job_id, lock_key, worker) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (unit_id) DO NOTHING`,
            [unit.id, queue, unit.data.jobId, key, WORKER_ID],
          );
          const row = inserted.rowCount === 1 ? 'taken' : await this.takeOver(client, unit.id, key);
          if (row === 'held') {
            await client.query('COMMIT'); // a live worker runs it: it stays active, that worker settles it
            await this.unlock(client, key);
            return null;
          }
          written = row === 'taken'; // 'gone': deleted since the insert, so insert again
        }
        await client.query('COMMIT');
        return { unit, lease: this.lease(client, unit.id, key) };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        if (key !== null) await this.unlock(client, key).catch(() => {});
        throw error;
      }
    });
  }

  /**
   * Units whose worker died: each row is deleted (under its free lock) in a transaction with `handle`, which
   * changes the unit's pg-boss state on the connection it is given (fail to retry, or cancel), so that a
   * reaper dying half-way leaves the row for the next one. Returns those units. `mine` skips this
   * process's own units.
   */
  async reap(mine: (unitId: string) => boolean, handle: (unit: LostUnit, db: pg.ClientBase) => Promise<void>): Promise<LostUnit[]> {
    const { rows } = await this.pool.query<{ unit_id: string; queue: string; job_id: string; lock_key: number }>(
      `SELECT unit_id, queue, job_id, lock_key FROM job_units`,
    );
    const candidates = rows.filter((row) => !mine(row.unit_id));
    if (candidates.length === 0) return [];
    // A connection of its own: on the lease connection our own locks would be taken again (they nest).
    const client = new pg.Client({ connectionString: this.url });
    client.on('error', () => {});
    await client.connect();
    const lost: LostUnit[] = [];
    try {
      for (const row of candidates) {
        const { rows: locked } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, $2) AS ok`, [LOCK_SPACE, row.lock_key]);
        if (!locked[0].ok) continue; // its worker is alive
        try {
          await client.query('BEGIN');
          const deleted = await client.query(`DELETE FROM job_units WHERE unit_id = $1 AND lock_key = $2`, [row.unit_id, row.lock_key]);
          const unit = { unitId: row.unit_id, queue: row.queue, jobId: row.job_id };
          if (deleted.rowCount === 1) await handle(unit, client);
          await client.query('COMMIT');
          if (deleted.rowCount === 1) lost.push(unit);
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        } finally {
          await client.query(`SELECT pg_advisory_unlock($1, $2)`, [LOCK_SPACE, row.lock_key]);
        }
      }
    } finally {
      await client.end().catch(() => {});
    }
    return lost;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.connecting = null;
    await this.tail.catch(() => {});
    await client?.end().catch(() => {});
  }

  private lease(client: pg.Client, unitId: string, key: number): Lease {
    return {
      settle: async (change) => {
        const db = await this.pool.connect();
        try {
          await db.query('BEGIN');
          const deleted = await db.query(`DELETE FROM job_units WHERE unit_id = $1 AND lock_key = $2`, [unitId, key]);
          if (deleted.rowCount === 1) await change(db);
          await db.query('COMMIT');
        } catch (error) {
          await db.query('ROLLBACK').catch(() => {});
          throw error; // the lock is released below all the same: a reaper settles the unit
        } finally {
          db.release();
          if (this.client === client) await this.exclusive(() => this.unlock(client, key)).catch(() => {});
        }
      },
    };
  }

  /** A row for this unit exists: take it over if its worker is dead (its lock is free). */
  private async takeOver(client: pg.Client, unitId: string, key: number): Promise<'taken' | 'held' | 'gone'> {
    const { rows } = await client.query<{ lock_key: number }>(`SELECT lock_key FROM job_units WHERE unit_id = $1`, [unitId]);
    if (rows.length === 0) return 'gone';
    const previous = rows[0].lock_key;
    const { rows: locked } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, $2) AS ok`, [LOCK_SPACE, previous]);
    if (!locked[0].ok) return 'held';
    try {
      const updated = await client.query(
        `UPDATE job_units SET lock_key = $3, worker = $4, started_at = now() WHERE unit_id = $1 AND lock_key = $2`,
        [unitId, previous, key, WORKER_ID],
      );
      return updated.rowCount === 1 ? 'taken' : 'gone';
    } finally {
      await this.unlock(client, previous);
    }
  }

  private async unlock(client: pg.ClientBase, key: number): Promise<void> {
    await client.query(`SELECT pg_advisory_unlock($1, $2)`, [LOCK_SPACE, key]);
  }

  /** Runs `work` on the lease connection once what was queued before it is done. */
  private exclusive<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const run = this.tail.then(async () => work(await this.connection()));
    this.tail = run.catch(() => {});
    return run;
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('error', (error) => {
        if (this.client !== client) return;
        this.client = null;
        this.connecting = null;
        client.end().catch(() => {});
        this.onLost(error);
      });
      try {
        await client.connect();
      } catch (error) {
        this.connecting = null;
        throw error;
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }
}
