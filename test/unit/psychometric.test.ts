/**
 * src/agreement/psychometric.ts against statsmodels' logistic GLM (guess 0) and scipy's minimisation of the
 * same likelihood (guess 0.5), test/fixtures/make-agreement-expected.py; recovery of known curves; bootstrap;
 * separation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fitPsychometric, psychometricCurve, type LogisticFit, type Trials } from '../../src/agreement/psychometric';
import { RandomStream } from '../../src/synth/random';

interface LogisticCase {
  name: string;
  guess: number;
  x: number[];
  successes: number[];
  trials: number[];
  intercept: number;
  slope: number;
  logLikelihood: number;
}

const cases: LogisticCase[] = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'agreement-expected.json'), 'utf8')).logistic;

const sigmoid = (eta: number) => 1 / (1 + Math.exp(-eta));

/** Rows of `trials` simulated binary judgments at each level, from P(x) = guess + (1 - guess) σ(slope (x - threshold)). */
function simulate(seed: number, levels: number[], trials: number, guess: number, threshold: number, slope: number): Trials {
  const random = new RandomStream(seed, 1);
  const successes = levels.map((x) => {
    const p = guess + (1 - guess) * sigmoid(slope * (x - threshold));
    let k = 0;
    for (let t = 0; t < trials; t++) if (random.chance(p)) k++;
    return k;
  });
  return { x: levels, successes, trials: levels.map(() => trials) };
}

function expectFinite(fit: LogisticFit): void {
  for (const value of [fit.intercept, fit.slope, fit.slopeAtThreshold, fit.logLikelihood]) expect(Number.isFinite(value)).toBe(true);
}

describe('fitPsychometric', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: as the reference', (_name, c) => {
    // statsmodels GLM (guess 0) to 1e-8; scipy BFGS (guess 0.5), itself converged to a gradient below 1e-7, to 1e-5.
    const tolerance = c.guess === 0 ? 1e-8 : 1e-5;
    const fit = fitPsychometric({ x: c.x, successes: c.successes, trials: c.trials }, c.guess);
    expect(fit).toMatchObject({ converged: true, problem: null, guess: c.guess });
    expect(Math.abs(fit.intercept - c.intercept)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(fit.slope - c.slope)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(fit.logLikelihood - c.logLikelihood)).toBeLessThanOrEqual(tolerance);
    expect(fit.threshold).toBeCloseTo(-fit.intercept / fit.slope, 12);
    expect(fit.slopeAtThreshold).toBeCloseTo(((1 - c.guess) * fit.slope) / 4, 12);
  });

  it('recovers a known JND threshold and slope from 22,000 simulated judgments', () => {
    // Threshold 0.5, slope 8 on 11 levels: the threshold's standard error is about 0.003; allow 0.02 and 10% of the slope.
    const levels = Array.from({ length: 11 }, (_, k) => k / 10);
    const fit = fitPsychometric(simulate(7, levels, 2000, 0, 0.5, 8), 0);
    expect(fit.converged).toBe(true);
    expect(Math.abs(fit.threshold! - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(fit.slope - 8) / 8).toBeLessThan(0.1);
  });

  it('recovers a known 2AFC threshold (the 75% point) with guess rate 0.5', () => {
    // Threshold 0.3, slope 10 on 13 levels from -0.3 to 0.9, 2000 trials each: standard error about 0.005; allow 0.03 and 15%.
    const levels = Array.from({ length: 13 }, (_, k) => -0.3 + k / 10);
    const fit = fitPsychometric(simulate(11, levels, 2000, 0.5, 0.3, 10), 0.5);
    expect(fit.converged).toBe(true);
    expect(Math.abs(fit.threshold! - 0.3)).toBeLessThan(0.03);
    expect(Math.abs(fit.slope - 10) / 10).toBeLessThan(0.15);
    expect(0.5 + 0.5 * sigmoid(fit.intercept + fit.slope * fit.threshold!)).toBeCloseTo(0.75, 12);
  });

  it('flags complete separation (all below the cut fail, all above succeed) without NaN, for either guess rate', () => {
    const x = [0, 1, 2, 3, 4, 5, 6, 7];
    const separated = { x, successes: x.map((v) => (v < 4 ? 0 : 5)), trials: x.map(() => 5) };
    for (const guess of [0, 0.5]) {
      const fit = fitPsychometric(separated, guess);
      expect(fit).toMatchObject({ converged: false, problem: 'separation', threshold: null });
      expectFinite(fit);
    }
    // Quasi-complete: the failures and successes meet at one level.
    const quasi = { x: [0, 1, 2, 3], successes: [0, 0, 2, 4], trials: [4, 4, 4, 4] };
    expect(fitPsychometric(quasi, 0).problem).toBe('separation');
    // One outcome only, and a decreasing separation.
    expect(fitPsychometric({ x: [0, 1, 2], successes: [3, 3, 3], trials: [3, 3, 3] }, 0).problem).toBe('separation');
    expect(fitPsychometric({ x: [0, 1, 2], successes: [3, 3, 0], trials: [3, 3, 3] }, 0.5).problem).toBe('separation');
  });

  it('reports too few levels, and non-convergence for 2AFC answers at or below chance, without NaN', () => {
    const single = fitPsychometric({ x: [2, 2], successes: [1, 3], trials: [4, 4] }, 0);
    expect(single).toMatchObject({ converged: false, problem: 'too-few-levels', threshold: null, slope: 0 });
    expectFinite(single);
    expect(fitPsychometric({ x: [], successes: [], trials: [] }, 0).problem).toBe('too-few-levels');
    // Proportions 0.4 .. 0.3, below the guess rate: the likelihood rises toward P = γ everywhere, with no maximum.
    const chance = fitPsychometric({ x: [0, 1, 2, 3], successes: [4, 3, 4, 3], trials: [10, 10, 10, 10] }, 0.5);
    expect(chance).toMatchObject({ converged: false, problem: 'no-convergence', threshold: null });
    expectFinite(chance);
  });

  it('ignores rows without trials and rejects impossible rows', () => {
    const c = cases[0];
    const padded = fitPsychometric({ x: [...c.x, 99], successes: [...c.successes, 0], trials: [...c.trials, 0] }, 0);
    expect(padded.intercept).toBeCloseTo(fitPsychometric(c, 0).intercept, 12);
    expect(() => fitPsychometric({ x: [0, 1], successes: [3, 1], trials: [2, 2] }, 0)).toThrow(RangeError);
    expect(() => fitPsychometric({ x: [0, 1], successes: [0, 1], trials: [2, 2] }, 1)).toThrow(RangeError);
  });
});

