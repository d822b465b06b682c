/**
 * The kernels' pixel format at the edges: stored PNG (8 or 16 bit, interleaved) <-> float32 planar in
 * [0, 1]. 16-bit stays 16-bit: samples are divided by 65535, not squashed to 8 bit first.
 */
import sharp from 'sharp';
import { nativeEngine, type FloatImage } from '../platform/native';
import { asBuffer } from './png';
import type { BitDepth } from './types';


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
  // Deinterleaving and scaling run in the engine, on a worker thread.
  const out = await nativeEngine().planarFloat(samples, info.width, info.height, channels);
  return { data: out, width: info.width, height: info.height, channels, bitDepth };
}

/** Rounds float planar samples (clamped to [0, 1]) to 8- or 16-bit levels and encodes a PNG. */
export async function floatToPng(image: FloatImage, bitDepth: BitDepth): Promise<Buffer> {
  // Rounding, interleaving and the PNG encoding run in the engine, on a worker thread.
  return asBuffer(await nativeEngine().pngEncode(image.data, image.width, image.height, image.channels, bitDepth));
}
