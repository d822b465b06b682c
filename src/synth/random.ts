/**
 * Seeded, counter-based pseudo-random numbers for the synthetic phantoms.
 *
 * Every draw is a pure function of (seed, stream, index): a 32-bit integer hash built from
 * Math.imul and shifts, so the sequence is identical on every platform and any draw can be
 * recomputed without replaying the ones before it. Streams keep independent concerns apart
 * (anatomy, pathology, noise), so changing how many numbers one of them uses never shifts another.
 */

const TWO_POW_32 = 4294967296;
// Module-level aliases: hot loops then never read the global Math object, which some hosts
// (jest's sandbox) keep changing, deoptimising every function that depends on it.
const { imul, PI, cos, floor, log, max, min, sin, sqrt, trunc } = Math;
const GOLDEN_GAMMA = 0x9e3779b9;

/** A bijective 32-bit finaliser (lowbias32, C. Wellons): good avalanche for two multiplies. */
export function mix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = imul(x, 0x21f0aaad);
  x ^= x >>> 15;
  x = imul(x, 0x735a2d97);
  x ^= x >>> 15;
  return x >>> 0;
}

/** Folds a (possibly larger than 32-bit, possibly negative) seed into 32 bits without losing the high part. */
export function normalizeSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const integer = trunc(seed);
  const low = integer >>> 0;
  const high = floor(integer / TWO_POW_32) >>> 0;
  return mix32(low ^ mix32(high + GOLDEN_GAMMA)) >>> 0;
}

/** The key of one stream: hashing it once lets each draw cost only one more mix. */
export function streamKey(seed: number, stream: number): number {
  return mix32(normalizeSeed(seed) ^ mix32(imul(stream >>> 0, GOLDEN_GAMMA) + 0x632be5ab));
}

/** The index-th 32-bit word of a stream whose key came from streamKey. */
export function hashAt(key: number, index: number): number {
  return mix32(key ^ mix32(imul(index >>> 0, 0x85ebca6b) + GOLDEN_GAMMA));
}

/** Uniform in the open interval (0, 1) from one 32-bit word. */
export function wordToUnit(word: number): number {
  return ((word >>> 0) + 0.5) / TWO_POW_32;
}

/** A 32-bit hash of (seed, stream, index); the stateless form of RandomStream. */
export function hashU32(seed: number, stream: number, index: number): number {
  return hashAt(streamKey(seed, stream), index);
}

/** A cursor over one stream: convenient sequential draws for scene parameters. */
export class RandomStream {
  private readonly key: number;
  private counter = 0;
  private spareNormal: number | null = null;

  constructor(seed: number, stream: number) {
    this.key = streamKey(seed, stream);
  }

  nextU32(): number {
    return hashAt(this.key, this.counter++);
  }

  /** Uniform in (0, 1). */
  uniform(): number {
    return wordToUnit(this.nextU32());
  }

  /** Uniform in (low, high). */
  range(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Integer in [low, high], both inclusive. */
  int(low: number, high: number): number {
    return low + min(high - low, floor(this.uniform() * (high - low + 1)));
  }

  chance(probability: number): boolean {
    return this.uniform() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)];
  }

  /** Gaussian draw by Box-Muller; the second value of each pair is kept for the next call. */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * spare;
    }
    const radius = sqrt(-2 * log(this.uniform()));
    const angle = 2 * PI * this.uniform();
    this.spareNormal = radius * sin(angle);
    return mean + sd * radius * cos(angle);
  }

  /** Gaussian draw clipped to mean +- limit standard deviations, for anatomical proportions. */
  truncatedNormal(mean: number, sd: number, limit = 2.5): number {
    const z = max(-limit, min(limit, this.normal()));
    return mean + sd * z;
  }
}

const GAUSSIAN_TABLE_BITS = 12;
const GAUSSIAN_TABLE_SIZE = 1 << GAUSSIAN_TABLE_BITS;
const GAUSSIAN_TABLE_MASK = GAUSSIAN_TABLE_SIZE - 1;

/** Standard normal quantiles at the centres of GAUSSIAN_TABLE_SIZE equal-probability bins. */
const GAUSSIAN_QUANTILES = buildGaussianQuantiles();

function buildGaussianQuantiles(): Float32Array {
  const table = new Float32Array(GAUSSIAN_TABLE_SIZE);
  for (let i = 0; i < GAUSSIAN_TABLE_SIZE; i++) {
    table[i] = inverseNormalCdf((i + 0.5) / GAUSSIAN_TABLE_SIZE);
  }
  return table;
}

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
export function inverseNormalCdf(p: number): number {
  if (p <= 0 || p >= 1) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lowTail = 0.02425;
  if (p < lowTail) {
    const q = sqrt(-2 * log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lowTail) return -inverseNormalCdf(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Fills `out` with zero-mean Gaussian noise of standard deviation `sd`, one hash per two values.
 * Per-pixel Box-Muller (log, sqrt, cos) would dominate the render time of a megapixel image;
 * a quantile table indexed by 12 hash bits has the right distribution at a fraction of the cost.
 */
export function fillGaussianNoise(out: Float32Array, seed: number, stream: number, sd: number): void {
  const key = streamKey(seed, stream);
  const table = GAUSSIAN_QUANTILES;
  const length = out.length;
  let index = 0;
  for (let word = 0; index < length; word++) {
    const bits = hashAt(key, word);
    out[index++] = sd * table[bits & GAUSSIAN_TABLE_MASK];
    if (index < length) out[index++] = sd * table[(bits >>> 16) & GAUSSIAN_TABLE_MASK];
  }
}

/** Uniform values in [0, 1) on a grid, for value noise: one hash per cell. */
export function fillUniform(out: Float32Array, seed: number, stream: number): void {
  const key = streamKey(seed, stream);
  for (let i = 0; i < out.length; i++) out[i] = hashAt(key, i) / TWO_POW_32;
}
