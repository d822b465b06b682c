/**
 * Where a patch goes in an image: at random, but inside the body of the image, never mostly background.
 *
 * The rule:
 * - The value of a sample is channel 0 of a greyscale image, or the mean of the three channels of a colour one.
 * - p2 and p98 are the 2nd and 98th percentiles of the values of the whole image (from a 4096-bin histogram
 *   of [0, 1], so they are right to within 1/4096).
 * - A sample is body when its value is above p2 + 0.1 * (p98 - p2). The background of an X-ray (air
 *   outside the patient, collimator borders, black padding) is the darkest part of the image; the lungs
 *   are dark too, but well above that.
 * - A patch is acceptable when at least 75% of its samples are body and its values are not flat (standard
 *   deviation above 0.005), so that a burned-in white label or flat padding is refused too.
 * - Up to 64 positions are tried, each a uniform integer x in [0, width - size] then y in [0, height - size]
 *   drawn from RandomStream(seed, stream); the first acceptable one is returned. When none is, the try with
 *   the highest fraction of body samples is returned (ties: the earliest), with tries = 64.
 *
 * Use: build one map per image with bodyMap(image) (it holds a summed-area table of the body mask, so the body
 * fraction of any square costs four reads), then call placePatch(map, size, seed, stream) for each patch of
 * that image.
 */
import type { FloatImage } from '../platform/native';
import { RandomStream } from '../synth/random';

export const MIN_BODY_FRACTION = 0.75;
export const MIN_PATCH_STD = 0.005;
export const PLACEMENT_TRIES = 64;
const HISTOGRAM_BINS = 4096;
const BODY_LEVEL = 0.1; // of the way from p2 to p98

export interface PatchPlacement {
  x: number;
  y: number;
  size: number;
  /** The fraction of the patch's samples that are body, in [0, 1]. */
  bodyFraction: number;
  /** 1-based number of the try that was accepted; PLACEMENT_TRIES when none was (the best try is returned). */
  tries: number;
}

export interface Square {
  x: number;
  y: number;
  size: number;
}

/** The body mask of one image, ready to rate any number of candidate squares on it. */
export class BodyMap {
  readonly width: number;
  readonly height: number;
  /** Samples with a value above this are body. */
  readonly threshold: number;
  /** One value per pixel (channel 0, or the mean of the channels), row-major. */
  private readonly values: Float32Array;
  /** Summed-area table of the body mask, (width + 1) x (height + 1) with a zero first row and column. */
  private readonly bodyCounts: Uint32Array;

  constructor(image: FloatImage) {
    const { width, height, channels, data } = image;
    if (data.length !== width * height * channels) {
      throw new RangeError(`image data has ${data.length} samples, expected ${width}x${height}x${channels}`);
    }
    this.width = width;
    this.height = height;
    this.values = channels === 1 ? data.subarray(0, width * height) : channelMean(image);
    this.threshold = bodyThreshold(this.values);
    this.bodyCounts = summedBodyMask(this.values, width, height, this.threshold);
  }

  /** The fraction of body samples in the square at (x, y). */
  bodyFraction(x: number, y: number, size: number): number {
    checkInside({ x, y, size }, this.width, this.height);
    const stride = this.width + 1;
    const t = this.bodyCounts;
    const top = y * stride;
    const bottom = (y + size) * stride;
    const count = t[bottom + x + size] - t[top + x + size] - t[bottom + x] + t[top + x];
    return count / (size * size);
  }

  /** The standard deviation of the values in the square at (x, y), in two passes for accuracy. */
  standardDeviation(x: number, y: number, size: number): number {
    checkInside({ x, y, size }, this.width, this.height);
    let sum = 0;
    for (let row = y; row < y + size; row++) {
      for (let i = row * this.width + x, end = i + size; i < end; i++) sum += this.values[i];
    }
    const mean = sum / (size * size);
    let squares = 0;
    for (let row = y; row < y + size; row++) {
      for (let i = row * this.width + x, end = i + size; i < end; i++) squares += (this.values[i] - mean) ** 2;
    }
    return Math.sqrt(squares / (size * size));
  }

  /** Whether the square at (x, y) is mostly body and not flat. */
  accepts(x: number, y: number, size: number): boolean {
    // The body fraction first: four reads, against size² for the standard deviation.
    return this.bodyFraction(x, y, size) >= MIN_BODY_FRACTION && this.standardDeviation(x, y, size) > MIN_PATCH_STD;
  }
}

