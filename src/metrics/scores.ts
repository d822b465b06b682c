/**
 * Scoring as a job: a test set's items (2AFC: d(ref, p0) and d(ref, p1); JND: d(p0, p1)) or a list of
 * image pairs, with a set of metrics. Values are stored per pair of images (by content) and metric
 * settings, version, model and data range (metric_scores), so a rerun computes only what is missing and a
 * changed metric version is recomputed, never mixed with old values: reads take current versions only.
 */
import { chooseBackend } from '../distortions/apply';
import { decodedSource } from '../distortions/service';
import { inferencePool } from '../models/settings';
import type { App } from '../platform/app';
import { badUserInput } from '../platform/errors';
import { defineItemJob } from '../platform/jobs/items';
import { ItemOutcome } from '../platform/jobs/states';
import * as jobs from '../platform/jobs/store';
import { nativeEngine, type FloatImage } from '../platform/native';
import { getTestSet } from '../testsets/service';
import { metricSpec } from './catalog';
import { deepDistances } from './deep';
import { checkMetrics, dataRangeOf, modelHashOf, settingsOf, shapeError, type CheckedMetric, type MetricRequest } from './engine';
import { located, recordedDataBits, registeredModels, type ImageReference } from './service';

export const SCORE = 'SCORE';
export const MAX_SCORE_PAIRS = 100_000;

/** A metric as a job keeps it: the request (to check again when a unit runs) and the key it was asked at. */
interface JobMetric {
  request: MetricRequest;
  settings: string;
  modelHash: string;
  version: number;
}

/** An image of a pair: its blob, PNG depth and recorded data bits. */
export interface PairImage {
  hash: string;
  bitDepth: number;
  dataBits: number;
}

export interface ImagePair {
  a: PairImage;
  b: PairImage;
}

interface ScoreParams {
  metrics: JobMetric[];
  /** A test set's items, or explicit pairs. */
  testSetId: string | null;
  pairs: ImagePair[] | null;
}

type ScoreItem = { itemId: string } | { pair: number };

const keyOf = (metric: CheckedMetric): Omit<JobMetric, 'request'> => ({ settings: settingsOf(metric), modelHash: modelHashOf(metric), version: metric.spec.version });

function jobMetrics(checked: CheckedMetric[], requests: MetricRequest[]): JobMetric[] {
  return checked.map((metric, index) => ({
    request: { name: metric.spec.name, params: metric.params, model: requests[index].model ?? null, layers: metric.deep?.layers ?? null },
    ...keyOf(metric),
  }));
}

export async function startScoreTestSet(app: App, testSetId: string, metrics: MetricRequest[]): Promise<string> {
  const checked = await checkMetrics(metrics, 'metrics', registeredModels(app));
  const set = await getTestSet(app, testSetId, 'testSetId');
  if (set.state !== 'READY') throw badUserInput('testSetId', `test set ${set.id} is ${set.state}: score a READY set`);
  return app.jobs.queue(SCORE, { metrics: jobMetrics(checked, metrics), testSetId: set.id, pairs: null } satisfies ScoreParams);
}

export async function startScorePairs(app: App, pairs: Array<{ a: ImageReference; b: ImageReference }>, metrics: MetricRequest[]): Promise<string> {
  const checked = await checkMetrics(metrics, 'metrics', registeredModels(app));
  if (pairs.length < 1 || pairs.length > MAX_SCORE_PAIRS) throw badUserInput('pairs', `give 1 to ${MAX_SCORE_PAIRS} pairs`, { min: 1, max: MAX_SCORE_PAIRS });
  const resolved: ImagePair[] = [];
  for (const [index, pair] of pairs.entries()) {
    resolved.push({ a: await pairImage(app, pair.a, `pairs[${index}].a`), b: await pairImage(app, pair.b, `pairs[${index}].b`) });
  }
  return app.jobs.queue(SCORE, { metrics: jobMetrics(checked, metrics), testSetId: null, pairs: resolved } satisfies ScoreParams);
}

export async function pairImage(app: App, ref: ImageReference, field: string): Promise<PairImage> {
  const found = await located(app, ref, field);
  return { hash: found.contentHash, bitDepth: found.bitDepth, dataBits: recordedDataBits(found.source, found.bitDepth) };
}

