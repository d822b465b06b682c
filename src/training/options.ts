/**
 * What a client may ask of the trainer: an allow-list of options per task, each with its type and range,
 * named as the CLI's options in camelCase (`batchSize` is `--batch-size`; see `python -m medpsim_training
 * train-dae --help`). The server sets --data, --out-dir, --name and --device itself. Ranges are the server's
 * limits (the CLI only asks for positive numbers): a request outside them is refused before a job exists.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { MODEL_NAME_PATTERN } from '../models/manifest';
import { badUserInput } from '../platform/errors';
import { TARGET_KINDS, TRAINING_CORRUPTIONS } from './zoo-knobs';

export enum TrainingTask {
  CLASSIFIER = 'CLASSIFIER',
  DAE = 'DAE',
  GAN = 'GAN',
}

export enum TrainingDevice {
  AUTO = 'AUTO',
  CPU = 'CPU',
  CUDA = 'CUDA',
}

export const TRAINER_COMMANDS: Record<TrainingTask, string> = {
  [TrainingTask.CLASSIFIER]: 'train-classifier',
  [TrainingTask.DAE]: 'train-dae',
  [TrainingTask.GAN]: 'train-gan',
};


export type OptionValue = number | string | boolean;
export type TrainingOptions = Record<string, OptionValue>;

type OptionSpec =
  | { type: 'int'; min: number; max: number }
  | { type: 'number'; min: number; max: number; minOpen?: boolean; maxOpen?: boolean }
  | { type: 'choice'; values: readonly (string | number)[] }
  | { type: 'flag' }
  /** One of the keywords, or the absolute path of a file on the server (weights, a feature network). */
  | { type: 'file'; keywords: readonly string[] };

const int = (min: number, max: number): OptionSpec => ({ type: 'int', min, max });
const number = (min: number, max: number, open: { minOpen?: boolean; maxOpen?: boolean } = {}): OptionSpec => ({
  type: 'number',
  min,
  max,
  ...open,
});
const choice = (...values: (string | number)[]): OptionSpec => ({ type: 'choice', values });
const flag: OptionSpec = { type: 'flag' };
const fraction = number(0, 1, { maxOpen: true });
const weight = number(0, 1000);
const NORMS = ['batch', 'instance', 'none'];

const COMMON: Record<string, OptionSpec> = {
  seed: int(0, Number.MAX_SAFE_INTEGER),
  epochs: int(1, 500),
  batchSize: int(1, 1024),
  lr: number(0, 10, { minOpen: true }),
  imageSize: int(16, 1024),
  valFraction: fraction,
  valSource: choice('train', 'folder'),
  testFraction: fraction,
  workers: int(1, 64),
  logEvery: int(0, 1_000_000),
  nondeterministic: flag,
};

export const OPTIONS: Record<TrainingTask, Record<string, OptionSpec>> = {
  [TrainingTask.CLASSIFIER]: {
    ...COMMON,
    weights: { type: 'file', keywords: ['imagenet', 'none'] },
    momentum: number(0, 1),
    weightDecay: number(0, 1),
    gamma: number(0, 1, { minOpen: true }),
    select: choice('best', 'last'),
    balanceRatio: number(0, 10),
    rotation: number(0, 180),
    shiftX: number(0, 1),
    shiftY: number(0, 1),
    shear: number(0, 90),
    cropPad: number(0, 1),
  },
  [TrainingTask.DAE]: {
    ...COMMON,
    noiseSigma: number(0, 1),
    depth: int(1, 8),
    channels: int(1, 512),
  },
  [TrainingTask.GAN]: {
    ...COMMON,
    objective: choice('imitate', 'reconstruct'),
    inputCorruption: choice(...TRAINING_CORRUPTIONS),
    inputLevel: number(0, 1),
    targetKind: choice(...TARGET_KINDS),
    targetSigma: number(0, 1),
    targetAmplitude: number(0, 1),
    gLayers: int(1, 10),
    gChannels: int(1, 512),
    gSkips: int(0, 10),
    gForceTopSkip: flag,
    gDropoutLayers: int(0, 10),
    gUpsample: choice('transpose', 'nearest', 'bilinear'),
    gNorm: choice(...NORMS),
    gFirstStride: choice(1, 2),
    dLayers: int(1, 8),
    dChannels: int(1, 512),
    dNorm: choice(...NORMS),
    wPixel: weight,
    wFeature: weight,
    wAdv: weight,
    featureNet: { type: 'file', keywords: ['random'] },
    lrD: number(0, 10, { minOpen: true }),
    beta1: number(0, 1, { maxOpen: true }),
  },
};

