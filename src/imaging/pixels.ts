/** Small pixel-buffer helpers shared by the raster and DICOM paths. */
import type { RawPixels } from './png';

/**
 * Greyscale stored as RGB (R = G = B for every pixel, e.g. many Kermany chest-X-ray JPEGs) becomes one
 * channel. The test is exact equality: a single differing sample keeps the image in colour, so no pixel
 * value is ever changed. Cost on 1024x1024 RGB: ~1-2 ms, and it stops at the first colour pixel.
 */
export function collapseGreyRgb(pixels: RawPixels): RawPixels {
  if (pixels.channels !== 3) return pixels;
  const grey =
    pixels.data instanceof Uint16Array ? firstChannelIfGrey16(pixels.data) : firstChannelIfGrey8(pixels.data);
  return grey ? { ...pixels, data: grey, channels: 1 } : pixels;
}

// One pass that copies R while checking R = G = B, and gives up at the first colour pixel. Two
// monomorphic copies (8 and 16 bit) keep the loop ~3x faster than one taking either array type.
function firstChannelIfGrey8(rgb: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(rgb.length / 3);
  for (let i = 0, j = 0; j < out.length; i += 3, j++) {
    const r = rgb[i];
    if (rgb[i + 1] !== r || rgb[i + 2] !== r) return null;
    out[j] = r;
  }
  return out;
}

function firstChannelIfGrey16(rgb: Uint16Array): Uint16Array | null {
  const out = new Uint16Array(rgb.length / 3);
  for (let i = 0, j = 0; j < out.length; i += 3, j++) {
    const r = rgb[i];
    if (rgb[i + 1] !== r || rgb[i + 2] !== r) return null;
    out[j] = r;
  }
  return out;
}

/** A Uint16Array over a Buffer's bytes (native endianness), copying only when the offset is misaligned. */
export function uint16View(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1);
  return new Uint16Array(bytes.slice().buffer, 0, bytes.byteLength >>> 1);
}

/** A plain Uint8Array over a Buffer's bytes (no copy); keeps `instanceof Uint16Array` checks meaningful. */
export function uint8View(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