/** A built item's pairs: 2AFC (ref, p0) and (ref, p1); JND (p0, p1). Null while unbuilt. */
async function itemPairs(app: App, itemId: string): Promise<ImagePair[] | null> {
  const { rows } = await app.pool.query(
    `SELECT i.ref_hash, i.p0_hash, i.p1_hash, i.bit_depth, s.kind, src.bit_depth AS source_depth, src.dicom_attributes
     FROM test_set_items i JOIN test_sets s ON s.id = i.test_set_id LEFT JOIN images src ON src.id = i.image_id
     WHERE i.id = $1`,
    [itemId],
  );
  const row = rows[0];
  if (!row?.p0_hash || !row.p1_hash) return null;
  const depth = row.bit_depth === 16 ? 16 : 8;
  const dataBits = recordedDataBits(row.source_depth === null ? null : { bitDepth: row.source_depth, dicomAttributes: row.dicom_attributes }, depth);
  const image = (hash: string): PairImage => ({ hash, bitDepth: depth, dataBits });
  if (row.kind === 'JND') return [{ a: image(row.p0_hash), b: image(row.p1_hash) }];
  if (!row.ref_hash) return null;
  return [
    { a: image(row.ref_hash), b: image(row.p0_hash) },
    { a: image(row.ref_hash), b: image(row.p1_hash) },
  ];
}

const pairBits = (pair: ImagePair) => Math.max(pair.a.dataBits, pair.b.dataBits);
const scoreKey = (a: string, b: string, metric: string, settings: string, modelHash: string, bits: number) => [a, b, metric, settings, modelHash, bits].join('/');

/**
 * Scores the pairs with the metrics, computing only the values not stored yet; deep metrics see every
 * image of the item once (a 2AFC reference serves both pairs). Returns how many values were computed, or
 * why a metric refused the item.
 */
async function scoreMissing(app: App, jobId: string, pairs: ImagePair[], metrics: CheckedMetric[]): Promise<{ computed: number; error: string | null }> {
  const { rows } = await app.pool.query<{ a_hash: string; b_hash: string; metric: string; settings: string; model_hash: string; data_bits: number }>(
    `SELECT a_hash, b_hash, metric, settings, model_hash, data_bits FROM metric_scores
     WHERE a_hash = ANY($1) AND b_hash = ANY($2) AND (metric, version) IN (SELECT * FROM unnest($3::text[], $4::int[]))`,
    [pairs.map((p) => p.a.hash), pairs.map((p) => p.b.hash), metrics.map((m) => m.spec.name), metrics.map((m) => m.spec.version)],
  );
  const have = new Set(rows.map((row) => scoreKey(row.a_hash, row.b_hash, row.metric, row.settings, row.model_hash, row.data_bits)));
  const missing = (pair: ImagePair) => metrics.filter((m) => !have.has(scoreKey(pair.a.hash, pair.b.hash, m.spec.name, settingsOf(m), modelHashOf(m), pairBits(pair))));
  const todo = pairs.map((pair) => ({ pair, metrics: missing(pair) })).filter((entry) => entry.metrics.length > 0);
  if (todo.length === 0) return { computed: 0, error: null };

  const decoded = new Map<string, FloatImage>();
  for (const { pair } of todo) {
    for (const hash of [pair.a.hash, pair.b.hash]) if (!decoded.has(hash)) decoded.set(hash, await decodedSource(app, hash));
  }
  for (const { pair } of todo) {
    const error = shapeError(decoded.get(pair.a.hash)!, decoded.get(pair.b.hash)!);
    if (error) return { computed: 0, error };
  }
  const inserts: Array<{ pair: ImagePair; metric: CheckedMetric; value: number }> = [];
  // Engine metrics: every missing one of a pair in one call to the engine.
  const backend = chooseBackend('AUTO').backend === 'CUDA' ? 'cuda' : 'cpu';
  for (const { pair, metrics: asked } of todo) {
    const engine = asked.filter((metric) => !metric.deep);
    if (engine.length === 0) continue;
    const a = decoded.get(pair.a.hash)!;
    const b = decoded.get(pair.b.hash)!;
    const scores = await nativeEngine().score(
      [{ a: a.data, b: b.data, width: a.width, height: a.height, channels: a.channels, dataRange: dataRangeOf(pairBits(pair), Math.max(pair.a.bitDepth, pair.b.bitDepth)) }],
      engine.map(({ spec, params }) => ({ name: spec.name, params })),
      { backend },
    );
    const failed = scores.errors.find((error) => error !== '');
    if (failed) return { computed: 0, error: failed };
    engine.forEach((metric, index) => inserts.push({ pair, metric, value: scores.values[index] }));
  }
  // Deep metrics: each one request over the item's images, so an image shared by pairs goes through the model once.
  for (const metric of metrics.filter((m) => m.deep)) {
    const wanted = todo.filter((entry) => entry.metrics.includes(metric)).map((entry) => entry.pair);
    if (wanted.length === 0) continue;
    const hashes = [...new Set(wanted.flatMap((pair) => [pair.a.hash, pair.b.hash]))];
    const { distances } = await deepDistances(
      inferencePool(app),
      metric.deep!.model,
      metric.deep!.layers,
      hashes.map((hash) => ({ image: decoded.get(hash)!, key: hash })),
      wanted.map((pair) => [hashes.indexOf(pair.a.hash), hashes.indexOf(pair.b.hash)]),
    );
    wanted.forEach((pair, index) => inserts.push({ pair, metric, value: distances[index] }));
  }
  await app.pool.query(
    `INSERT INTO metric_scores (a_hash, b_hash, metric, settings, version, model_hash, data_bits, value, job_id)
     SELECT * FROM unnest($1::char(64)[], $2::char(64)[], $3::text[], $4::text[], $5::int[], $6::text[], $7::smallint[], $8::float8[], $9::uuid[])
     ON CONFLICT DO NOTHING`,
    [
      inserts.map((row) => row.pair.a.hash),
      inserts.map((row) => row.pair.b.hash),
      inserts.map((row) => row.metric.spec.name),
      inserts.map((row) => settingsOf(row.metric)),
      inserts.map((row) => row.metric.spec.version),
      inserts.map((row) => modelHashOf(row.metric)),
      inserts.map((row) => pairBits(row.pair)),
      inserts.map((row) => row.value),
      inserts.map(() => jobId),
    ],
  );
  return { computed: inserts.length, error: null };
}

