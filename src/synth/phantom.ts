/**
 * Synthetic PA chest-radiograph phantoms: test, benchmark and demo data for machines without real images.
 *
 * The renderer works like a crude projection radiograph. It sums an attenuation line integral per
 * pixel (soft tissue of an elliptical torso, minus the air of two lungs, plus heart, bones and
 * pathology), adds quantum-like noise in that domain, maps it through a saturating film curve and
 * blurs slightly. Anatomy lives in a normalised frame (0..1 across the image); a per-image affine
 * map (rotation, zoom, shift) carries pixels into it, so the result is resolution independent.
 *
 * Speed: one composite pass with row/column lookup tables (no per-pixel trig), on a half-resolution
 * grid for images over 768 px; low-resolution value noise; vessels drawn as short capsules in small
 * boxes; noise, film curve and a separable binomial blur at full resolution.
 */
import { RandomStream, fillGaussianNoise, fillUniform } from './random';

// Module-level aliases: hot loops then never read the global Math object, which some hosts
// (jest's sandbox) keep changing, deoptimising every function that depends on it.
const { PI, abs, ceil, cos, exp, floor, max, min, pow, round, sin, sqrt } = Math;

export type PhantomLabel = 'NORMAL' | 'PNEUMONIA';
export type PneumoniaPattern = 'focal' | 'diffuse';

export interface PhantomOptions {
  width: number;
  height: number;
  label: PhantomLabel;
  /** Drives acquisition (pose, exposure, noise) and pathology; also the anatomy unless anatomySeed is given. */
  seed: number;
  /** PNEUMONIA only; chosen from the seed when absent. */
  pattern?: PneumoniaPattern;
  /** The "patient": images with the same anatomySeed share body, lungs, heart and ribs. Defaults to seed. */
  anatomySeed?: number;
}

/** The image plus the regions the generator knows, for tests and evaluation. */
export interface PhantomLayers {
  image: Float32Array;
  width: number;
  height: number;
  /** 1 where the pixel lies well inside a lung field and outside the heart shadow. */
  lungMask: Uint8Array;
  /** 1 in the central mediastinal band between the lungs (great vessels, heart, spine). */
  mediastinumMask: Uint8Array;
  /** The pattern rendered, or null for NORMAL. */
  pattern: PneumoniaPattern | null;
}

export const MIN_PHANTOM_SIZE = 16;
export const MAX_PHANTOM_SIZE = 16384;

/** Independent random streams, so that e.g. adding pathology never changes the anatomy or the noise. */
const STREAM = {
  anatomy: 1,
  acquisition: 2,
  noise: 3,
  texture: 4,
  vessels: 5,
  pathology: 6,
  pathologyTexture: 7,
} as const;

export function renderPhantom(opts: PhantomOptions): Float32Array {
  return renderPhantomLayers(opts, { masks: false }).image;
}

export function renderPhantomLayers(opts: PhantomOptions, { masks = true }: { masks?: boolean } = {}): PhantomLayers {
  validateOptions(opts);
  const { width, height } = opts;
  const anatomySeed = opts.anatomySeed ?? opts.seed;
  const anatomy = drawAnatomy(new RandomStream(anatomySeed, STREAM.anatomy));
  const acquisition = drawAcquisition(new RandomStream(opts.seed, STREAM.acquisition));
  const pattern = opts.label === 'PNEUMONIA' ? choosePattern(opts) : null;

  // The projection is smooth at the scale of a pixel, so large images integrate it on a coarser
  // grid; noise, the film curve and the blur then run at full resolution.
  const scale = internalScale(width, height);
  const gridWidth = ceil(width / scale);
  const gridHeight = ceil(height / scale);
  const gridPixels = gridWidth * gridHeight;
  const pose = makePose(gridWidth, gridHeight, acquisition);
  const tables = buildTables(anatomy, gridWidth, gridHeight);
  const texture = lungTexture(opts.seed, gridWidth, gridHeight);
  const vessels = scratchLayer('vessels', gridPixels);
  drawVesselTrees(vessels, pose, anatomy, new RandomStream(anatomySeed, STREAM.vessels));
  const airways = scratchLayer('airways', gridPixels);
  drawAirways(airways, pose, anatomy);
  const pathology = pattern === null ? null : renderPathology(pattern, opts.seed, pose, anatomy, scratchLayer('pathology', gridPixels));
  const attenuation = scratchLayer('attenuation', gridPixels);
  composite({ attenuation, pose, anatomy, tables, texture, vessels, airways, pathology, acquisition });

  const image = new Float32Array(width * height);
  fillGaussianNoise(image, opts.seed, STREAM.noise, 1);
  develop(attenuation, gridWidth, gridHeight, image, width, height, buildToneCurve(acquisition));
  gaussianBlur(image, width, height, 0.0009 * min(width, height));
  clampUnit(image);

  const lungMask = new Uint8Array(masks ? width * height : 0);
  const mediastinumMask = new Uint8Array(masks ? width * height : 0);
  if (masks) {
    const fullPose = makePose(width, height, acquisition);
    fillMasks(lungMask, mediastinumMask, fullPose, anatomy, buildTables(anatomy, width, height));
  }
  return { image, width, height, lungMask, mediastinumMask, pattern };
}

/** Grid step of the attenuation integral: every pixel up to 768 px, every other pixel above. */
function internalScale(width: number, height: number): number {
  return min(width, height) > 768 ? 2 : 1;
}

/** Layers up to this many pixels are kept between renders (a 2048 x 2048 image's worth). */
const SCRATCH_POOL_MAX_PIXELS = 2048 * 2048;
const scratchPool = new Map<string, Float32Array>();

/**
 * A zeroed intermediate layer. Rendering is synchronous, so one layer per name can be reused by
 * the next render instead of allocating (and garbage-collecting) megabytes per image.
 */
function scratchLayer(name: 'vessels' | 'airways' | 'pathology' | 'attenuation', length: number): Float32Array {
  const pooled = scratchPool.get(name);
  if (pooled && pooled.length === length) {
    pooled.fill(0);
    return pooled;
  }
  const fresh = new Float32Array(length);
  if (length <= SCRATCH_POOL_MAX_PIXELS) scratchPool.set(name, fresh);
  else scratchPool.delete(name);
  return fresh;
}

function validateOptions(opts: PhantomOptions): void {
  for (const [name, value] of [['width', opts.width], ['height', opts.height]] as const) {
    if (!Number.isInteger(value) || value < MIN_PHANTOM_SIZE || value > MAX_PHANTOM_SIZE) {
      throw new RangeError(`${name} must be an integer in ${MIN_PHANTOM_SIZE}..${MAX_PHANTOM_SIZE}, got ${value}`);
    }
  }
  if (opts.label !== 'NORMAL' && opts.label !== 'PNEUMONIA') throw new RangeError(`unknown label ${String(opts.label)}`);
  if (opts.pattern !== undefined && opts.pattern !== 'focal' && opts.pattern !== 'diffuse') {
    throw new RangeError(`unknown pattern ${String(opts.pattern)}`);
  }
  if (!Number.isFinite(opts.seed)) throw new RangeError(`seed must be a finite number, got ${opts.seed}`);
}

function choosePattern(opts: PhantomOptions): PneumoniaPattern {
  if (opts.pattern) return opts.pattern;
  return new RandomStream(opts.seed, STREAM.pathology).chance(0.55) ? 'focal' : 'diffuse';
}

// ---------------------------------------------------------------------------------------------
// Parameters

