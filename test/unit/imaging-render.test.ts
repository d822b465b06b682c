import { encodePng, readPngHeader } from '../../src/imaging/png';
import { renderPng, windowedTo8bit, windowValue } from '../../src/imaging/render';
import { ImageError } from '../../src/imaging/types';
import { pngSamples } from '../helpers/files';

const WINDOW = { center: 1000, width: 200 }; // lower edge 900, upper edge 1100

describe('windowedTo8bit (in the engine)', () => {
  it('matches a hand-computed reference (linear between center -/+ width/2, clamped outside)', async () => {
    const input = new Uint16Array([0, 800, 900, 901, 950, 999, 1000, 1050, 1099, 1100, 1101, 4095, 65535]);
    // 255 * (x - 900) / 200, rounded: 901 -> 1.275 -> 1; 950 -> 63.75 -> 64; 999 -> 126.225 -> 126;
    // 1000 -> 127.5 -> 128; 1050 -> 191.25 -> 191; 1099 -> 253.725 -> 254.
    const expected = [0, 0, 0, 1, 64, 126, 128, 191, 254, 255, 255, 255, 255];
    expect(Array.from(await windowedTo8bit(input, WINDOW))).toEqual(expected);
    expect(Array.from(input, (x) => windowValue(x, WINDOW))).toEqual(expected);
  });

  it('equals windowValue, the definition of record, at every 16-bit level for fractional windows', async () => {
    const every = Uint16Array.from({ length: 65536 }, (_, v) => v);
    for (const window of [{ center: 30000.5, width: 1234.5 }, { center: 2047.5, width: 4095 }, { center: 0.25, width: 0.5 }, { center: 65535, width: 3 }]) {
      const engine = await windowedTo8bit(every, window);
      const reference = Array.from(every, (x) => windowValue(x, window));
      expect(Array.from(engine)).toEqual(reference);
    }
  });

  it('windows 8-bit samples too, and rejects a width that is not positive', async () => {
    expect(Array.from(await windowedTo8bit(new Uint8Array([0, 100, 127, 128, 200, 255]), { center: 128, width: 56 }))).toEqual([
      0, 0, 123, 128, 255, 255,
    ]);
    expect(() => windowedTo8bit(new Uint16Array(4), { center: 10, width: 0 })).toThrow(RangeError);
    expect(() => windowedTo8bit(new Uint16Array(4), { center: Number.NaN, width: 10 })).toThrow(RangeError);
  });

  it('maps the image min to 0 and max to 255 without a window; a constant image renders mid-grey', async () => {
    const pixels = new Uint16Array([300, 1000, 4000, 2150]); // the window { center: 2150, width: 3700 }
    expect(Array.from(await windowedTo8bit(pixels, null))).toEqual([0, 48, 255, 128]);
    expect(Array.from(await windowedTo8bit(new Uint16Array([7, 7, 7]), null))).toEqual([128, 128, 128]);
    expect(Array.from(await windowedTo8bit(new Uint8Array([10, 250]), null))).toEqual([0, 255]);
  });
});

describe('renderPng', () => {
  const width = 8;
  const height = 4;
  const pixels16 = new Uint16Array(width * height);
  for (let i = 0; i < pixels16.length; i++) pixels16[i] = 800 + i * 10; // 800 .. 1110
  let stored16: Buffer;
  let stored8: Buffer;

  beforeAll(async () => {
    stored16 = await encodePng({ data: pixels16, width, height, channels: 1 });
    stored8 = await encodePng({ data: Uint8Array.from(pixels16, (v) => v >> 3), width, height, channels: 1 });
  });

  it('returns the stored PNG unchanged at depth 16 (8-bit stored images stay 8-bit)', async () => {
    expect(await renderPng(stored16, { depth: 16 })).toBe(stored16);
    expect(await renderPng(stored16, { depth: 16, window: WINDOW })).toBe(stored16);
    expect(await renderPng(stored8, { depth: 16 })).toBe(stored8);
  });

  it('returns an 8-bit stored PNG unchanged at depth 8 without a window', async () => {
    expect(await renderPng(stored8, { depth: 8 })).toBe(stored8);
  });

  it('windows 16-bit data into an 8-bit PNG', async () => {
    const png = await renderPng(stored16, { depth: 8, window: WINDOW });
    expect(readPngHeader(png)).toMatchObject({ width, height, bitDepth: 8, colourType: 0 });
    const out = await pngSamples(png);
    expect(out.channels).toBe(1);
    expect(out.data).toEqual(Array.from(pixels16, (x) => windowValue(x, WINDOW)));
    expect(out.data.slice(0, 3)).toEqual([0, 0, 0]); // 800, 810, 820 are below 900
    expect(out.data.at(-1)).toBe(255); // 1110 is above 1100
  });

  it('maps a 16-bit image from its own min..max when no window is given', async () => {
    const out = await pngSamples(await renderPng(stored16, { depth: 8, window: null }));
    expect(out.data[0]).toBe(0);
    expect(out.data.at(-1)).toBe(255);
    expect(out.data).toEqual(Array.from(pixels16, (x) => windowValue(x, { center: 955, width: 310 })));
  });

  it('windows an 8-bit stored image when a window is asked for', async () => {
    const out = await pngSamples(await renderPng(stored8, { depth: 8, window: { center: 120, width: 20 } }));
    expect(out.data).toEqual(Array.from(pixels16, (v) => windowValue(v >> 3, { center: 120, width: 20 })));
  });

  it('windows every channel of an RGB image', async () => {
    const rgb = new Uint16Array([0, 1000, 2000, 500, 1500, 65535]);
    const stored = await encodePng({ data: rgb, width: 2, height: 1, channels: 3 });
    const out = await pngSamples(await renderPng(stored, { depth: 8, window: { center: 1000, width: 1000 } }));
    expect(out.channels).toBe(3);
    expect(out.data).toEqual([0, 128, 255, 0, 255, 255]);
  });

  it('rejects bytes that are not a PNG', async () => {
    const error = await renderPng(Buffer.from('not a png at all, just some text'), { depth: 8 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).code).toBe('UNSUPPORTED_FORMAT');
  });
});

describe('encodePng', () => {
  it('round-trips 8- and 16-bit, grey and RGB samples exactly, with only IHDR, IDAT and IEND', async () => {
    const cases = [
      { data: Uint8Array.from({ length: 7 * 5 }, (_, i) => (i * 37) & 255), channels: 1 as const },
      { data: Uint8Array.from({ length: 7 * 5 * 3 }, (_, i) => (i * 91) & 255), channels: 3 as const },
      { data: Uint16Array.from({ length: 7 * 5 }, (_, i) => (i * 40503) & 65535), channels: 1 as const },
      { data: Uint16Array.from({ length: 7 * 5 * 3 }, (_, i) => (i * 12345) & 65535), channels: 3 as const },
    ];
    for (const c of cases) {
      const png = await encodePng({ data: c.data, width: 7, height: 5, channels: c.channels });
      const out = await pngSamples(png);
      const depth = c.data instanceof Uint16Array ? 'ushort' : 'uchar';
      expect(out).toMatchObject({ width: 7, height: 5, channels: c.channels, depth });
      expect(out.data).toEqual(Array.from(c.data));
      const types: string[] = [];
      for (let pos = 8; pos < png.length; pos += 12 + png.readUInt32BE(pos)) types.push(png.toString('latin1', pos + 4, pos + 8));
      expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
    }
  });
});
