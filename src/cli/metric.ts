/**
 * `medpsim metric NAME A B`: one metric of two image files, locally (no server needed); prints the value.
 * `medpsim score TESTSET --metric ...`: a scoring job on a running server.
 */
import { promises as fs } from 'node:fs';
import type { Command } from 'commander';
import { DATASET_SETTINGS } from '../datasets/settings';
import { pngToFloat } from '../imaging/float';
import { ingestImage } from '../imaging/ingest';
import { METRICS } from '../metrics/catalog';
import { checkMetrics, scorePair, type MetricRequest, type ScoredImage } from '../metrics/engine';
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

export function registerMetricCommand(program: Command): void {
  program
    .command('metric')
    .description('print one metric of two images of one size (PNG, JPEG, TIFF, WebP or DICOM); see docs/metrics.md')
    .argument('<name>', `one of: ${METRICS.map((metric) => metric.name).join(', ')}`)
    .argument('<a>', 'the reference image')
    .argument('<b>', 'the image compared with it')
    .option('-p, --param <name=value>', 'a parameter (repeatable); missing ones take their defaults', collectParam, {})
    .option('--data-bits <n>', 'the data range as bits (default: DICOM BitsStored, else the bit depth)', Number)
    .option('--json', 'print the value and its settings as JSON')
    .action(async (name: string, a: string, b: string, options) => {
      const metrics = checkMetrics([{ name, params: options.param }], 'metric');
      const [first, second] = await Promise.all([readImage(a), readImage(b)]);
      const [result] = await scorePair(first, second, metrics, { dataBits: options.dataBits });
      const printed = Number.isFinite(result.value) ? String(result.value) : result.value > 0 ? 'inf' : String(result.value);
      if (options.json) console.log(JSON.stringify({ ...result, value: printed === 'inf' ? 'inf' : result.value, map: undefined }));
      else console.log(printed);
    });
}

/** `--metric NAME[:key=value,...]`, e.g. `ssim` or `ms_ssim:scales=3`. */
export function parseMetricOption(value: string, previous: MetricRequest[]): MetricRequest[] {
  const [name, settings] = value.split(':', 2);
  const params: Record<string, number> = {};
  for (const setting of settings ? settings.split(',') : []) {
    const match = /^([a-z_]+)=(.+)$/.exec(setting);
    if (!match) throw new Error(`--metric ${value}: settings are key=value pairs separated by commas (e.g. ms_ssim:scales=3)`);
    params[match[1]] = Number(match[2]);
  }
  return [...previous, { name, params }];
}

export function registerScoreCommand(program: Command): void {
  serverOptions(program.command('score'))
    .description('score a test set with metrics on a running server (a job; values already stored are kept), with a progress bar')
    .argument('<testset>', 'test set id')
    .requiredOption('-m, --metric <name[:key=value,...]>', `a metric (repeatable): ${METRICS.map((metric) => metric.name).join(', ')}`, parseMetricOption, [])
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
