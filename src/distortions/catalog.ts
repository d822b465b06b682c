/**
 * The distortion catalog: every kind described once (name, family, parameters with unit, range and
 * default, and the severity mapping). The GraphQL schema and input validation, the CLI, the docs and the
 * native kernel dispatch (native/: kernels are registered under these names, with these parameter names)
 * all read this table.
 *
 * Severity s in [0, 1]: s = 0 is exactly the identity (the engine copies the image without running the
 * kernel), s = 1 is strong but still recognisable. Each mapped parameter moves from `from` to `to`
 * (linearly, or geometrically for `curve: 'log'`); `per: 'min_side'` multiplies the value by the image's
 * shorter side in pixels, so that a severity means the same on a 256 and a 2048 pixel image. Parameters
 * not mapped keep their defaults.
 *
 * Kinds with `needsColor` act on colour and apply to RGB images only: a single-channel image (every X-ray)
 * is refused with an error naming the kind. Promoting grey to RGB would make saturation a silent no-op
 * and give greyscale studies colour they never had.
 */

import type { ModelTaskName } from '../models/manifest';
import { ATTENUATION_RANGE_LIMITS, DEFAULT_ATTENUATION_RANGE } from '../imaging/detector-response';

export const FAMILIES = ['photometric', 'noise', 'blur', 'spatial', 'compression', 'xray', 'cnn'] as const;
export type Family = (typeof FAMILIES)[number];

export interface ParamSpec {
  name: string;
  unit: string;
  min: number;
  max: number;
  default: number;
  integer?: boolean;
  /** Values the parameter may take, when only some in [min, max] are allowed. */
  allowed?: readonly number[];
  description: string;
  /**
   * Not given in a step, it takes the image's stored detector response (src/imaging/detector-response.ts,
   * responseParams) instead of the default, which is the response of an image that has none.
   */
  fromImage?: boolean;
}

export interface SeverityMapping {
  from: number;
  to: number;
  curve?: 'linear' | 'log';
  per?: 'min_side';
}

export interface KindSpec {
  name: string;
  family: Family;
  description: string;
  params: readonly ParamSpec[];
  severity: Readonly<Record<string, SeverityMapping>>;
  /** Uses the seed (noise, random fields); the others are deterministic functions of the image. */
  random: boolean;
  needsColor: boolean;
  /**
   * Rough CPU time of one step, in nanoseconds per pixel and channel on one core (from `npm run bench:distortions`
   * at 1024x1024, BENCHMARKS.md), for the parameters given: what previews are allowed to cost is checked with it.
   */
  cost: (params: Record<string, number>) => number;
  /**
   * CNN-based kinds run a registered ONNX model of this task (each step names the model) through
   * onnxruntime instead of a native kernel.
   */
  model?: ModelTaskName;
}

/** Input corruptions of the CNN-based kinds, by their code in the `corruption` parameter. */
export const CORRUPTIONS = ['none', 'pink_noise', 'white_noise', 'colour_removal', 'downsampling'] as const;
export type Corruption = (typeof CORRUPTIONS)[number];

type ParamTuple = [name: string, unit: string, min: number, max: number, defaultValue: number, description: string];

function params(...tuples: ParamTuple[]): ParamSpec[] {
  return tuples.map(([name, unit, min, max, defaultValue, description]) => ({
    name,
    unit,
    min,
    max,
    default: defaultValue,
    description,
  }));
}

function integer(spec: ParamSpec[], ...names: string[]): ParamSpec[] {
  return spec.map((param) => (names.includes(param.name) ? { ...param, integer: true } : param));
}

/** A kind whose cost per pixel does not depend on its parameters. */
const flat = (ns: number) => () => ns;

const lin = (from: number, to: number, per?: 'min_side'): SeverityMapping => ({ from, to, per });
const log = (from: number, to: number): SeverityMapping => ({ from, to, curve: 'log' });

// The CNN-based kinds: the image, corrupted first (seeded), goes through the model, and the result is
// mixed with the image; mix 0 is the identity.
const CNN_PARAMS: ParamSpec[] = [
  ...integer(
    params([
      'corruption',
      'code',
      0,
      CORRUPTIONS.length - 1,
      0,
      `input corruption before the model: ${CORRUPTIONS.map((name, code) => `${code} ${name}`).join(', ')}`,
    ]),
    'corruption',
  ),
  ...params(
    [
      'level',
      'fraction of full range',
      0,
      1,
      0.1,
      'corruption strength: noise standard deviation; downsampling by 1 + 7 level; ignored by none and colour_removal',
    ],
    ['mix', 'fraction', 0, 1, 1, 'weight of the model output: y = (1 - mix) x + mix model(corrupt(x))'],
  ),
];

