import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Raters, API tokens (hashes only), one-time rater invitations, and the append-only audit log: a trigger
 * refuses every UPDATE, DELETE and TRUNCATE of it.
 */
export class Access1764400000001 implements MigrationInterface {
  name = 'Access1764400000001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE raters (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        pseudonym text NOT NULL UNIQUE,
        display_name text NOT NULL,
        specialty text,
        years_of_experience int CHECK (years_of_experience BETWEEN 0 AND 80),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        prefix text NOT NULL UNIQUE,
        secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
        label text NOT NULL,
        role text NOT NULL CHECK (role IN ('ADMIN', 'PIPELINE', 'ANALYST', 'RATER')),
        origin text NOT NULL CHECK (origin IN ('CREATED', 'BOOTSTRAP', 'SANDBOX', 'INVITATION')),
        rater_id uuid REFERENCES raters (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by uuid REFERENCES api_tokens (id),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz,
        CHECK ((role = 'RATER') = (rater_id IS NOT NULL))
      )`);
    await db.query(`CREATE INDEX api_tokens_role ON api_tokens (role) WHERE revoked_at IS NULL`);
    await db.query(`
      CREATE TABLE rater_invitations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        rater_id uuid NOT NULL REFERENCES raters (id),
        code_hash bytea NOT NULL UNIQUE CHECK (length(code_hash) = 32),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        token_id uuid REFERENCES api_tokens (id),
        withdrawn_at timestamptz
      )`);
    await db.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        token_id uuid,
        role text,
        operation text NOT NULL,
        affected_ids text[] NOT NULL DEFAULT '{}',
        outcome text NOT NULL,
        client_address text
      )`);
    await db.query(`CREATE INDEX audit_log_at ON audit_log (at DESC)`);
    await db.query(`
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
      END $$`);
    await db.query(`
      CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
    await db.query(`
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE audit_log`);
    await db.query(`DROP FUNCTION audit_log_append_only`);
    await db.query(`DROP TABLE rater_invitations`);
    await db.query(`DROP TABLE api_tokens`);
    await db.query(`DROP TABLE raters`);
  }
}