/**
 * The job's metrics, checked again as a unit runs: a metric whose version or model changed since the job
 * was queued fails the job's items rather than storing values under the old key.
 */
async function unitMetrics(app: App, params: ScoreParams): Promise<CheckedMetric[]> {
  const checked = await checkMetrics(params.metrics.map((m) => m.request), 'metrics', registeredModels(app));
  checked.forEach((metric, index) => {
    const asked = params.metrics[index];
    const now = keyOf(metric);
    if (now.version !== asked.version || now.modelHash !== asked.modelHash || now.settings !== asked.settings) {
      throw new Error(`${metric.spec.name} changed since the job was queued (version, model or layers): queue it again`);
    }
  });
  return checked;
}

export const scoreJob = defineItemJob<ScoreParams, ScoreItem>({
  kind: SCORE,
  description: 'Scores a test set (or a list of image pairs) with metrics; stores each value once per pair, metric version and model.',
  key: (item) => ('itemId' in item ? item.itemId : `pair ${item.pair}`),
  chunkSize: (app) => app.config.jobChunkSize,
  inFlight: 1, // the engine and the inference pool use every core already

  async plan(app, _jobId, params) {
    if (params.pairs) return params.pairs.map((_, pair) => ({ pair }));
    const { rows } = await app.pool.query<{ id: string }>(`SELECT id FROM test_set_items WHERE test_set_id = $1 ORDER BY position`, [params.testSetId]);
    return rows.map((row) => ({ itemId: row.id }));
  },

  async run(app, jobId, params, item) {
    const key = 'itemId' in item ? item.itemId : `pair ${item.pair}`;
    const fail = (code: string, message: string) => jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code, message });
    let metrics: CheckedMetric[];
    try {
      metrics = await unitMetrics(app, params);
    } catch (error) {
      await fail('METRIC_CHANGED', (error as Error).message);
      return;
    }
    const pairs = 'itemId' in item ? await itemPairs(app, item.itemId) : [params.pairs![item.pair]];
    if (!pairs) {
      await fail('NOT_BUILT', 'the item has no images');
      return;
    }
    let outcome;
    try {
      outcome = await scoreMissing(app, jobId, pairs, metrics);
    } catch (error) {
      await fail('METRIC_ERROR', (error as Error).message);
      return;
    }
    if (outcome.error) await fail('METRIC_ERROR', outcome.error);
    else await jobs.recordOutcome(app.pool, jobId, key, outcome.computed > 0 ? ItemOutcome.DONE : ItemOutcome.SKIPPED);
  },
});

