import { MigrationInterface, QueryRunner } from 'typeorm';

/** A fourth model task: feature networks exported for the lpips metric (training/README.md, export-backbone). */
export class BackboneModels1764600000001 implements MigrationInterface {
  name = 'BackboneModels1764600000001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE models DROP CONSTRAINT models_task_check`);
    await db.query(`ALTER TABLE models ADD CONSTRAINT models_task_check CHECK (task IN ('classifier', 'dae', 'gan-generator', 'backbone'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE models DROP CONSTRAINT models_task_check`);
    await db.query(`ALTER TABLE models ADD CONSTRAINT models_task_check CHECK (task IN ('classifier', 'dae', 'gan-generator'))`);
  }
}
