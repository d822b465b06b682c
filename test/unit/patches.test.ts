/** Patch placement inside the body of an image, and patch crops. */
import type { FloatImage } from '../../src/platform/native';
import { RandomStream } from '../../src/synth/random';
import { PLACEMENT_TRIES, bodyMap, centerSquare, cropPatch, placePatch, type Square } from '../../src/testsets/patches';

interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A black image with a textured body (values in about [0.2, 0.7], from a seeded sine pattern) in `body`. */
function xray(width: number, height: number, body: Region, seed = 1): FloatImage {
  const noise = new RandomStream(seed, 0);
  const data = new Float32Array(width * height);
  for (let y = body.y; y < body.y + body.height; y++) {
    for (let x = body.x; x < body.x + body.width; x++) {
      data[y * width + x] = 0.45 + 0.2 * Math.sin(x * 0.31 + seed) * Math.cos(y * 0.19 - seed) + noise.range(-0.05, 0.05);
    }
  }
  return { data, width, height, channels: 1 };
}

/** 256x200 with a black border of 40 px around the body. */
const bordered = () => xray(256, 200, { x: 40, y: 40, width: 176, height: 120 });

function fill(image: FloatImage, region: Region, value: number): FloatImage {
  const data = image.data.slice();
  for (let y = region.y; y < region.y + region.height; y++) data.fill(value, y * image.width + region.x, y * image.width + region.x + region.width);
  return { ...image, data };
}

/** The fraction of body samples counted one by one. */
function bruteBodyFraction(image: FloatImage, threshold: number, { x, y, size }: Square): number {
  let body = 0;
  for (let row = y; row < y + size; row++) {
    for (let column = x; column < x + size; column++) if (image.data[row * image.width + column] > threshold) body++;
  }
  return body / (size * size);
}

const inside = (image: FloatImage, { x, y, size }: Square) => x >= 0 && y >= 0 && x + size <= image.width && y + size <= image.height;
const within = ({ x, y, size }: Square, region: Region) =>
  x >= region.x && y >= region.y && x + size <= region.x + region.width && y + size <= region.y + region.height;

/** The candidates placePatch tries, in order: x then y from the stream, PLACEMENT_TRIES times. */
function candidates(image: FloatImage, size: number, seed: number, stream: number): Square[] {
  const random = new RandomStream(seed, stream);
  return Array.from({ length: PLACEMENT_TRIES }, () => {
    const x = random.int(0, image.width - size);
    return { x, y: random.int(0, image.height - size), size };
  });
}

describe('BodyMap', () => {
  it('puts the threshold between the black background and the body', () => {
    const map = bodyMap(bordered());
    expect(map.threshold).toBeGreaterThan(0);
    expect(map.threshold).toBeLessThan(0.2);
    expect(map.bodyFraction(0, 0, 40)).toBe(0);
    expect(map.bodyFraction(40, 40, 120)).toBe(1);
  });

  it('is p2 + 0.1 (p98 - p2): a dark, noisy background is not body', () => {
    const image = bordered();
    const noise = new RandomStream(3, 1);
    const data = image.data.map((value) => (value === 0 ? noise.range(0, 0.06) : value));
    const map = bodyMap({ ...image, data });
    const sorted = Float64Array.from(data).sort();
    const percentile = (q: number) => sorted[Math.round(q * (sorted.length - 1))];
    const expected = percentile(0.02) + 0.1 * (percentile(0.98) - percentile(0.02));
    expect(Math.abs(map.threshold - expected)).toBeLessThan(1 / 4096);
    expect(map.threshold).toBeGreaterThan(0.06);
    expect(map.bodyFraction(0, 0, 40)).toBe(0);
    expect(map.bodyFraction(40, 40, 120)).toBe(1);
  });

  it('counts body samples exactly as one by one', () => {
    const image = bordered();
    const map = bodyMap(image);
    const random = new RandomStream(7, 0);
    for (let i = 0; i < 200; i++) {
      const size = random.int(1, 200);
      const square = { x: random.int(0, 256 - size), y: random.int(0, 200 - size), size };
      expect(map.bodyFraction(square.x, square.y, size)).toBe(bruteBodyFraction(image, map.threshold, square));
    }
  });

  it('uses the mean of the channels of a colour image', () => {
    const grey = bordered();
    const plane = grey.data.length;
    // Channel 0 is black: only the mean of the channels shows the body.
    const data = new Float32Array(3 * plane);
    data.set(grey.data, plane);
    data.set(grey.data, 2 * plane);
    const map = bodyMap({ ...grey, data, channels: 3 });
    expect(map.bodyFraction(40, 40, 120)).toBe(1);
    expect(map.bodyFraction(0, 0, 40)).toBe(0);
  });

  it('refuses data of the wrong length', () => {
    expect(() => bodyMap({ data: new Float32Array(10), width: 4, height: 4, channels: 1 })).toThrow(RangeError);
  });
});

