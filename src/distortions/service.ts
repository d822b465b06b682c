/**
 * Distorting stored images: one at a time (preview, not stored), or many as a DISTORT item job that
 * stores each result with its exact steps, seed and backend. The same (image, steps, seed) is stored once.
 */
import type { App } from '../platform/app';
import { DistortedImage } from '../entities/DistortedImage';
import { Image } from '../entities/Image';
import { ItemOutcome } from '../entities/Job';
import { filteredImages, getDataset, getImage, windowOf, type ImageFilter } from '../datasets/service';
import type { StoredPicture } from '../imaging/types';
import { assertUuid, badUserInput, notFound, requireIntInRange, UserInputError } from '../platform/errors';
import { floatToPng, pngToFloat } from '../imaging/float';
import type { FloatImage } from '../platform/native';
import type { DetectorResponse } from '../imaging/detector-response';
import { defineItemJob, PlanError } from '../platform/jobs/items';
import * as jobs from '../platform/jobs/store';
import { sha256 } from '../platform/blobs';
import { applyDistortion, assertWithinCost, checkSeed, chooseBackend, describeSteps, DistortionStopped, specKey, type Backend, type BackendChoice } from './apply';
import { poolRunner, type ModelRunner } from './cnn';
import { findModel } from '../models/registry';
import { inferencePool } from '../models/settings';
import { findKind } from './catalog';
import { DISTORTION_SETTINGS, previewLane } from './settings';
import { resolveChain, type StepInput } from './spec';

export const MAX_DISTORT_ITEMS = 100_000;

export interface Preview {
  png: Buffer;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  backend: Backend;
  note: string | null;
  steps: ReturnType<typeof describeSteps>;
}

/**
 * Decoded sources of the last few images: a job runs every spec of an image in a row (items are
 * image-major), so each source is read and decoded once, not once per spec. Kernels never write their input.
 */
const recentSources = new Map<string, Promise<FloatImage>>();
const RECENT_SOURCES = 4;

export function decodedSource(app: App, contentHash: string): Promise<FloatImage> {
  let source = recentSources.get(contentHash);
  if (!source) {
    source = app.blobs.read(contentHash).then(pngToFloat);
    source.catch(() => recentSources.delete(contentHash));
    recentSources.set(contentHash, source);
    if (recentSources.size > RECENT_SOURCES) recentSources.delete(recentSources.keys().next().value!);
  }
  return source;
}

async function distortStored(app: App, image: Image, steps: StepInput[], seed: number, backend: Backend, options: { signal?: AbortSignal } = {}) {
  const source = await decodedSource(app, image.contentHash);
  const applied = await applyDistortion(source, steps, seed, backend, modelRunner(app), { ...options, response: image.detectorResponse });
  const bitDepth = image.bitDepth === 16 ? 16 : 8;
  return { applied, png: await floatToPng(applied.image, bitDepth), bitDepth };
}

/** Checks a chain before work is queued: kinds, parameters, and that each CNN-based step's model is registered. */
export async function checkSteps(app: App, steps: StepInput[], field: string): Promise<void> {
  const runner = modelRunner(app);
  for (const [position, step] of resolveChain(steps, { width: 256, height: 256 }, field).entries()) {
    const task = findKind(step.kind)!.model;
    if (task) await runner.resolve(step.model!, task, `${field}[${position}].model`);
  }
}

/** Distorts pixels that are not a stored image (e.g. a test set's patch, with its source's response), CNN-based steps included. */
export function distortPixels(app: App, image: FloatImage, steps: StepInput[], seed: number, backend: Backend, response?: DetectorResponse | null) {
  return applyDistortion(image, steps, seed, backend, modelRunner(app), { response });
}

/** CNN-based steps run registered models through the app's inference pool (worker threads). */
function modelRunner(app: App): ModelRunner {
  return poolRunner(inferencePool(app), (name, field) =>
    findModel(app, name).catch((error: Error) => {
      throw badUserInput(field, `no registered model named "${name}" (${error.message})`);
    }),
  );
}

/**
 * One distorted image for a client that waits for it: refused when its estimated cost is over
 * MEDPSIM_PREVIEW_MAX_SECONDS, run in the previews' own lane (apart from job work), and stopped between
 * steps when `signal` aborts (the client went away) or MEDPSIM_PREVIEW_TIMEOUT_SECONDS pass.
 */
