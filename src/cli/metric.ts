/**
 * `medpsim metric NAME A B`: one metric of two image files, locally (no server needed); prints the value.
 * `medpsim score TESTSET --metric ...`: a scoring job on a running server.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DATASET_SETTINGS } from '../datasets/settings';
import type { BackendChoice } from '../distortions/apply';
import { pngToFloat } from '../imaging/float';
import { ingestImage } from '../imaging/ingest';
import { METRICS } from '../metrics/catalog';
import { describeDeepModel } from '../metrics/deep';
import { checkMetrics, scorePair, type DeepModelFinder, type MetricRequest, type ScoredImage } from '../metrics/engine';
import { InferencePool } from '../models/inference';
import { checkModelFiles, ManifestError } from '../models/manifest';
import { badUserInput } from '../platform/errors';
import { request, serverOf, serverOptions } from './client';
import { followJob, jobSummary } from './jobs';
import { recordedDataBits } from '../metrics/service';

function collectParam(value: string, previous: Record<string, number>): Record<string, number> {
  const match = /^([a-z_]+)=(.+)$/.exec(value);
  if (!match) throw new Error(`--param takes NAME=VALUE, got "${value}"`);
  return { ...previous, [match[1]]: Number(match[2]) };
}

async function readImage(file: string): Promise<ScoredImage> {
  const ingested = await ingestImage(await fs.readFile(file), { maxPixels: DATASET_SETTINGS.read(process.env).maxPixels, pseudonymKey: Buffer.alloc(32) });
  const bitDepth = ingested.bitDepth === 16 ? 16 : 8;
  const decoded = await pngToFloat(ingested.png);
  return { ...decoded, bitDepth, dataBits: recordedDataBits({ bitDepth, dicomAttributes: ingested.dicom?.attributes ?? null }, bitDepth) };
}

/** Deep metrics on the command line read the model file named by --model (its manifest beside it). */
const modelFiles: DeepModelFinder = async (file, field) => {
  const checked = await checkModelFiles(path.resolve(file)).catch((error) => {
    throw error instanceof ManifestError ? badUserInput(field, error.message) : error;
  });
  return describeDeepModel({ name: checked.manifest.name, path: checked.onnxPath, sha256: checked.sha256, manifest: checked.manifest }, field);
};

export function registerMetricCommand(program: Command): void {
  program
    .command('metric')
    .description('print one metric of two images of one size (PNG, JPEG, TIFF, WebP or DICOM); see docs/metrics.md')
    .argument('<name>', `one of: ${METRICS.map((metric) => metric.name).join(', ')}`)
    .argument('<a>', 'the reference image')
    .argument('<b>', 'the image compared with it')
    .option('-p, --param <name=value>', 'a parameter (repeatable); missing ones take their defaults', collectParam, {})
    .option('--data-bits <n>', 'the data range as bits (default: DICOM BitsStored, else the bit depth)', Number)
    .option('-m, --model <file.onnx>', 'lpips: the classifier or backbone (its manifest beside it)')
    .option('--layer <name>', 'lpips: a feature output to use (repeatable; default: the manifest\'s)', (value: string, previous: string[]) => [...previous, value], [])
    .option('--backend <backend>', 'engine metrics: auto, cpu or cuda', 'auto')
    .option('--json', 'print the value and its settings as JSON (with a note where it ran elsewhere than asked)')
    .action(async (name: string, a: string, b: string, options) => {
      const backend = String(options.backend).toUpperCase() as BackendChoice;
      if (!['AUTO', 'CPU', 'CUDA'].includes(backend)) throw new Error('--backend must be auto, cpu or cuda');
      const metrics = await checkMetrics([{ name, params: options.param, model: options.model ?? null, layers: options.layer }], 'metric', modelFiles);
      const [first, second] = await Promise.all([readImage(a), readImage(b)]);
      const pool = metrics[0].deep ? new InferencePool({ size: 1 }) : null;
      const [result] = await scorePair(first, second, metrics, { dataBits: options.dataBits, pool, backend }).finally(() => pool?.close());
      const printed = Number.isFinite(result.value) ? String(result.value) : result.value > 0 ? 'inf' : String(result.value);
      if (options.json) console.log(JSON.stringify({ ...result, value: printed === 'inf' ? 'inf' : result.value, map: undefined }));
      else console.log(printed);
    });
}

/**
 * `--metric NAME[:setting,...]`: a setting is key=value (a parameter, e.g. `ms_ssim:scales=3`), or for deep
 * metrics a registered model's name and `layer=NAME` entries (e.g. `lpips:classifier,layer=features_layer1`).
 */
export function parseMetricOption(value: string, previous: MetricRequest[]): MetricRequest[] {
  const [name, settings] = [value.split(':')[0], value.slice(value.indexOf(':') + 1)];
  const request: MetricRequest & { params: Record<string, number>; layers: string[] } = { name, params: {}, model: null, layers: [] };
  for (const setting of value.includes(':') ? settings.split(',') : []) {
    const match = /^([a-z_]+)=(.+)$/.exec(setting);
    if (!match) {
      if (request.model) throw new Error(`--metric ${value}: name one model (settings are key=value, separated by commas)`);
      request.model = setting;
    } else if (match[1] === 'layer') request.layers.push(match[2]);
    else request.params[match[1]] = Number(match[2]);
  }
  return [...previous, request];
}

export function registerScoreCommand(program: Command): void {
  serverOptions(program.command('score'))
    .description('score a test set with metrics on a running server (a job; values already stored are kept), with a progress bar')
    .argument('<testset>', 'test set id')
    .requiredOption('-m, --metric <name[:setting,...]>', `a metric (repeatable): ${METRICS.map((metric) => metric.name).join(', ')}; e.g. ms_ssim:scales=3, lpips:MODEL`, parseMetricOption, [])
    .option('--json', 'print the finished job as JSON')
    .action(async (testSetId: string, options) => {
      const server = serverOf(options);
      const { scoreTestSet } = await request<{ scoreTestSet: { id: string } }>(
        server,
        `mutation ($id: ID!, $metrics: [MetricInput!]!) { scoreTestSet(testSetId: $id, metrics: $metrics) { id } }`,
        { id: testSetId, metrics: options.metric },
      );
      const job = await followJob(server, scoreTestSet.id, !options.json && process.stderr.isTTY === true);
      console.log(options.json ? JSON.stringify(job) : jobSummary(job));
      if (job.state !== 'COMPLETED' || job.failed > 0) process.exitCode = 1;
    });
}
