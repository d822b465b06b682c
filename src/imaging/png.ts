/**
 * The PNG writer of every stored and rendered image (source imports, DICOM, distortions, test-set items,
 * windowed renditions), and an IHDR reader.
 *
 * Encoding runs in the native engine on a worker thread (native/include/medpsim/png.hpp): rows under the
 * single "Up" filter (X-rays are smooth, so subtracting the row above does most of the work), then a
 * deflate of literals under per-block Huffman codes and runs of one byte. On 1024x1024 grey film that is
 * as small as zlib's Huffman-only or run-length strategies on the same rows and several times faster;
 * BENCHMARKS.md ("Dataset import") has the figures. Output is a plain PNG: IHDR, IDAT, IEND, no metadata.
 */
import { nativeEngine } from '../platform/native';
import { ImageError } from './types';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Interleaved samples, row-major; Uint16Array means 16-bit samples (native endianness). */
export interface RawPixels {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface PngHeader {
  width: number;
  height: number;
  /** Bits per sample as stored in IHDR: 1, 2, 4, 8 or 16. */
  bitDepth: number;
  /** PNG colour type: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colourType: number;
}

export async function encodePng(pixels: RawPixels): Promise<Buffer> {
  if (pixels.data.length !== pixels.width * pixels.height * pixels.channels) {
    throw new Error(`encodePng: ${pixels.data.length} samples do not fill ${pixels.width}x${pixels.height}x${pixels.channels}`);
  }
  return asBuffer(await nativeEngine().pngEncode(pixels.data, pixels.width, pixels.height, pixels.channels));
}

/** A Buffer over the engine's bytes, without a copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads the IHDR of a PNG without decoding anything; throws UNSUPPORTED_FORMAT when it is not a PNG. */
export function readPngHeader(png: Buffer): PngHeader {
  if (png.length < 33 || !png.subarray(0, 8).equals(SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new ImageError('UNSUPPORTED_FORMAT', 'not a PNG file (missing PNG signature or IHDR chunk)');
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), bitDepth: png[24], colourType: png[25] };
}
