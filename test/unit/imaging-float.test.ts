import { floatToPng, pngToFloat } from '../../src/imaging/float';
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
});
