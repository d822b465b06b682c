/**
 * Which worker runs which unit, so that the unit of a worker that died is handed out again at once rather
 * than when pg-boss's expiry (hours, for a training) comes round.
 *
 * A worker process holds one PostgreSQL connection for its leases and, for each unit it runs, an advisory
 * lock on that connection, beside a job_units row naming the lock. PostgreSQL drops the locks of a
 * connection that dies with its process; any worker's reaper then finds rows whose lock it can take: those
 * units lost their worker. The lock is taken before the row is written and released after it is deleted,
 * so a row whose lock is free belongs to nobody.
 */
import pg from 'pg';
import { WORKER_ID } from './store';

/** The first key of our two-key advisory locks (a key space of its own; the second key is job_units.lock_key). */
const LOCK_SPACE = 7_301_121;

export interface Lease {
  release(): Promise<void>;
}

export interface LostUnit {
  unitId: string;
  queue: string;
  jobId: string;
}

export class Leases {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;

  constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    /** Called when the lease connection is lost: every unit of this process must stop. */
    private readonly onLost: (error: Error) => void,
  ) {}

  /** The unit's lease, or null when a live worker already runs the same unit (a repeated delivery). */
  async acquire(unitId: string, queue: string, jobId: string): Promise<Lease | null> {
    const client = await this.connection();
    const { rows } = await this.pool.query<{ key: number }>(`SELECT nextval('job_unit_locks')::int AS key`);
    const key = rows[0].key;
    await client.query(`SELECT pg_advisory_lock($1, $2)`, [LOCK_SPACE, key]);
    try {
      const inserted = await this.pool.query(
        `INSERT INTO job_units (unit_id, queue, job_id, lock_key, worker) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (unit_id) DO NOTHING`,
        [unitId, queue, jobId, key, WORKER_ID],
      );
      if (inserted.rowCount === 0 && !(await this.takeOver(client, unitId, key))) {
        await client.query(`SELECT pg_advisory_unlock($1, $2)`, [LOCK_SPACE, key]);
        return null;
      }
    } catch (error) {
      await client.query(`SELECT pg_advisory_unlock($1, $2)`, [LOCK_SPACE, key]).catch(() => {});
      throw error;
    }
    return {
      release: async () => {
        await this.pool.query(`DELETE FROM job_units WHERE unit_id = $1 AND lock_key = $2`, [unitId, key]);
        if (this.client === client) await client.query(`SELECT pg_advisory_unlock($1, $2)`, [LOCK_SPACE, key]);
      },
    };
  }

  /**
   * Units whose worker died: their rows are deleted (under their free lock) and returned, for the caller
   * to hand out again or fail. `mine` skips this process's own units.
   */
  async reap(mine: (unitId: string) => boolean): Promise<LostUnit[]> {
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
        const deleted = await client.query(`DELETE FROM job_units WHERE unit_id = $1 AND lock_key = $2`, [row.unit_id, row.lock_key]);
        await client.query(`SELECT pg_advisory_unlock($1, $2)`, [LOCK_SPACE, row.lock_key]);
        if (deleted.rowCount === 1) lost.push({ unitId: row.unit_id, queue: row.queue, jobId: row.job_id });
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
    await client?.end().catch(() => {});
  }

  /** A row for this unit exists: take it over if its worker is dead (its lock is free). */
  private async takeOver(client: pg.Client, unitId: string, key: number): Promise<boolean> {
    const { rows } = await this.pool.query<{ lock_key: number }>(`SELECT lock_key FROM job_units WHERE unit_id = $1`, [unitId]);
    if (rows.length === 0) return false; // released meanwhile: the unit has just finished elsewhere
    const previous = rows[0].lock_key;
    const { rows: locked } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, $2) AS ok`, [LOCK_SPACE, previous]);
    if (!locked[0].ok) return false;
    try {
      const updated = await this.pool.query(
        `UPDATE job_units SET lock_key = $3, worker = $4, started_at = now() WHERE unit_id = $1 AND lock_key = $2`,
        [unitId, previous, key, WORKER_ID],
      );
      return updated.rowCount === 1;
    } finally {
      await client.query(`SELECT pg_advisory_unlock($1, $2)`, [LOCK_SPACE, previous]);
    }
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
