/**
 * The simulated observer of `medpsim simulate-panel`, without a server: its decisions for known distances,
 * its response times, its image distances and the determinism of its draws.
 */
import sharp from 'sharp';
import {
  clientKeyFor,
  decide,
  decodePng,
  describeObserver,
  drawsFor,
  imageDistance,
  MIN_RESPONSE_MS,
  OBSERVER_DEFAULTS,
  parseSimulatePanelOptions,
  responseTime,
  type Answer,
  type Distances,
  type ObserverParams,
  type PresentationKind,
} from '../../src/cli/simulate-panel';

const params = (overrides: Partial<ObserverParams> = {}): ObserverParams => ({ ...OBSERVER_DEFAULTS, ...overrides });

/** The answers over `n` presentations (rater 0, presentation numbers 1..n). */
function answers(kind: PresentationKind, distances: Distances, p: ObserverParams, n = 4000, rater = 0): Answer[] {
  return Array.from({ length: n }, (_, i) => decide(kind, distances, p, drawsFor(p.seed, rater, i + 1, 'decision')));
}

const share = (list: Answer[], answer: Answer) => list.filter((a) => a === answer).length / list.length;

describe('2AFC decisions', () => {
  it('always picks the closer side without noise and lapses', () => {
    const p = params({ noise: 0, lapse: 0 });
    expect(new Set(answers('TWO_AFC', { left: 0.01, right: 0.2 }, p, 500))).toEqual(new Set(['LEFT']));
    expect(new Set(answers('TWO_AFC', { left: 0.2, right: 0.0100001 }, p, 500))).toEqual(new Set(['RIGHT']));
    expect(decide('TWO_AFC', { left: 0.3, right: 0.30001 }, p, drawsFor(1, 0, 1, 'decision'))).toBe('LEFT');
  });

  it('answers a fair coin with lapse 1, whatever the distances', () => {
    const list = answers('TWO_AFC', { left: 0, right: 1 }, params({ noise: 0, lapse: 1 }));
    expect(share(list, 'LEFT')).toBeGreaterThan(0.46);
    expect(share(list, 'LEFT')).toBeLessThan(0.54);
  });

  it('lapses at the stated rate: half of the lapses land on the wrong side', () => {
    const list = answers('TWO_AFC', { left: 0, right: 1 }, params({ noise: 0, lapse: 0.2 }), 10_000);
    expect(share(list, 'RIGHT')).toBeGreaterThan(0.085);
    expect(share(list, 'RIGHT')).toBeLessThan(0.115);
  });

  it('splits near-ties about evenly under noise, and keeps clear cases right', () => {
    const p = params({ noise: 0.02, lapse: 0 });
    const tie = answers('TWO_AFC', { left: 0.1, right: 0.1001 }, p);
    expect(share(tie, 'LEFT')).toBeGreaterThan(0.46);
    expect(share(tie, 'LEFT')).toBeLessThan(0.56);
    // A difference of 10 sd: never the wrong side.
    expect(share(answers('TWO_AFC', { left: 0.05, right: 0.25 }, p), 'LEFT')).toBe(1);
    expect(share(answers('TWO_AFC', { left: 0.25, right: 0.05 }, p), 'RIGHT')).toBe(1);
    // A difference of 1 sd: right as often as the normal CDF says (Phi(1) = 0.841).
    const oneSd = share(answers('TWO_AFC', { left: 0.1, right: 0.12 }, p, 10_000), 'LEFT');
    expect(oneSd).toBeGreaterThan(0.82);
    expect(oneSd).toBeLessThan(0.86);
  });

  it('needs both distances', () => {
    expect(() => decide('TWO_AFC', { left: 0.1 }, params(), drawsFor(1, 0, 1, 'decision'))).toThrow(/left and right/);
  });
});