/** Patient anatomy in the normalised frame; "e" is the lateral distance from the midline. */
interface Anatomy {
  midX: number;
  /** Per side: 0 = patient's right (viewer's left), 1 = patient's left (viewer's right). */
  lungs: [LungShape, LungShape];
  bodyHalfWidth: number;
  shoulderY: number;
  neckHalfWidth: number;
  /** An ellipse whose long axis (radiusLong) points down towards the apex on the patient's left. */
  heart: { centerX: number; centerY: number; radiusLong: number; radiusShort: number; tilt: number };
  aorticKnob: { y: number; reach: number };
  carinaY: number;
  /** Air in the stomach fundus under the left hemidiaphragm; radius 0 when absent. */
  gastricBubble: { x: number; y: number; radiusX: number; radiusY: number };
  tracheaHalfWidth: number;
  spineHalfWidth: number;
  clavicleY: number;
  ribs: { firstY: number; spacing: number; spacingGrowth: number; curvature: number; widthFraction: number; count: number };
  ribPhase: [number, number];
  /** Per rib level: a small offset and a width factor, so the cage is not a perfect grating. */
  ribJitter: Float32Array;
  ribWidth: Float32Array;
}

interface LungShape {
  apexY: number;
  /** Lateral costophrenic angle: the lowest point of the lung. */
  baseY: number;
  domeHeight: number;
  lateralReach: number;
  apexCenter: number;
  mediastinalEdge: number;
  hilumE: number;
  hilumY: number;
}

interface Acquisition {
  rotation: number;
  zoom: number;
  shiftX: number;
  shiftY: number;
  /** Exposure curve: 1 - exp(-gain * attenuation), then a contrast gamma. */
  toneGain: number;
  toneGamma: number;
  gradientX: number;
  gradientY: number;
  noiseSd: number;
}

function drawAnatomy(rng: RandomStream): Anatomy {
  const midX = rng.truncatedNormal(0.5, 0.008);
  const scale = rng.truncatedNormal(1, 0.035);
  const apexY = rng.truncatedNormal(0.12, 0.012);
  const rightBase = rng.truncatedNormal(0.8, 0.018);
  const lungs: [LungShape, LungShape] = [
    drawLung(rng, scale, apexY, rightBase, 0),
    drawLung(rng, scale, apexY + rng.range(-0.006, 0.006), rightBase + rng.range(0.005, 0.03), 1),
  ];
  // The heart rests on the left hemidiaphragm: its lower half hides in the abdomen's density.
  const leftDomeTop = lungs[1].baseY - lungs[1].domeHeight;
  return {
    midX,
    lungs,
    bodyHalfWidth: rng.truncatedNormal(0.455, 0.015) * scale,
    shoulderY: apexY - rng.range(0.06, 0.09),
    neckHalfWidth: rng.truncatedNormal(0.1, 0.008) * scale,
    heart: {
      centerX: midX + rng.truncatedNormal(0.08, 0.008) * scale,
      centerY: leftDomeTop - rng.truncatedNormal(0.06, 0.01),
      radiusLong: rng.truncatedNormal(0.19, 0.012) * scale,
      radiusShort: rng.truncatedNormal(0.13, 0.008) * scale,
      tilt: (rng.truncatedNormal(40, 5) * PI) / 180,
    },
    aorticKnob: { y: rng.truncatedNormal(0.3, 0.012), reach: rng.truncatedNormal(0.09, 0.006) * scale },
    carinaY: rng.truncatedNormal(0.33, 0.012),
    gastricBubble: {
      x: midX + rng.truncatedNormal(0.16, 0.015),
      y: leftDomeTop + rng.truncatedNormal(0.045, 0.008),
      radiusX: rng.chance(0.8) ? rng.range(0.045, 0.075) : 0,
      radiusY: rng.range(0.03, 0.045),
    },
    tracheaHalfWidth: rng.truncatedNormal(0.017, 0.0015) * scale,
    spineHalfWidth: rng.truncatedNormal(0.034, 0.002) * scale,
    clavicleY: apexY + rng.truncatedNormal(0.03, 0.008),
    ribs: {
      firstY: apexY - rng.range(0.03, 0.045),
      spacing: rng.truncatedNormal(0.057, 0.004) * scale,
      spacingGrowth: rng.range(0.7, 1.3),
      curvature: rng.truncatedNormal(1.0, 0.1),
      widthFraction: rng.range(0.4, 0.5),
      count: 12,
    },
    ribPhase: [rng.range(-0.15, 0.15), rng.range(-0.15, 0.15)],
    ribJitter: Float32Array.from({ length: 16 }, () => rng.range(-0.07, 0.07)),
    ribWidth: Float32Array.from({ length: 16 }, () => rng.range(0.85, 1.15)),
  };
}

function drawLung(rng: RandomStream, scale: number, apexY: number, baseY: number, side: 0 | 1): LungShape {
  return {
    apexY,
    baseY,
    domeHeight: rng.truncatedNormal(side === 0 ? 0.125 : 0.11, 0.01),
    lateralReach: rng.truncatedNormal(0.365, 0.012) * scale,
    apexCenter: rng.truncatedNormal(0.17, 0.01) * scale,
    mediastinalEdge: rng.truncatedNormal(side === 0 ? 0.062 : 0.068, 0.004) * scale,
    hilumE: rng.truncatedNormal(0.105, 0.008) * scale,
    hilumY: rng.truncatedNormal(side === 0 ? 0.43 : 0.41, 0.012),
  };
}

function drawAcquisition(rng: RandomStream): Acquisition {
  return {
    rotation: (rng.truncatedNormal(0, 1.6, 2.2) * PI) / 180,
    zoom: rng.truncatedNormal(1, 0.03),
    shiftX: rng.truncatedNormal(0, 0.012),
    shiftY: rng.truncatedNormal(0.0, 0.015),
    toneGain: rng.truncatedNormal(1.5, 0.1),
    toneGamma: rng.truncatedNormal(1.45, 0.08),
    gradientX: rng.normal(0, 0.04),
    gradientY: rng.normal(0.05, 0.04),
    noiseSd: rng.range(0.018, 0.03),
  };
}

// ---------------------------------------------------------------------------------------------
// Geometry: pixel <-> anatomical frame

/** Affine map between pixel centres and the anatomical frame; X and Y are affine in (px, py). */
interface Pose {
  width: number;
  height: number;
  /** Anatomical coordinates of pixel (0, 0) and their steps per pixel. */
  originX: number;
  originY: number;
  dXdx: number;
  dXdy: number;
  dYdx: number;
  dYdy: number;
  toPixel(x: number, y: number): [number, number];
  /** Pixels per anatomical unit, horizontally (for line widths). */
  pixelsPerUnit: number;
}

