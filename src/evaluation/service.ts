/**
 * The classifier, evaluated: a job predicts stored images (a dataset split, a test set's items, a dataset's
 * distorted images and their sources), each prediction kept per (image content, model SHA-256); the
 * evaluation of a split and the flips of distorted images are read from those predictions.
 */
import { decodedSource } from '../distortions/service';
import { getDataset, parseSplit } from '../datasets/service';
import { namedModel } from '../models/registry';
import { inferencePool } from '../models/settings';
import type { App } from '../platform/app';

import { defineItemJob } from '../platform/jobs/items';
import { ItemOutcome } from '../platform/jobs/states';
import * as jobs from '../platform/jobs/store';
import { getTestSet } from '../testsets/service';
import { classify, describeClassifier, predictedClass, type ClassifierModel } from './predict';
import { summarize, type BinarySummary } from './roc';

export const PREDICT = 'PREDICT';

/** What a prediction job covers. */
export type PredictionTarget =
  | { kind: 'split'; datasetId: string; split: string | null }
  | { kind: 'testSet'; testSetId: string }
  | { kind: 'distortions'; datasetId: string };

interface PredictParams {
  model: string;
  modelSha256: string;
  target: PredictionTarget;
}

export async function classifierNamed(app: App, name: string, field = 'model'): Promise<ClassifierModel> {
  return describeClassifier(await namedModel(app, name, field), field);
}

/** Queues a job predicting every image of the target not predicted by this model yet. */
export async function startPredictions(app: App, modelName: string, target: PredictionTarget): Promise<string> {
  const model = await classifierNamed(app, modelName);
  if (target.kind === 'testSet') await getTestSet(app, target.testSetId, 'testSetId');
  else await getDataset(app, target.datasetId, 'datasetId');
  if (target.kind === 'split') parseSplit('split', target.split);
  return app.jobs.queue(PREDICT, { model: model.name, modelSha256: model.sha256, target } satisfies PredictParams);
}

async function targetHashes(app: App, target: PredictionTarget): Promise<string[]> {
  const query = (sql: string, values: unknown[]) => app.pool.query<{ hash: string }>(sql, values).then(({ rows }) => rows.map((row) => row.hash));
  if (target.kind === 'split') {
    return query(`SELECT DISTINCT content_hash AS hash FROM images WHERE dataset_id = $1 AND ($2::text IS NULL OR split = $2) ORDER BY 1`, [target.datasetId, target.split]);
  }
  if (target.kind === 'testSet') {
    return query(
      `SELECT DISTINCT hash FROM test_set_items, unnest(ARRAY[ref_hash, p0_hash, p1_hash]) AS hash WHERE test_set_id = $1 AND hash IS NOT NULL ORDER BY 1`,
      [target.testSetId],
    );
  }
  return query(
    `SELECT DISTINCT hash FROM distorted_images d JOIN images i ON i.id = d.image_id, unnest(ARRAY[d.content_hash, i.content_hash]) AS hash
     WHERE d.dataset_id = $1 ORDER BY 1`,
    [target.datasetId],
  );
}

/** Images per ONNX run: batch inference, small enough for a ResNet50 at 224 x 224 on a few GB. */
const BATCH = 8;

