import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Jobs and their per-item outcomes (the platform's job runtime). Databases created before the modules were
 * split also got the datasets tables here; they are now Datasets1764115200001's.
 */
export class Foundation1764115200000 implements MigrationInterface {
  name = 'Foundation1764115200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE jobs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind text NOT NULL,
        state text NOT NULL DEFAULT 'QUEUED'
          CHECK (state IN ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
        total int CHECK (total >= 0),
        done int NOT NULL DEFAULT 0 CHECK (done >= 0),
        skipped int NOT NULL DEFAULT 0 CHECK (skipped >= 0),
        failed int NOT NULL DEFAULT 0 CHECK (failed >= 0),
        params jsonb NOT NULL DEFAULT '{}',
        error text,
        planned boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    await db.query(`CREATE INDEX jobs_created_at ON jobs (created_at DESC)`);
    await db.query(`
      CREATE TABLE job_items (
        job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        item text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('DONE', 'SKIPPED', 'FAILED')),
        code text,
        message text,
        worker text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (job_id, item)
      )`);
    await db.query(`CREATE INDEX job_items_failed ON job_items (job_id, created_at) WHERE outcome = 'FAILED'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE job_items`);
    await db.query(`DROP TABLE jobs`);
  }
}