describe('psychometricCurve', () => {
  const levels = Array.from({ length: 9 }, (_, k) => k / 8);
  const data = simulate(3, levels, 20, 0, 0.5, 6);
  const options = { resamples: 200, seed: 42, confidence: 0.95 };

  it('gives the same bootstrap interval for the same seed and a different one for another seed', () => {
    const first = psychometricCurve(data, 0, options);
    expect(psychometricCurve(data, 0, options)).toEqual(first);
    const other = psychometricCurve(data, 0, { ...options, seed: 43 });
    expect(other.threshold!.low).not.toBe(first.threshold!.low);
    expect(other.threshold!.value).toBe(first.threshold!.value);
    const { value, low, high } = first.threshold!;
    expect(value).toBe(first.fit.threshold);
    expect(low!).toBeLessThan(value);
    expect(high!).toBeGreaterThan(value);
    expect(first.failedResamples).toBe(0);
  });

  it('draws the fitted curve on 50 points over the x range and bins the observed proportions', () => {
    const result = psychometricCurve(data, 0, { ...options, resamples: 0, bins: 3 });
    expect(result.threshold).toEqual({ value: result.fit.threshold, low: null, high: null });
    expect(result.curve).toHaveLength(50);
    expect(result.curve[0].x).toBe(0);
    expect(result.curve[49].x).toBe(1);
    expect(result.curve[0].p).toBeCloseTo(sigmoid(result.fit.intercept), 12);
    // 9 levels of 20 trials in 3 bins of 60: levels 0-2, 3-5, 6-8.
    expect(result.observed.map((bin) => bin.trials)).toEqual([60, 60, 60]);
    expect(result.observed[1].x).toBeCloseTo(0.5, 12);
    const middle = (data.successes[3] + data.successes[4] + data.successes[5]) / 60;
    expect(result.observed[1].p).toBeCloseTo(middle, 12);
    // With more bins than levels, each level is a bin.
    expect(psychometricCurve(data, 0, { ...options, resamples: 0, bins: 20 }).observed).toHaveLength(9);
  });

  it('counts resamples that do not converge and takes the interval from the rest', () => {
    // Only x = 2 (a success) and x = 3 (a failure) overlap: resamples missing either are separated.
    const sparse = { x: [0, 1, 2, 3, 4, 5], successes: [0, 0, 1, 0, 1, 1], trials: [1, 1, 1, 1, 1, 1] };
    const result = psychometricCurve(sparse, 0, options);
    expect(result.fit.converged).toBe(true);
    expect(result.failedResamples).toBeGreaterThan(0);
    expect(result.failedResamples).toBeLessThan(options.resamples);
    expect(Number.isFinite(result.threshold!.low!) && Number.isFinite(result.threshold!.high!)).toBe(true);
  });

  it('gives no threshold and no curve for separated data', () => {
    const x = [0, 1, 2, 3];
    const result = psychometricCurve({ x, successes: [0, 0, 1, 1], trials: [1, 1, 1, 1] }, 0.5, options);
    expect(result).toMatchObject({ threshold: null, curve: [], failedResamples: 0 });
    expect(result.fit.problem).toBe('separation');
    expect(result.observed).toHaveLength(4);
  });
});
