/**
 * Scoring as a job: a test set's items (2AFC: d(ref, p0) and d(ref, p1); JND: d(p0, p1)) or a list of
 * image pairs, with a set of metrics. Values are stored per pair of images and metric settings
 * (metric_scores), so a rerun computes only what is missing and a changed metric version is recomputed,
 * never mixed with old values: reads take each metric's current version only.
 */
import { decodedSource } from '../distortions/service';
import type { App } from '../platform/app';
import { badUserInput } from '../platform/errors';
import { defineItemJob, PlanError } from '../platform/jobs/items';
import { ItemOutcome } from '../platform/jobs/states';
import * as jobs from '../platform/jobs/store';
import { nativeEngine } from '../platform/native';
import { getTestSet } from '../testsets/service';
import { metricSpec } from './catalog';
import { checkMetrics, type CheckedMetric, type MetricRequest } from './engine';
import { located, recordedDataBits, type ImageReference } from './service';

export const SCORE = 'SCORE';
export const MAX_SCORE_PAIRS = 100_000;

/** A metric as a job keeps it: its name, every parameter and the version it was asked at. */
export interface StoredMetric {
  name: string;
  params: Record<string, number>;
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
  metrics: StoredMetric[];
  /** A test set's built items, or explicit pairs. */
  testSetId: string | null;
  pairs: ImagePair[] | null;
}

type ScoreItem = { itemId: string } | { pair: number };

/** Canonical JSON of the parameters (sorted keys): part of a score's key. */
export function settingsKey(params: Record<string, number>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1))));
}

const asStored = (checked: CheckedMetric[]): StoredMetric[] => checked.map(({ spec, params }) => ({ name: spec.name, params, version: spec.version }));

export async function startScoreTestSet(app: App, testSetId: string, metrics: MetricRequest[]): Promise<string> {
  const checked = checkMetrics(metrics);
  const set = await getTestSet(app, testSetId, 'testSetId');
  if (set.state !== 'READY') throw badUserInput('testSetId', `test set ${set.id} is ${set.state}: score a READY set`);
  return app.jobs.queue(SCORE, { metrics: asStored(checked), testSetId: set.id, pairs: null } satisfies ScoreParams);
}

export async function startScorePairs(app: App, pairs: Array<{ a: ImageReference; b: ImageReference }>, metrics: MetricRequest[]): Promise<string> {
  const checked = checkMetrics(metrics);
  if (pairs.length < 1 || pairs.length > MAX_SCORE_PAIRS) throw badUserInput('pairs', `give 1 to ${MAX_SCORE_PAIRS} pairs`, { min: 1, max: MAX_SCORE_PAIRS });
  const resolved: ImagePair[] = [];
  for (const [index, pair] of pairs.entries()) {
    resolved.push({ a: await pairImage(app, pair.a, `pairs[${index}].a`), b: await pairImage(app, pair.b, `pairs[${index}].b`) });
  }
  return app.jobs.queue(SCORE, { metrics: asStored(checked), testSetId: null, pairs: resolved } satisfies ScoreParams);
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

/**
 * Scores the pairs with the metrics, computing only values not stored yet. Returns how many were computed,
 * and the first engine refusal (a per-item failure) if any.
 */
async function scoreMissing(app: App, jobId: string | null, pairs: ImagePair[], metrics: StoredMetric[]): Promise<{ computed: number; error: string | null }> {
  const { rows } = await app.pool.query<{ a_hash: string; b_hash: string; metric: string; settings: string; data_bits: number }>(
    `SELECT a_hash, b_hash, metric, settings, data_bits FROM metric_scores
     WHERE a_hash = ANY($1) AND b_hash = ANY($2) AND model_hash = '' AND (metric, version) IN (SELECT * FROM unnest($3::text[], $4::int[]))`,
    [pairs.map((p) => p.a.hash), pairs.map((p) => p.b.hash), metrics.map((m) => m.name), metrics.map((m) => m.version)],
  );
  const have = new Set(rows.map((row) => `${row.a_hash}/${row.b_hash}/${row.metric}/${row.settings}/${row.data_bits}`));
  let computed = 0;
  for (const pair of pairs) {
    const bits = pairBits(pair);
    const missing = metrics.filter((m) => !have.has(`${pair.a.hash}/${pair.b.hash}/${m.name}/${settingsKey(m.params)}/${bits}`));
    if (missing.length === 0) continue;
    const [a, b] = await Promise.all([decodedSource(app, pair.a.hash), decodedSource(app, pair.b.hash)]);
    if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
      return { computed, error: `images differ in shape: ${a.width}x${a.height}x${a.channels} vs ${b.width}x${b.height}x${b.channels}` };
    }
    const depth = Math.max(pair.a.bitDepth, pair.b.bitDepth);
    const scores = await nativeEngine().score(
      [{ a: a.data, b: b.data, width: a.width, height: a.height, channels: a.channels, dataRange: (2 ** bits - 1) / (2 ** depth - 1) }],
      missing.map(({ name, params }) => ({ name, params })),
    );
    const failed = scores.errors.find((error) => error !== '');
    if (failed) return { computed, error: failed };
    await app.pool.query(
      `INSERT INTO metric_scores (a_hash, b_hash, metric, settings, version, data_bits, value, job_id)
       SELECT $1, $2, m, s, v, $3, x, $4 FROM unnest($5::text[], $6::text[], $7::int[], $8::float8[]) AS t(m, s, v, x)
       ON CONFLICT DO NOTHING`,
      [pair.a.hash, pair.b.hash, bits, jobId, missing.map((m) => m.name), missing.map((m) => settingsKey(m.params)), missing.map((m) => m.version), Array.from(scores.values)],
    );
    computed += missing.length;
  }
  return { computed, error: null };
}