export async function previewDistortion(
  app: App,
  input: { imageId: string; steps: StepInput[]; seed: number; backend: BackendChoice },
  signal: AbortSignal = new AbortController().signal,
): Promise<Preview> {
  const image = await getImage(app, input.imageId);
  const { backend, note } = chooseBackend(input.backend);
  const settings = app.settings(DISTORTION_SETTINGS);
  const within = AbortSignal.any([signal, AbortSignal.timeout(settings.previewTimeoutSeconds * 1000)]);
  const seed = checkSeed(input.seed);
  assertWithinCost(input.steps, image, settings.previewMaxSeconds); // before waiting for the lane
  const { applied, png, bitDepth } = await previewLane(app)
    .run(within, () => distortStored(app, image, input.steps, seed, backend, { signal: within }))
    .catch((error: unknown) => {
      if (within.aborted && !(error instanceof DistortionStopped)) throw new DistortionStopped(within.reason);
      throw error;
    });
  return {
    png,
    width: applied.image.width,
    height: applied.image.height,
    channels: applied.image.channels,
    bitDepth,
    backend,
    note,
    steps: describeSteps(applied.steps),
  };
}

export interface DistortParams {
  imageIds: string[];
  /** Each spec is a chain of steps, applied to every image. */
  specs: StepInput[][];
  seed: number;
  backend: Backend;
  backendNote: string | null;
}

interface DistortItem {
  imageId: string;
  spec: number;
}

export interface DistortJobInput {
  /** The images: these ids, or a dataset's images (filtered, at most `limit`). */
  imageIds?: string[] | null;
  datasetId?: string | null;
  filter?: ImageFilter | null;
  limit?: number | null;
  /** The specs: these chains, or one kind at several severities. */
  specs?: StepInput[][] | null;
  sweep?: { kind: string; severities: number[]; model?: string | null } | null;
  seed: number;
  backend: BackendChoice;
}

/** Checks everything a client sent before the job exists: images, kinds, parameters, seed, backend. */
export async function startDistortJob(app: App, input: DistortJobInput): Promise<string> {
  if (!input.imageIds === !input.datasetId) throw badUserInput('imageIds', 'give imageIds or datasetId (one of them)');
  if (!input.specs === !input.sweep) throw badUserInput('specs', 'give specs or sweep (one of them)');
  checkSeed(input.seed);
  const specs = input.sweep ? severitySweep(input.sweep.kind, input.sweep.severities, input.sweep.model ?? null) : input.specs!;
  if (specs.length < 1) throw badUserInput('specs', 'give at least one spec');
  for (const [index, steps] of specs.entries()) await checkSteps(app, steps, `specs[${index}]`);
  const imageIds = input.imageIds ?? (await datasetImageIds(app, input.datasetId!, input.filter ?? {}, input.limit ?? null));
  if (imageIds.length < 1) throw badUserInput('imageIds', 'give at least one image');
  const total = imageIds.length * specs.length;
  if (total > MAX_DISTORT_ITEMS) {
    throw badUserInput('specs', `images x specs is ${total}; at most ${MAX_DISTORT_ITEMS} per job`, { max: MAX_DISTORT_ITEMS });
  }
  if (input.imageIds) await requireImages(app, input.imageIds);
  const { backend, note } = chooseBackend(input.backend);
  const params: DistortParams = { imageIds, specs, seed: input.seed, backend, backendNote: note };
  return app.jobs.queue(DISTORT, params);
}

/** Every id must name an image: one query, NOT_FOUND for the first that does not. */
async function requireImages(app: App, ids: string[]): Promise<void> {
  ids.forEach((id, index) => assertUuid(`imageIds[${index}]`, id));
  const { rows } = await app.pool.query<{ id: string }>(`SELECT id FROM images WHERE id = ANY($1::uuid[])`, [ids]);
  const found = new Set(rows.map((row) => row.id));
  const missing = ids.find((id) => !found.has(id.toLowerCase()));
  if (missing) throw notFound('image', missing);
}

