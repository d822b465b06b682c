/**
 * Psychometric functions: how the share of "different" (JND) or "chose the less severe candidate" (2AFC)
 * answers grows with a distortion's severity, as P(x) = γ + (1 - γ) σ(b0 + b1 x), σ the logistic and γ a fixed
 * guess rate (0 for JND, 0.5 for 2AFC). Fitted by maximum likelihood to grouped rows (x, successes, trials);
 * successes may be fractional (soft labels, e.g. a metric's predicted probabilities), the likelihood being
 * Σ s log P + (n - s) log(1 - P) either way.
 */
import { RandomStream } from '../synth/random';
import type { Estimate } from './judged';
import { percentileInterval } from './bootstrap';

export interface Trials {
  x: ArrayLike<number>;
  successes: ArrayLike<number>;
  trials: ArrayLike<number>;
}

/**
 * Why a fit has no estimates: 'too-few-levels' (fewer than two distinct x with trials: no slope to fit),
 * 'separation' (the data are (quasi-)completely separated: failures only at or below some x, successes only at
 * or above it, or only one outcome at all, so the likelihood grows without bound as the curve steepens or
 * flattens toward an asymptote and no maximum exists), 'no-convergence' (the iterations stopped without meeting
 * the tolerance, e.g. proportions at or below the guess rate).
 */
export type FitProblem = 'too-few-levels' | 'separation' | 'no-convergence';

export interface LogisticFit {
  /** b0 and b1; when not converged, the last iterate (or the starting values): finite, but not estimates. */
  intercept: number;
  slope: number;
  /** The x where σ = 0.5 (P = γ + (1 - γ)/2: 50% for γ = 0, 75% for γ = 0.5), -b0 / b1; null unless converged. */
  threshold: number | null;
  /** The curve's slope dP/dx at the threshold, (1 - γ) b1 / 4. */
  slopeAtThreshold: number;
  /** Σ s log P + (n - s) log(1 - P), without the binomial coefficients (which fractional successes lack). */
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  guess: number;
  problem: FitProblem | null;
}

const MAX_ITERATIONS = 100;
const MAX_HALVINGS = 40;
/** Converged when a full step changes no coefficient by more than this (relative): the next would be ~ its square. */
const STEP_TOLERANCE = 1e-9;
/** Bootstrap refits stop sooner: their thresholds only feed percentiles, where 1e-6 is far below the interval's noise. */
const REFIT_TOLERANCE = 1e-6;
const REFIT_ITERATIONS = 30;

interface Rows {
  x: Float64Array;
  s: Float64Array;
  n: Float64Array;
  /** The trial-weighted mean of x: the fit works in x - centre, which keeps the 2 x 2 system well conditioned. */
  centre: number;
}

function validRows(trials: Trials, guess: number): Rows {
  if (!(guess >= 0 && guess < 1)) throw new RangeError(`guess rate must be in [0, 1), got ${guess}`);
  const length = trials.x.length;
  if (trials.successes.length !== length || trials.trials.length !== length) throw new RangeError('x, successes and trials differ in length');
  const keep: number[] = [];
  for (let i = 0; i < length; i++) {
    const n = trials.trials[i];
    const s = trials.successes[i];
    if (!(n >= 0) || !(s >= 0 && s <= n) || !Number.isFinite(n)) throw new RangeError(`row ${i}: need 0 <= successes <= trials, got ${s} of ${n}`);
    if (!Number.isFinite(trials.x[i])) throw new RangeError(`row ${i}: x is ${trials.x[i]}`);
    if (n > 0) keep.push(i); // rows without trials carry no information
  }
  const rows: Rows = { x: new Float64Array(keep.length), s: new Float64Array(keep.length), n: new Float64Array(keep.length), centre: 0 };
  let weighted = 0;
  let total = 0;
  keep.forEach((i, k) => {
    rows.x[k] = trials.x[i];
    rows.s[k] = trials.successes[i];
    rows.n[k] = trials.trials[i];
    weighted += rows.n[k] * rows.x[k];
    total += rows.n[k];
  });
  rows.centre = total > 0 ? weighted / total : 0;
  return rows;
}

const sigmoid = (eta: number) => (eta >= 0 ? 1 / (1 + Math.exp(-eta)) : Math.exp(eta) / (1 + Math.exp(eta)));

