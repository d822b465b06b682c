import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Datasets and their content-addressed images. IF NOT EXISTS: databases created before the modules were
 * split got these tables from Foundation1764115200000, and run this migration as a no-op.
 */
export class Datasets1764115200001 implements MigrationInterface {
  name = 'Datasets1764115200001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE IF NOT EXISTS datasets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        description text,
        synthetic boolean NOT NULL DEFAULT false,
        source_root text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE IF NOT EXISTS images (
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
    await db.query(`CREATE INDEX IF NOT EXISTS images_dataset_split_label ON images (dataset_id, split, label, source_path)`);
    await db.query(`CREATE INDEX IF NOT EXISTS images_content_hash ON images (content_hash)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE images`);
    await db.query(`DROP TABLE datasets`);
  }
}