/** The ids of a dataset's images (filtered, in source-path order), at most `limit`. */
export async function datasetImageIds(app: App, datasetId: string, filter: ImageFilter, limit: number | null): Promise<string[]> {
  await getDataset(app, datasetId);
  const take = limit === null ? MAX_DISTORT_ITEMS : requireIntInRange('limit', limit, 1, MAX_DISTORT_ITEMS);
  const images = await filteredImages(app, datasetId, filter).select('image.id').orderBy('image.sourcePath', 'ASC').take(take).getMany();
  return images.map((image) => image.id);
}

/** A sweep: one kind at several severities, as specs. */
export function severitySweep(kind: string, severities: number[], model: string | null = null): StepInput[][] {
  if (!findKind(kind)) throw badUserInput('sweep.kind', `unknown distortion kind "${kind}"`);
  if (severities.length < 1 || severities.length > 64) throw badUserInput('sweep.severities', 'give 1 to 64 severities');
  return severities.map((severity) => [{ kind, severity, model }]);
}

async function storeDistortion(app: App, jobId: string, params: DistortParams, item: DistortItem): Promise<void> {
  const key = `${item.imageId}#${item.spec}`;
  const image = await app.db.dataSource.getRepository(Image).findOneBy({ id: item.imageId });
  if (!image) {
    await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code: 'NOT_FOUND', message: 'image was deleted' });
    return;
  }
  let stored;
  try {
    stored = await distortStored(app, image, params.specs[item.spec], params.seed, params.backend);
  } catch (error) {
    const code = error instanceof UserInputError ? 'BAD_SPEC' : 'ENGINE_ERROR';
    await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code, message: (error as Error).message });
    return;
  }
  const { applied, png, bitDepth } = stored;
  const hash = sha256(png);
  await app.blobs.put(hash, png);
  const values = [
    item.imageId,
    image.datasetId,
    JSON.stringify(describeSteps(applied.steps).map(({ identity: _identity, ...step }) => step)),
    params.seed,
    params.backend,
    applied.image.width,
    applied.image.height,
    applied.image.channels,
    bitDepth,
    hash,
    specKey(applied.steps, params.seed),
    jobId,
  ];
  await app.pool.query(
    jobs.recordOutcomeSql(
      `CASE WHEN EXISTS (SELECT 1 FROM inserted) THEN 'DONE' ELSE 'SKIPPED' END`,
      `inserted AS (
         INSERT INTO distorted_images (image_id, dataset_id, steps, seed, backend, width, height, channels,
                                       bit_depth, content_hash, spec_key, job_id)
         VALUES (${values.map((_, index) => `$${index + 6}`).join(', ')})
         ON CONFLICT (image_id, spec_key) DO NOTHING RETURNING id)`,
    ),
    [...jobs.recordOutcomeParams(jobId, key), ...values],
  );
}

export const DISTORT = 'DISTORT';

export const distortJob = defineItemJob<DistortParams, DistortItem>({
  kind: DISTORT,
  description: 'Distorts images with specs (or a severity sweep) and stores each result.',
  key: (item) => `${item.imageId}#${item.spec}`,
  chunkSize: (app) => app.config.jobChunkSize,
  inFlight: 1, // the kernels use every core already

  async plan(_app, _jobId, params) {
    if (params.specs.length === 0) throw new PlanError('no specs');
    return params.imageIds.flatMap((imageId) => params.specs.map((_, spec) => ({ imageId, spec })));
  },

  run: storeDistortion,
});

export async function getDistortion(app: App, id: string): Promise<DistortedImage> {
  const distorted = await app.db.dataSource.getRepository(DistortedImage).findOneBy({ id: assertUuid('id', id) });
  if (!distorted) throw notFound('distorted image', id);
  return distorted;
}

/** The blob of a distorted image and its source's default window, for the image route. */
export async function storedDistortion(app: App, id: string): Promise<StoredPicture> {
  const distorted = await getDistortion(app, id);
  return { contentHash: distorted.contentHash, window: windowOf(await getImage(app, distorted.imageId)) };
}

export async function listDistortions(app: App, imageId: string, page: { first: number; offset: number } = { first: 100, offset: 0 }): Promise<DistortedImage[]> {
  return app.db.dataSource.getRepository(DistortedImage).find({
    where: { imageId },
    order: { createdAt: 'ASC', id: 'ASC' },
    take: requireIntInRange('first', page.first, 1, 1000),
    skip: requireIntInRange('offset', page.offset, 0, 2 ** 31 - 1),
  });
}
