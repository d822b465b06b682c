/**
 * Building a test set: a BUILD_TEST_SET item job. Its plan draws every choice (sampling.ts) and stores it
 * on the set's item rows; each item then cuts its unit from the source image (a patch inside the body, or the
 * centred square resized), distorts p0 and p1 on the engine and stores the PNGs with what was actually done.
 * A retried item is built again from the same stored choices, so it comes out the same.
 */
import { decodedSource, distortPixels } from '../distortions/service';
import { describeSteps, type Backend } from '../distortions/apply';
import { floatToPng } from '../imaging/float';
import { windowOf } from '../datasets/service';
import type { DetectorResponse } from '../imaging/detector-response';
import { ItemOutcome } from '../entities/Job';
import type { App } from '../platform/app';
import { sha256 } from '../platform/blobs';
import { UserInputError } from '../platform/errors';
import { defineItemJob, PlanError } from '../platform/jobs/items';
import * as jobs from '../platform/jobs/store';
import type { FloatImage } from '../platform/native';
import type { TestSetDefinition } from './definition';
import { bodyMap, centerSquare, cropPatch, placePatch, type BodyMap } from './patches';
import { resizeRegion } from '../imaging/resize';
import { planItems, type DistortionChoice, type PlannedItem } from './sampling';

export const BUILD_TEST_SET = 'BUILD_TEST_SET';

export interface BuildParams {
  testSetId: string;
  backend: Backend;
}

interface BuildItem {
  position: number;
}

interface BuildRow {
  id: string;
  p0: DistortionChoice | null;
  p1: DistortionChoice | null;
  identical: boolean;
  definition: TestSetDefinition;
  seed: number;
  contentHash: string;
  bitDepth: number;
  windowCenter: number | null;
  windowWidth: number | null;
  detectorResponse: DetectorResponse;
}

interface SetRow {
  definition: TestSetDefinition;
  seed: number;
}

async function loadSet(app: App, testSetId: string): Promise<SetRow | null> {
  const { rows } = await app.pool.query<SetRow>(`SELECT definition, seed::float8 AS seed FROM test_sets WHERE id = $1`, [testSetId]);
  return rows[0] ?? null;
}

/** The images a definition may draw from, in source-path order; PATCH units need a shorter side >= the patch size. */
export async function eligibleImages(app: App, definition: TestSetDefinition) {
  const { source, unit } = definition;
  const { rows } = await app.pool.query<{ id: string; split: string | null; channels: number }>(
    `SELECT id, split, channels FROM images
     WHERE dataset_id = $1 AND ($2::text[] IS NULL OR split = ANY($2)) AND ($3::text[] IS NULL OR label = ANY($3))
       AND least(width, height) >= $4
     ORDER BY source_path`,
    [source.datasetId, source.splits, source.labels, unit.mode === 'PATCH' ? unit.size : 1],
  );
  return rows;
}

/** Stores every planned item in one statement; a plan run again after a crash inserts nothing twice. */
async function storePlan(app: App, testSetId: string, items: PlannedItem[]): Promise<void> {
  const column = <K extends keyof PlannedItem>(key: K) => items.map((item) => item[key]);
  const json = (choices: Array<DistortionChoice | null>) => choices.map((choice) => (choice ? JSON.stringify(choice) : null));
  await app.pool.query(
    `INSERT INTO test_set_items (test_set_id, position, role, category, image_id, split, patch, p0_spec, p1_spec, kinds, identical, expected)
     SELECT $1, t.position, t.role, t.category, t.image_id, t.split, t.patch, t.p0::jsonb, t.p1::jsonb,
            ARRAY(SELECT jsonb_array_elements_text(t.kinds::jsonb)), t.identical, t.expected
     FROM unnest($2::int[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[], $11::bool[], $12::text[])
          AS t (position, role, category, image_id, split, patch, p0, p1, kinds, identical, expected)
     ON CONFLICT (test_set_id, position) DO NOTHING`,
    [
      testSetId,
      column('position'),
      column('role'),
      column('category'),
      column('imageId'),
      column('split'),
      column('patch'),
      json(column('p0')),
      json(column('p1')),
      items.map((item) => JSON.stringify(item.kinds)),
      column('identical'),
      column('expected'),
    ],
  );
  await app.pool.query(`UPDATE test_sets SET item_count = $2 WHERE id = $1`, [testSetId, items.length]);
}

// Body maps of the few images decoded last: consecutive items often share an image (patches per image).
const bodyMaps = new WeakMap<FloatImage, BodyMap>();

function mapOf(image: FloatImage): BodyMap {
  let map = bodyMaps.get(image);
  if (!map) bodyMaps.set(image, (map = bodyMap(image)));
  return map;
}

/** The item's unit of its source image: the placed patch, or the centred square resized. */
function cutUnit(source: FloatImage, definition: TestSetDefinition, seed: number, position: number) {
  const { size, mode } = definition.unit;
  if (mode === 'WHOLE') {
    const square = centerSquare(source);
    return { unit: resizeRegion(source, square, size), region: { mode, ...square, resizedTo: size } };
  }
  const placement = placePatch(mapOf(source), size, seed, position);
  return { unit: cropPatch(source, placement), region: { mode, ...placement } };
}