describe('JND decisions', () => {
  it('says SAME below the threshold and DIFFERENT above, without noise and lapses', () => {
    const p = params({ noise: 0, lapse: 0, jndThreshold: 0.02 });
    expect(new Set(answers('JND', { comparison: 0 }, p, 300))).toEqual(new Set(['SAME']));
    expect(new Set(answers('JND', { comparison: 0.0199 }, p, 300))).toEqual(new Set(['SAME']));
    expect(new Set(answers('JND', { comparison: 0.02 }, p, 300))).toEqual(new Set(['DIFFERENT']));
    expect(new Set(answers('JND', { comparison: 0.3 }, p, 300))).toEqual(new Set(['DIFFERENT']));
  });

  it('splits at the threshold under noise, and answers a coin with lapse 1', () => {
    const atThreshold = answers('JND', { comparison: 0.02 }, params({ noise: 0.01, lapse: 0 }));
    expect(share(atThreshold, 'SAME')).toBeGreaterThan(0.46);
    expect(share(atThreshold, 'SAME')).toBeLessThan(0.54);
    expect(share(answers('JND', { comparison: 0.2 }, params({ noise: 0.01, lapse: 0 })), 'DIFFERENT')).toBe(1);
    const coin = answers('JND', { comparison: 0.5 }, params({ noise: 0, lapse: 1 }));
    expect(share(coin, 'SAME')).toBeGreaterThan(0.46);
    expect(share(coin, 'SAME')).toBeLessThan(0.54);
  });
});

describe('response times', () => {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;
  };
  const times = (p: ObserverParams, n = 10_000) => Array.from({ length: n }, (_, i) => responseTime(p, drawsFor(p.seed, i % 7, i, 'time')));

  it('have the stated median, are whole ms and at least 150 ms', () => {
    for (const [rtMedianMs, rtSpread] of [
      [2500, 0.35],
      [800, 0.6],
      [400, 1],
    ]) {
      const list = times(params({ rtMedianMs, rtSpread }));
      expect(Math.abs(median(list) / rtMedianMs - 1)).toBeLessThan(0.05);
      expect(list.every((t) => Number.isInteger(t) && t >= MIN_RESPONSE_MS)).toBe(true);
    }
    // A median below the floor: every time is the floor's.
    expect(new Set(times(params({ rtMedianMs: 50, rtSpread: 0.1 }), 500))).toEqual(new Set([MIN_RESPONSE_MS]));
  });

  it('spread as stated: the log-sd of the times is rt-spread', () => {
    const logs = times(params({ rtMedianMs: 3000, rtSpread: 0.35 })).map(Math.log);
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (logs.length - 1));
    expect(sd).toBeGreaterThan(0.33);
    expect(sd).toBeLessThan(0.37);
  });
});

describe('draws', () => {
  it('are a pure function of seed, rater index and presentation number', () => {
    const draw = (seed: number, rater: number, number: number) => {
      const stream = drawsFor(seed, rater, number, 'decision');
      return [stream.uniform(), stream.normal(), stream.uniform()];
    };
    expect(draw(1, 2, 3)).toEqual(draw(1, 2, 3));
    expect(draw(1, 2, 3)).not.toEqual(draw(2, 2, 3));
    expect(draw(1, 2, 3)).not.toEqual(draw(1, 3, 3));
    expect(draw(1, 2, 3)).not.toEqual(draw(1, 2, 4));
    expect(drawsFor(1, 2, 3, 'time').uniform()).not.toBe(drawsFor(1, 2, 3, 'decision').uniform());

    const p = params();
    const run = () => [0, 1, 2].flatMap((rater) => answers('TWO_AFC', { left: 0.1, right: 0.11 }, p, 200, rater));
    expect(run()).toEqual(run());
    const times = () => Array.from({ length: 200 }, (_, i) => responseTime(p, drawsFor(p.seed, 1, i, 'time')));
    expect(times()).toEqual(times());
    const otherSeed = Array.from({ length: 200 }, (_, i) => responseTime(p, drawsFor(p.seed + 1, 1, i, 'time')));
    expect(otherSeed).not.toEqual(times());
  });

  it('differ between raters: their answers to near-ties are not copies of one another', () => {
    const p = params({ lapse: 0 });
    const a = answers('TWO_AFC', { left: 0.1, right: 0.1 }, p, 400, 0);
    const b = answers('TWO_AFC', { left: 0.1, right: 0.1 }, p, 400, 1);
    const agree = a.filter((answer, i) => answer === b[i]).length / a.length;
    expect(agree).toBeGreaterThan(0.4);
    expect(agree).toBeLessThan(0.6);
  });
});