/** Failures only at or below some x and successes only at or above it (or the reverse), or one outcome only. */
function separated(rows: Rows): boolean {
  let minSuccess = Infinity, maxSuccess = -Infinity, minFailure = Infinity, maxFailure = -Infinity;
  for (let i = 0; i < rows.x.length; i++) {
    if (rows.s[i] > 0) {
      minSuccess = Math.min(minSuccess, rows.x[i]);
      maxSuccess = Math.max(maxSuccess, rows.x[i]);
    }
    if (rows.s[i] < rows.n[i]) {
      minFailure = Math.min(minFailure, rows.x[i]);
      maxFailure = Math.max(maxFailure, rows.x[i]);
    }
  }
  if (minSuccess === Infinity || minFailure === Infinity) return true;
  return maxFailure <= minSuccess || maxSuccess <= minFailure;
}

/** Starting values: weighted least squares of the empirical logits of the adjusted, guess-corrected proportions. */
function start(rows: Rows, guess: number): [number, number] {
  let w = 0, wz = 0, wx = 0, wxx = 0, wxz = 0;
  for (let i = 0; i < rows.x.length; i++) {
    const adjusted = (rows.s[i] + 0.5) / (rows.n[i] + 1);
    const q = Math.min(0.98, Math.max(0.02, (adjusted - guess) / (1 - guess)));
    const z = Math.log(q / (1 - q));
    const weight = rows.n[i] * q * (1 - q);
    const dx = rows.x[i] - rows.centre;
    w += weight; wz += weight * z; wx += weight * dx; wxx += weight * dx * dx; wxz += weight * dx * z;
  }
  const spread = wxx - (wx * wx) / w;
  const b = spread > 0 ? (wxz - (wx * wz) / w) / spread : 0;
  return [(wz - b * wx) / w, b];
}

/**
 * The log-likelihood at (a, b), with the score U and Fisher information I there, in one pass (one exp and one
 * log1p per row). Per row, with μ = γ + (1 - γ)σ: ∂ℓ/∂η = (s - nμ) σ / μ and E[-∂²ℓ/∂η²] = n (1 - γ) σ² (1 - σ)
 * / μ (for γ = 0: s - nσ and nσ(1 - σ), the logistic GLM's); log(1 - P) = log(1 - γ) + log σ(-η) exactly, so
 * no rounding of P near 1 loses it.
 */
function evaluate(rows: Rows, guess: number, a: number, b: number, withLikelihood = true) {
  const logMiss = Math.log1p(-guess);
  let logLikelihood = 0, u0 = 0, u1 = 0, i00 = 0, i01 = 0, i11 = 0;
  for (let i = 0; i < rows.x.length; i++) {
    const dx = rows.x[i] - rows.centre;
    const eta = a + b * dx;
    const e = Math.exp(-Math.abs(eta));
    const sigma = eta >= 0 ? 1 / (1 + e) : e / (1 + e);
    const complement = eta >= 0 ? e / (1 + e) : 1 / (1 + e); // 1 - σ without cancellation
    const mu = guess + (1 - guess) * sigma;
    const s = rows.s[i];
    if (withLikelihood) {
      const logSigma = Math.min(eta, 0) - Math.log1p(e); // log σ(η); log σ(-η) = log σ(η) - η
      const failures = rows.n[i] - s;
      if (s > 0) logLikelihood += s * (guess === 0 ? logSigma : Math.log(mu));
      if (failures > 0) logLikelihood += failures * (logMiss + logSigma - eta);
    }
    const score = (s - rows.n[i] * mu) * (sigma / mu);
    const weight = (rows.n[i] * (1 - guess) * sigma * complement * sigma) / mu;
    u0 += score; u1 += score * dx;
    i00 += weight; i01 += weight * dx; i11 += weight * dx * dx;
  }
  return { logLikelihood, u0, u1, i00, i01, i11 };
}

/**
 * Maximum-likelihood fit of P(x) = γ + (1 - γ) σ(b0 + b1 x) by Fisher scoring (Newton-Raphson for γ = 0, where
 * the two coincide) with step halving, from the empirical-logit least-squares line. Separated data and fewer
 * than two x levels are detected before iterating (the starting values are returned, converged false).
 */
