import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Generator zoos (src/training/zoo.ts): a named group of generators trained with knobs drawn from stated
 * ranges. Every draw a member's job trained is a row: the member (state MEMBER, its registered model) or a
 * degenerate draw the guard replaced (state DEGENERATE, kept with its statistics, its files not registered).
 */
export class ModelZoos1764800000000 implements MigrationInterface {
  name = 'ModelZoos1764800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE model_zoos (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
        dataset_id uuid REFERENCES datasets (id) ON DELETE SET NULL,
        size int NOT NULL CHECK (size >= 1),
        seed bigint NOT NULL,
        ranges jsonb NOT NULL,
        options jsonb NOT NULL,
        guard jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE model_zoo_draws (
        zoo_id uuid NOT NULL REFERENCES model_zoos (id) ON DELETE CASCADE,
        index int NOT NULL CHECK (index >= 0),
        draw int NOT NULL CHECK (draw >= 0),
        state text NOT NULL CHECK (state IN ('MEMBER', 'DEGENERATE')),
        knobs jsonb NOT NULL,
        options jsonb NOT NULL,
        guard jsonb,
        reason text,
        model_name text,
        sha256 char(64),
        summary jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (zoo_id, index, draw),
        CHECK ((state = 'MEMBER') = (model_name IS NOT NULL AND sha256 IS NOT NULL))
      )`);
    // One member per index: the draw that passed the guard.
    await db.query(`CREATE UNIQUE INDEX model_zoo_draws_member ON model_zoo_draws (zoo_id, index) WHERE state = 'MEMBER'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE model_zoo_draws`);
    await db.query(`DROP TABLE model_zoos`);
  }
}
