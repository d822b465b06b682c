/**
 * Planar float images around an image-to-image model (the CNN-based distortion kinds): each channel padded
 * by reflect-101 to the size multiple the model needs, batched as [channels, 1, H', W'], and the model's
 * output cropped back and mixed with the image. Pure functions with no imports: the inference worker thread
 * runs them (src/models/inference-worker.ts), not the event loop.
 */

export interface Planes {
  /** Planar: all of channel 0, then channel 1, ...; row-major within a channel. */
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** The planes of `image` as a [channels, 1, H', W'] batch, H' and W' padded up to `multiple` by reflect-101. */
export function padToMultiple(image: Planes, multiple: number): { data: Float32Array; dims: number[] } {
  const { width, height, channels } = image;
  const paddedWidth = Math.ceil(width / multiple) * multiple;
  const paddedHeight = Math.ceil(height / multiple) * multiple;
  const reflect = (i: number, n: number) => {
    if (n === 1) return 0;
    const period = 2 * n - 2;
    const r = ((i % period) + period) % period;
    return r < n ? r : period - r;
  };
  const data = new Float32Array(channels * paddedWidth * paddedHeight);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < paddedHeight; y++) {
      const source = c * width * height + reflect(y, height) * width;
      const target = (c * paddedHeight + y) * paddedWidth;
      data.set(image.data.subarray(source, source + width), target);
      for (let x = width; x < paddedWidth; x++) data[target + x] = image.data[source + reflect(x, width)];
    }
  }
  return { data, dims: [channels, 1, paddedHeight, paddedWidth] };
}

/**
 * The model's padded output (`dims` [channels, 1, H', W']) cropped to `image` and mixed with it:
 * clamp01((1 - mix) image + mix output). At mix 1 the image's samples are not read (its data may be empty).
 * Throws when the output is not the size of the batch or not finite.
 */
export function cropAndMix(output: Float32Array, dims: number[], image: Planes, mix: number, modelName: string): Float32Array {
  const [, , paddedHeight, paddedWidth] = dims;
  const expected = dims.reduce((product, dim) => product * dim, 1);
  if (output.length !== expected) throw new Error(`model ${modelName} returned ${output.length} values for an input of ${expected}`);
  const { width, height, channels } = image;
  const result = new Float32Array(width * height * channels);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const row = (c * height + y) * width;
      const padded = (c * paddedHeight + y) * paddedWidth;
      for (let x = 0; x < width; x++) {
        const generated = output[padded + x];
        if (!Number.isFinite(generated)) throw new Error(`model ${modelName} produced a non-finite value`);
        const value = mix === 1 ? generated : (1 - mix) * image.data[row + x] + mix * generated;
        result[row + x] = value < 0 ? 0 : value > 1 ? 1 : value;
      }
    }
  }
  return result;
}
