/**
 * The native engine (native/, built by `npm run build:native` into build/Release): distortion kernels and
 * the pixel conversions at the edges of the store. Its work runs on the addon's worker threads, never on
 * the event loop.
 */
import path from 'node:path';
import { packageRoot } from './paths';

/** The kernels' pixel format: float32 planar samples in [0, 1]. */
export interface FloatImage {
  /** Planar: all of channel 0, then channel 1, ...; row-major within a channel. */
  data: Float32Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface NativeItem extends FloatImage {
  seed: bigint;
  /**
   * Where the result goes (the same length as `data`; sharing memory with no input or other `out` of the call),
   * returned in its place: a caller that keeps its outputs reuses them instead of leaving one fresh array per call
   * to the collector. Every sample is written; leave it alone until the promise settles.
   */
  out?: Float32Array;
}

export interface NativeStep {
  kind: string;
  params: Record<string, number>;
}

export interface NativeBackends {
  cpu: true;
  cuda: boolean;
  cudaDevices: number;
  cudaReason: string;
  /** Kinds with CUDA kernels in this build. */
  cudaKinds: string[];
}

/** Two images of the same shape to compare, with the data range L in sample units (see src/metrics). */
export interface NativePair {
  a: Float32Array;
  b: Float32Array;
  width: number;
  height: number;
  channels: 1 | 3;
  dataRange: number;
}

export interface NativeScores {
  /** values[pair * metrics + metric]; NaN where that one failed. */
  values: Float64Array;
  /** Why each failed ('' where it did not), in the same order. */
  errors: string[];
  /** Per-pixel maps (1 channel, the input's size) when asked for, in the same order; empty where failed. */
  maps: Float32Array[];
}

export interface NativeEngine {
  /** Each metric on every pair, on a worker thread. */
  score(pairs: NativePair[], metrics: Array<{ name: string; params: Record<string, number> }>, options?: { threads?: number; maps?: boolean; backend?: 'cpu' | 'cuda' }): Promise<NativeScores>;
  metrics(): Array<{ name: string; family: string; direction: string; channels: string; params: string[] }>;
  distort(items: NativeItem[], steps: NativeStep[], options?: { threads?: number; backend?: 'cpu' | 'cuda' }): Promise<Float32Array[]>;
  /** Interleaved 8- or 16-bit samples to float planar in [0, 1] (divided by 255 or 65535). */
  planarFloat(samples: Uint8Array | Uint16Array, width: number, height: number, channels: number): Promise<Float32Array>;
  /**
   * A whole PNG (native/include/medpsim/png.hpp): of float planar samples rounded to 8- or 16-bit levels, or
   * of interleaved levels (a Uint8Array or Uint16Array; bitDepth follows from it).
   */
  pngEncode(data: Float32Array | Uint8Array | Uint16Array, width: number, height: number, channels: number, bitDepth?: 8 | 16): Promise<Uint8Array>;
  /** 8- or 16-bit levels through a linear display window (src/imaging/render.ts windowValue); without one, their own min..max. */
  windowTo8bit(samples: Uint8Array | Uint16Array, center?: number, width?: number): Promise<Uint8Array>;
  kinds(): Array<{ name: string; family: string; random: boolean; needsColor: boolean; params: string[] }>;
  backends(): NativeBackends;
  /**
   * The LPIPS-style distance of two images' feature maps (native/include/medpsim/feature_distance.hpp), one
   * entry per layer in each list: maps channels x pixels, channel-major; weights per channel or null (1).
   * Synchronous (milliseconds; the inference worker calls it on its own thread). Throws a TypeError or
   * RangeError for malformed arguments.
   */
  featureDistance(layersA: Float32Array[], layersB: Float32Array[], shapes: Array<{ channels: number; pixels: number }>, weights: Array<Float32Array | null>): number;
}

export const ADDON_PATH = path.join(packageRoot(), 'build', 'Release', 'medpsim_native.node');

let engine: NativeEngine | null = null;

/** Loads the addon once; a clear error says how to build it when it is missing. */
export function nativeEngine(): NativeEngine {
  if (!engine) {
    try {
      engine = require(ADDON_PATH) as NativeEngine;
    } catch (error) {
      throw new Error(
        `the native engine is not built (${ADDON_PATH}): run \`npm run build:native\` ` +
          `(needs cmake and a C++17 compiler). ${(error as Error).message}`,
      );
    }
  }
  return engine;
}
