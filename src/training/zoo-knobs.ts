/**
 * The knobs of a generator zoo (the study's Table 1, after LPIPS's BAPPS): one description of each knob feeds
 * the request's checks, the seeded draw of each member, the trainer options it becomes, the GraphQL and CLI
 * help and docs/zoo.md. A range is [min, max] for numbers (log-uniform where `log`), a list of allowed values
 * for choices; what a request leaves out takes the default range.
 */
import { badUserInput } from '../platform/errors';
import { RandomStream } from '../synth/random';
import type { Corruption } from '../distortions/catalog';
import type { TrainingOptions } from './options';

export type KnobGroup = 'input corruption' | 'objective' | 'generator' | 'discriminator' | 'loss and learning';
export type KnobValue = number | string | boolean;

interface KnobBase {
  name: string;
  group: KnobGroup;
  description: string;
}
export type NumberKnob = KnobBase & {
  type: 'int' | 'number';
  /** What a range may span. */
  limits: [number, number];
  default: [number, number];
  /** Drawn log-uniformly (learning rate, channels) rather than uniformly. */
  log?: boolean;
  /** A count of generator levels: the range is clipped to the drawn layers - 1 before the draw. */
  perLevel?: boolean;
};
export type ChoiceKnob = KnobBase & { type: 'choice'; values: readonly KnobValue[]; default: readonly KnobValue[] };
export type KnobSpec = NumberKnob | ChoiceKnob;

/** The CNN kinds' corruption codes a grey-level trainer can train with (colour_removal needs RGB). */
export const TRAINING_CORRUPTIONS = ['none', 'pink_noise', 'white_noise', 'downsampling'] as const;
/** What a test set's zoo entry draws unless it says: the corruptions a grey image takes, at moderate strength. */
export const ZOO_POOL_DEFAULTS = {
  corruptions: [...TRAINING_CORRUPTIONS] as Corruption[],
  level: [0.02, 0.2] as [number, number],
};
/** The trainer's target kinds of imitating members: the engine's noise kinds it reproduces bit for bit. */
export const TARGET_KINDS = ['gaussian_noise', 'uniform_noise'] as const;

const int = (
  name: string,
  group: KnobGroup,
  limits: [number, number],
  range: [number, number],
  description: string,
  how: { log?: boolean; perLevel?: boolean } = {},
): KnobSpec => ({ name, group, type: 'int', limits, default: range, description, ...how });
const number = (name: string, group: KnobGroup, limits: [number, number], range: [number, number], description: string, log = false): KnobSpec => ({
  name,
  group,
  type: 'number',
  limits,
  default: range,
  description,
  ...(log ? { log } : {}),
});
const choice = (name: string, group: KnobGroup, values: readonly KnobValue[], description: string, range: readonly KnobValue[] = values): KnobSpec => ({
  name,
  group,
  type: 'choice',
  values,
  default: range,
  description,
});