describe('image distances', () => {
  const grey = (values: number[], width = values.length) => ({ data: Uint8Array.from(values), width, height: values.length / width, channels: 1 });

  it('are the RMS or mean absolute difference of the pixels scaled to [0, 1]', () => {
    const a = grey([0, 0, 0, 0]);
    const b = grey([255, 0, 0, 0]);
    expect(imageDistance(a, b, 'l2')).toBeCloseTo(Math.sqrt(1 / 4), 12);
    expect(imageDistance(a, b, 'mae')).toBeCloseTo(1 / 4, 12);
    expect(imageDistance(a, a, 'l2')).toBe(0);
    expect(imageDistance(grey([10, 20]), grey([20, 10]), 'mae')).toBeCloseTo(10 / 255, 12);
    expect(() => imageDistance(grey([1, 2]), grey([1, 2, 3, 4]), 'l2')).toThrow(/different sizes/);
  });

  it('compare all colour channels of RGB, ignore alpha, and count grey as grey in each channel', () => {
    const rgb = { data: Uint8Array.from([255, 0, 0, 0, 0, 0]), width: 2, height: 1, channels: 3 };
    const rgba = { data: Uint8Array.from([255, 0, 0, 7, 0, 0, 0, 9]), width: 2, height: 1, channels: 4 };
    const black = { data: Uint8Array.from([0, 0, 0, 0, 0, 0]), width: 2, height: 1, channels: 3 };
    expect(imageDistance(rgb, black, 'mae')).toBeCloseTo(1 / 6, 12);
    expect(imageDistance(rgba, black, 'mae')).toBeCloseTo(1 / 6, 12);
    expect(imageDistance(grey([255, 0]), { data: Uint8Array.from([255, 255, 255, 0, 0, 0]), width: 2, height: 1, channels: 3 }, 'l2')).toBe(0);
  });

  it('decode 8-bit PNGs with sharp, grey or RGB', async () => {
    const raw = Buffer.from([0, 64, 128, 255]);
    const png = await sharp(raw, { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
    const decoded = await decodePng(png);
    expect(decoded).toMatchObject({ width: 2, height: 2 });
    const black = await decodePng(await sharp(Buffer.alloc(4), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer());
    expect(imageDistance(decoded, black, 'mae')).toBeCloseTo((0 + 64 + 128 + 255) / 4 / 255, 12);
  });
});

describe('the command', () => {
  const defaults = { metric: 'l2', noise: '0.02', lapse: '0.05', jndThreshold: '0.02', rtMedian: '2500', rtSpread: '0.35', seed: '1', concurrency: '4' };

  it('describes the observer with every parameter', () => {
    expect(describeObserver(OBSERVER_DEFAULTS)).toBe('l2 noise=0.02 lapse=0.05 jnd=0.02 rt=2500ms/0.35 seed=1');
    expect(parseSimulatePanelOptions(defaults)).toEqual({ params: OBSERVER_DEFAULTS, raters: null, concurrency: 4 });
    expect(parseSimulatePanelOptions({ ...defaults, raters: '3', metric: 'mae', noise: '0' }).params).toMatchObject({ metric: 'mae', noise: 0 });
  });

  it('refuses options out of range', () => {
    for (const [name, value, message] of [
      ['metric', 'ssim', /--metric must be l2 or mae/],
      ['noise', '-1', /--noise/],
      ['lapse', '1.5', /--lapse must be a number in \[0, 1\]/],
      ['raters', '0', /--raters/],
      ['raters', 'two', /--raters/],
      ['concurrency', '0', /--concurrency/],
      ['seed', '1.5', /--seed/],
      ['rtMedian', '0', /--rt-median/],
    ] as const) {
      expect(() => parseSimulatePanelOptions({ ...defaults, [name]: value })).toThrow(message);
    }
  });

  it('keys an answer by rater and presentation, the same on every run', () => {
    const id = '6f1c0e8a-1111-4a2b-9c3d-123456789abc';
    expect(clientKeyFor('S-abc123', id)).toBe(clientKeyFor('S-abc123', id));
    expect(clientKeyFor('S-abc123', id)).not.toBe(clientKeyFor('S-abc124', id));
    expect(clientKeyFor('S-abc123', id).length).toBeLessThanOrEqual(128);
  });
});
