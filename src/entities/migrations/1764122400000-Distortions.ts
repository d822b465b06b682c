import { MigrationInterface, QueryRunner } from 'typeorm';

/** Distorted images: each result with its exact spec, seed and backend. */
export class Distortions1764122400000 implements MigrationInterface {
  name = 'Distortions1764122400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE distorted_images (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        image_id uuid NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        dataset_id uuid NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
        steps jsonb NOT NULL,
        seed bigint NOT NULL CHECK (seed >= 0),
        backend text NOT NULL CHECK (backend IN ('CPU', 'CUDA')),
        width int NOT NULL CHECK (width > 0),
        height int NOT NULL CHECK (height > 0),
        channels smallint NOT NULL CHECK (channels IN (1, 3)),
        bit_depth smallint NOT NULL CHECK (bit_depth IN (8, 16)),
        content_hash char(64) NOT NULL,
        spec_key char(64) NOT NULL,
        job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT distorted_images_image_spec UNIQUE (image_id, spec_key)
      )`);
    await db.query(`CREATE INDEX distorted_images_dataset ON distorted_images (dataset_id, created_at)`);
    await db.query(`CREATE INDEX distorted_images_job ON distorted_images (job_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE distorted_images`);
  }
}