// The detector-domain X-ray kinds go from display values to the detector signal and back through the
// image's detector response (native/include/medpsim/detector.hpp); a step may override it.
const RESPONSE_PARAMS: ParamSpec[] = integer(
  params(
    ['response', 'code', 0, 1, 0, 'display vs detector signal: 0 logarithmic (a processed radiograph), 1 linear; from the image'],
    ['polarity', 'sign', -1, 1, 1, '1: brighter is more attenuation (the radiograph convention), -1: brighter is more intensity; from the image'],
  ),
  'response',
  'polarity',
)
  .map((param) => (param.name === 'polarity' ? { ...param, allowed: [-1, 1] } : param))
  .concat(
    params([
      'attenuation_range',
      'nepers',
      ATTENUATION_RANGE_LIMITS.min,
      ATTENUATION_RANGE_LIMITS.max,
      DEFAULT_ATTENUATION_RANGE,
      'log response: attenuation -ln(I/I0) from display 0 to display 1; from the image',
    ]),
  )
  .map((param) => ({ ...param, fromImage: true }));

// A dose change: the image's quanta, the detector's electronic noise and its MTF.
const DOSE_PARAMS: ParamSpec[] = params(
  ['photons', 'quanta per pixel', 10, 1e7, 10000, 'noise-equivalent quanta per pixel of the unattenuated beam at the original dose'],
  ['electronic_noise', 'quanta (rms)', 0, 1000, 2, 'detector read-out noise, the same at any dose'],
  ['mtf_sigma', 'px', 0, 4, 0.8, 'Gaussian detector MTF: the quantum noise is shaped by it (0: white)'],
);

const WARP_PARAMS = integer(
  params(
    ['grid', 'control points per side', 2, 32, 4, 'coarse grid of random displacements'],
    ['magnitude', 'fraction of the shorter side', 0, 0.25, 0.02, 'largest displacement of a control point'],
  ),
  'grid',
);