describe('placePatch', () => {
  it('places every patch inside the image and inside the body', () => {
    const image = bordered();
    const map = bodyMap(image);
    for (let seed = 0; seed < 50; seed++) {
      for (let stream = 0; stream < 4; stream++) {
        const placement = placePatch(map, 64, seed, stream);
        expect(placement.size).toBe(64);
        expect(inside(image, placement)).toBe(true);
        expect(placement.bodyFraction).toBeGreaterThanOrEqual(0.75);
        expect(placement.bodyFraction).toBe(bruteBodyFraction(image, map.threshold, placement));
        expect(placement.tries).toBeGreaterThanOrEqual(1);
        expect(placement.tries).toBeLessThanOrEqual(PLACEMENT_TRIES);
        expect(map.accepts(placement.x, placement.y, 64)).toBe(true);
      }
    }
  });

  it('finds a small body in an almost black image', () => {
    const body = { x: 130, y: 20, width: 100, height: 100 };
    const image = xray(256, 256, body);
    const map = bodyMap(image);
    for (let seed = 0; seed < 30; seed++) {
      const placement = placePatch(map, 48, seed, 0);
      expect(placement.bodyFraction).toBeGreaterThanOrEqual(0.75);
      expect(placement.bodyFraction).toBe(bruteBodyFraction(image, map.threshold, placement));
    }
  });

  it('is a function of the seed and the stream', () => {
    const map = bodyMap(bordered());
    expect(placePatch(map, 32, 5, 3)).toEqual(placePatch(bodyMap(bordered()), 32, 5, 3));
    const positions = (place: (i: number) => Square) => new Set(Array.from({ length: 8 }, (_, i) => place(i)).map(({ x, y }) => `${x},${y}`));
    expect(positions((stream) => placePatch(map, 32, 5, stream)).size).toBeGreaterThanOrEqual(6);
    expect(positions((seed) => placePatch(map, 32, seed, 3)).size).toBeGreaterThanOrEqual(6);
  });

  it('refuses a flat white label inside the body', () => {
    const label = { x: 60, y: 60, width: 100, height: 80 };
    const image = fill(bordered(), label, 1);
    const map = bodyMap(image);
    expect(map.bodyFraction(70, 70, 32)).toBe(1);
    expect(map.standardDeviation(70, 70, 32)).toBe(0);
    expect(map.accepts(70, 70, 32)).toBe(false);

    let refusedInLabel = 0;
    for (let seed = 0; seed < 100; seed++) {
      const placement = placePatch(map, 32, seed, 0);
      expect(placement.tries).toBeLessThan(PLACEMENT_TRIES);
      expect(within(placement, label)).toBe(false);
      expect(map.standardDeviation(placement.x, placement.y, 32)).toBeGreaterThan(0.005);
      const refused = candidates(image, 32, seed, 0).slice(0, placement.tries - 1);
      refusedInLabel += refused.filter((square) => within(square, label)).length;
    }
    // The label was drawn, and refused, often enough for the test to mean something.
    expect(refusedInLabel).toBeGreaterThan(5);
  });

  it('falls back to the try with the most body when none qualifies', () => {
    // A 20x20 body cannot fill 75% of a 48x48 patch.
    const image = xray(256, 256, { x: 100, y: 100, width: 20, height: 20 });
    const map = bodyMap(image);
    for (let seed = 0; seed < 10; seed++) {
      const placement = placePatch(map, 48, seed, 2);
      const fractions = candidates(image, 48, seed, 2).map((square) => ({ ...square, fraction: map.bodyFraction(square.x, square.y, 48) }));
      const best = fractions.reduce((a, b) => (b.fraction > a.fraction ? b : a));
      expect(best.fraction).toBeGreaterThan(0);
      expect(placement).toEqual({ x: best.x, y: best.y, size: 48, bodyFraction: best.fraction, tries: PLACEMENT_TRIES });
    }
  });

  it('takes the earliest try among equal ones', () => {
    const black: FloatImage = { data: new Float32Array(64 * 64), width: 64, height: 64, channels: 1 };
    const first = candidates(black, 16, 3, 1)[0];
    expect(placePatch(bodyMap(black), 16, 3, 1)).toEqual({ ...first, bodyFraction: 0, tries: PLACEMENT_TRIES });
  });

  it('refuses a size out of [1, min(width, height)]', () => {
    const map = bodyMap(bordered());
    expect(() => placePatch(map, 0, 1, 0)).toThrow(RangeError);
    expect(() => placePatch(map, 201, 1, 0)).toThrow(RangeError);
    expect(() => placePatch(map, 2.5, 1, 0)).toThrow(RangeError);
    expect(placePatch(map, 200, 1, 0).y).toBe(0);
  });
});