function makePose(width: number, height: number, acq: Acquisition): Pose {
  const cosine = cos(acq.rotation);
  const sine = sin(acq.rotation);
  const centerX = width / 2 + acq.shiftX * width;
  const centerY = height / 2 + acq.shiftY * height;
  const scaleX = width * acq.zoom;
  const scaleY = height * acq.zoom;
  // Rotation happens in pixel space (isotropic), then each axis is normalised by its own size.
  const toAnatomy = (px: number, py: number): [number, number] => {
    const dx = px + 0.5 - centerX;
    const dy = py + 0.5 - centerY;
    return [0.5 + (dx * cosine + dy * sine) / scaleX, 0.5 + (-dx * sine + dy * cosine) / scaleY];
  };
  const [originX, originY] = toAnatomy(0, 0);
  return {
    width,
    height,
    originX,
    originY,
    dXdx: cosine / scaleX,
    dXdy: sine / scaleX,
    dYdx: -sine / scaleY,
    dYdy: cosine / scaleY,
    pixelsPerUnit: scaleX,
    toPixel(x, y) {
      const rx = (x - 0.5) * scaleX;
      const ry = (y - 0.5) * scaleY;
      return [rx * cosine - ry * sine + centerX - 0.5, rx * sine + ry * cosine + centerY - 0.5];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Lookup tables: every shape is a function of the row (Y) or of the column (X) of the anatomical frame

interface Tables {
  rows: number;
  columns: number;
  /** Per row, per side: lateral and medial lung edge (as e); -1 where there is no lung. */
  lateral: [Float32Array, Float32Array];
  medial: [Float32Array, Float32Array];
  bodyHalfWidth: Float32Array;
  /** Multiplies lung air: less at the apices and bases, where more soft tissue overlaps. */
  airZone: Float32Array;
  spineDensity: Float32Array;
  /** Per column: diaphragm Y (lung floor), clavicle centre Y, posterior/anterior rib offsets. */
  diaphragmY: Float32Array;
  clavicleY: Float32Array;
  clavicleWeight: Float32Array;
  posteriorRibShift: Float32Array;
  anteriorRibShift: Float32Array;
  ribWeight: Float32Array;
  anteriorRibWeight: Float32Array;
  ribPhase: Float32Array;
}

function buildTables(anatomy: Anatomy, width: number, height: number): Tables {
  const rows = max(height, 256);
  const columns = max(width, 256);
  const t: Tables = {
    rows,
    columns,
    lateral: [new Float32Array(rows), new Float32Array(rows)],
    medial: [new Float32Array(rows), new Float32Array(rows)],
    bodyHalfWidth: new Float32Array(rows),
    airZone: new Float32Array(rows),
    spineDensity: new Float32Array(rows),
    diaphragmY: new Float32Array(columns),
    clavicleY: new Float32Array(columns),
    clavicleWeight: new Float32Array(columns),
    posteriorRibShift: new Float32Array(columns),
    anteriorRibShift: new Float32Array(columns),
    ribWeight: new Float32Array(columns),
    anteriorRibWeight: new Float32Array(columns),
    ribPhase: new Float32Array(columns),
  };
  for (let row = 0; row < rows; row++) fillRow(t, anatomy, row, (row + 0.5) / rows);
  for (let column = 0; column < columns; column++) fillColumn(t, anatomy, column, (column + 0.5) / columns);
  return t;
}

function fillRow(t: Tables, a: Anatomy, row: number, y: number): void {
  for (const side of [0, 1] as const) {
    const [lateral, medial] = lungSpan(a, side, y);
    t.lateral[side][row] = lateral;
    t.medial[side][row] = medial;
  }
  t.bodyHalfWidth[row] = bodyHalfWidthAt(a, y);
  const apex = a.lungs[0].apexY;
  t.airZone[row] = 0.7 + 0.3 * smoothstep(apex, apex + 0.18, y) - 0.14 * smoothstep(0.5, 0.8, y);
  t.spineDensity[row] = vertebraProfile(a, y);
}

/** Lateral and medial lung edge at row y: a rounded apex, then a widening field down to the base. */
function lungSpan(a: Anatomy, side: 0 | 1, y: number): [number, number] {
  const lung = a.lungs[side];
  if (y < lung.apexY || y > lung.baseY + 0.01) return [-1, -1];
  const t = (y - lung.apexY) / (lung.baseY - lung.apexY);
  const top = min(t / 0.6, 1);
  const rounding = sqrt(1 - (1 - top) * (1 - top));
  const center = lung.apexCenter + 0.035 * top;
  // The lateral wall keeps widening gently towards the bases.
  const widening = 0.86 + 0.14 * smoothstep(0.15, 0.95, t);
  const halfWidth = (lung.lateralReach - center) * rounding * widening;
  const lateral = center + halfWidth;
  // The mediastinum is narrow at the thoracic inlet and widens towards the hila.
  const mediastinum = lung.mediastinalEdge * (0.78 + 0.22 * smoothstep(lung.apexY, lung.apexY + 0.2, y)) + 0.012 * smoothstep(0.3, 0.6, y);
  let medial = max(center - halfWidth, mediastinum);
  if (side === 1) medial = max(medial, knobEdge(a, y));
  if (side === 0) medial = max(medial, lung.mediastinalEdge + 0.018 * bump(0.52, 0.72, y));
  return [lateral, medial];
}

/** The aortic knob pushes the left lung's medial edge outwards around its level. */
function knobEdge(a: Anatomy, y: number): number {
  const d = (y - a.aorticKnob.y) / 0.035;
  return d * d >= 1 ? 0 : a.aorticKnob.reach * sqrt(1 - d * d);
}

function bodyHalfWidthAt(a: Anatomy, y: number): number {
  // Neck, sloping shoulders, then a torso that narrows slightly towards the waist.
  const shoulders = smoothstep(a.shoulderY - 0.1, a.shoulderY + 0.02, y);
  const shoulderRound = 0.03 * (1 - smoothstep(a.shoulderY, a.shoulderY + 0.14, y));
  return a.neckHalfWidth + (a.bodyHalfWidth - a.neckHalfWidth) * shoulders - shoulderRound - 0.03 * smoothstep(0.65, 1.05, y);
}

/** Vertebral bodies: dense plates separated by darker discs, one level per rib. */
function vertebraProfile(a: Anatomy, y: number): number {
  const level = (y - a.ribs.firstY) / a.ribs.spacing;
  const phase = level - floor(level);
  const disc = bump(0.82, 1.0, phase);
  const endplates = 0.3 * (bump(0.72, 0.84, phase) + bump(0.0, 0.1, phase));
  return 0.75 - 0.3 * disc + 0.6 * endplates;
}

function fillColumn(t: Tables, a: Anatomy, column: number, x: number): void {
  const side = x < a.midX ? 0 : 1;
  const e = abs(x - a.midX);
  const lung = a.lungs[side];
  t.diaphragmY[column] = diaphragmAt(lung, e);
  fillClavicle(t, a, column, e);
  // Posterior ribs are convex upwards: they leave the spine rising slightly, peak a little
  // lateral of it, then turn down ever more steeply towards the lateral chest wall.
  const arc = min(e / 0.44, 1);
  const top = 0.1;
  const c = a.ribs.curvature;
  t.posteriorRibShift[column] = c * (1.2 * ((e - top) * (e - top) - top * top) + 0.08 * (1 - sqrt(1 - arc * arc)));
  // Anterior ribs descend from the lateral wall towards the sternum.
  t.anteriorRibShift[column] = 0.42 * (lung.lateralReach - e) + 0.6 * (e - lung.lateralReach) * (e - lung.lateralReach);
  // Posterior ribs fade medially into the spine and mediastinum, and end at the lateral chest wall.
  t.ribWeight[column] = (0.25 + 0.75 * smoothstep(0.03, 0.13, e)) * smoothstep(0.015, 0.04, e) * (1 - smoothstep(lung.lateralReach - 0.01, lung.lateralReach + 0.035, e));
  t.anteriorRibWeight[column] = smoothstep(0.08, 0.16, e);
  t.ribPhase[column] = a.ribPhase[side];
}

/** Hemidiaphragm dome: highest mid-lung, lowest at the lateral costophrenic angle. */
function diaphragmAt(lung: LungShape, e: number): number {
  const peak = 0.16;
  const u = (e - peak) / (lung.lateralReach - peak + 0.005);
  const dome = max(0, 1 - u * u);
  return lung.baseY - lung.domeHeight * dome;
}

function fillClavicle(t: Tables, a: Anatomy, column: number, e: number): void {
  const medialEnd = 0.045;
  const lateralEnd = 0.34;
  const s = (e - medialEnd) / (lateralEnd - medialEnd);
  // Medially the clavicle sits low at the sternum, then rises towards the shoulder with a gentle S.
  t.clavicleY[column] = a.clavicleY + 0.015 - 0.05 * s + 0.007 * sin(2 * PI * min(max(s, 0), 1));
  t.clavicleWeight[column] = smoothstep(-0.05, 0.05, s) * (1 - smoothstep(0.95, 1.15, s));
}

// ---------------------------------------------------------------------------------------------
// Texture and vessels

/**
 * Low-frequency mottling of the lung parenchyma, in [0, 1]. Kept as grid rows already widened to
 * the image width; the composite interpolates between two of them, and only for lung pixels.
 */
function lungTexture(seed: number, width: number, height: number): RowSampledGrid {
  const grid = 96;
  const coarse = fractalNoise(seed, STREAM.texture, grid, [6, 12, 24, 48], [1, 0.6, 0.4, 0.25]);
  return widenRows(coarse, grid, grid, width, height);
}

/** A coarse grid whose rows were linearly resampled to the image width. */
interface RowSampledGrid {
  rows: Float32Array;
  /** Per output row: offset of the upper grid row in `rows`, and the weight of the lower one. */
  upperOffset: Int32Array;
  lowerWeight: Float32Array;
  width: number;
}

function widenRows(src: Float32Array, sw: number, sh: number, width: number, height: number): RowSampledGrid {
  const rows = new Float32Array(sh * width);
  for (let x = 0; x < width; x++) {
    const g = min(max(((x + 0.5) / width) * sw - 0.5, 0), sw - 1.001);
    const x0 = floor(g);
    const f = g - x0;
    for (let y = 0; y < sh; y++) rows[y * width + x] = src[y * sw + x0] + (src[y * sw + x0 + 1] - src[y * sw + x0]) * f;
  }
  const upperOffset = new Int32Array(height);
  const lowerWeight = new Float32Array(height);
  for (let y = 0; y < height; y++) {
    const g = min(max(((y + 0.5) / height) * sh - 0.5, 0), sh - 1.001);
    const y0 = floor(g);
    upperOffset[y] = y0 * width;
    lowerWeight[y] = g - y0;
  }
  return { rows, upperOffset, lowerWeight, width };
}

/**
 * Sum of value-noise octaves on a size x size grid, normalised to [0, 1].
 * Octave k has cells[k] cells across the grid, smoothly interpolated.
 */
function fractalNoise(seed: number, stream: number, size: number, cells: number[], amplitudes: number[]): Float32Array {
  const out = new Float32Array(size * size);
  let total = 0;
  cells.forEach((count, octave) => {
    const lattice = new Float32Array((count + 1) * (count + 1));
    fillUniform(lattice, seed, stream * 16 + octave);
    addSmoothLattice(out, size, lattice, count, amplitudes[octave]);
    total += amplitudes[octave];
  });
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

function addSmoothLattice(out: Float32Array, size: number, lattice: Float32Array, count: number, amplitude: number): void {
  const stride = count + 1;
  // Cell and smoothed in-cell weight per grid coordinate, shared by rows and columns.
  const cell = new Int32Array(size);
  const weight = new Float32Array(size);
  for (let k = 0; k < size; k++) {
    const g = ((k + 0.5) / size) * count;
    const index = g | 0;
    cell[k] = index < count - 1 ? index : count - 1;
    weight[k] = smootherstep(g - cell[k]);
  }
  for (let y = 0; y < size; y++) {
    const upper = cell[y] * stride;
    const lower = upper + stride;
    const fy = weight[y];
    const row = y * size;
    for (let x = 0; x < size; x++) {
      const i = cell[x];
      const fx = weight[x];
      const top = lattice[upper + i] + (lattice[upper + i + 1] - lattice[upper + i]) * fx;
      const bottom = lattice[lower + i] + (lattice[lower + i + 1] - lattice[lower + i]) * fx;
      out[row + x] += amplitude * (top + (bottom - top) * fy);
    }
  }
}

/** Bilinear upsampling into `out`: rows are widened once, then each output row blends two of them. */
function upsampleBilinear(src: Float32Array, sw: number, sh: number, out: Float32Array, width: number, height: number): void {
  const { rows, upperOffset, lowerWeight } = widenRows(src, sw, sh, width, height);
  for (let y = 0; y < height; y++) {
    const upper = upperOffset[y];
    const lower = upper + width;
    const f = lowerWeight[y];
    const row = y * width;
    for (let x = 0; x < width; x++) out[row + x] = rows[upper + x] + (rows[lower + x] - rows[upper + x]) * f;
  }
}

/** A tapered line segment in the anatomical frame, drawn as a tube (brightest along its axis). */
interface Segment {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Radii at both ends, anatomical units. */
  r0: number;
  r1: number;
  amplitude: number;
  /** 'tube': a solid cylinder seen side-on (sharp walls); 'soft': parabolic, for blurred vessels. */
  profile?: 'tube' | 'soft';
  /** 'max' (default): overlaps never double up; 'darken': scales what is there by (1 - value). */
  combine?: 'max' | 'darken';
}

/** Pulmonary vessels: branching trees from each hilum, thinning and fading towards the periphery. */
function drawVesselTrees(target: Float32Array, pose: Pose, a: Anatomy, rng: RandomStream): void {
  for (const side of [0, 1] as const) {
    const lung = a.lungs[side];
    const sign = side === 0 ? -1 : 1;
    const segments: Segment[] = [];
    // The hilar shadow: pulmonary arteries and veins overlapping at the root of the lung.
    segments.push({ x0: lung.hilumE, y0: lung.hilumY - 0.035, x1: lung.hilumE + 0.01, y1: lung.hilumY + 0.04, r0: 0.018, r1: 0.022, amplitude: 0.75 });
    const trunks = rng.int(7, 9);
    for (let k = 0; k < trunks; k++) {
      // Angles in (lateral, down) space: from up-medial over lateral to straight down.
      const angle = -1.9 + (3.5 * (k + rng.range(0.2, 0.8))) / trunks;
      growBranch(segments, rng, {
        e: lung.hilumE + rng.range(-0.005, 0.015),
        y: lung.hilumY + 0.06 * (k / trunks - 0.5) + rng.range(-0.01, 0.01),
        angle,
        length: rng.range(0.055, 0.075),
        radius: rng.range(0.006, 0.008),
        depth: 5,
      });
    }
    for (const s of segments) {
      drawSegment(target, pose, { ...s, x0: a.midX + sign * s.x0, x1: a.midX + sign * s.x1, profile: 'soft' });
    }
  }
}

/** Trachea down to the carina, then the steeper right and the longer, flatter left main bronchus. */
function drawAirways(target: Float32Array, pose: Pose, a: Anatomy): void {
  const x = a.midX - 0.004;
  const r = a.tracheaHalfWidth;
  const right = { x: x - 0.05, y: a.carinaY + 0.07 };
  const left = { x: x + 0.07, y: a.carinaY + 0.06 };
  const segments: Segment[] = [
    { x0: x, y0: -0.1, x1: x, y1: a.carinaY, r0: r, r1: r * 0.95, amplitude: 1 },
    { x0: x, y0: a.carinaY, x1: right.x, y1: right.y, r0: r * 0.8, r1: r * 0.55, amplitude: 0.8 },
    { x0: x, y0: a.carinaY, x1: left.x, y1: left.y, r0: r * 0.75, r1: r * 0.5, amplitude: 0.7 },
  ];
  for (const s of segments) drawSegment(target, pose, { ...s, profile: 'tube' });
}

interface Branch {
  e: number;
  y: number;
  angle: number;
  length: number;
  radius: number;
  depth: number;
}

/** Appends a branch (two slightly bent pieces) and its two children; coordinates are (e, y). */
function growBranch(out: Segment[], rng: RandomStream, b: Branch): void {
  const bend = rng.range(-0.25, 0.25);
  const midE = b.e + 0.5 * b.length * cos(b.angle);
  const midY = b.y + 0.5 * b.length * sin(b.angle);
  const endAngle = b.angle + bend;
  const endE = midE + 0.5 * b.length * cos(endAngle);
  const endY = midY + 0.5 * b.length * sin(endAngle);
  const endRadius = b.radius * 0.8;
  const midRadius = (b.radius + endRadius) / 2;
  const amplitude = 1;
  out.push({ x0: b.e, y0: b.y, x1: midE, y1: midY, r0: b.radius, r1: midRadius, amplitude });
  out.push({ x0: midE, y0: midY, x1: endE, y1: endY, r0: midRadius, r1: endRadius, amplitude });
  if (b.depth <= 0) return;
  for (const turn of [-1, 1]) {
    growBranch(out, rng, {
      e: endE,
      y: endY,
      angle: endAngle + turn * rng.range(0.2, 0.55),
      length: b.length * rng.range(0.65, 0.85),
      radius: endRadius * rng.range(0.68, 0.8),
      depth: b.depth - 1 - (rng.chance(0.2) ? 1 : 0),
    });
  }
}

/** Rasterises a tapered tube into `target`, combined as the segment says (see Segment.combine). */
function drawSegment(target: Float32Array, pose: Pose, s: Segment): void {
  const [ax, ay] = pose.toPixel(s.x0, s.y0);
  const [bx, by] = pose.toPixel(s.x1, s.y1);
  const ra = max(s.r0 * pose.pixelsPerUnit, 0.6);
  const rb = max(s.r1 * pose.pixelsPerUnit, 0.6);
  const reach = max(ra, rb) + 1;
  const minX = max(0, floor(min(ax, bx) - reach));
  const maxX = min(pose.width - 1, ceil(max(ax, bx) + reach));
  const minY = max(0, floor(min(ay, by) - reach));
  const maxY = min(pose.height - 1, ceil(max(ay, by) + reach));
  const dx = bx - ax;
  const dy = by - ay;
  const lengthSquared = dx * dx + dy * dy || 1e-9;
  // Thin tubes get less amplitude: projected thickness scales with diameter.
  const amplitudeA = s.amplitude * min(1, s.r0 / 0.005);
  const amplitudeB = s.amplitude * min(1, s.r1 / 0.005);
  const soft = s.profile === 'soft';
  const darken = s.combine === 'darken';
  for (let y = minY; y <= maxY; y++) {
    const row = y * pose.width;
    for (let x = minX; x <= maxX; x++) {
      const px = x - ax;
      const py = y - ay;
      let t = (px * dx + py * dy) / lengthSquared;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - t * dx;
      const ey = py - t * dy;
      const radius = ra + (rb - ra) * t;
      const q = (ex * ex + ey * ey) / (radius * radius);
      if (q >= 1) continue;
      const value = (amplitudeA + (amplitudeB - amplitudeA) * t) * (soft ? 1 - q : sqrt(1 - q));
      if (darken) target[row + x] *= 1 - value;
      else if (value > target[row + x]) target[row + x] = value;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pathology: an opacity map in [0, 1] that replaces lung air

function renderPathology(pattern: PneumoniaPattern, seed: number, pose: Pose, a: Anatomy, out: Float32Array): Float32Array {
  const rng = new RandomStream(seed, STREAM.pathology);
  rng.uniform(); // the draw choosePattern used, so explicit and chosen patterns share later draws
  if (pattern === 'focal') renderConsolidations(out, rng, seed, pose, a);
  else renderDiffuseOpacities(out, seed, pose, a);
  return out;
}

/** Lobar consolidation sites: lower zones most often, then the right middle zone and the upper zones. */
const CONSOLIDATION_SITES: ReadonlyArray<{ side: 0 | 1; t: number; weight: number }> = [
  { side: 0, t: 0.78, weight: 3 },
  { side: 1, t: 0.8, weight: 2.5 },
  { side: 0, t: 0.58, weight: 2 },
  { side: 0, t: 0.28, weight: 1.2 },
  { side: 1, t: 0.3, weight: 1 },
];

function pickSite(rng: RandomStream): { side: 0 | 1; t: number } {
  const total = CONSOLIDATION_SITES.reduce((sum, s) => sum + s.weight, 0);
  let r = rng.uniform() * total;
  for (const site of CONSOLIDATION_SITES) {
    r -= site.weight;
    if (r <= 0) return site;
  }
  return CONSOLIDATION_SITES[0];
}

function renderConsolidations(out: Float32Array, rng: RandomStream, seed: number, pose: Pose, a: Anatomy): void {
  // Inhomogeneous filling of the air spaces: patchy inside, ragged at the margin.
  const grid = 128;
  const coarse = fractalNoise(seed, STREAM.pathologyTexture, grid, [4, 8, 16, 32, 64], [1, 0.8, 0.6, 0.4, 0.25]);
  const patchiness = widenRows(coarse, grid, grid, pose.width, pose.height);
  const count = rng.chance(0.35) ? 2 : 1;
  for (let k = 0; k < count; k++) {
    const site = pickSite(rng);
    const lung = a.lungs[site.side];
    const y = lung.apexY + (lung.baseY - lung.apexY) * (site.t + rng.range(-0.06, 0.04));
    const e = lung.hilumE + (lung.lateralReach - lung.hilumE) * rng.range(0.35, 0.6);
    const x = a.midX + (site.side === 0 ? -e : e);
    const blob = {
      x,
      y,
      radiusX: rng.range(0.075, 0.12),
      radiusY: rng.range(0.06, 0.1),
      density: rng.range(0.7, 0.95),
    };
    drawBlob(out, pose, blob, patchiness);
    drawAirBronchograms(out, rng, pose, blob, site.side === 0 ? -1 : 1);
  }
}

interface Blob {
  x: number;
  y: number;
  radiusX: number;
  radiusY: number;
  density: number;
}

/** A soft-edged opacity whose boundary and density are roughened by value noise (no per-pixel trig). */
function drawBlob(out: Float32Array, pose: Pose, blob: Blob, patchiness: RowSampledGrid): void {
  const reach = 1.8;
  const corners = [-1, 1].flatMap((sx) => [-1, 1].map((sy) => pose.toPixel(blob.x + sx * reach * blob.radiusX, blob.y + sy * reach * blob.radiusY)));
  const minX = max(0, floor(min(...corners.map((c) => c[0]))));
  const maxX = min(pose.width - 1, ceil(max(...corners.map((c) => c[0]))));
  const minY = max(0, floor(min(...corners.map((c) => c[1]))));
  const maxY = min(pose.height - 1, ceil(max(...corners.map((c) => c[1]))));
  const { rows, upperOffset, lowerWeight } = patchiness;
  for (let py = minY; py <= maxY; py++) {
    const upper = upperOffset[py];
    const lower = upper + pose.width;
    const f = lowerWeight[py];
    for (let px = minX; px <= maxX; px++) {
      const i = py * pose.width + px;
      const X = pose.originX + px * pose.dXdx + py * pose.dXdy;
      const Y = pose.originY + px * pose.dYdx + py * pose.dYdy;
      const u = (X - blob.x) / blob.radiusX;
      const v = (Y - blob.y) / blob.radiusY;
      const patch = rows[upper + px] + (rows[lower + px] - rows[upper + px]) * f - 0.5;
      const rough = 1 - (u * u + v * v) + 3 * patch;
      // At most all of the air is replaced.
      const opacity = min(1, blob.density * smoothstep(-0.8, 0.9, rough) * (0.8 + patch));
      if (opacity > out[i]) out[i] = opacity;
    }
  }
}

/** Air-filled bronchi running through the consolidation: streaks where the opacity is thinned out. */
function drawAirBronchograms(target: Float32Array, rng: RandomStream, pose: Pose, blob: Blob, sign: number): void {
  const segments: Segment[] = [];
  const tubes = rng.int(2, 4);
  for (let k = 0; k < tubes; k++) {
    growBranch(segments, rng, {
      e: 0,
      y: 0,
      angle: rng.range(-1.2, 1.2),
      length: blob.radiusX * rng.range(0.3, 0.45),
      radius: rng.range(0.007, 0.01),
      depth: 1,
    });
  }
  // From the hilar side of the opacity outwards, staying inside its dense core.
  const startE = -0.45 * blob.radiusX;
  for (const s of segments) {
    drawSegment(target, pose, {
      ...s,
      x0: blob.x + sign * (startE + s.x0),
      x1: blob.x + sign * (startE + s.x1),
      y0: blob.y + s.y0,
      y1: blob.y + s.y1,
      amplitude: 0.28,
      profile: 'soft',
      combine: 'darken',
    });
  }
}

/** Patchy bilateral interstitial/alveolar opacities: band-limited noise, soft-thresholded. */
function renderDiffuseOpacities(out: Float32Array, seed: number, pose: Pose, a: Anatomy): void {
  const grid = 160;
  const patches = fractalNoise(seed, STREAM.pathologyTexture, grid, [5, 10, 20, 40, 80], [1, 0.9, 0.7, 0.45, 0.3]);
  const rng = new RandomStream(seed, STREAM.pathology + 100);
  const threshold = rng.range(0.46, 0.54);
  const severity = rng.range(0.55, 0.85);
  const zoneBias = rng.range(0, 1); // 0: perihilar, 1: basal predominance
  const coarse = new Float32Array(grid * grid);
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const [X, Y] = anatomyAtPixel(pose, ((gx + 0.5) / grid) * pose.width, ((gy + 0.5) / grid) * pose.height);
      const e = abs(X - a.midX);
      const perihilar = exp(-((e - 0.12) ** 2) / 0.012 - ((Y - 0.45) ** 2) / 0.03);
      const basal = smoothstep(0.4, 0.75, Y);
      const zone = 0.45 + 0.55 * ((1 - zoneBias) * perihilar + zoneBias * basal);
      const n = patches[gy * grid + gx];
      coarse[gy * grid + gx] = severity * zone * smoothstep(threshold - 0.08, threshold + 0.12, n);
    }
  }
  upsampleBilinear(coarse, grid, grid, out, pose.width, pose.height);
}

function anatomyAtPixel(pose: Pose, px: number, py: number): [number, number] {
  return [pose.originX + px * pose.dXdx + py * pose.dXdy, pose.originY + px * pose.dYdx + py * pose.dYdy];
}

// ---------------------------------------------------------------------------------------------
// Composite: attenuation line integral -> noise -> film curve

const ATTENUATION = {
  softTissue: 1.0,
  abdomen: 0.05,
  lungAir: 0.72,
  heart: 0.18,
  mediastinum: 0.15,
  /** Fraction of lung air the heart displaces at its thickest. */
  heartDisplacement: 0.8,
  vessel: 0.14,
  rib: 0.16,
  anteriorRib: 0.08,
  clavicle: 0.3,
  spine: 0.11,
  trachea: 0.22,
  gastricBubble: 0.28,
  textureAmplitude: 0.7,
} as const;

/** Width (anatomical units) over which lung air fades in at the pleural edges. */
const LUNG_EDGE_RAMP = 0.008;

const TONE_MIN = -0.5;
const TONE_MAX = 3.5;
const TONE_BINS = 4096;

interface ToneCurve {
  values: Float32Array;
  /** Noise standard deviation per bin (photon starvation makes dense regions noisier). */
  noise: Float32Array;
  binsPerUnit: number;
}

/**
 * A saturating characteristic curve with a contrast gamma, as film or a detector's display LUT
 * would apply: dense regions approach white without clipping, so the spine still shows through the heart.
 */
function buildToneCurve(acq: Acquisition): ToneCurve {
  const values = new Float32Array(TONE_BINS);
  const noise = new Float32Array(TONE_BINS);
  const reference = 1 - exp(-acq.toneGain * 2.6);
  for (let bin = 0; bin < TONE_BINS; bin++) {
    const attenuation = TONE_MIN + ((bin + 0.5) / TONE_BINS) * (TONE_MAX - TONE_MIN);
    const exposure = max(0, 1 - exp(-acq.toneGain * max(attenuation, 0))) / reference;
    values[bin] = 0.02 + 0.96 * min(pow(exposure, acq.toneGamma), 1.02);
    noise[bin] = acq.noiseSd * exp(0.35 * min(max(attenuation, 0), 2.5));
  }
  return { values, noise, binsPerUnit: TONE_BINS / (TONE_MAX - TONE_MIN) };
}

interface CompositeInput {
  /** Output: the attenuation line integral per grid pixel. */
  attenuation: Float32Array;
  pose: Pose;
  anatomy: Anatomy;
  tables: Tables;
  texture: RowSampledGrid;
  vessels: Float32Array;
  airways: Float32Array;
  pathology: Float32Array | null;
  acquisition: Acquisition;
}

function composite(input: CompositeInput): void {
  const { pose } = input;
  for (let py = 0; py < pose.height; py++) compositeRow(input, py);
}

/**
 * One image row. Long by necessity: it is the hot loop. Everything it reads is hoisted into locals
 * first (property loads inside the loop cost more than the arithmetic), and per-pixel function
 * calls are replaced by tables.
 */
function compositeRow(input: CompositeInput, py: number): void {
  const { attenuation: target, pose, anatomy: a, tables: t, texture, vessels, airways, pathology } = input;
  const width = pose.width;
  const dXdx = pose.dXdx;
  const dYdx = pose.dYdx;
  const rowsScale = t.rows;
  const columnsScale = t.columns;
  const lastRow = t.rows - 1;
  const lastColumn = t.columns - 1;
  const latR = t.lateral[0];
  const latL = t.lateral[1];
  const medR = t.medial[0];
  const medL = t.medial[1];
  const bodyHalfWidth = t.bodyHalfWidth;
  const airZone = t.airZone;
  const spineDensity = t.spineDensity;
  const diaphragmY = t.diaphragmY;
  const clavicleY = t.clavicleY;
  const clavicleWeight = t.clavicleWeight;
  const posteriorRibShift = t.posteriorRibShift;
  const anteriorRibShift = t.anteriorRibShift;
  const ribWeights = t.ribWeight;
  const anteriorRibWeights = t.anteriorRibWeight;
  const ribPhase = t.ribPhase;
  const midX = a.midX;
  const heart = a.heart;
  const heartX = heart.centerX;
  const heartY = heart.centerY;
  const heartLongX = cos(heart.tilt) / heart.radiusLong;
  const heartLongY = sin(heart.tilt) / heart.radiusLong;
  const heartShortX = -sin(heart.tilt) / heart.radiusShort;
  const heartShortY = cos(heart.tilt) / heart.radiusShort;
  const ribs = a.ribs;
  const ribCount = ribs.count;
  const ribFirstY = ribs.firstY;
  const ribJitter = a.ribJitter;
  const ribWidthFactor = a.ribWidth;
  const invRibSpacing = 1 / ribs.spacing;
  const growth = 0.06 * ribs.spacingGrowth;
  const invRibWidth = 1 / ribs.widthFraction;
  const invClavicleHalfThickness = 1 / 0.019;
  const bubble = a.gastricBubble;
  const bubbleX = bubble.x;
  const bubbleY = bubble.y;
  const hasBubble = bubble.radiusX > 0;
  const invBubbleX = hasBubble ? 1 / bubble.radiusX : 0;
  const invBubbleY = 1 / bubble.radiusY;
  const invSpineHalfWidth = 1 / a.spineHalfWidth;
  const edgeRamp = LUNG_EDGE_RAMP;
  const depthRamp = 0.1;
  const { gradientX, gradientY } = input.acquisition;
  const softTissue = ATTENUATION.softTissue;
  const abdomen = ATTENUATION.abdomen;
  const heartDensity = ATTENUATION.heart;
  const mediastinumDensity = ATTENUATION.mediastinum;
  const heartDisplacement = ATTENUATION.heartDisplacement;
  const lungAir = ATTENUATION.lungAir;
  const vesselDensity = ATTENUATION.vessel;
  const textureAmplitude = ATTENUATION.textureAmplitude;
  const bubbleDensity = ATTENUATION.gastricBubble;
  const spineDensityScale = ATTENUATION.spine;
  const tracheaDensity = ATTENUATION.trachea;
  const clavicleDensity = ATTENUATION.clavicle;
  const ribDensity = ATTENUATION.rib;
  const anteriorRibDensity = ATTENUATION.anteriorRib;
  const tubeTable = TUBE_TABLE;
  const tubeScale = TUBE_TABLE_SIZE / 2;

  const textureRows = texture.rows;
  const textureUpper = texture.upperOffset[py];
  const textureLower = textureUpper + width;
  const textureWeight = texture.lowerWeight[py];

  let X = pose.originX + py * pose.dXdy;
  let Y = pose.originY + py * pose.dYdy;
  const row = py * width;
  for (let px = 0; px < width; px++, X += dXdx, Y += dYdx) {
    const i = row + px;
    let iy = (Y * rowsScale) | 0;
    iy = iy < 0 ? 0 : iy > lastRow ? lastRow : iy;
    let ix = (X * columnsScale) | 0;
    ix = ix < 0 ? 0 : ix > lastColumn ? lastColumn : ix;
    const dx = X - midX;
    const right = dx < 0;
    const e = right ? -dx : dx;
    const diaphragm = diaphragmY[ix];

    // Soft tissue: path length through an elliptical torso; the upper abdomen (liver) is thicker.
    const bodyRatio = dx / bodyHalfWidth[iy];
    const bodyTerm = 1 - bodyRatio * bodyRatio;
    const body = bodyTerm > 0 ? sqrt(bodyTerm) : 0;
    const belowFloor = Y <= diaphragm ? 0 : Y >= diaphragm + 0.04 ? 1 : (Y - diaphragm) / 0.04;
    let attenuation = body * (softTissue + abdomen * belowFloor);
    // Uneven exposure across the field (anode heel effect, patient habitus).
    attenuation += gradientX * (X - 0.5) + gradientY * (Y - 0.5);

    // Heart: a tilted ellipsoid in front of the lower mediastinum and left lung, displacing lung air.
    const heartDX = X - heartX;
    const heartDY = Y - heartY;
    const hu = heartDX * heartLongX + heartDY * heartLongY;
    const hv = heartDX * heartShortX + heartDY * heartShortY;
    const heartTerm = 1 - hu * hu - hv * hv;
    let heartShare = 0;
    if (heartTerm > 0 && Y < diaphragm) {
      const heartThickness = sqrt(heartTerm);
      attenuation += heartDensity * heartThickness;
      heartShare = heartThickness > 0.35 ? 1 : heartThickness / 0.35;
    }

    // Lung air, deeper (darker) away from the edges, mottled by the parenchymal texture.
    const lateral = right ? latR[iy] : latL[iy];
    let lungInside = 0;
    if (lateral > 0) {
      const medial = right ? medR[iy] : medL[iy];
      // Mediastinal soft tissue (great vessels, thymus, oesophagus) between the lungs.
      const intoMediastinum = medial - e;
      if (intoMediastinum > 0) attenuation += mediastinumDensity * (intoMediastinum > 0.03 ? 1 : intoMediastinum / 0.03) * (1 - belowFloor);
      const fromLateral = lateral - e;
      const fromMedial = e - medial;
      const fromFloor = diaphragm - Y;
      let inner = fromLateral < fromMedial ? fromLateral : fromMedial;
      inner = fromFloor < inner ? fromFloor : inner;
      if (inner > 0) {
        lungInside = inner >= edgeRamp ? 1 : inner / edgeRamp;
        const depth = inner >= depthRamp ? 1 : sqrt(inner / depthRamp);
        const upperTexture = textureRows[textureUpper + px];
        const mottling = 1 + textureAmplitude * (upperTexture + (textureRows[textureLower + px] - upperTexture) * textureWeight - 0.5);
        const airAmount = lungInside * (0.45 + 0.55 * depth) * airZone[iy] * mottling * (1 - heartDisplacement * heartShare);
        const filled = pathology === null ? 0 : pathology[i];
        attenuation -= lungAir * airAmount * (1 - filled);
        attenuation += vesselDensity * vessels[i] * lungInside * (1 - heartShare);
      }
    }

    // Gas in the stomach: a dark bubble under the left dome, flat-bottomed on the gastric fluid.
    if (hasBubble && belowFloor > 0) {
      const bubbleU = (X - bubbleX) * invBubbleX;
      const bubbleV = (Y - bubbleY) * invBubbleY;
      const bubbleTerm = 1 - bubbleU * bubbleU - bubbleV * bubbleV;
      if (bubbleTerm > 0 && bubbleV < 0.35) attenuation -= bubbleDensity * bubbleTerm * belowFloor;
    }

    // Spine and airways along the midline.
    const spineRatio = dx * invSpineHalfWidth;
    const spineTerm = 1 - spineRatio * spineRatio;
    if (spineTerm > 0) attenuation += spineDensityScale * sqrt(spineTerm) * spineDensity[iy];
    attenuation -= tracheaDensity * airways[i];

    // Clavicles: tubes with a denser cortex.
    const clavicle = clavicleWeight[ix];
    if (clavicle > 0) {
      const q = (Y - clavicleY[ix]) * invClavicleHalfThickness;
      if (q > -1 && q < 1) attenuation += clavicleDensity * clavicle * tubeTable[((q + 1) * tubeScale) | 0];
    }

    // Posterior and anterior ribs: periodic bands along curved coordinates, only inside the body.
    const ribWeight = ribWeights[ix] * (body > 0.3 ? 1 : body / 0.3);
    if (ribWeight > 0) {
      const along = Y - posteriorRibShift[ix] - ribFirstY;
      const level = along * invRibSpacing * (1 - growth * along) + ribPhase[ix];
      if (level > 0 && level < ribCount) {
        const index = level | 0;
        const r = (level - index - ribJitter[index]) * invRibWidth * ribWidthFactor[index];
        const lowerRibFade = level < 8 ? 1 : 1 - (level - 8) / (ribCount - 8);
        if (r > 0 && r < 1) attenuation += ribDensity * ribWeight * lowerRibFade * tubeTable[(r * TUBE_TABLE_SIZE) | 0];
      }
      const anteriorWeight = anteriorRibWeights[ix];
      if (anteriorWeight > 0) {
        const anteriorLevel = (Y - anteriorRibShift[ix] - ribFirstY - 0.05) * invRibSpacing * 0.62;
        if (anteriorLevel > 0 && anteriorLevel < 6) {
          const r = (anteriorLevel - (anteriorLevel | 0)) * 1.9;
          if (r < 1) attenuation += anteriorRibDensity * ribWeight * anteriorWeight * tubeTable[(r * TUBE_TABLE_SIZE) | 0];
        }
      }
    }

    target[i] = attenuation;
  }
}

/**
 * Exposes the detector: resamples the attenuation grid to the image size, adds quantum-like noise
 * in the attenuation domain (denser regions get fewer photons, so more noise) and applies the
 * film curve. `image` holds unit Gaussian noise on entry and the radiograph on exit.
 */
function develop(attenuation: Float32Array, gridWidth: number, gridHeight: number, image: Float32Array, width: number, height: number, tone: ToneCurve): void {
  const { rows, upperOffset, lowerWeight } = widenRows(attenuation, gridWidth, gridHeight, width, height);
  const toneValues = tone.values;
  const toneNoise = tone.noise;
  const binsPerUnit = tone.binsPerUnit;
  const lastBin = TONE_BINS - 1;
  for (let y = 0; y < height; y++) {
    const upper = upperOffset[y];
    const lower = upper + width;
    const f = lowerWeight[y];
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const above = rows[upper + x];
      let value = above + (rows[lower + x] - above) * f;
      let bin = ((value - TONE_MIN) * binsPerUnit) | 0;
      bin = bin < 0 ? 0 : bin > lastBin ? lastBin : bin;
      value += image[row + x] * toneNoise[bin];
      bin = ((value - TONE_MIN) * binsPerUnit) | 0;
      bin = bin < 0 ? 0 : bin > lastBin ? lastBin : bin;
      image[row + x] = toneValues[bin];
    }
  }
}

/**
 * The regions the generator knows, at full resolution: lung fields well inside their edges and
 * outside the heart, and the central mediastinal band. A separate pass so the hot loop stays lean.
 */
function fillMasks(lungMask: Uint8Array, mediastinumMask: Uint8Array, pose: Pose, a: Anatomy, t: Tables): void {
  const heart = a.heart;
  const cosine = cos(heart.tilt);
  const sine = sin(heart.tilt);
  for (let py = 0; py < pose.height; py++) {
    for (let px = 0; px < pose.width; px++) {
      const [X, Y] = anatomyAtPixel(pose, px, py);
      const iy = tableIndex(Y, t.rows);
      const ix = tableIndex(X, t.columns);
      const dx = X - a.midX;
      const side = dx < 0 ? 0 : 1;
      const e = abs(dx);
      const lateral = t.lateral[side][iy];
      const medial = t.medial[side][iy];
      const diaphragm = t.diaphragmY[ix];
      const hu = ((X - heart.centerX) * cosine + (Y - heart.centerY) * sine) / heart.radiusLong;
      const hv = (-(X - heart.centerX) * sine + (Y - heart.centerY) * cosine) / heart.radiusShort;
      const inHeart = hu * hu + hv * hv < 1;
      const inner = min(lateral - e, e - medial, diaphragm - Y);
      const i = py * pose.width + px;
      lungMask[i] = lateral > 0 && inner >= LUNG_EDGE_RAMP && !inHeart ? 1 : 0;
      mediastinumMask[i] = lateral > 0 && e < 0.6 * medial && Y > a.aorticKnob.y && Y < diaphragm ? 1 : 0;
    }
  }
}

function tableIndex(coordinate: number, size: number): number {
  const index = floor(coordinate * size);
  return index < 0 ? 0 : index >= size ? size - 1 : index;
}

const TUBE_TABLE_SIZE = 1024;
/** tube(q) sampled over q in [-1, 1], with one guard entry for q = 1 exactly. */
const TUBE_TABLE = Float32Array.from({ length: TUBE_TABLE_SIZE + 1 }, (_, k) => tube(min((2 * k + 1) / TUBE_TABLE_SIZE - 1, 1)));

/** Cross-section of a bone tube at q in (-1, 1): thick cortex at the margins, thinner medulla. */
function tube(q: number): number {
  const outer = 1 - q * q;
  const innerTerm = 0.55 - q * q;
  return sqrt(outer) - (innerTerm > 0 ? 0.75 * sqrt(innerTerm) : 0);
}

// ---------------------------------------------------------------------------------------------
// Small numeric helpers

function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = min(max((x - edge0) / (edge1 - edge0), 0), 1);
  return t * t * (3 - 2 * t);
}

function smootherstep(t: number): number {
  return t * t * t * (t * (t * 6 - 15) + 10);
}

/** A smooth bump: 0 outside (from, to), 1 at the centre. */
function bump(from: number, to: number, x: number): number {
  if (x <= from || x >= to) return 0;
  const u = (2 * (x - from)) / (to - from) - 1;
  return (1 - u * u) * (1 - u * u);
}

function clampUnit(image: Float32Array): void {
  for (let i = 0; i < image.length; i++) {
    const v = image[i];
    image[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

/**
 * Separable Gaussian approximation: binomial kernels for small sigma (the common sub-pixel
 * "slight blur"; [1 4 6 4 1]/16 equals two [1 2 1]/4 passes at half the memory traffic), three box
 * passes (running sums, O(1) per pixel) for larger sigma.
 */
export function gaussianBlur(image: Float32Array, width: number, height: number, sigma: number): void {
  const variance = sigma * sigma;
  if (variance < 0.25) return;
  if (variance < 2.25) {
    // Each [1 2 1]/4 pass adds variance 0.5.
    const passes = max(1, round(variance / 0.5));
    for (let p = 0; p + 1 < passes; p += 2) binomialPass(image, width, height, FIVE_TAP);
    if (passes % 2 === 1) binomialPass(image, width, height, THREE_TAP);
    return;
  }
  const scratch = new Float32Array(max(width, height));
  const radius = max(1, round(sqrt(variance + 0.25) - 0.5));
  for (let p = 0; p < 3; p++) boxPass(image, width, height, radius, scratch);
}

const THREE_TAP = Float64Array.of(0.25, 0.5, 0.25);
const FIVE_TAP = Float64Array.of(1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16);

/** One symmetric binomial pass along rows, then along columns, with clamped edges. */
function binomialPass(image: Float32Array, width: number, height: number, kernel: Float64Array): void {
  const reach = (kernel.length - 1) / 2;
  const padded = new Float32Array(width + 2 * reach);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    padded.set(image.subarray(row, row + width), reach);
    for (let k = 0; k < reach; k++) {
      padded[k] = image[row];
      padded[reach + width + k] = image[row + width - 1];
    }
    if (reach === 1) for (let x = 0; x < width; x++) image[row + x] = 0.25 * (padded[x] + padded[x + 2]) + 0.5 * padded[x + 1];
    else for (let x = 0; x < width; x++) image[row + x] = 0.0625 * (padded[x] + padded[x + 4]) + 0.25 * (padded[x + 1] + padded[x + 3]) + 0.375 * padded[x + 2];
  }
  // Columns, row by row for cache locality: the rows above were overwritten, so keep their originals.
  const history = Array.from({ length: reach + 1 }, () => new Float32Array(width));
  for (let k = 0; k < reach; k++) history[k].set(image.subarray(0, width));
  const last = height - 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const current = history[reach];
    current.set(image.subarray(row, row + width));
    const below1 = (y + 1 > last ? last : y + 1) * width;
    if (reach === 1) {
      const above = history[0];
      for (let x = 0; x < width; x++) image[row + x] = 0.25 * (above[x] + image[below1 + x]) + 0.5 * current[x];
    } else {
      const below2 = (y + 2 > last ? last : y + 2) * width;
      const above2 = history[0];
      const above1 = history[1];
      for (let x = 0; x < width; x++) {
        image[row + x] = 0.0625 * (above2[x] + image[below2 + x]) + 0.25 * (above1[x] + image[below1 + x]) + 0.375 * current[x];
      }
    }
    // Rotate: the oldest buffer becomes the next row's slot for `current`.
    history.push(history.shift()!);
  }
}

/** Running-sum box filter of the given radius along rows, then columns, with clamped edges. */
function boxPass(image: Float32Array, width: number, height: number, radius: number, scratch: Float32Array): void {
  const norm = 1 / (2 * radius + 1);
  for (let y = 0; y < height; y++) boxLine(image, y * width, 1, width, radius, norm, scratch);
  for (let x = 0; x < width; x++) boxLine(image, x, width, height, radius, norm, scratch);
}

function boxLine(image: Float32Array, start: number, stride: number, length: number, radius: number, norm: number, scratch: Float32Array): void {
  for (let k = 0; k < length; k++) scratch[k] = image[start + k * stride];
  const last = length - 1;
  let sum = 0;
  for (let k = -radius; k <= radius; k++) sum += scratch[k < 0 ? 0 : k > last ? last : k];
  for (let k = 0; k < length; k++) {
    image[start + k * stride] = sum * norm;
    const add = k + radius + 1;
    const remove = k - radius;
    sum += scratch[add > last ? last : add] - scratch[remove < 0 ? 0 : remove];
  }
}
