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

export async function renderPng(stored: Buffer, opts: { depth: 8 | 16; window?: DisplayWindow | null }): Promise<Buffer> {
  const header = readPngHeader(stored);
  if (opts.depth === 16) return stored;
  const window = opts.window ?? null;
  if (header.bitDepth <= 8 && !window) return stored;
  const pixels = await decodeStored(stored, header);
  const data = windowedTo8bit(pixels.data, window ?? fullRangeWindow(pixels.data));
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

/** Applies windowValue to every sample; a lookup table makes large 16-bit images cheap. */
export function windowedTo8bit(pixels: Uint16Array | Uint8Array, window: DisplayWindow): Uint8Array {
  if (!(window.width > 0 && Number.isFinite(window.width) && Number.isFinite(window.center))) {
    throw new RangeError(`invalid display window: center ${window.center}, width ${window.width} (width must be > 0)`);
  }
  const out = new Uint8Array(pixels.length);
  const range = pixels instanceof Uint16Array ? 65536 : 256;
  if (pixels.length < range) {
    for (let i = 0; i < pixels.length; i++) out[i] = windowValue(pixels[i], window);
    return out;
  }
  const lut = new Uint8Array(range);
  for (let v = 0; v < range; v++) lut[v] = windowValue(v, window);
  for (let i = 0; i < pixels.length; i++) out[i] = lut[pixels[i]];
  return out;
}

/** The window that maps the image's own min..max onto 0..255. */
export function fullRangeWindow(pixels: Uint16Array | Uint8Array): DisplayWindow {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (pixels.length === 0) return { center: 0, width: 1 };
  if (max === min) return { center: min, width: 1 };
  return { center: (min + max) / 2, width: max - min };
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
