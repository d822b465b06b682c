/**
 * Resampling a region to a given size (test sets' WHOLE-image units, deep-metric inputs of a fixed size): a
 * separable triangle (linear) filter
 * widened by the scale when shrinking, so that downsizing averages every source pixel (antialiased, as
 * Pillow's BILINEAR does) and enlarging is plain bilinear interpolation. Borders are clamped.
 */
import type { FloatImage } from '../platform/native';

interface Taps {
  first: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  width: number;
}

function taps(sourceLength: number, targetLength: number): Taps {
  const scale = sourceLength / targetLength;
  const support = Math.max(1, scale);
  const width = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(targetLength);
  const count = new Int32Array(targetLength);
  const weights = new Float32Array(targetLength * width);
  for (let out = 0; out < targetLength; out++) {
    const centre = (out + 0.5) * scale - 0.5;
    const low = Math.max(0, Math.ceil(centre - support));
    const high = Math.min(sourceLength - 1, Math.floor(centre + support));
    let total = 0;
    for (let x = low; x <= high; x++) {
      const weight = Math.max(0, 1 - Math.abs(x - centre) / support);
      weights[out * width + (x - low)] = weight;
      total += weight;
    }
    if (total === 0) {
      // Only when the clamped range misses the filter entirely: take the nearest sample.
      weights[out * width] = 1;
      total = 1;
    }
    for (let x = low; x <= high; x++) weights[out * width + (x - low)] /= total;
    first[out] = low;
    count[out] = Math.max(1, high - low + 1);
  }
  return { first, count, weights, width };
}

/** The region (x, y, width x height) of `image`, resampled to outWidth x outHeight. */
export function resampleRegion(
  image: FloatImage,
  region: { x: number; y: number; width: number; height: number },
  outWidth: number,
  outHeight: number,
): FloatImage {
  const horizontal = taps(region.width, outWidth);
  const vertical = taps(region.height, outHeight);
  const out = new Float32Array(outWidth * outHeight * image.channels);
  const rows = new Float32Array(region.height * outWidth);
  for (let channel = 0; channel < image.channels; channel++) {
    const plane = channel * image.width * image.height;
    for (let y = 0; y < region.height; y++) {
      const row = plane + (region.y + y) * image.width + region.x;
      for (let x = 0; x < outWidth; x++) {
        let sum = 0;
        for (let k = 0; k < horizontal.count[x]; k++) sum += horizontal.weights[x * horizontal.width + k] * image.data[row + horizontal.first[x] + k];
        rows[y * outWidth + x] = sum;
      }
    }
    const target = channel * outWidth * outHeight;
    for (let y = 0; y < outHeight; y++) {
      for (let x = 0; x < outWidth; x++) {
        let sum = 0;
        for (let k = 0; k < vertical.count[y]; k++) sum += vertical.weights[y * vertical.width + k] * rows[(vertical.first[y] + k) * outWidth + x];
        out[target + y * outWidth + x] = sum;
      }
    }
  }
  return { data: out, width: outWidth, height: outHeight, channels: image.channels };
}

/** The square region (x, y, side) of `image`, resampled to size x size. */
export function resizeRegion(image: FloatImage, region: { x: number; y: number; size: number }, size: number): FloatImage {
  return resampleRegion(image, { x: region.x, y: region.y, width: region.size, height: region.size }, size, size);
}
