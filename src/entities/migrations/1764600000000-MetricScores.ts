import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Metric values of image pairs, keyed by the images' content (a and b: blob hashes) and everything that
 * fixes a value: the metric, its parameters (canonical JSON), its version, the model's hash (deep metrics;
 * '' for engine metrics) and the data range. Test-set items read their scores from here, so a rerun
 * computes only what is missing and a new metric version is stored beside, never over, old values.
 */
export class MetricScores1764600000000 implements MigrationInterface {
  name = 'MetricScores1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE metric_scores (
        a_hash char(64) NOT NULL,
        b_hash char(64) NOT NULL,
        metric text NOT NULL,
        settings text NOT NULL,
        version int NOT NULL CHECK (version >= 1),
        model_hash text NOT NULL DEFAULT '',
        data_bits smallint NOT NULL CHECK (data_bits BETWEEN 1 AND 16),
        value double precision NOT NULL CHECK (value = value),
        job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
        computed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (a_hash, b_hash, metric, settings, version, model_hash, data_bits)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE metric_scores`);
  }
}