export interface PairScore {
  metric: string;
  params: Record<string, number>;
  model: string | null;
  layers: string[] | null;
  version: number;
  dataBits: number;
  value: number;
}

/**
 * Stored values of these pairs at each metric's current version, keyed "aHash/bHash". With `metrics`, only
 * those settings and models; without, every stored one (deep ones named by the registered model of that hash).
 */
export async function storedScores(app: App, pairs: ImagePair[], metrics: CheckedMetric[] | null): Promise<Map<string, PairScore[]>> {
  const { rows } = await app.pool.query<{ a_hash: string; b_hash: string; metric: string; settings: string; model_hash: string; version: number; data_bits: number; value: number; model: string | null }>(
    `SELECT s.a_hash, s.b_hash, s.metric, s.settings, s.model_hash, s.version, s.data_bits, s.value, m.name AS model
     FROM metric_scores s LEFT JOIN models m ON m.sha256 = split_part(s.model_hash, '+', 1)
     WHERE (s.a_hash, s.b_hash) IN (SELECT * FROM unnest($1::char(64)[], $2::char(64)[]))
     ORDER BY s.metric, s.settings, s.model_hash`,
    [pairs.map((p) => p.a.hash), pairs.map((p) => p.b.hash)],
  );
  const wanted = metrics ? new Set(metrics.map((m) => `${m.spec.name}/${settingsOf(m)}/${modelHashOf(m)}`)) : null;
  const bitsOf = new Map(pairs.map((p) => [`${p.a.hash}/${p.b.hash}`, pairBits(p)]));
  const found = new Map<string, PairScore[]>();
  for (const row of rows) {
    const pairKey = `${row.a_hash}/${row.b_hash}`;
    if (metricSpec(row.metric)?.version !== row.version || row.data_bits !== bitsOf.get(pairKey)) continue;
    if (wanted && !wanted.has(`${row.metric}/${row.settings}/${row.model_hash}`)) continue;
    const settings = JSON.parse(row.settings);
    const deep = row.model_hash !== '';
    const list = found.get(pairKey) ?? [];
    list.push({
      metric: row.metric,
      params: deep ? {} : settings,
      model: deep ? (row.model ?? `(unregistered ${row.model_hash.slice(0, 12)})`) : null,
      layers: deep ? settings.layers : null,
      version: row.version,
      dataBits: row.data_bits,
      value: row.value,
    });
    found.set(pairKey, list);
  }
  return found;
}

export interface ItemScore extends Omit<PairScore, 'value'> {
  /** 2AFC: d(ref, p0); JND: d(p0, p1). */
  d0: number;
  /** 2AFC: d(ref, p1); null for JND. */
  d1: number | null;
}

/** An item's stored scores (current metric versions), one entry per setting scored on all of its pairs. */
export async function itemScores(app: App, itemId: string, metrics: MetricRequest[] | null): Promise<ItemScore[]> {
  const pairs = await itemPairs(app, itemId);
  if (!pairs) return [];
  const found = await storedScores(app, pairs, metrics ? await checkMetrics(metrics, 'metrics', registeredModels(app)) : null);
  const [first, second] = pairs.map((pair) => found.get(`${pair.a.hash}/${pair.b.hash}`) ?? []);
  const same = (x: PairScore, y: PairScore) => x.metric === y.metric && JSON.stringify([x.params, x.model, x.layers]) === JSON.stringify([y.params, y.model, y.layers]);
  return first.flatMap(({ value, ...score }): ItemScore[] => {
    if (pairs.length === 1) return [{ ...score, d0: value, d1: null }];
    const other = second.find((s) => same(s, { ...score, value }));
    return other ? [{ ...score, d0: value, d1: other.value }] : [];
  });
}