/** The trainer's defaults that the size check below needs (python -m medpsim_training <command> --help). */
const DEFAULTS = { daeImageSize: 256, daeDepth: 3, ganImageSize: 256, ganLayers: 6, ganFirstStride: 2 };

export function checkModelName(name: string): string {
  // The rule of the trainer and the registry: names become file names (<name>.onnx) and registry keys.
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw badUserInput('name', `must be 1 to 100 of letters, digits, ".", "_" and "-", starting with a letter or digit; got "${name}"`);
  }
  return name;
}

function checkValue(field: string, spec: OptionSpec, value: unknown): OptionValue {
  switch (spec.type) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min || value > spec.max) {
        throw badUserInput(field, `must be an integer in [${spec.min}, ${spec.max}], got ${JSON.stringify(value)}`, {
          min: spec.min,
          max: spec.max,
          value,
        });
      }
      return value;
    case 'number': {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (spec.minOpen ? value > spec.min : value >= spec.min) &&
        (spec.maxOpen ? value < spec.max : value <= spec.max);
      if (!ok) {
        const range = `${spec.minOpen ? '(' : '['}${spec.min}, ${spec.max}${spec.maxOpen ? ')' : ']'}`;
        throw badUserInput(field, `must be a number in ${range}, got ${JSON.stringify(value)}`, { min: spec.min, max: spec.max, value });
      }
      return value;
    }
    case 'choice':
      if (!spec.values.includes(value as string | number)) {
        throw badUserInput(field, `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(value)}`, { allowed: spec.values });
      }
      return value as string | number;
    case 'flag':
      if (typeof value !== 'boolean') throw badUserInput(field, `must be true or false, got ${JSON.stringify(value)}`);
      return value;
    case 'file': {
      if (typeof value === 'string' && spec.keywords.includes(value)) return value;
      const allowed = `${spec.keywords.join(', ')} or the absolute path of a file on the server`;
      if (typeof value !== 'string' || !path.isAbsolute(value)) throw badUserInput(field, `must be ${allowed}, got ${JSON.stringify(value)}`);
      if (!statSync(value, { throwIfNoEntry: false })?.isFile()) throw badUserInput(field, `no such file on the server: ${value}`);
      return value;
    }
  }
}

/** Checks every option against the task's allow-list and the image size against the network's; the error names the option. */
export function checkTrainingOptions(task: TrainingTask, options: Record<string, unknown>): TrainingOptions {
  const checked = checkOptionValues(task, options);
  checkSizeMultiple(task, checked);
  return checked;
}

/** Checks every option against the task's allow-list (options.<name> in the error), each on its own. */
export function checkOptionValues(task: TrainingTask, options: Record<string, unknown>): TrainingOptions {
  const specs = OPTIONS[task];
  const checked: TrainingOptions = {};
  for (const [name, value] of Object.entries(options)) {
    const field = `options.${name}`;
    const spec = specs[name];
    if (!spec) {
      throw badUserInput(field, `unknown option for ${task}; allowed: ${Object.keys(specs).join(', ')}`, {
        allowed: Object.keys(specs),
      });
    }
    checked[name] = checkValue(field, spec, value);
  }
  return checked;
}

/** The DAE and the GAN's generator halve the size at each level: refused here rather than by a failed job. */
function checkSizeMultiple(task: TrainingTask, options: TrainingOptions): void {
  let multiple: number;
  let imageSize: number;
  if (task === TrainingTask.DAE) {
    multiple = 2 ** Number(options.depth ?? DEFAULTS.daeDepth);
    imageSize = Number(options.imageSize ?? DEFAULTS.daeImageSize);
  } else if (task === TrainingTask.GAN) {
    const layers = Number(options.gLayers ?? DEFAULTS.ganLayers);
    multiple = 2 ** (layers - (Number(options.gFirstStride ?? DEFAULTS.ganFirstStride) === 1 ? 1 : 0));
    imageSize = Number(options.imageSize ?? DEFAULTS.ganImageSize);
  } else {
    return;
  }
  if (imageSize % multiple !== 0) {
    throw badUserInput('options.imageSize', `must be a multiple of ${multiple} for this ${task} (${imageSize} is not)`, { multiple });
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** The trainer's command line after `python -m medpsim_training`. */
export function trainerArgs(
  run: { task: TrainingTask; name: string; device: TrainingDevice; options: TrainingOptions },
  dataFolder: string,
  outDir: string,
): string[] {
  const args = [TRAINER_COMMANDS[run.task], '--data', dataFolder, '--out-dir', outDir, '--name', run.name];
  args.push('--device', run.device.toLowerCase());
  for (const [name, value] of Object.entries(run.options)) {
    if (value === false) continue;
    args.push(`--${kebab(name)}`);
    if (value !== true) args.push(String(value));
  }
  return args;
}