describe('cropPatch', () => {
  /** Each sample encodes where it is: channel * 1e6 + y * 1000 + x (exact in float32). */
  function labelled(width: number, height: number, channels: 1 | 3): FloatImage {
    const data = new Float32Array(width * height * channels);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[(c * height + y) * width + x] = c * 1e6 + y * 1000 + x;
    }
    return { data, width, height, channels };
  }

  it.each([1, 3] as const)('copies the square of each of %i channel(s), planar', (channels) => {
    const image = labelled(50, 40, channels);
    const crop = cropPatch(image, { x: 7, y: 11, size: 20 });
    expect(crop).toMatchObject({ width: 20, height: 20, channels });
    expect(crop.data.length).toBe(20 * 20 * channels);
    expect(crop.data[0]).toBe(11 * 1000 + 7);
    expect(crop.data[20 * 20 - 1]).toBe(30 * 1000 + 26);
    expect(crop.data[3 * 20 + 5]).toBe(14 * 1000 + 12);
    if (channels === 3) {
      expect(crop.data[400 + 1 * 20 + 2]).toBe(1e6 + 12 * 1000 + 9);
      expect(crop.data[2 * 400 + 19 * 20 + 19]).toBe(2e6 + 30 * 1000 + 26);
    }
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) expect(crop.data[(c * 20 + y) * 20 + x]).toBe(c * 1e6 + (11 + y) * 1000 + 7 + x);
    }
  });

  it('returns a copy, and refuses a square out of the image', () => {
    const image = labelled(50, 40, 1);
    const crop = cropPatch(image, { x: 0, y: 0, size: 40 });
    crop.data[0] = -1;
    expect(image.data[0]).toBe(0);
    expect(() => cropPatch(image, { x: 11, y: 0, size: 40 })).toThrow(RangeError);
    expect(() => cropPatch(image, { x: -1, y: 0, size: 10 })).toThrow(RangeError);
    expect(() => cropPatch(image, { x: 0, y: 0, size: 41 })).toThrow(RangeError);
  });
});

describe('centerSquare', () => {
  it('is the centred square of side min(width, height)', () => {
    expect(centerSquare({ width: 256, height: 200 })).toEqual({ x: 28, y: 0, size: 200 });
    expect(centerSquare({ width: 200, height: 256 })).toEqual({ x: 0, y: 28, size: 200 });
    expect(centerSquare({ width: 101, height: 100 })).toEqual({ x: 0, y: 0, size: 100 });
    expect(centerSquare({ width: 64, height: 64 })).toEqual({ x: 0, y: 0, size: 64 });
  });
});
