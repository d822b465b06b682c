/** `medpsim synth`: write a folder of synthetic chest X-ray phantoms in the Kermany layout. */
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { SYNTH_DEFAULTS, SYNTH_LABELS, SYNTH_SPLITS, synthesizeDataset, type SplitCounts, type SynthSummary, type SynthesizeOptions } from '../synth/dataset';

export const SYNTH_MIN_SIZE = 32;
export const SYNTH_MAX_SIZE = 8192;
/** Images written when neither --count nor per-split counts are given. */
export const SYNTH_DEFAULT_COUNT = 100;

/** Options as commander hands them over: strings, or booleans for flags. */
export interface SynthCliOptions {
  count?: string;
  trainNormal?: string;
  trainPneumonia?: string;
  testNormal?: string;
  testPneumonia?: string;
  valNormal?: string;
  valPneumonia?: string;
  size?: string;
  width?: string;
  height?: string;
  bitDepth?: string;
  seed?: string;
  flat?: boolean;
  concurrency?: string;
  json?: boolean;
}

/** A command-line mistake, reported as the command's usage error. */
export class SynthUsageError extends Error {}

export function registerSynthCommand(program: Command): void {
  program
    .command('synth')
    .description('write synthetic chest X-ray phantoms (not patient data) as {train,test,val}/{NORMAL,PNEUMONIA}/* for tests, benchmarks and demos')
    .argument('<outDir>', 'folder to write (created if missing; must be empty or an earlier synthetic set)')
    .option('--count <n>', `images, split as the Kermany release (89% train, 11% test, 0.3% val), each split with its NORMAL:PNEUMONIA share (default ${SYNTH_DEFAULT_COUNT} without per-split counts)`)
    .option('--train-normal <n>', 'NORMAL images in train')
    .option('--train-pneumonia <n>', 'PNEUMONIA images in train')
    .option('--test-normal <n>', 'NORMAL images in test')
    .option('--test-pneumonia <n>', 'PNEUMONIA images in test')
    .option('--val-normal <n>', 'NORMAL images in val')
    .option('--val-pneumonia <n>', 'PNEUMONIA images in val')
    .option('--size <px>', `square images of this size, ${SYNTH_MIN_SIZE}..${SYNTH_MAX_SIZE} (default ${SYNTH_DEFAULTS.width})`)
    .option('--width <px>', `image width, ${SYNTH_MIN_SIZE}..${SYNTH_MAX_SIZE}`)
    .option('--height <px>', `image height, ${SYNTH_MIN_SIZE}..${SYNTH_MAX_SIZE}`)
    .option('--bit-depth <bits>', '8: greyscale JPEG; 16: 16-bit greyscale PNG', String(SYNTH_DEFAULTS.bitDepth))
    .option('--seed <n>', 'random seed: the same seed and options give byte-identical files', String(SYNTH_DEFAULTS.seed))
    .option('--flat', 'write all files directly into outDir')
    .option('--concurrency <n>', 'encodes in flight at once (default: CPU count)')
    .option('--json', 'print the summary as JSON')
    .action(async function (this: Command, outDir: string, options: SynthCliOptions) {
      let synthOptions: SynthesizeOptions;
      try {
        synthOptions = parseSynthOptions(outDir, options);
      } catch (error) {
        if (error instanceof SynthUsageError) this.error(`error: ${error.message}`);
        throw error;
      }
      const started = performance.now();
      const summary = await runWithProgress(synthOptions, Boolean(process.stderr.isTTY));
      const seconds = (performance.now() - started) / 1000;
      console.log(options.json ? JSON.stringify({ ...summary, seconds: Number(seconds.toFixed(2)) }) : describeSummary(summary, seconds));
    });
}

/** Turns the command line into synthesizeDataset options, or throws a SynthUsageError that says what is wrong. */
export function parseSynthOptions(outDir: string, options: SynthCliOptions): SynthesizeOptions {
  const { width, height } = parseSize(options);
  const bitDepth = parseInteger('--bit-depth', options.bitDepth ?? String(SYNTH_DEFAULTS.bitDepth));
  if (bitDepth !== 8 && bitDepth !== 16) throw new SynthUsageError(`--bit-depth must be 8 or 16, got ${options.bitDepth}`);
  const result: SynthesizeOptions = {
    outDir,
    width,
    height,
    bitDepth,
    seed: parseInteger('--seed', options.seed ?? String(SYNTH_DEFAULTS.seed)),
    flat: Boolean(options.flat),
    ...parseCounts(options),
  };
  if (options.concurrency !== undefined) {
    result.concurrency = parseInteger('--concurrency', options.concurrency);
    if (result.concurrency < 1) throw new SynthUsageError('--concurrency must be at least 1');
  }
  return result;
}