export function fitPsychometric(trials: Trials, guess: number): LogisticFit {
  const rows = validRows(trials, guess);
  const result = (a: number, b: number, iterations: number, problem: FitProblem | null): LogisticFit => {
    const intercept = a - b * rows.centre;
    const converged = problem === null;
    return {
      intercept,
      slope: b,
      threshold: converged && b !== 0 ? -intercept / b : null,
      slopeAtThreshold: ((1 - guess) * b) / 4,
      logLikelihood: rows.x.length > 0 ? evaluate(rows, guess, a, b).logLikelihood : 0,
      iterations,
      converged,
      guess,
      problem,
    };
  };

  if (!rows.x.some((x) => x !== rows.x[0])) {
    let s = 0, n = 0;
    rows.x.forEach((_, i) => { s += rows.s[i]; n += rows.n[i]; });
    const q = n > 0 ? Math.min(0.98, Math.max(0.02, ((s + 0.5) / (n + 1) - guess) / (1 - guess))) : 0.5;
    return result(Math.log(q / (1 - q)), 0, 0, 'too-few-levels');
  }
  let [a, b] = start(rows, guess);
  if (separated(rows)) return result(a, b, 0, 'separation');

  let current = evaluate(rows, guess, a, b);
  for (let iteration = 1; iteration <= MAX_ITERATIONS; iteration++) {
    const { u0, u1, i00, i01, i11 } = current;
    const det = i00 * i11 - i01 * i01;
    if (!(det > 0) || !Number.isFinite(det)) return result(a, b, iteration - 1, 'no-convergence');
    const da = (i11 * u0 - i01 * u1) / det;
    const db = (i00 * u1 - i01 * u0) / det;
    let t = 1;
    let accepted = false;
    for (let halving = 0; halving <= MAX_HALVINGS; halving++, t /= 2) {
      const candidate = evaluate(rows, guess, a + t * da, b + t * db);
      // A little slack: at the optimum, rounding alone can make an exact step look like a tiny loss.
      if (candidate.logLikelihood >= current.logLikelihood - 1e-12 * (1 + Math.abs(current.logLikelihood))) {
        a += t * da;
        b += t * db;
        current = candidate;
        accepted = true;
        break;
      }
    }
    const small = Math.abs(da) <= STEP_TOLERANCE * (1 + Math.abs(a)) && Math.abs(db) <= STEP_TOLERANCE * (1 + Math.abs(b));
    if (small) return result(a, b, iteration, null);
    if (!accepted) return result(a, b, iteration, 'no-convergence');
  }
  return result(a, b, MAX_ITERATIONS, 'no-convergence');
}

/**
 * A bootstrap refit's threshold, or null: plain scoring steps from the full sample's estimate (close to the
 * resample's, so no line search and no likelihood are needed), at REFIT_TOLERANCE; separated resamples and
 * steps that do not settle within REFIT_ITERATIONS give null.
 */
function refitThreshold(rows: Rows, guess: number, from: LogisticFit): number | null {
  if (separated(rows)) return null;
  let a = from.intercept + from.slope * rows.centre;
  let b = from.slope;
  for (let iteration = 0; iteration < REFIT_ITERATIONS; iteration++) {
    const { u0, u1, i00, i01, i11 } = evaluate(rows, guess, a, b, false);
    const det = i00 * i11 - i01 * i01;
    if (!(det > 0) || !Number.isFinite(det)) return null;
    const da = (i11 * u0 - i01 * u1) / det;
    const db = (i00 * u1 - i01 * u0) / det;
    a += da;
    b += db;
    if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
    if (Math.abs(da) <= REFIT_TOLERANCE * (1 + Math.abs(a)) && Math.abs(db) <= REFIT_TOLERANCE * (1 + Math.abs(b))) {
      return b === 0 ? null : rows.centre - a / b;
    }
  }
  return null;
}

export interface PsychometricCurve {
  fit: LogisticFit;
  /** The fitted threshold with its bootstrap interval; null when the fit did not converge. */
  threshold: Estimate | null;
  /** The fitted curve on 50 points over [min x, max x]; empty when the fit did not converge. */
  curve: Array<{ x: number; p: number }>;
  /** Observed proportions in bins of x: the trial-weighted mean x, successes / trials, and trials. */
  observed: Array<{ x: number; p: number; trials: number }>;
  /** The threshold lies outside the x observed: an extrapolation, not a measurement. */
  extrapolated: boolean;
}