/** In draw order: a knob added later goes at the end, so that existing zoos' draws stay what they were. */
export const ZOO_KNOBS: readonly KnobSpec[] = [
  choice('inputCorruption', 'input corruption', TRAINING_CORRUPTIONS, 'what the generator input is corrupted with while training (colour removal needs RGB and is left out)'),
  number('inputLevel', 'input corruption', [0, 1], [0.02, 0.2], 'corruption strength: the noise standard deviation, or downsampling by 1 + 7 level'),
  choice('objective', 'objective', ['reconstruct', 'imitate'], 'reconstruct: DAE-style, the clean image from the corrupted one (task dae); imitate: GAN-style, a noise kind of the engine (task gan-generator)'),
  choice('targetKind', 'objective', TARGET_KINDS, 'imitating members: the engine noise kind they learn (reproduced bit for bit by the trainer)'),
  number('targetStrength', 'objective', [0, 1], [0.03, 0.2], 'imitating members: the target noise sigma (gaussian) or amplitude (uniform)'),
  int('gLayers', 'generator', [2, 10], [3, 6], 'encoder/decoder levels of the U-Net generator'),
  int('gSkips', 'generator', [0, 9], [0, 9], 'levels with skip connections, deepest first (the range clipped to layers - 1)', { perLevel: true }),
  int('gDropoutLayers', 'generator', [0, 9], [0, 3], 'deepest decoder layers with dropout while training (the range clipped to layers - 1)', { perLevel: true }),
  choice('gForceTopSkip', 'generator', [false, true], 'force a skip connection at the highest level'),
  choice('gUpsample', 'generator', ['transpose', 'nearest', 'bilinear'], 'transposed convolution, or nearest/bilinear upsampling then a convolution'),
  choice('gNorm', 'generator', ['batch', 'instance', 'none'], 'normalisation of the generator layers'),
  choice('gFirstStride', 'generator', [1, 2], 'stride of the first layer'),
  int('gChannels', 'generator', [1, 512], [8, 64], 'channels in the first layer (doubled per level up to 8x)', { log: true }),
  int('dLayers', 'discriminator', [1, 8], [1, 3], 'PatchGAN discriminator layers'),
  number('wPixel', 'loss and learning', [0, 1000], [1, 100], 'weight of the L1 pixel loss'),
  number('wFeature', 'loss and learning', [0, 1000], [0, 10], 'weight of the feature (VGG-style) loss'),
  number('wAdv', 'loss and learning', [0, 1000], [0, 1], 'weight of the discriminator (adversarial) loss; 0 trains no discriminator'),
  number('lr', 'loss and learning', [1e-6, 1], [1e-4, 1e-3], 'Adam learning rate', true),
];

const BY_NAME = new Map(ZOO_KNOBS.map((knob) => [knob.name, knob]));

/** A checked range per knob: [min, max] or the allowed values. */
export type KnobRanges = Record<string, [number, number] | KnobValue[]>;
export type Knobs = Record<string, KnobValue>;

export function defaultRanges(): KnobRanges {
  return Object.fromEntries(ZOO_KNOBS.map((knob) => [knob.name, [...knob.default]]));
}

function checkRange(knob: KnobSpec, value: unknown, field: string): [number, number] | KnobValue[] {
  if (knob.type === 'choice') {
    const allowed = knob.values.map(String).join(', ');
    if (!Array.isArray(value) || value.length === 0) throw badUserInput(field, `give a non-empty list of ${allowed}`, { allowed: knob.values });
    value.forEach((entry, index) => {
      if (!knob.values.includes(entry)) throw badUserInput(`${field}[${index}]`, `must be one of ${allowed}, got ${JSON.stringify(entry)}`, { allowed: knob.values });
    });
    return knob.values.filter((entry) => value.includes(entry)); // catalog order, once each
  }
  const [low, high] = knob.limits;
  const what = knob.type === 'int' ? 'integers' : 'numbers';
  if (!Array.isArray(value) || value.length !== 2) throw badUserInput(field, `give [min, max], two ${what} in [${low}, ${high}]`, { min: low, max: high });
  value.forEach((bound, index) => {
    const ok = typeof bound === 'number' && Number.isFinite(bound) && (knob.type === 'number' || Number.isInteger(bound)) && bound >= low && bound <= high;
    if (!ok) throw badUserInput(`${field}[${index}]`, `must be one of the ${what} in [${low}, ${high}], got ${JSON.stringify(bound)}`, { min: low, max: high });
  });
  if (value[0] > value[1]) throw badUserInput(field, `min ${value[0]} exceeds max ${value[1]}`, { min: low, max: high });
  if (knob.log && value[0] <= 0) throw badUserInput(`${field}[0]`, `is drawn log-uniformly: must be > 0, got ${value[0]}`);
  return [value[0], value[1]];
}