export const predictJob = defineItemJob<PredictParams, { hashes: string[] }>({
  kind: PREDICT,
  description: "Runs a registered classifier on stored images and keeps each image's class probabilities (evaluations and flips read them).",
  key: (item) => item.hashes[0],
  chunkSize: (app) => Math.max(1, Math.ceil(app.config.jobChunkSize / BATCH)),
  inFlight: 1,

  async plan(app, _jobId, params) {
    const hashes = await targetHashes(app, params.target);
    const batches = [];
    for (let start = 0; start < hashes.length; start += BATCH) batches.push({ hashes: hashes.slice(start, start + BATCH) });
    return batches;
  },

  async run(app, jobId, params, item) {
    const key = item.hashes[0];
    let model: ClassifierModel;
    try {
      model = await classifierNamed(app, params.model);
      if (model.sha256 !== params.modelSha256) throw new Error(`model ${params.model} was replaced since the job was queued: queue it again`);
    } catch (error) {
      await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code: 'MODEL_CHANGED', message: (error as Error).message });
      return;
    }
    const { rows } = await app.pool.query<{ content_hash: string }>(`SELECT content_hash FROM classifier_predictions WHERE model_hash = $1 AND content_hash = ANY($2)`, [model.sha256, item.hashes]);
    const done = new Set(rows.map((row) => row.content_hash));
    const todo = item.hashes.filter((hash) => !done.has(hash));
    if (todo.length === 0) {
      await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.SKIPPED);
      return;
    }
    let probabilities: number[][];
    try {
      probabilities = await classify(inferencePool(app), model, await Promise.all(todo.map((hash) => decodedSource(app, hash))));
    } catch (error) {
      await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.FAILED, { code: 'INFERENCE_ERROR', message: (error as Error).message });
      return;
    }
    await app.pool.query(
      `INSERT INTO classifier_predictions (content_hash, model_hash, probabilities, predicted, job_id)
       SELECT h, $2, string_to_array(p, ',')::float8[], c, $3 FROM unnest($1::char(64)[], $4::text[], $5::smallint[]) AS t(h, p, c)
       ON CONFLICT DO NOTHING`,
      [todo, model.sha256, jobId, probabilities.map((p) => p.join(',')), probabilities.map(predictedClass)],
    );
    await jobs.recordOutcome(app.pool, jobId, key, ItemOutcome.DONE);
  },
});

export interface ClassifierEvaluation extends BinarySummary {
  model: string;
  modelSha256: string;
  datasetId: string;
  split: string | null;
  positiveClass: string;
  /** Images of the split with a label among the model's classes. */
  images: number;
  /** Of those, the ones not predicted yet (run evaluateClassifier). */
  missing: number;
  /** Images whose label is none of the model's classes (not counted). */
  otherLabels: number;
}

/** The evaluation of a dataset split from the stored predictions (threshold: the most probable class). */
export async function classifierEvaluation(app: App, modelName: string, datasetId: string, split: string | null): Promise<ClassifierEvaluation> {
  const model = await classifierNamed(app, modelName);
  await getDataset(app, datasetId, 'datasetId');
  const chosen = parseSplit('split', split);
  const { rows } = await app.pool.query<{ label: string | null; probabilities: number[] | null; predicted: number | null }>(
    `SELECT i.label, p.probabilities, p.predicted FROM images i
     LEFT JOIN classifier_predictions p ON p.content_hash = i.content_hash AND p.model_hash = $3
     WHERE i.dataset_id = $1 AND ($2::text IS NULL OR i.split = $2)`,
    [datasetId, chosen, model.sha256],
  );
  const known = rows.filter((row) => row.label !== null && model.classes.includes(row.label));
  const predicted = known.filter((row) => row.probabilities !== null);
  const positive = model.classes[model.positive];
  const summary = summarize(
    predicted.map((row) => row.label === positive),
    predicted.map((row) => row.predicted === model.positive),
    predicted.map((row) => row.probabilities![model.positive]),
  );
  return {
    ...summary,
    model: model.name,
    modelSha256: model.sha256,
    datasetId,
    split: chosen,
    positiveClass: positive,
    images: known.length,
    missing: known.length - predicted.length,
    otherLabels: rows.length - known.length,
  };
}

export interface Prediction {
  label: string;
  probability: number;
  probabilities: number[];
}

/** Stored predictions of these images by the model (by content hash); absent where not predicted. */
export async function predictionsOf(app: App, model: ClassifierModel, hashes: string[]): Promise<Map<string, Prediction>> {
  const { rows } = await app.pool.query<{ content_hash: string; probabilities: number[]; predicted: number }>(
    `SELECT content_hash, probabilities, predicted FROM classifier_predictions WHERE model_hash = $1 AND content_hash = ANY($2)`,
    [model.sha256, hashes],
  );
  return new Map(rows.map((row) => [row.content_hash, { label: model.classes[row.predicted], probability: row.probabilities[model.positive], probabilities: row.probabilities }]));
}