/** The bootstrap's random stream ("psyc"), apart from any other draws made with the same seed. */
const BOOTSTRAP_STREAM = 0x70737963;
const CURVE_POINTS = 50;

/**
 * Fit plus a seeded bootstrap percentile interval for the threshold (resampling rows with replacement and
 * refitting; resamples whose fit does not converge are counted in failedResamples and the interval comes from
 * the rest: null bounds when none converged, or with resamples = 0), the fitted curve on 50 points over
 * [min x, max x], and observed proportions in up to `bins` (default 10) bins of about equal trials; rows of the
 * same x always share a bin, so with few distinct x each level is its own bin.
 */
export function psychometricCurve(
  trials: Trials,
  guess: number,
  options: { resamples: number; seed: number; confidence: number; bins?: number },
): PsychometricCurve & { failedResamples: number } {
  const fit = fitPsychometric(trials, guess);
  const rows = validRows(trials, guess);
  const observed = observedBins(rows, options.bins ?? 10);
  if (!fit.converged || fit.threshold === null) return { fit, threshold: null, curve: [], observed, extrapolated: false, failedResamples: 0 };
  let low = Infinity, high = -Infinity;
  rows.x.forEach((x) => { low = Math.min(low, x); high = Math.max(high, x); });

  const random = new RandomStream(options.seed, BOOTSTRAP_STREAM);
  const m = rows.x.length;
  const thresholds: number[] = [];
  let failedResamples = 0;
  // A resample as its distinct rows weighted by how often each was drawn: the same likelihood as the
  // duplicated rows, over about 63% of them.
  const drawn = new Int32Array(m);
  const sample: Rows = { x: new Float64Array(m), s: new Float64Array(m), n: new Float64Array(m), centre: 0 };
  for (let r = 0; r < options.resamples; r++) {
    drawn.fill(0);
    for (let k = 0; k < m; k++) drawn[random.int(0, m - 1)]++;
    let kept = 0, weighted = 0, total = 0;
    for (let i = 0; i < m; i++) {
      if (drawn[i] === 0) continue;
      sample.x[kept] = rows.x[i];
      sample.s[kept] = drawn[i] * rows.s[i];
      sample.n[kept] = drawn[i] * rows.n[i];
      weighted += sample.n[kept] * rows.x[i];
      total += sample.n[kept];
      kept++;
    }
    const view: Rows = { x: sample.x.subarray(0, kept), s: sample.s.subarray(0, kept), n: sample.n.subarray(0, kept), centre: weighted / total };
    const refit = refitThreshold(view, guess, fit);
    if (refit !== null) thresholds.push(refit);
    else failedResamples++;
  }
  const threshold: Estimate = { value: fit.threshold, ...percentileInterval(thresholds, options.confidence) };

  const curve = Array.from({ length: CURVE_POINTS }, (_, k) => {
    const x = k === CURVE_POINTS - 1 ? high : low + ((high - low) * k) / (CURVE_POINTS - 1);
    return { x, p: guess + (1 - guess) * sigmoid(fit.intercept + fit.slope * x) };
  });
  return { fit, threshold, curve, observed, extrapolated: fit.threshold < low || fit.threshold > high, failedResamples };
}

/** Groups rows by x, then closes a bin whenever the running trials reach the next multiple of total / bins. */
function observedBins(rows: Rows, bins: number): Array<{ x: number; p: number; trials: number }> {
  const order = Array.from(rows.x.keys()).sort((i, j) => rows.x[i] - rows.x[j]);
  let total = 0;
  rows.n.forEach((n) => { total += n; });
  const out: Array<{ x: number; p: number; trials: number }> = [];
  let sumX = 0, sumS = 0, sumN = 0, running = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    sumX += rows.n[i] * rows.x[i];
    sumS += rows.s[i];
    sumN += rows.n[i];
    running += rows.n[i];
    const levelEnds = k === order.length - 1 || rows.x[order[k + 1]] !== rows.x[i];
    if (levelEnds && (k === order.length - 1 || running >= ((out.length + 1) * total) / bins)) {
      out.push({ x: sumX / sumN, p: sumS / sumN, trials: sumN });
      sumX = sumS = sumN = 0;
    }
  }
  return out;
}