/** The window the item's three images are shown with: the source's own, or the reference's range. */
function displayWindow(image: { windowCenter: number | null; windowWidth: number | null }, unit: FloatImage, bitDepth: number) {
  const own = windowOf(image);
  if (own) return own;
  const scale = bitDepth === 16 ? 65535 : 255;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < unit.width * unit.height; i++) {
    const value = unit.data[i];
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const low = Math.round(min * scale);
  const high = Math.round(max * scale);
  return high > low ? { center: (low + high) / 2, width: high - low } : { center: low, width: 1 };
}

async function buildItem(app: App, jobId: string, params: BuildParams, item: BuildItem): Promise<void> {
  const key = String(item.position);
  // The item, its set's definition and its source image in one statement.
  const { rows } = await app.pool.query<BuildRow>(
    `SELECT i.id, i.p0_spec AS p0, i.p1_spec AS p1, i.identical, s.definition, s.seed::float8 AS seed,
            im.content_hash AS "contentHash", im.bit_depth AS "bitDepth", im.window_center AS "windowCenter", im.window_width AS "windowWidth",
            im.detector_response AS "detectorResponse"
     FROM test_set_items i JOIN test_sets s ON s.id = i.test_set_id JOIN images im ON im.id = i.image_id
     WHERE i.test_set_id = $1 AND i.position = $2`,
    [params.testSetId, item.position],
  );
  const planned = rows[0];
  if (!planned) {
    await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code: 'NOT_FOUND', message: 'the test set, the item or its source image was deleted' });
    return;
  }
  try {
    const source = await decodedSource(app, planned.contentHash);
    const { unit, region } = cutUnit(source, planned.definition, planned.seed, item.position);
    const distort = async (choice: DistortionChoice | null) => {
      if (!choice) return { image: unit, resolved: null };
      const applied = await distortPixels(app, unit, choice.steps, choice.seed, params.backend, planned.detectorResponse);
      return { image: applied.image, resolved: { ...choice, resolved: describeSteps(applied.steps) } };
    };
    const p0 = await distort(planned.p0);
    const p1 = planned.identical ? p0 : await distort(planned.p1);
    const bitDepth = planned.bitDepth === 16 ? 16 : 8;
    const store = async (pixels: FloatImage) => {
      const png = await floatToPng(pixels, bitDepth);
      const hash = sha256(png);
      await app.blobs.put(hash, png);
      return hash;
    };
    const twoAfc = planned.definition.kind === 'TWO_AFC';
    const refHash = twoAfc ? await store(unit) : null;
    const p0Hash = twoAfc ? await store(p0.image) : await store(unit);
    const p1Hash = planned.identical ? p0Hash : await store(p1.image);
    const window = displayWindow(planned, unit, bitDepth);
    await app.pool.query(
      jobs.recordOutcomeSql(
        `'DONE'`,
        `built AS (
           UPDATE test_set_items SET region = $7, p0_spec = COALESCE($8, p0_spec), p1_spec = COALESCE($9, p1_spec),
             ref_hash = $10, p0_hash = $11, p1_hash = $12, width = $13, height = $13, channels = $14, bit_depth = $15,
             window_center = $16, window_width = $17, built_at = now()
           WHERE id = $6 RETURNING 1)`,
      ),
      [
        ...jobs.recordOutcomeParams(jobId, key),
        planned.id,
        JSON.stringify(region),
        p0.resolved && JSON.stringify(p0.resolved),
        planned.identical || !p1.resolved ? null : JSON.stringify(p1.resolved),
        refHash,
        p0Hash,
        p1Hash,
        unit.width,
        unit.channels,
        bitDepth,
        window.center,
        window.width,
      ],
    );
  } catch (error) {
    const code = error instanceof UserInputError ? 'BAD_SPEC' : 'ENGINE_ERROR';
    await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code, message: (error as Error).message });
  }
}

export const buildTestSetJob = defineItemJob<BuildParams, BuildItem>({
  kind: BUILD_TEST_SET,
  description: 'Builds a test set from its definition and seed: samples every item, cuts and distorts its images.',
  key: (item) => String(item.position),
  chunkSize: (app) => app.config.jobChunkSize,
  inFlight: 2, // one item's PNG encoding and blob writes overlap the next one's kernels

  async plan(app, _jobId, params) {
    const set = await loadSet(app, params.testSetId);
    if (!set) throw new PlanError('the test set was deleted');
    const sources = await eligibleImages(app, set.definition);
    const needed = Math.ceil(set.definition.source.references / set.definition.unit.patchesPerImage);
    if (sources.length < needed) throw new PlanError(`needs ${needed} source images, ${sources.length} match now`);
    const items = planItems(set.definition, set.seed, sources);
    await storePlan(app, params.testSetId, items);
    return items.map(({ position }) => ({ position }));
  },

  run: buildItem,
});
