/**
 * The model registry: one `models` row per manifest name, pointing at a checked .onnx file on the server.
 * Rows come from the models folder when the API process starts (scanModelsDir; worker processes only read
 * the rows) or from registerModel. Registering a name again with another file, hash or manifest updates the
 * row in place (change UPDATED); the same files change nothing.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { App } from '../platform/app';
import { Model, ModelTask, type ModelTensor } from '../entities/Model';
import { badUserInput, notFound, NotFoundError } from '../platform/errors';
import { fileInsideRoots } from '../platform/files';
import { checkModelFiles, ManifestError, type ModelManifest, type TensorSpec } from './manifest';
import { MODEL_SETTINGS } from './settings';

export { Model };

export enum ModelRegistrationChange {
  CREATED = 'CREATED',
  UPDATED = 'UPDATED',
  UNCHANGED = 'UNCHANGED',
}

export interface Registration {
  model: Model;
  change: ModelRegistrationChange;
  /** The hash the row had before, when it existed. */
  previousSha256: string | null;
}

export interface ScanReport {
  dir: string;
  registered: Registration[];
  /** Files that were not registered, and why. */
  invalid: Array<{ file: string; error: string }>;
}

/** The model of this name; NOT_FOUND when there is none. */
export async function findModel(app: App, name: string): Promise<Model> {
  const model = await app.db.dataSource.getRepository(Model).findOneBy({ name });
  if (!model) throw notFound('model', name);
  return model;
}

/** findModel for a model a request names: BAD_USER_INPUT on `field` when none is registered under it. */
export async function namedModel(app: App, name: string, field: string): Promise<Model> {
  return findModel(app, name).catch((error) => {
    throw error instanceof NotFoundError ? badUserInput(field, `no registered model named "${String(name).slice(0, 100)}"`) : error;
  });
}

/** Every model (of one task when given), by name. */
export function listModels(app: App, task: ModelTask | null = null): Promise<Model[]> {
  return app.db.dataSource.getRepository(Model).find({ where: task ? { task } : {}, order: { name: 'ASC' } });
}

/** Checks the files and upserts the row; throws ManifestError when the files are not a valid model. */
export async function registerModelFile(app: App, onnxPath: string): Promise<Registration> {
  const checked = await checkModelFiles(onnxPath);
  const { manifest } = checked;
  // One statement, so two processes registering at start cannot collide: the CTE reads the row as it was
  // before, and the update only happens (and returns a row) when something differs.
  const { rows } = await app.pool.query<{ previous_sha256: string | null }>(
    `WITH previous AS (SELECT sha256 FROM models WHERE name = $1)
     INSERT INTO models (name, task, onnx_path, sha256, manifest, size_bytes)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (name) DO UPDATE
       SET task = EXCLUDED.task, onnx_path = EXCLUDED.onnx_path, sha256 = EXCLUDED.sha256,
           manifest = EXCLUDED.manifest, size_bytes = EXCLUDED.size_bytes, updated_at = now()
       WHERE (models.task, models.onnx_path, models.sha256, models.manifest, models.size_bytes)
             IS DISTINCT FROM (EXCLUDED.task, EXCLUDED.onnx_path, EXCLUDED.sha256, EXCLUDED.manifest, EXCLUDED.size_bytes)
     RETURNING (SELECT sha256 FROM previous) AS previous_sha256`,
    [manifest.name, manifest.task, checked.onnxPath, checked.sha256, JSON.stringify(manifest), checked.sizeBytes],
  );
  const model = await findModel(app, manifest.name);
  if (rows.length === 0) return { model, change: ModelRegistrationChange.UNCHANGED, previousSha256: model.sha256 };
  const previousSha256 = rows[0].previous_sha256;
  return { model, change: previousSha256 === null ? ModelRegistrationChange.CREATED : ModelRegistrationChange.UPDATED, previousSha256 };
}

/** registerModel for clients: anything wrong with the path or its files is BAD_USER_INPUT on `path`. */
export async function registerModel(app: App, onnxPath: string): Promise<Registration> {
  // Only files the server may read: in the models folder or an import root.
  const roots = { ...app.config, importRoots: [app.settings(MODEL_SETTINGS).modelsDir, ...app.config.importRoots] };
  const file = await fileInsideRoots(roots, onnxPath, 'path');
  try {
    return await registerModelFile(app, file);
  } catch (error) {
    if (error instanceof ManifestError) throw badUserInput('path', error.message, { file: error.file });
    throw error;
  }
}

/**
 * Registers every model in `dir` (default: the configured models folder): each `<name>.onnx` and each
 * manifest `<name>.json` (not `.parity.json`) is a candidate. Invalid ones are logged and reported, never
 * thrown, and do not stop the others; a missing folder registers nothing.
 */
export async function scanModelsDir(app: App, dir: string = app.settings(MODEL_SETTINGS).modelsDir): Promise<ScanReport> {
  const report: ScanReport = { dir, registered: [], invalid: [] };
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') console.warn(`[models] cannot read ${dir}: ${(error as Error).message}`);
    return report;
  }
  const stems = new Set<string>();
  for (const name of names) {
    if (name.startsWith('.')) continue;
    if (/\.onnx$/i.test(name)) stems.add(name.replace(/\.onnx$/i, ''));
    else if (name.endsWith('.json') && !name.endsWith('.parity.json')) stems.add(name.slice(0, -'.json'.length));
  }
  for (const stem of [...stems].sort()) {
    const onnxPath = path.join(dir, `${stem}.onnx`);
    try {
      report.registered.push(await registerModelFile(app, onnxPath));
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error; // the database, not the files: startup must fail
      report.invalid.push({ file: error.file, error: error.message });
      console.warn(`[models] not registered: ${error.message}`);
    }
  }
  if (stems.size > 0) {
    const count = (change: ModelRegistrationChange) => report.registered.filter((r) => r.change === change).length;
    console.log(
      `[models] ${dir}: ${report.registered.length} registered (${count(ModelRegistrationChange.CREATED)} new, ${count(ModelRegistrationChange.UPDATED)} updated), ` +
        `${report.invalid.length} invalid`,
    );
  }
  return report;
}

/** A manifest's inputs or outputs for GraphQL: dims as strings (sizes in decimal, names as they are). */
export function tensorsOf(specs: TensorSpec[]): ModelTensor[] {
  return specs.map((spec) => ({
    name: spec.name,
    shape: spec.shape.map((dim) => (dim === null ? '?' : String(dim))),
    dtype: typeof spec.dtype === 'string' ? spec.dtype : null,
    meaning: typeof spec.meaning === 'string' ? spec.meaning : null,
  }));
}

/** True when trained from pretrained weights, false from scratch, null when the manifest does not say. */
export function isPretrained(manifest: ModelManifest): boolean | null {
  const pretrained = manifest.initialization?.pretrained;
  return typeof pretrained === 'boolean' ? pretrained : null;
}

/** The weights' source when pretrained, else why it was trained from scratch. */
export function initializationNote(manifest: ModelManifest): string | null {
  const init = manifest.initialization;
  return init?.source ?? init?.reason ?? null;
}