/** The request's ranges (knob -> range) over the defaults; an unknown knob or a bad range is BAD_USER_INPUT `ranges.<knob>`. */
export function checkRanges(input: Record<string, unknown> | null | undefined): KnobRanges {
  const ranges = defaultRanges();
  for (const [name, value] of Object.entries(input ?? {})) {
    const knob = BY_NAME.get(name);
    if (!knob) throw badUserInput(`ranges.${name}`, `unknown knob; the knobs are ${ZOO_KNOBS.map((k) => k.name).join(', ')}`, { allowed: ZOO_KNOBS.map((k) => k.name) });
    ranges[name] = checkRange(knob, value, `ranges.${name}`);
  }
  const weights = ['wPixel', 'wFeature', 'wAdv'].map((name) => ranges[name] as [number, number]);
  if (weights.every(([, high]) => high === 0)) throw badUserInput('ranges.wPixel', 'every loss weight is 0: at least one of wPixel, wFeature, wAdv needs a range above 0');
  return ranges;
}

function drawOne(knob: KnobSpec, range: [number, number] | KnobValue[], random: RandomStream, deepest: number): KnobValue {
  if (knob.type === 'choice') return random.pick(range as KnobValue[]);
  let [low, high] = range as [number, number];
  if (knob.perLevel) [low, high] = [Math.min(low, deepest), Math.min(high, deepest)];
  if (knob.type === 'int') {
    if (!knob.log) return random.int(low, high);
    return Math.min(high, Math.floor(Math.exp(random.range(Math.log(low), Math.log(high + 1)))));
  }
  const value = knob.log ? Math.exp(random.range(Math.log(low), Math.log(high))) : random.range(low, high);
  return Number(value.toPrecision(4)); // what the manifest and the trainer's command line show
}

/**
 * The knobs of member `index`, draw `draw` (a degenerate member's replacement is the next draw), from its own
 * stream of the zoo's seed: one member's knobs do not depend on the others'. Only the knobs the member uses
 * are returned (no target for reconstructing members, no level without a corruption, no discriminator
 * without an adversarial loss). The loss weights are never all 0: checkRanges gives one of them a range
 * above 0, and a uniform draw lies strictly inside its range.
 */
export function drawKnobs(ranges: KnobRanges, seed: number, index: number, draw: number): Knobs {
  const random = new RandomStream(seed, 0x2000 + index * 64 + draw);
  const knobs: Knobs = {};
  // gLayers comes before the per-level knobs in the draw order.
  for (const knob of ZOO_KNOBS) knobs[knob.name] = drawOne(knob, ranges[knob.name], random, Number(knobs.gLayers) - 1);
  if (knobs.inputCorruption === 'none') delete knobs.inputLevel;
  if (Number(knobs.wAdv) === 0) delete knobs.dLayers;
  if (knobs.objective === 'reconstruct') {
    delete knobs.targetKind;
    delete knobs.targetStrength;
  }
  return knobs;
}

/** The trainer options (train-gan, camelCase) of a member's knobs. */
export function knobOptions(knobs: Knobs): TrainingOptions {
  const options: TrainingOptions = {};
  for (const [name, value] of Object.entries(knobs)) {
    if (name === 'targetStrength') options[knobs.targetKind === 'uniform_noise' ? 'targetAmplitude' : 'targetSigma'] = value;
    else options[name] = value;
  }
  return options;
}

/** The trainer options a knob sets, which a zoo's fixed options cannot also set. */
export const KNOB_OPTIONS = new Set([...ZOO_KNOBS.map((knob) => knob.name).filter((name) => name !== 'targetStrength'), 'targetSigma', 'targetAmplitude']);

/** Everything a draw from `ranges` may need of the image size: the largest size multiple and discriminator. */
export function sizeNeeds(ranges: KnobRanges): { multiple: number; discriminator: number } {
  const [, layers] = ranges.gLayers as [number, number];
  const strides = ranges.gFirstStride as number[];
  const [, dLayers] = ranges.dLayers as [number, number];
  return { multiple: 2 ** (layers - (strides.includes(2) ? 0 : 1)), discriminator: 3 * 2 ** dLayers };
}

/** "inputCorruption: none, pink_noise, ... | gLayers: 3 .. 6": a range in words, for the CLI and docs. */
export function describeRange(knob: KnobSpec, range: [number, number] | readonly KnobValue[]): string {
  if (knob.type === 'choice') return (range as KnobValue[]).map(String).join(', ');
  return `${range[0]} .. ${range[1]}${knob.log ? ' (log-uniform)' : ''}`;
}
