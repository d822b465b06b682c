import { MigrationInterface, QueryRunner } from 'typeorm';

/** Datasets, content-addressed images, jobs and their per-item outcomes. */
export class Foundation1764115200000 implements MigrationInterface {
  name = 'Foundation1764115200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE datasets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        description text,
        synthetic boolean NOT NULL DEFAULT false,
        source_root text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
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
    await db.query(`
      CREATE TABLE images (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        dataset_id uuid NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
        split text,
        label text,
        source_path text NOT NULL,
        patient_id text,
        width int NOT NULL CHECK (width > 0),
        height int NOT NULL CHECK (height > 0),
        channels smallint NOT NULL CHECK (channels IN (1, 3)),
        bit_depth smallint NOT NULL CHECK (bit_depth IN (8, 16)),
        format text NOT NULL,
        content_hash char(64) NOT NULL,
        byte_size int NOT NULL,
        window_center double precision,
        window_width double precision,
        dicom_attributes jsonb,
        synthetic boolean NOT NULL DEFAULT false,
        import_job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT images_dataset_source_path UNIQUE (dataset_id, source_path)
      )`);
    await db.query(`CREATE INDEX images_dataset_split_label ON images (dataset_id, split, label, source_path)`);
    await db.query(`CREATE INDEX images_content_hash ON images (content_hash)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE images`);
    await db.query(`DROP TABLE job_items`);
    await db.query(`DROP TABLE jobs`);
    await db.query(`DROP TABLE datasets`);
  }
}
