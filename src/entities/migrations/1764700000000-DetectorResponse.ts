import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each image's detector response (src/imaging/detector-response.ts) as jsonb in the TypeScript type's form.
 * Existing rows get the default: log, polarity +1, attenuation range 4 nepers, source "default" (the value is
 * written out here, not read from the code, so that this migration stays what it was).
 */
export class DetectorResponse1764700000000 implements MigrationInterface {
  name = 'DetectorResponse1764700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE images
        ADD COLUMN detector_response jsonb NOT NULL
          DEFAULT '{"mapping":"log","polarity":1,"attenuationRange":4,"source":"default"}'::jsonb,
        ADD CONSTRAINT images_detector_response_valid CHECK (
          detector_response->>'mapping' IN ('log', 'linear')
          AND detector_response->'polarity' IN ('1'::jsonb, '-1'::jsonb)
          AND jsonb_typeof(detector_response->'attenuationRange') = 'number'
          AND detector_response->>'source' IN ('dicom', 'default', 'user'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE images DROP CONSTRAINT images_detector_response_valid, DROP COLUMN detector_response`);
  }
}
