import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A classifier's prediction of an image, keyed by the image's content and the model's SHA-256: evaluations of
 * a dataset split and the flips of distorted images (their prediction against their source's) read from here.
 */
export class ClassifierPredictions1764600000002 implements MigrationInterface {
  name = 'ClassifierPredictions1764600000002';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE classifier_predictions (
        content_hash char(64) NOT NULL,
        model_hash char(64) NOT NULL,
        probabilities double precision[] NOT NULL,
        predicted smallint NOT NULL CHECK (predicted >= 0),
        job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
        computed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (content_hash, model_hash)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE classifier_predictions`);
  }
}
