/** The decompression-bomb guard shared by the raster and DICOM decoders. */
import { ImageError } from './types';

/** Throws TOO_LARGE when width x height is over maxPixels; call it before decoding any pixel. */
export function assertWithinPixelLimit(width: number, height: number, maxPixels: number, what: string): void {
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new ImageError(
      'TOO_LARGE',
      `${what} is ${width} x ${height} = ${formatCount(pixels)} pixels, over the limit of ${formatCount(maxPixels)} pixels`,
    );
  }
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} billion`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} million`;
  return String(n);
}