function parseSize(options: SynthCliOptions): { width: number; height: number } {
  if (options.size !== undefined && (options.width !== undefined || options.height !== undefined)) {
    throw new SynthUsageError('give either --size or --width/--height, not both');
  }
  const square = options.size === undefined ? undefined : parseDimension('--size', options.size);
  const width = square ?? (options.width === undefined ? SYNTH_DEFAULTS.width : parseDimension('--width', options.width));
  const height = square ?? (options.height === undefined ? SYNTH_DEFAULTS.height : parseDimension('--height', options.height));
  return { width, height };
}

function parseDimension(flag: string, text: string): number {
  const value = parseInteger(flag, text);
  if (value < SYNTH_MIN_SIZE || value > SYNTH_MAX_SIZE) {
    throw new SynthUsageError(`${flag} must be between ${SYNTH_MIN_SIZE} and ${SYNTH_MAX_SIZE} pixels, got ${value}`);
  }
  return value;
}

const SPLIT_FLAGS: ReadonlyArray<{ flag: string; key: keyof SynthCliOptions; split: (typeof SYNTH_SPLITS)[number]; label: (typeof SYNTH_LABELS)[number] }> =
  SYNTH_SPLITS.flatMap((split) =>
    SYNTH_LABELS.map((label) => {
      const key = `${split}${label === 'NORMAL' ? 'Normal' : 'Pneumonia'}` as keyof SynthCliOptions;
      return { flag: `--${split}-${label.toLowerCase()}`, key, split, label };
    }),
  );

function parseCounts(options: SynthCliOptions): Pick<SynthesizeOptions, 'count' | 'splits'> {
  const given = SPLIT_FLAGS.filter(({ key }) => options[key] !== undefined);
  if (given.length === 0) {
    const count = options.count === undefined ? SYNTH_DEFAULT_COUNT : parseInteger('--count', options.count);
    if (count < 1) throw new SynthUsageError('--count must be at least 1');
    return { count };
  }
  if (options.count !== undefined) {
    throw new SynthUsageError(`give either --count or per-split counts (${given.map(({ flag }) => flag).join(', ')}), not both`);
  }
  const splits = Object.fromEntries(SYNTH_SPLITS.map((split) => [split, { NORMAL: 0, PNEUMONIA: 0 }])) as SplitCounts;
  for (const { flag, key, split, label } of given) splits[split][label] = parseInteger(flag, String(options[key]));
  if (given.every(({ split, label }) => splits[split][label] === 0)) throw new SynthUsageError('the per-split counts add up to no images');
  return { splits };
}

function parseInteger(flag: string, text: string): number {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(value)) {
    throw new SynthUsageError(`${flag} must be a non-negative integer, got '${text}'`);
  }
  return value;
}

async function runWithProgress(options: SynthesizeOptions, showBar: boolean): Promise<SynthSummary> {
  const bar = showBar ? new SingleBar({ format: 'synth [{bar}] {percentage}% {value}/{total} images | ETA {eta_formatted}', hideCursor: true, stream: process.stderr }, Presets.shades_classic) : null;
  let started = false;
  try {
    return await synthesizeDataset({
      ...options,
      onProgress: (done, total) => {
        if (!bar) return;
        if (!started) bar.start(total, done);
        else bar.update(done);
        started = true;
      },
    });
  } finally {
    bar?.stop();
  }
}

function describeSummary(summary: SynthSummary, seconds: number): string {
  let normal = 0;
  let pneumonia = 0;
  for (const split of SYNTH_SPLITS) {
    normal += summary.counts[split].NORMAL;
    pneumonia += summary.counts[split].PNEUMONIA;
  }
  const format = summary.bitDepth === 8 ? '8-bit JPEG' : '16-bit PNG';
  const rate = seconds > 0 ? `, ${(summary.files / seconds).toFixed(1)} images/s` : '';
  return (
    `wrote ${summary.files} synthetic phantoms (${normal} NORMAL, ${pneumonia} PNEUMONIA, ${summary.patients} patients), ` +
    `${summary.width}x${summary.height} ${format}, seed ${summary.seed}, to ${summary.outDir} in ${seconds.toFixed(1)} s${rate}`
  );
}
