/**
 * Serves stored PNGs to clients.
 *
 * - depth 16: the stored PNG, byte for byte. An 8-bit stored image (JPEG sources, 8-bit DICOM) is
 *   returned as stored, i.e. still 8-bit: there is no extra precision to give.
 * - depth 8 with a window: linear windowing of every sample (see windowValue), as an 8-bit PNG.
 *   Applies to 8-bit stored images too (a client may ask for contrast on a JPEG source).
 * - depth 8 without a window: 8-bit images as stored; 16-bit images are mapped from their own min..max
 *   (not 0..65535: 12-bit data would come out nearly black), i.e. the window
 *   { center: (min + max) / 2, width: max - min }. A constant image renders mid-grey.
 */
import sharp from 'sharp';
import { encodePng, readPngHeader, type PngHeader, type RawPixels } from './png';
import { uint16View, uint8View } from './pixels';
import type { DisplayWindow } from './types';
import { nativeEngine } from '../platform/native';

export async function renderPng(stored: Buffer, opts: { depth: 8 | 16; window?: DisplayWindow | null }): Promise<Buffer> {
  const header = readPngHeader(stored);
  if (opts.depth === 16) return stored;
  const window = opts.window ?? null;
  if (header.bitDepth <= 8 && !window) return stored;
  const pixels = await decodeStored(stored, header);
  const data = await windowedTo8bit(pixels.data, window);
  return encodePng({ ...pixels, data });
}

/**
 * DICOM-style linear window (the simple form of PS3.3 C.11.2.1.2, as in VOI LUT Function LINEAR_EXACT):
 * x <= center - width/2 -> 0, x >= center + width/2 -> 255, else round(255 * (x - (center - width/2)) / width).
 */
export function windowValue(x: number, window: DisplayWindow): number {
  const lower = window.center - window.width / 2;
  const y = Math.round((255 * (x - lower)) / window.width);
  return y <= 0 ? 0 : y >= 255 ? 255 : y;
}

/**
 * Applies windowValue to every sample, in the engine on a worker thread (a table of every level); without a
 * window, the samples' own min..max (center (min + max) / 2, width max - min; a constant image gets width 1).
 */
export function windowedTo8bit(pixels: Uint16Array | Uint8Array, window: DisplayWindow | null): Promise<Uint8Array> {
  if (window && !(window.width > 0 && Number.isFinite(window.width) && Number.isFinite(window.center))) {
    throw new RangeError(`invalid display window: center ${window.center}, width ${window.width} (width must be > 0)`);
  }
  return window ? nativeEngine().windowTo8bit(pixels, window.center, window.width) : nativeEngine().windowTo8bit(pixels);
}

async function decodeStored(stored: Buffer, header: PngHeader): Promise<RawPixels> {
  const grey = header.colourType === 0 || header.colourType === 4;
  const wide = header.bitDepth === 16;
  const { data, info } = await sharp(stored, { limitInputPixels: false })
    .removeAlpha()
    .toColourspace(grey ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb')
    .raw({ depth: wide ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return {
    data: wide ? uint16View(data) : uint8View(data),
    width: info.width,
    height: info.height,
    channels: info.channels === 1 ? 1 : 3,
  };
}
