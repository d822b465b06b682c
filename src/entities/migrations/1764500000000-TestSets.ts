import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Test sets and their items. A set is built from its definition and seed (or imported from a BAPPS-layout
 * folder); every sampled choice is stored on its items, so the set can be rebuilt exactly. Once a study
 * uses a set it is locked: a trigger refuses changes to a locked set's items.
 */
export class TestSets1764500000000 implements MigrationInterface {
  name = 'TestSets1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE test_sets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('TWO_AFC', 'JND')),
        origin text NOT NULL CHECK (origin IN ('BUILT', 'IMPORTED')),
        version int NOT NULL DEFAULT 1 CHECK (version >= 1),
        parent_id uuid REFERENCES test_sets (id),
        definition jsonb NOT NULL,
        seed bigint NOT NULL,
        job_id uuid REFERENCES jobs (id),
        item_count int NOT NULL DEFAULT 0,
        content_hash char(64),
        locked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE test_set_items (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        test_set_id uuid NOT NULL REFERENCES test_sets (id),
        position int NOT NULL CHECK (position >= 0),
        role text NOT NULL CHECK (role IN ('ITEM', 'SENTINEL', 'PRACTICE')),
        category text NOT NULL,
        split text,
        image_id uuid REFERENCES images (id),
        patch int NOT NULL DEFAULT 0,
        region jsonb,
        p0_spec jsonb,
        p1_spec jsonb,
        kinds text[] NOT NULL DEFAULT '{}',
        identical boolean NOT NULL DEFAULT false,
        expected text CHECK (expected IN ('P0', 'P1', 'SAME', 'DIFFERENT')),
        ref_hash char(64),
        p0_hash char(64),
        p1_hash char(64),
        width int,
        height int,
        channels smallint,
        bit_depth smallint,
        window_center double precision,
        window_width double precision CHECK (window_width > 0),
        source_name text,
        imported_judgment double precision CHECK (imported_judgment BETWEEN 0 AND 1),
        built_at timestamptz,
        UNIQUE (test_set_id, position)
      )`);
    await db.query(`CREATE INDEX test_set_items_role ON test_set_items (test_set_id, role, position)`);
    await db.query(`
      CREATE FUNCTION test_set_items_locked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM test_sets WHERE id = OLD.test_set_id AND locked_at IS NOT NULL) THEN
          RAISE EXCEPTION 'test set % is being judged: its items cannot change (clone it)', OLD.test_set_id;
        END IF;
        RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
      END $$`);
    await db.query(`
      CREATE TRIGGER test_set_items_no_change BEFORE UPDATE OR DELETE ON test_set_items
      FOR EACH ROW EXECUTE FUNCTION test_set_items_locked()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE test_set_items`);
    await db.query(`DROP FUNCTION test_set_items_locked`);
    await db.query(`DROP TABLE test_sets`);
  }
}
