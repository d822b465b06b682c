/**
 * The classifier's evaluation and its deep-feature metric, end to end with a real (tiny) ResNet50 trained and
 * exported by the training package: predictions of a dataset split through onnxruntime against PyTorch's own
 * test metrics in the manifest, reruns that predict nothing twice, flips of distorted images, and lpips
 * distances that are 0 for an image with itself and grow with the severity of each family of distortion.
 *
 * Needs torch, torchvision and onnx for /usr/bin/python3: skipped with a message without them, failed in CI.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFolderImport } from '../../src/datasets/service';
import { startTestApp, waitForJob, type TestApp } from '../helpers/app';
import { makeTinyDataset, runTraining, TINY_TRAININGS, torchAvailable, writeTinyModel } from '../helpers/models';
import { buildSet, importPhantoms } from '../helpers/testsets';

const TORCH = torchAvailable();
if (!TORCH && process.env.CI) it('has torch for /usr/bin/python3 (required in CI)', () => expect(TORCH).toBe(true));

(TORCH ? describe : describe.skip)('a trained classifier, evaluated', () => {
  let dir: string;
  let t: TestApp;
  let datasetId: string;
  let manifest: Record<string, any>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'medpsim-evaluation-'));
    const models = path.join(dir, 'models');
    makeTinyDataset(path.join(dir, 'data'));
    await runTraining([...TINY_TRAININGS.classifier, '--data', path.join(dir, 'data'), '--out-dir', models, '--name', 'cxr', '--seed', '1', '--device', 'cpu']);
    manifest = JSON.parse(readFileSync(path.join(models, 'cxr.json'), 'utf8'));
    writeTinyModel(models, 'dae-small'); // a model without feature outputs or logits
    t = await startTestApp({ http: true, env: { MEDPSIM_MODELS_DIR: models, MEDPSIM_ONNX_PROVIDER: 'cpu' } });
    await waitForJob(t, await startFolderImport(t.app, { path: path.join(dir, 'data'), datasetName: 'tiny' }));
    ({ rows: [{ id: datasetId }] } = await t.app.pool.query(`SELECT id FROM datasets WHERE name = 'tiny'`));
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const EVALUATION = `query ($dataset: ID!) { classifierEvaluation(model: "cxr", datasetId: $dataset, split: "test") {
    n positives negatives missing otherLabels accuracy sensitivity specificity auc aucCi95 confusion { tp fp tn fn } roc { threshold fpr tpr } } }`;

  it('predicts the test split and gives the metrics PyTorch computed on it when exporting', async () => {
    const started = await t.gql<any>(`mutation ($dataset: ID!) { evaluateClassifier(model: "cxr", datasetId: $dataset, split: "test") { id } }`, { dataset: datasetId });
    expect(started.errors).toBeUndefined();
    expect(await waitForJob(t, started.data.evaluateClassifier.id)).toMatchObject({ state: 'COMPLETED', failed: 0 });
    const { data, errors } = await t.gql<any>(EVALUATION, { dataset: datasetId });
    expect(errors).toBeUndefined();
    const e = data.classifierEvaluation;
    const reference = manifest.metrics.test; // the training package's, from PyTorch on the same images
    expect(e).toMatchObject({ n: reference.n, missing: 0, otherLabels: 0 });
    expect(e.confusion.tp + e.confusion.fp + e.confusion.tn + e.confusion.fn).toBe(e.n);
    expect(e.accuracy).toBeCloseTo(reference.accuracy, 9);
    expect(e.sensitivity).toBeCloseTo(reference.sensitivity, 9);
    expect(e.specificity).toBeCloseTo(reference.specificity, 9);
    expect(e.auc).toBeCloseTo(reference.auc, 9);
    expect(e.roc[0]).toEqual({ threshold: null, fpr: 0, tpr: 0 });
    expect(e.roc.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    const again = await t.gql<any>(`mutation ($dataset: ID!) { evaluateClassifier(model: "cxr", datasetId: $dataset, split: "test") { id } }`, { dataset: datasetId });
    expect(await waitForJob(t, again.data.evaluateClassifier.id)).toMatchObject({ state: 'COMPLETED', done: 0, failed: 0 });
  });

  it('says whether a distortion flips the prediction of an image', async () => {
    const { rows } = await t.app.pool.query(`SELECT id FROM images WHERE dataset_id = $1 AND split = 'test' ORDER BY source_path LIMIT 2`, [datasetId]);
    const distort = await t.gql<any>(`mutation ($ids: [ID!]) { distortImages(input: { imageIds: $ids, sweep: { kind: gaussian_noise, severities: [0.3, 1] } }) { id } }`, { ids: rows.map((r) => r.id) });
    await waitForJob(t, distort.data.distortImages.id);
    const predict = await t.gql<any>(`mutation ($dataset: ID!) { predictDistortions(model: "cxr", datasetId: $dataset) { id } }`, { dataset: datasetId });
    expect(await waitForJob(t, predict.data.predictDistortions.id)).toMatchObject({ state: 'COMPLETED', failed: 0 });
    const { data, errors } = await t.gql<any>(`query ($id: ID!) { image(id: $id) { distortions { prediction(model: "cxr") { flipped distorted { label probability probabilities } source { label probability } } } } }`, { id: rows[0].id });
    expect(errors).toBeUndefined();
    for (const { prediction } of data.image.distortions) {
      expect(prediction.flipped).toBe(prediction.distorted.label !== prediction.source.label);
      expect(prediction.distorted.probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 12);
      expect(prediction.distorted.probability).toBe(prediction.distorted.probabilities[1]); // PNEUMONIA
    }
  });

  it("computes the classifier's lpips distance: 0 for an image with itself, growing with each family's severity", async () => {
    // A 128 x 128 phantom: on the 32 x 32 training images a weak blur rounds away to nothing.
    const phantoms = await importPhantoms(t, 1, 128, 'lpips-phantom');
    const { rows } = await t.app.pool.query(`SELECT id FROM images WHERE dataset_id = $1`, [phantoms]);
    const image = rows[0].id;
    const self = await t.gql<any>(`query ($id: ID!) { compareImages(a: { imageId: $id }, b: { imageId: $id }, metrics: [{ name: lpips, model: "cxr" }]) { value model layers note } }`, { id: image });
    expect(self.errors).toBeUndefined();
    expect(self.data.compareImages[0]).toMatchObject({ value: 0, model: 'cxr', layers: manifest.deepMetric.defaultLayers });
    for (const kind of ['gaussian_blur', 'gaussian_noise', 'contrast', 'jpeg']) {
      const job = await t.gql<any>(`mutation ($ids: [ID!]) { distortImages(input: { imageIds: $ids, sweep: { kind: ${kind}, severities: [0.25, 0.5, 1] } }) { id } }`, { ids: [image] });
      await waitForJob(t, job.data.distortImages.id);
      const { rows: distorted } = await t.app.pool.query(`SELECT id, steps->0->>'severity' AS severity FROM distorted_images WHERE image_id = $1 AND steps->0->>'kind' = $2 ORDER BY (steps->0->>'severity')::float`, [image, kind]);
      const distances: number[] = [];
      for (const row of distorted) {
        const { data, errors } = await t.gql<any>(`query ($a: ID!, $b: ID!) { compareImages(a: { imageId: $a }, b: { distortionId: $b }, metrics: [{ name: lpips, model: "cxr" }]) { value } }`, { a: image, b: row.id });
        expect(errors).toBeUndefined();
        distances.push(data.compareImages[0].value);
      }
      expect({ kind, increasing: distances.every((d, i) => i === 0 || d > distances[i - 1]), distances }).toEqual({ kind, increasing: true, distances });
      expect(distances[0]).toBeGreaterThan(0);
    }
  });

  it("scores a test set with lpips (stored under the model's hash) and predicts its items for flips", async () => {
    const phantoms = await importPhantoms(t, 2, 96, 'set-phantoms');
    const set = await buildSet(t, { name: 'lpips set', kind: 'TWO_AFC', datasetId: phantoms, references: 2, size: 64, pool: [{ kinds: ['gaussian_noise'] }], sentinels: 0, practice: 0, seed: 2 });
    const score = await t.gql<any>(`mutation ($id: ID!) { scoreTestSet(testSetId: $id, metrics: [{ name: lpips, model: "cxr", layers: ["features_layer1", "features_layer2"] }]) { id } }`, { id: set.id });
    expect(score.errors).toBeUndefined();
    expect(await waitForJob(t, score.data.scoreTestSet.id)).toMatchObject({ state: 'COMPLETED', done: 2, failed: 0 });
    const { rows } = await t.app.pool.query(`SELECT DISTINCT model_hash FROM metric_scores WHERE metric = 'lpips'`);
    expect(rows).toEqual([{ model_hash: (await t.app.pool.query(`SELECT sha256 FROM models WHERE name = 'cxr'`)).rows[0].sha256 }]);
    const predict = await t.gql<any>(`mutation ($id: ID!) { predictTestSet(model: "cxr", testSetId: $id) { id } }`, { id: set.id });
    expect(await waitForJob(t, predict.data.predictTestSet.id)).toMatchObject({ state: 'COMPLETED', failed: 0 });
    const { data, errors } = await t.gql<any>(`query ($id: ID!) { testSet(id: $id) { items(first: 10) {
      scores { metric model layers d0 d1 } predictions(model: "cxr") { ref { label } p0 { label } p1 { label } p0Flipped p1Flipped } } } }`, { id: set.id });
    expect(errors).toBeUndefined();
    for (const item of data.testSet.items) {
      expect(item.scores).toEqual([{ metric: 'lpips', model: 'cxr', layers: ['features_layer1', 'features_layer2'], d0: expect.any(Number), d1: expect.any(Number) }]);
      expect(item.scores[0].d0).toBeGreaterThan(0);
      const { ref, p0, p1, p0Flipped, p1Flipped } = item.predictions;
      expect([p0Flipped, p1Flipped]).toEqual([p0.label !== ref.label, p1.label !== ref.label]);
    }
  });

  it('refuses what is not a classifier or not a dataset split, naming the field', async () => {
    const unknown = await t.gql<any>(`mutation ($dataset: ID!) { evaluateClassifier(model: "nope", datasetId: $dataset, split: "test") { id } }`, { dataset: datasetId });
    expect(unknown.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'model' });
    const split = await t.gql<any>(`mutation ($dataset: ID!) { evaluateClassifier(model: "cxr", datasetId: $dataset, split: "holdout") { id } }`, { dataset: datasetId });
    expect(split.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'split' });
    const layers = await t.gql<any>(`query ($id: ID!) { compareImages(a: { imageId: $id }, b: { imageId: $id }, metrics: [{ name: lpips, model: "cxr", layers: ["logits"] }]) { value } }`, {
      id: (await t.app.pool.query(`SELECT id FROM images LIMIT 1`)).rows[0].id,
    });
    expect(layers.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metrics[0].layers' });
    const image = (await t.app.pool.query(`SELECT id FROM images LIMIT 1`)).rows[0].id;
    const noFeatures = await t.gql<any>(`query ($id: ID!) { compareImages(a: { imageId: $id }, b: { imageId: $id }, metrics: [{ name: lpips, model: "dae-small" }]) { value } }`, { id: image });
    expect(noFeatures.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metrics[0].model' });
    expect(noFeatures.errors![0].message).toContain('model dae-small: has no feature outputs for a deep metric');
    const notClassifier = await t.gql<any>(`mutation ($dataset: ID!) { evaluateClassifier(model: "dae-small", datasetId: $dataset) { id } }`, { dataset: datasetId });
    expect(notClassifier.errors![0].message).toContain('model dae-small: is a dae model, not a classifier');
  });
});
