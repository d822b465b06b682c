/** `medpsim distort IN -o OUT --kind KIND ...`: one distorted image, locally (no server needed). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { applyDistortion, chooseBackend, type BackendChoice } from '../distortions/apply';
import { CATALOG } from '../distortions/catalog';
import { poolRunner } from '../distortions/cnn';
import { InferencePool } from '../models/inference';
import { checkModelFiles } from '../models/manifest';
import { floatToPng, pngToFloat } from '../imaging/float';
import { ingestImage } from '../imaging/ingest';
import { DATASET_SETTINGS } from '../datasets/settings';

function collectParam(value: string, previous: Record<string, number>): Record<string, number> {
  const match = /^([a-z_]+)=(.+)$/.exec(value);
  if (!match) throw new Error(`--param takes NAME=VALUE, got "${value}"`);
  const number = Number(match[2]);
  if (!Number.isFinite(number)) throw new Error(`--param ${match[1]}: "${match[2]}" is not a number`);
  return { ...previous, [match[1]]: number };
}

export function registerDistortCommand(program: Command): void {
  program
    .command('distort')
    .description('write one distorted image (8-bit in, 8-bit out; 16-bit in, 16-bit out)')
    .argument('<input>', 'image file: PNG, JPEG, TIFF, WebP or DICOM')
    .requiredOption('-o, --output <file>', 'PNG to write')
    .requiredOption('-k, --kind <kind>', `one of: ${CATALOG.map((kind) => kind.name).join(', ')}`)
    .option('-p, --param <name=value>', 'a parameter (repeatable); missing ones take their defaults', collectParam, {})
    .option('-s, --severity <s>', 'severity in [0, 1] instead of parameters', Number)
    .option('--seed <n>', 'seed (integer)', Number, 0)
    .option('--backend <backend>', 'auto, cpu or cuda', 'auto')
    .option('-m, --model <file.onnx>', 'cnn kinds: the model to run (its manifest beside it)')
    .option('--json', 'print what was applied as JSON')
    .action(async (input: string, options) => {
      const backendChoice = String(options.backend).toUpperCase() as BackendChoice;
      if (!['AUTO', 'CPU', 'CUDA'].includes(backendChoice)) throw new Error('--backend must be auto, cpu or cuda');
      const hasParams = Object.keys(options.param).length > 0;
      if (hasParams && options.severity !== undefined) throw new Error('give --param or --severity, not both');
      const model = options.model ? path.basename(options.model, '.onnx') : null;
      const step =
        options.severity !== undefined
          ? { kind: options.kind, severity: options.severity, model }
          : { kind: options.kind, params: options.param, model };

      const source = await ingestImage(await fs.readFile(input), { maxPixels: DATASET_SETTINGS.read(process.env).maxPixels, pseudonymKey: Buffer.alloc(32) });
      const { backend, note } = chooseBackend(backendChoice);
      const pool = new InferencePool({ size: 1 });
      const runner = poolRunner(pool, async () => {
        const checked = await checkModelFiles(path.resolve(options.model));
        return { path: checked.onnxPath, sha256: checked.sha256, task: checked.manifest.task, manifest: checked.manifest };
      });
      // A DICOM file's detector response from its header; plain files take the default (docs/distortions.md).
      const response = source.detectorResponse ?? null;
      const applied = await applyDistortion(await pngToFloat(source.png), [step], options.seed, backend, runner, { response }).finally(() => pool.close());
      await fs.writeFile(options.output, await floatToPng(applied.image, source.bitDepth));
      const summary = { input, output: options.output, bitDepth: source.bitDepth, backend, note, seed: options.seed, steps: applied.steps };
      if (options.json) console.log(JSON.stringify(summary));
      else {
        const params = Object.entries(applied.steps[0].params).map(([name, value]) => `${name}=${value}`).join(' ');
        console.log(`${options.output}: ${options.kind} ${params} (seed ${options.seed}, ${backend}${note ? `; ${note}` : ''})`);
      }
    });
}
