import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Studies (test sets judged by a panel under a protocol), the raters of each study, every presentation of an
 * item to a rater (in the rater's order, with its left/right placement) and the judgments. A judgment is
 * stored once per client key; a presentation has at most one current judgment (a changed answer, where the
 * protocol allows it, supersedes the old one, which stays).
 */
export class Studies1764500000001 implements MigrationInterface {
  name = 'Studies1764500000001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE raters ADD COLUMN simulated boolean NOT NULL DEFAULT false`);
    await db.query(`
      CREATE TABLE studies (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        protocol jsonb NOT NULL,
        seed bigint NOT NULL,
        exclusion_rules jsonb NOT NULL DEFAULT '{}',
        state text NOT NULL DEFAULT 'OPEN' CHECK (state IN ('OPEN', 'CLOSED')),
        created_at timestamptz NOT NULL DEFAULT now(),
        closed_at timestamptz
      )`);
    await db.query(`
      CREATE TABLE study_test_sets (
        study_id uuid NOT NULL REFERENCES studies (id),
        test_set_id uuid NOT NULL REFERENCES test_sets (id),
        PRIMARY KEY (study_id, test_set_id)
      )`);
    await db.query(`
      CREATE TABLE study_raters (
        study_id uuid NOT NULL REFERENCES studies (id),
        rater_id uuid NOT NULL REFERENCES raters (id),
        stream int NOT NULL,
        joined_at timestamptz NOT NULL DEFAULT now(),
        withdrawn_at timestamptz,
        -- What the rater's display showed in the reading app's check (grey steps told apart, screen, zoom).
        display_check jsonb,
        display_checked_at timestamptz,
        PRIMARY KEY (study_id, rater_id),
        UNIQUE (study_id, stream)
      )`);
    await db.query(`
      CREATE TABLE presentations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        study_id uuid NOT NULL REFERENCES studies (id),
        rater_id uuid NOT NULL REFERENCES raters (id),
        item_id uuid NOT NULL REFERENCES test_set_items (id),
        sequence int NOT NULL,
        purpose text NOT NULL CHECK (purpose IN ('PRACTICE', 'MAIN', 'SENTINEL', 'RETEST')),
        swapped boolean NOT NULL,
        retest_of uuid REFERENCES presentations (id),
        state text NOT NULL DEFAULT 'OPEN' CHECK (state IN ('OPEN', 'ANSWERED', 'WITHDRAWN')),
        moved_from uuid REFERENCES raters (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (study_id, rater_id, sequence),
        CHECK ((purpose = 'RETEST') = (retest_of IS NOT NULL))
      ) WITH (fillfactor = 80)`);
    // Each item is judged by distinct raters: one MAIN presentation per (study, rater, item).
    await db.query(`CREATE UNIQUE INDEX presentations_distinct_raters ON presentations (study_id, rater_id, item_id) WHERE purpose = 'MAIN'`);
    // No index names state (the unique (study, rater, sequence) one finds a rater's next): answering a
    // presentation is then a HOT update that touches no index, with room left on its page (fillfactor).
    await db.query(`CREATE INDEX presentations_item ON presentations (study_id, item_id)`);
    await db.query(`
      CREATE TABLE judgments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        presentation_id uuid NOT NULL REFERENCES presentations (id),
        -- Copied from the presentation in the statement that stores the judgment (its key holds them).
        study_id uuid NOT NULL,
        rater_id uuid NOT NULL REFERENCES raters (id),
        item_id uuid NOT NULL,
        client_key text NOT NULL,
        answer text NOT NULL CHECK (answer IN ('LEFT', 'RIGHT', 'SAME', 'DIFFERENT')),
        chose_p1 boolean,
        said_same boolean,
        response_ms int NOT NULL CHECK (response_ms BETWEEN 0 AND 3600000),
        display jsonb NOT NULL DEFAULT '{}',
        received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        superseded_at timestamptz,
        UNIQUE (rater_id, client_key),
        CHECK ((chose_p1 IS NULL) <> (said_same IS NULL))
      )`);
    await db.query(`CREATE UNIQUE INDEX judgments_current ON judgments (presentation_id) WHERE superseded_at IS NULL`);
    await db.query(`CREATE INDEX judgments_study ON judgments (study_id, item_id) WHERE superseded_at IS NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE judgments`);
    await db.query(`DROP TABLE presentations`);
    await db.query(`DROP TABLE study_raters`);
    await db.query(`DROP TABLE study_test_sets`);
    await db.query(`DROP TABLE studies`);
    await db.query(`ALTER TABLE raters DROP COLUMN simulated`);
  }
}