export const scoreJob = defineItemJob<ScoreParams, ScoreItem>({
  kind: SCORE,
  description: 'Scores a test set (or a list of image pairs) with metrics; stores each value once per pair and metric version.',
  key: (item) => ('itemId' in item ? item.itemId : `pair ${item.pair}`),
  chunkSize: (app) => app.config.jobChunkSize,
  inFlight: 1, // the engine uses every core already

  async plan(app, _jobId, params) {
    if (params.pairs) return params.pairs.map((_, pair) => ({ pair }));
    const { rows } = await app.pool.query<{ id: string }>(`SELECT id FROM test_set_items WHERE test_set_id = $1 ORDER BY position`, [params.testSetId]);
    if (rows.length === 0) throw new PlanError('the test set has no items');
    return rows.map((row) => ({ itemId: row.id }));
  },

  async run(app, jobId, params, item) {
    const key = 'itemId' in item ? item.itemId : `pair ${item.pair}`;
    const pairs = 'itemId' in item ? await itemPairs(app, item.itemId) : [params.pairs![item.pair]];
    if (!pairs) {
      await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code: 'NOT_BUILT', message: 'the item has no images' });
      return;
    }
    const { computed, error } = await scoreMissing(app, jobId, pairs, params.metrics);
    if (error) await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code: 'METRIC_ERROR', message: error });
    else await jobs.recordOutcome(app.pool, jobId, key, computed > 0 ? ItemOutcome.DONE : ItemOutcome.SKIPPED);
  },
});

export interface PairScore {
  metric: string;
  params: Record<string, number>;
  version: number;
  dataBits: number;
  value: number;
}

/**
 * Stored values of these pairs at each metric's current version, keyed "aHash/bHash". With `metrics`, only
 * those settings; without, every stored setting of every catalog metric.
 */
export async function storedScores(app: App, pairs: ImagePair[], metrics: CheckedMetric[] | null): Promise<Map<string, PairScore[]>> {
  const { rows } = await app.pool.query<{ a_hash: string; b_hash: string; metric: string; settings: string; version: number; data_bits: number; value: number }>(
    `SELECT a_hash, b_hash, metric, settings, version, data_bits, value FROM metric_scores
     WHERE (a_hash, b_hash) IN (SELECT * FROM unnest($1::char(64)[], $2::char(64)[])) AND model_hash = ''
     ORDER BY metric, settings`,
    [pairs.map((p) => p.a.hash), pairs.map((p) => p.b.hash)],
  );
  const wanted = metrics ? new Set(metrics.map((m) => `${m.spec.name}/${settingsKey(m.params)}`)) : null;
  const bitsOf = new Map(pairs.map((p) => [`${p.a.hash}/${p.b.hash}`, pairBits(p)]));
  const found = new Map<string, PairScore[]>();
  for (const row of rows) {
    const pairKey = `${row.a_hash}/${row.b_hash}`;
    if (metricSpec(row.metric)?.version !== row.version || row.data_bits !== bitsOf.get(pairKey)) continue;
    if (wanted && !wanted.has(`${row.metric}/${row.settings}`)) continue;
    const list = found.get(pairKey) ?? [];
    list.push({ metric: row.metric, params: JSON.parse(row.settings), version: row.version, dataBits: row.data_bits, value: row.value });
    found.set(pairKey, list);
  }
  return found;
}

export interface ItemScore {
  metric: string;
  params: Record<string, number>;
  version: number;
  dataBits: number;
  /** 2AFC: d(ref, p0); JND: d(p0, p1). */
  d0: number;
  /** 2AFC: d(ref, p1); null for JND. */
  d1: number | null;
}

/** An item's stored scores (current metric versions), one entry per metric setting scored on every pair. */
export async function itemScores(app: App, itemId: string, metrics: MetricRequest[] | null): Promise<ItemScore[]> {
  const pairs = await itemPairs(app, itemId);
  if (!pairs) return [];
  const found = await storedScores(app, pairs, metrics ? checkMetrics(metrics) : null);
  const [first, second] = pairs.map((pair) => found.get(`${pair.a.hash}/${pair.b.hash}`) ?? []);
  return first.flatMap(({ value, ...score }): ItemScore[] => {
    if (pairs.length === 1) return [{ ...score, d0: value, d1: null }];
    const other = second.find((s) => s.metric === score.metric && settingsKey(s.params) === settingsKey(score.params));
    return other ? [{ ...score, d0: value, d1: other.value }] : [];
  });
}