export const CATALOG: readonly KindSpec[] = [
  // Photometric
  {
    name: 'lightness_shift',
    family: 'photometric',
    description: 'Adds a constant to every sample (brighter for delta > 0).',
    params: params(['delta', 'fraction of full range', -1, 1, 0.1, 'value added']),
    severity: { delta: lin(0, 0.3) },
    random: false,
    cost: flat(3),
    needsColor: false,
  },
  {
    name: 'color_shift',
    family: 'photometric',
    description: 'Adds a constant to each colour channel.',
    params: params(
      ['red', 'fraction of full range', -1, 1, 0.1, 'added to red'],
      ['green', 'fraction of full range', -1, 1, 0, 'added to green'],
      ['blue', 'fraction of full range', -1, 1, -0.1, 'added to blue'],
    ),
    severity: { red: lin(0, 0.2), blue: lin(0, -0.2) },
    random: false,
    cost: flat(16),
    needsColor: true,
  },
  {
    name: 'contrast',
    family: 'photometric',
    description: 'Scales deviations from the per-channel mean: y = m + factor (x - m).',
    params: params(['factor', 'ratio', 0, 4, 0.7, '1 is the identity; below 1 flattens, above 1 stretches']),
    severity: { factor: lin(1, 0.3) },
    random: false,
    cost: flat(3),
    needsColor: false,
  },
  {
    name: 'saturation',
    family: 'photometric',
    description: 'Scales colour around the Rec. 709 luma: y = L + factor (x - L).',
    params: params(['factor', 'ratio', 0, 4, 0.5, '1 is the identity, 0 is grey']),
    severity: { factor: lin(1, 0.1) },
    random: false,
    cost: flat(9),
    needsColor: true,
  },
  // Noise
  {
    name: 'uniform_noise',
    family: 'noise',
    description: 'Adds white noise drawn uniformly from [-amplitude, amplitude].',
    params: params(['amplitude', 'fraction of full range', 0, 1, 0.1, 'half-width of the distribution']),
    severity: { amplitude: lin(0, 0.3) },
    random: true,
    cost: flat(5),
    needsColor: false,
  },
  {
    name: 'gaussian_noise',
    family: 'noise',
    description: 'Adds white Gaussian noise.',
    params: params(['sigma', 'fraction of full range', 0, 1, 0.05, 'standard deviation']),
    severity: { sigma: lin(0, 0.2) },
    random: true,
    cost: flat(6),
    needsColor: false,
  },
  {
    name: 'pink_noise',
    family: 'noise',
    description: 'Adds Gaussian noise with power proportional to 1/f (beta = 1).',
    params: params(['sigma', 'fraction of full range', 0, 1, 0.05, 'standard deviation of the noise field']),
    severity: { sigma: lin(0, 0.2) },
    random: true,
    cost: flat(120),
    needsColor: false,
  },
  {
    name: 'blue_noise',
    family: 'noise',
    description: 'Adds Gaussian noise with power proportional to f (beta = -1).',
    params: params(['sigma', 'fraction of full range', 0, 1, 0.05, 'standard deviation of the noise field']),
    severity: { sigma: lin(0, 0.2) },
    random: true,
    cost: flat(150),
    needsColor: false,
  },
  {
    name: 'colored_noise',
    family: 'noise',
    description: 'Adds isotropic Gaussian noise with power proportional to f^-beta, from violet (-2) to brown (2).',
    params: params(
      ['sigma', 'fraction of full range', 0, 1, 0.05, 'standard deviation of the noise field'],
      ['beta', 'spectral exponent', -2, 2, 0, '0 white, 1 pink, 2 brown, -1 blue, -2 violet'],
    ),
    severity: { sigma: lin(0, 0.2) },
    random: true,
    cost: flat(110),
    needsColor: false,
  },
  {
    name: 'checkerboard',
    family: 'noise',
    description: 'Adds the periodic pattern that strided transposed convolutions leave.',
    params: integer(
      params(
        ['amplitude', 'fraction of full range', 0, 0.5, 0.05, 'largest deviation of the pattern'],
        ['period', 'px', 2, 32, 2, 'pattern period (the stride)'],
      ),
      'period',
    ),
    severity: { amplitude: lin(0, 0.15) },
    random: true,
    cost: flat(3),
    needsColor: false,
  },
  // Blur
  {
    name: 'gaussian_blur',
    family: 'blur',
    description: 'Separable Gaussian blur, borders reflected (OpenCV BORDER_REFLECT_101).',
    params: params(['sigma', 'px', 0, 50, 1.5, 'standard deviation of the kernel']),
    severity: { sigma: lin(0, 0.012, 'min_side') },
    random: false,
    cost: flat(17),
    needsColor: false,
  },
  {
    name: 'bilateral',
    family: 'blur',
    description: 'Edge-preserving bilateral filter.',
    params: params(
      ['sigma_spatial', 'px', 0, 20, 3, 'spatial standard deviation'],
      ['sigma_range', 'fraction of full range', 0, 1, 0.1, 'range standard deviation'],
    ),
    severity: { sigma_spatial: lin(0, 0.012, 'min_side'), sigma_range: lin(0, 0.15) },
    random: false,
    cost: (p) => 1.3 * (2 * Math.ceil(2 * p.sigma_spatial) + 1) ** 2 + 5,
    needsColor: false,
  },
  // Spatial
  {
    name: 'shift',
    family: 'spatial',
    description: 'Translates the image; borders reflected.',
    params: params(['dx', 'px', -4096, 4096, 4, 'to the right'], ['dy', 'px', -4096, 4096, 2, 'downwards']),
    severity: { dx: lin(0, 0.05, 'min_side'), dy: lin(0, 0.03, 'min_side') },
    random: false,
    cost: flat(14),
    needsColor: false,
  },
  {
    name: 'affine',
    family: 'spatial',
    description: 'Rotation, scale and shear about the centre, then translation; bilinear, borders reflected.',
    params: params(
      ['rotation', 'deg', -180, 180, 5, 'counter-clockwise'],
      ['scale', 'ratio', 0.1, 10, 1.05, '1 is the identity'],
      ['shear', 'deg', -60, 60, 3, 'horizontal shear angle'],
      ['tx', 'px', -4096, 4096, 0, 'translation to the right'],
      ['ty', 'px', -4096, 4096, 0, 'translation downwards'],
    ),
    severity: { rotation: lin(0, 10), scale: lin(1, 1.1), shear: lin(0, 8) },
    random: false,
    cost: flat(20),
    needsColor: false,
  },
  {
    name: 'homography',
    family: 'spatial',
    description: 'Perspective warp: each corner moves by a seeded offset of up to jitter times the size.',
    params: params(['jitter', 'fraction of the size', 0, 0.5, 0.03, 'largest corner offset']),
    severity: { jitter: lin(0, 0.08) },
    random: true,
    cost: flat(19),
    needsColor: false,
  },
  {
    name: 'linear_warp',
    family: 'spatial',
    description: 'Smooth random displacement field, interpolated linearly from a coarse control grid.',
    params: WARP_PARAMS,
    severity: { magnitude: lin(0, 0.03) },
    random: true,
    cost: flat(42),
    needsColor: false,
  },
  {
    name: 'cubic_warp',
    family: 'spatial',
    description: 'Smooth random displacement field, interpolated cubically from a coarse control grid.',
    params: WARP_PARAMS,
    severity: { magnitude: lin(0, 0.03) },
    random: true,
    cost: flat(50),
    needsColor: false,
  },
  {
    name: 'ghosting',
    family: 'spatial',
    description: 'Blends in a faint displaced copy: y = (1 - alpha) x + alpha shift(x).',
    params: params(
      ['alpha', 'weight', 0, 1, 0.2, 'weight of the copy'],
      ['dx', 'px', -4096, 4096, 8, 'copy offset to the right'],
      ['dy', 'px', -4096, 4096, 0, 'copy offset downwards'],
    ),
    severity: { alpha: lin(0, 0.3), dx: lin(0, 0.04, 'min_side') },
    random: false,
    cost: flat(13),
    needsColor: false,
  },
  {
    name: 'chromatic_aberration',
    family: 'spatial',
    description: 'Scales red outward and blue inward about the centre, so edges shift by `shift` px.',
    params: params(['shift', 'px', 0, 20, 2, 'displacement at the image edge']),
    severity: { shift: lin(0, 0.004, 'min_side') },
    random: false,
    cost: flat(40),
    needsColor: true,
  },
  // Compression
  {
    name: 'jpeg',
    family: 'compression',
    description: 'JPEG DCT-domain round trip with the standard tables scaled by the IJG quality formula (4:4:4).',
    params: integer(params(['quality', 'IJG quality', 1, 100, 50, 'lower is stronger']), 'quality'),
    severity: { quality: lin(100, 5) },
    random: false,
    cost: flat(13),
    needsColor: false,
  },
  // X-ray
  {
    name: 'quantum_noise',
    family: 'xray',
    description:
      'Reduced dose (Veldkamp et al. 2009): the image as acquired with `dose` of its dose. In the detector signal, ' +
      'Poisson quanta of variance f (1 - f) N0 T are added (the original has N0 T; the reduced dose f N0 T), shaped by ' +
      'the detector MTF, plus the electronic noise a lower dose does not lower; then back to display values. Under the ' +
      'log response the display-value variance grows as exp(M v): the mediastinum is noisier than the lungs.',
    params: [...params(['dose', 'fraction of the original dose', 0.01, 1, 0.25, '1 is the identity']), ...DOSE_PARAMS, ...RESPONSE_PARAMS],
    severity: { dose: log(1, 0.02) },
    random: true,
    cost: flat(80),
    needsColor: false,
  },
  {
    name: 'motion_blur',
    family: 'xray',
    description: 'Patient or tube motion during exposure: a line kernel.',
    params: params(['length', 'px', 0, 200, 7, 'length of the motion'], ['angle', 'deg', 0, 180, 0, 'direction, 0 = horizontal']),
    severity: { length: lin(0, 0.02, 'min_side') },
    random: false,
    cost: (p) => 3 * Math.max(1, p.length) + 5,
    needsColor: false,
  },
  {
    name: 'grid_lines',
    family: 'xray',
    description:
      'Anti-scatter grid shadow: the detector signal times (1 - amplitude g) / (1 - amplitude / 2), g a smooth periodic ' +
      'profile (the mean signal kept); equally visible in dark and bright regions under the log response.',
    params: [
      ...integer(
        params(
          ['amplitude', 'modulation depth', 0, 0.5, 0.05, 'fraction of the signal the lines absorb'],
          ['period', 'px', 2, 64, 4, 'line spacing'],
          ['angle', 'deg', 0, 90, 90, '0 horizontal lines, 90 vertical lines'],
        ),
        'period',
        'angle',
      ).map((param) => (param.name === 'angle' ? { ...param, allowed: [0, 90] } : param)),
      ...RESPONSE_PARAMS,
    ],
    severity: { amplitude: lin(0, 0.2) },
    random: false,
    cost: flat(2),
    needsColor: false,
  },
  {
    name: 'dead_pixels',
    family: 'xray',
    description: 'Detector defects: a seeded fraction of pixels stuck dark or bright, and dead rows or columns.',
    params: integer(
      params(
        ['fraction', 'fraction of pixels', 0, 0.1, 0.001, 'pixels stuck at 0 or 1'],
        ['lines', 'count', 0, 64, 1, 'full rows or columns set to 0'],
      ),
      'lines',
    ),
    severity: { fraction: lin(0, 0.005), lines: lin(0, 4) },
    random: true,
    cost: flat(15),
    needsColor: false,
  },
  {
    name: 'resolution_loss',
    family: 'xray',
    description: 'Area downsampling by `factor`, then bilinear upsampling back to the original size.',
    params: params(['factor', 'ratio', 1, 16, 2, '1 is the identity']),
    severity: { factor: lin(1, 6) },
    random: false,
    cost: flat(11),
    needsColor: false,
  },
  {
    name: 'exposure',
    family: 'xray',
    description:
      'Exposure error in the detector: `exposure` times the correct exposure. Below 1 a dose reduction (noise, as ' +
      'quantum_noise); the detector saturates at `saturation` times the correct unattenuated signal (over-exposure ' +
      'burns out the lungs); then the auto-ranging of a CR/DR system divides by exposure^compensation. Severity ' +
      'over-exposes; an under-exposure is a step with exposure < 1.',
    params: [
      ...params(
        ['exposure', 'ratio to the correct exposure', 0.05, 20, 0.5, '1 is the identity; below 1 under-exposed (noise), above 1 over-exposed (saturation)'],
        ['saturation', 'x correct unattenuated signal', 1, 100, 1, 'detector signal at which it saturates: 1, the direct beam saturates at the correct exposure'],
        ['compensation', 'fraction', 0, 1, 1, 'auto-ranging: 1 re-ranges fully (CR/DR), 0 not at all (film-like)'],
      ),
      ...DOSE_PARAMS,
      ...RESPONSE_PARAMS,
    ],
    severity: { exposure: log(1, 6) },
    random: true,
    cost: (p) => (p.exposure < 1 ? 80 : 8), // under-exposure draws quanta, as quantum_noise does
    needsColor: false,
  },
  {
    name: 'windowing',
    family: 'xray',
    description: 'Windowing error: y = clamp((x - (0.5 + center_shift)) / width_scale + 0.5).',
    params: params(
      ['center_shift', 'fraction of full range', -0.5, 0.5, 0.05, 'window centre moved by this'],
      ['width_scale', 'ratio', 0.1, 4, 0.8, '1 is the identity; below 1 narrows the window'],
    ),
    severity: { center_shift: lin(0, 0.1), width_scale: lin(1, 0.6) },
    random: false,
    cost: flat(2),
    needsColor: false,
  },
  {
    name: 'scatter',
    family: 'xray',
    description:
      'Scatter in the detector: primary T plus spr blur(T, sigma) (spr the mean scatter-to-primary ratio, a broad ' +
      'Gaussian of three box passes), the mean signal kept: (T + S) / (1 + spr). Contrast falls most behind dense tissue.',
    params: [
      ...params(
        ['spr', 'scatter-to-primary ratio', 0, 10, 0.5, 'added scatter over the primary signal, image mean'],
        ['sigma', 'px', 0, 500, 40, 'width of the scatter kernel'],
      ),
      ...RESPONSE_PARAMS,
    ],
    severity: { spr: lin(0, 1.5), sigma: lin(0.1, 0.1, 'min_side') },
    random: false,
    cost: flat(50),
    needsColor: false,
  },
  // CNN-based (registered ONNX models; each step names one)
  {
    name: 'gan_generator',
    family: 'cnn',
    description: 'A registered GAN generator (task gan-generator) applied to the image after an input corruption.',
    params: CNN_PARAMS,
    severity: { mix: lin(0, 1) },
    random: true,
    cost: flat(500),
    needsColor: false,
    model: 'gan-generator',
  },
  {
    name: 'dae_reconstruction',
    family: 'cnn',
    description: 'A registered denoising autoencoder (task dae) reconstructing the image after an input corruption.',
    params: CNN_PARAMS,
    severity: { mix: lin(0, 1) },
    random: true,
    cost: flat(500),
    needsColor: false,
    model: 'dae',
  },
];

/** The kinds the native engine runs (every kind but the CNN-based ones). */
export const NATIVE_KINDS: readonly KindSpec[] = CATALOG.filter((kind) => !kind.model);

const BY_NAME = new Map(CATALOG.map((kind) => [kind.name, kind]));

export function findKind(name: string): KindSpec | undefined {
  return BY_NAME.get(name);
}

/** "0 -> 0.012 x shorter side px": the severity mapping of one parameter in words, for the CLI and docs. */
export function describeMapping(param: ParamSpec, mapping: SeverityMapping): string {
  const per = mapping.per === 'min_side' ? ' x shorter side' : '';
  const curve = mapping.curve === 'log' ? ' (geometric)' : '';
  return `${param.name}: ${mapping.from}${per} -> ${mapping.to}${per} ${param.unit}${curve}`;
}