/** The body map of an image, built once for all the patches placed on it. */
export function bodyMap(image: FloatImage): BodyMap {
  return new BodyMap(image);
}

/** A random acceptable position for a size x size patch; see the module comment for the rule. */
export function placePatch(map: BodyMap, size: number, seed: number, stream: number): PatchPlacement {
  checkPatchSize(size, map.width, map.height);
  const random = new RandomStream(seed, stream);
  let best: PatchPlacement | null = null;
  for (let attempt = 1; attempt <= PLACEMENT_TRIES; attempt++) {
    const x = random.int(0, map.width - size);
    const y = random.int(0, map.height - size);
    const bodyFraction = map.bodyFraction(x, y, size);
    if (map.accepts(x, y, size)) return { x, y, size, bodyFraction, tries: attempt };
    if (!best || bodyFraction > best.bodyFraction) best = { x, y, size, bodyFraction, tries: PLACEMENT_TRIES };
  }
  return best!;
}

/** A copy of the square region of the image, all channels, planar. */
export function cropPatch(image: FloatImage, placement: Square): FloatImage {
  const { x, y, size } = placement;
  const { width, height, channels, data } = image;
  checkInside(placement, width, height);
  const out = new Float32Array(size * size * channels);
  for (let channel = 0; channel < channels; channel++) {
    for (let row = 0; row < size; row++) {
      const from = channel * width * height + (y + row) * width + x;
      out.set(data.subarray(from, from + size), channel * size * size + row * size);
    }
  }
  return { data: out, width: size, height: size, channels };
}

/** The centred square of side min(width, height): whole-image units are cropped to it, then resized. */
export function centerSquare(image: { width: number; height: number }): Square {
  const size = Math.min(image.width, image.height);
  return { x: Math.floor((image.width - size) / 2), y: Math.floor((image.height - size) / 2), size };
}

function checkPatchSize(size: number, width: number, height: number): void {
  if (!Number.isInteger(size) || size < 1 || size > Math.min(width, height)) {
    throw new RangeError(`patch size must be an integer in [1, ${Math.min(width, height)}] for a ${width}x${height} image, got ${size}`);
  }
}

function checkInside({ x, y, size }: Square, width: number, height: number): void {
  checkPatchSize(size, width, height);
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x + size > width || y + size > height) {
    throw new RangeError(`the ${size}x${size} square at (${x}, ${y}) is not inside the ${width}x${height} image`);
  }
}

function channelMean(image: FloatImage): Float32Array {
  const plane = image.width * image.height;
  const mean = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    let sum = 0;
    for (let channel = 0; channel < image.channels; channel++) sum += image.data[channel * plane + i];
    mean[i] = sum / image.channels;
  }
  return mean;
}

/** p2 + 0.1 * (p98 - p2), with the percentiles at the centre of their histogram bin. */
function bodyThreshold(values: Float32Array): number {
  const histogram = new Uint32Array(HISTOGRAM_BINS);
  for (const value of values) {
    // Clamped: a sample out of [0, 1] (or NaN) counts in an end bin rather than out of the histogram.
    const bin = value > 0 ? Math.min(HISTOGRAM_BINS - 1, Math.floor(value * HISTOGRAM_BINS)) : 0;
    histogram[bin]++;
  }
  const p2 = percentile(histogram, values.length, 0.02);
  const p98 = percentile(histogram, values.length, 0.98);
  return p2 + BODY_LEVEL * (p98 - p2);
}

function percentile(histogram: Uint32Array, total: number, fraction: number): number {
  const rank = fraction * (total - 1); // 0-based rank of the sample wanted
  let seen = 0;
  for (let bin = 0; bin < HISTOGRAM_BINS; bin++) {
    seen += histogram[bin];
    if (seen > rank) return (bin + 0.5) / HISTOGRAM_BINS;
  }
  return (HISTOGRAM_BINS - 0.5) / HISTOGRAM_BINS;
}

function summedBodyMask(values: Float32Array, width: number, height: number, threshold: number): Uint32Array {
  const stride = width + 1;
  const table = new Uint32Array(stride * (height + 1));
  for (let y = 0; y < height; y++) {
    let rowCount = 0;
    for (let x = 0; x < width; x++) {
      if (values[y * width + x] > threshold) rowCount++;
      table[(y + 1) * stride + x + 1] = table[y * stride + x + 1] + rowCount;
    }
  }
  return table;
}
