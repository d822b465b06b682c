import zlib from 'node:zlib';
import { floatToPng, pngToFloat } from '../../src/imaging/float';
import { nativeEngine } from '../../src/platform/native';
import { encodePng } from '../../src/imaging/png';
import { pngSamples } from '../helpers/files';

describe('float planar conversion', () => {
  it('round-trips 16-bit grey exactly, as planar values in [0, 1]', async () => {
    const samples = new Uint16Array([0, 1, 4095, 65535, 30000, 12]);
    const png = await encodePng({ data: samples, width: 3, height: 2, channels: 1 });
    const image = await pngToFloat(png);
    expect(image).toMatchObject({ width: 3, height: 2, channels: 1, bitDepth: 16 });
    expect(Array.from(image.data)).toEqual(Array.from(samples).map((v) => Math.fround(v / 65535)));
    expect((await pngSamples(await floatToPng(image, 16))).data).toEqual(Array.from(samples));
  });

  it('stores RGB planar (all red, then green, then blue) and round-trips 8-bit', async () => {
    const interleaved = new Uint8Array([10, 20, 30, 40, 50, 60]); // two pixels
    const png = await encodePng({ data: interleaved, width: 2, height: 1, channels: 3 });
    const image = await pngToFloat(png);
    expect(Array.from(image.data).map((v) => Math.round(v * 255))).toEqual([10, 40, 20, 50, 30, 60]);
    expect((await pngSamples(await floatToPng(image, 8))).data).toEqual(Array.from(interleaved));
  });

  it('clamps out-of-range values', async () => {
    const image = { data: new Float32Array([-0.5, 0.5, 1.5]), width: 3, height: 1, channels: 1 as const };
    expect((await pngSamples(await floatToPng(image, 8))).data).toEqual([0, 128, 255]);
  });

  it('writes the levels and the Up-filtered scanlines of a plain reference, and decodes back to level / max', async () => {
    const [width, height] = [37, 23];
    for (const channels of [1, 3] as const) {
      for (const bitDepth of [8, 16] as const) {
        const max = bitDepth === 16 ? 65535 : 255;
        const data = new Float32Array(width * height * channels).map((_, i) => ((i * 7919) % 1201) / 1100 - 0.04);
        data[5] = NaN;
        const plane = width * height;
        // Reference: round(clamp(v) max), interleaved, big-endian bytes, each row minus the row above.
        const bytesPerSample = bitDepth / 8;
        const rowBytes = width * channels * bytesPerSample;
        const levels = new Uint8Array(rowBytes * height);
        for (let c = 0; c < channels; c++) {
          for (let i = 0; i < plane; i++) {
            const v = data[c * plane + i];
            const level = Math.round((v > 0 ? Math.min(v, 1) : 0) * max);
            const at = (i * channels + c) * bytesPerSample;
            if (bitDepth === 16) [levels[at], levels[at + 1]] = [level >>> 8, level & 255];
            else levels[at] = level;
          }
        }
        const expected = new Uint8Array((rowBytes + 1) * height);
        for (let y = 0; y < height; y++) {
          expected[y * (rowBytes + 1)] = 2;
          for (let x = 0; x < rowBytes; x++) {
            expected[y * (rowBytes + 1) + 1 + x] = (levels[y * rowBytes + x] - (y > 0 ? levels[(y - 1) * rowBytes + x] : 0)) & 255;
          }
        }
        const png = await floatToPng({ data, width, height, channels }, bitDepth);
        const idatAt = 8 + 25; // signature, IHDR; the engine writes one IDAT
        const idat = png.subarray(idatAt + 8, idatAt + 8 + png.readUInt32BE(idatAt));
        expect(zlib.inflateSync(idat).equals(Buffer.from(expected))).toBe(true);
        const stored = await pngSamples(png);
        const back = await pngToFloat(png);
        back.data.forEach((value, i) => {
          const level = stored.data[(i % plane) * channels + Math.floor(i / plane)];
          expect(value).toBe(Math.fround(level * (1 / max)));
        });
      }
    }
  });

  it('refuses malformed arguments with a TypeError naming the call, never a crash', () => {
    const engine = nativeEngine();
    const calls: Array<() => unknown> = [
      () => engine.planarFloat(new Uint8Array(5), 2, 2, 1),
      () => engine.planarFloat(new Float32Array(4) as unknown as Uint8Array, 2, 2, 1),
      () => engine.planarFloat(new Uint16Array(8), 2, 2, 2),
      () => engine.planarFloat(new Uint8Array(4), 0, 4, 1),
      () => engine.pngEncode(new Float32Array(3), 2, 2, 1, 8),
      () => engine.pngEncode(new Float32Array(4), 2, 2, 1, 12 as 8),
      () => engine.pngEncode(new Int16Array(4) as unknown as Float32Array, 2, 2, 1, 8),
      () => engine.pngEncode(new Uint16Array(5), 2, 2, 1),
    ];
    // (the addon throws its own realm's TypeError, which jest's vm context does not share: match the message)
    for (const call of calls) expect(call).toThrow(/^(planarFloat|pngEncode)/);
  });
});
