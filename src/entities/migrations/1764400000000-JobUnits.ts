import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Units being run, each beside an advisory lock held by its worker (src/platform/jobs/leases.ts): a row
 * whose lock is free lost its worker, and its unit is handed out again.
 */
export class JobUnits1764400000000 implements MigrationInterface {
  name = 'JobUnits1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE SEQUENCE job_unit_locks AS int CYCLE`);
    await db.query(`
      CREATE TABLE job_units (
        unit_id uuid PRIMARY KEY,
        queue text NOT NULL,
        job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        lock_key int NOT NULL,
        worker text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE job_units`);
    await db.query(`DROP SEQUENCE job_unit_locks`);
  }
}
