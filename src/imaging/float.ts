/**
 * The kernels' pixel format at the edges: stored PNG (8 or 16 bit, interleaved) <-> float32 planar in
 * [0, 1]. 16-bit stays 16-bit: samples are divided by 65535, not squashed to 8 bit first.
 */
import sharp from 'sharp';
import { encodePng } from './png';
import type { BitDepth } from './types';

export interface FloatImage {
  /** Planar: all of channel 0, then channel 1, ...; row-major within a channel. */
  data: Float32Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

function maxValue(bitDepth: BitDepth): number {
  return bitDepth === 16 ? 65535 : 255;
}

/** Decodes a stored PNG (grey or RGB, 8 or 16 bit) to float planar samples in [0, 1]. */
export async function pngToFloat(png: Buffer): Promise<FloatImage & { bitDepth: BitDepth }> {
  const meta = await sharp(png).metadata();
  const bitDepth: BitDepth = meta.depth === 'ushort' ? 16 : 8;
  const grey = meta.channels === 1;
  const { data, info } = await sharp(png)
    .toColourspace(grey ? (bitDepth === 16 ? 'grey16' : 'b-w') : bitDepth === 16 ? 'rgb16' : 'srgb')
    .raw({ depth: bitDepth === 16 ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const samples = bitDepth === 16 ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
  const channels = info.channels as 1 | 3;
  const plane = info.width * info.height;
  const out = new Float32Array(plane * channels);
  const scale = 1 / maxValue(bitDepth);
  for (let c = 0; c < channels; c++) {
    for (let i = 0, j = c; i < plane; i++, j += channels) out[c * plane + i] = samples[j] * scale;
  }
  return { data: out, width: info.width, height: info.height, channels, bitDepth };
}

/** Rounds float planar samples (clamped to [0, 1]) to 8- or 16-bit levels and encodes a PNG. */
export async function floatToPng(image: FloatImage, bitDepth: BitDepth): Promise<Buffer> {
  const plane = image.width * image.height;
  const max = maxValue(bitDepth);
  const samples = bitDepth === 16 ? new Uint16Array(plane * image.channels) : new Uint8Array(plane * image.channels);
  for (let c = 0; c < image.channels; c++) {
    for (let i = 0, j = c; i < plane; i++, j += image.channels) {
      const value = image.data[c * plane + i];
      samples[j] = Math.round((value <= 0 ? 0 : value >= 1 ? 1 : value) * max);
    }
  }
  return encodePng({ data: samples, width: image.width, height: image.height, channels: image.channels });
}
