import { MigrationInterface, QueryRunner } from 'typeorm';

/** Registered ONNX models: one row per manifest name, with the file's path, hash and the whole manifest. */
export class Models1764300000000 implements MigrationInterface {
  name = 'Models1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE models (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        task text NOT NULL CHECK (task IN ('classifier', 'dae', 'gan-generator')),
        onnx_path text NOT NULL,
        sha256 char(64) NOT NULL,
        manifest jsonb NOT NULL,
        size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
        registered_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX models_task ON models (task, name)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE models`);
  }
}
