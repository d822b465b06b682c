import { MigrationInterface, QueryRunner } from 'typeorm';

/** Training runs (one per TRAIN job), and at most one queued or running training per model name. */
export class Training1764300000001 implements MigrationInterface {
  name = 'Training1764300000001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE training_runs (
        job_id uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
        worker text NOT NULL,
        pid int,
        device text,
        progress jsonb,
        data jsonb,
        warnings jsonb NOT NULL DEFAULT '[]',
        metrics jsonb,
        model_path text,
        manifest_path text,
        log text,
        exit_code int,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Two runs of one name at once would write the same model files: the second is refused when queued.
    await db.query(`
      CREATE UNIQUE INDEX jobs_active_training_name ON jobs ((params->>'name'))
      WHERE kind = 'TRAIN' AND state IN ('QUEUED', 'RUNNING')`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX jobs_active_training_name`);
    await db.query(`DROP TABLE training_runs`);
  }
}
