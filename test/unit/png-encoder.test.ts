/**
 * The engine's PNG writer (native/src/png.cpp) against independent readers: Node's zlib (inflate of the
 * IDAT stream, which checks every block and the Adler-32, and CRC-32 of every chunk) and sharp's PNG
 * decoder (libspng). The expected bytes are the PNG definition's, computed here: each scanline is the
 * filter byte 2 (Up) and the row minus the row above, mod 256, 16-bit samples big-endian.
 */
import zlib from 'node:zlib';
import { encodePng, type RawPixels } from '../../src/imaging/png';
import { pngSamples } from '../helpers/files';

function chunks(png: Buffer): Array<{ type: string; data: Buffer; crc: number }> {
  const out: Array<{ type: string; data: Buffer; crc: number }> = [];
  for (let pos = 8; pos < png.length; ) {
    const length = png.readUInt32BE(pos);
    out.push({ type: png.toString('latin1', pos + 4, pos + 8), data: png.subarray(pos + 8, pos + 8 + length), crc: png.readUInt32BE(pos + 8 + length) });
    pos += 12 + length;
  }
  return out;
}

function upScanlines(pixels: RawPixels): Buffer {
  const bytesPerSample = pixels.data instanceof Uint16Array ? 2 : 1;
  const rowBytes = pixels.width * pixels.channels * bytesPerSample;
  const levels = Buffer.alloc(rowBytes * pixels.height);
  pixels.data.forEach((v, i) => (bytesPerSample === 2 ? levels.writeUInt16BE(v, 2 * i) : (levels[i] = v)));
  const out = Buffer.alloc((rowBytes + 1) * pixels.height);
  for (let y = 0; y < pixels.height; y++) {
    out[y * (rowBytes + 1)] = 2;
    for (let i = 0; i < rowBytes; i++) {
      const above = y > 0 ? levels[(y - 1) * rowBytes + i] : 0;
      out[y * (rowBytes + 1) + 1 + i] = (levels[y * rowBytes + i] - above) & 255;
    }
  }
  return out;
}

/** Seeded, so a failure can be rerun. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function noiseBytes(length: number, seed: number): Uint8Array {
  const next = random(seed);
  return Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

/** Smooth film with flat borders (long zero runs after the filter) and a little noise. */
function film(width: number, height: number, max: number, seed: number): number[] {
  const next = random(seed);
  return Array.from({ length: width * height }, (_, i) => {
    const x = i % width;
    const y = Math.floor(i / width);
    if (x < width / 10 || x > (9 * width) / 10) return 0;
    const v = max * (0.5 + 0.3 * Math.sin(x / 37) * Math.cos(y / 23)) + (next() - 0.5) * max * 0.02;
    return Math.max(0, Math.min(max, Math.round(v)));
  });
}

const CASES: Array<{ name: string; pixels: RawPixels }> = [
  { name: '1x1 grey', pixels: { data: Uint8Array.of(7), width: 1, height: 1, channels: 1 } },
  { name: '1x40 and 40x1 grey', pixels: { data: Uint8Array.from({ length: 40 }, (_, i) => i * 3), width: 1, height: 40, channels: 1 } },
  { name: '40x1 RGB', pixels: { data: Uint8Array.from({ length: 120 }, (_, i) => (i * 7) & 255), width: 40, height: 1, channels: 3 } },
  { name: 'film, 8-bit grey, 700x450', pixels: { data: Uint8Array.from(film(700, 450, 255, 1)), width: 700, height: 450, channels: 1 } },
  { name: 'film, 16-bit grey, 333x301', pixels: { data: Uint16Array.from(film(333, 301, 65535, 2)), width: 333, height: 301, channels: 1 } },
  { name: 'film, 16-bit RGB, 97x61', pixels: { data: Uint16Array.from(film(97 * 3, 61, 4095, 3)), width: 97, height: 61, channels: 3 } },
  {
    name: 'noise that does not compress (stored blocks), RGB 300x200',
    pixels: { data: noiseBytes(300 * 200 * 3, 4), width: 300, height: 200, channels: 3 },
  },
  { name: 'all zeros, 2000x700 (runs across blocks)', pixels: { data: new Uint8Array(2000 * 700), width: 2000, height: 700, channels: 1 } },
  { name: 'one row over a block (50000x3 RGB)', pixels: { data: Uint8Array.from(film(150000, 3, 255, 5)), width: 50000, height: 3, channels: 3 } },
];

// Runs of every length around the thresholds: the minimum run (6), one length code's edges, 258 and beyond.
const runLengths = [1, 2, 5, 6, 7, 10, 11, 12, 130, 131, 257, 258, 259, 516, 517, 1000];
const runRow = runLengths.flatMap((length, i) => Array.from({ length }, () => (i * 53) & 255));
CASES.push({ name: 'runs of every length class', pixels: { data: Uint8Array.from([...runRow, ...runRow.reverse()]), width: runRow.length, height: 2, channels: 1 } });

describe('encodePng (the engine PNG writer)', () => {
  it.each(CASES.map((c) => [c.name, c.pixels] as const))('%s: the stream inflates to the Up scanlines and sharp decodes the samples', async (_name, pixels) => {
    const png = await encodePng(pixels);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const parts = chunks(png);
    expect(parts.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    for (const part of parts) expect(part.crc).toBe(zlib.crc32(part.data, zlib.crc32(Buffer.from(part.type, 'latin1'))));
    const ihdr = parts[0].data;
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]]).toEqual([
      pixels.width,
      pixels.height,
      pixels.data instanceof Uint16Array ? 16 : 8,
      pixels.channels === 1 ? 0 : 2,
      0,
      0,
      0,
    ]);
    expect(zlib.inflateSync(parts[1].data).equals(upScanlines(pixels))).toBe(true);
    const decoded = await pngSamples(png);
    expect(decoded).toMatchObject({ width: pixels.width, height: pixels.height, channels: pixels.channels });
    expect(decoded.data).toEqual(Array.from(pixels.data));
  });

  it('compresses film at least as well as zlib on the same scanlines (Huffman-only; run-length within 2%)', async () => {
    const pixels: RawPixels = { data: Uint8Array.from(film(1024, 1024, 255, 6)), width: 1024, height: 1024, channels: 1 };
    const scanlines = upScanlines(pixels);
    const ours = chunks(await encodePng(pixels))[1].data.length;
    expect(ours).toBeLessThanOrEqual(zlib.deflateSync(scanlines, { strategy: zlib.constants.Z_HUFFMAN_ONLY }).length);
    expect(ours).toBeLessThanOrEqual(1.02 * zlib.deflateSync(scanlines, { strategy: zlib.constants.Z_RLE }).length);
    // Incompressible input is stored: at most 5 bytes per 64 KiB block, plus zlib's 6, over the input.
    const noise: RawPixels = { data: noiseBytes(300 * 200 * 3, 4), width: 300, height: 200, channels: 3 };
    const stored = chunks(await encodePng(noise))[1].data.length;
    const raw = upScanlines(noise).length;
    expect(stored).toBeLessThanOrEqual(raw + 5 * Math.ceil(raw / 65535) + 5 + 6);
  });
});
