/**
 * One inference worker thread (started by InferencePool in inference.ts). onnxruntime's session creation and
 * run block the thread that calls them, so they happen here, never on the server's event loop.
 *
 * Self-contained on purpose (only node: modules, onnxruntime-node, the native addon, loaded by the path in
 * workerData, and the import-free imaging/planes.ts and imaging/resize.ts; types by `import type`): a worker
 * thread loads nothing it does not need (under jest, through platform/worker.ts's transpile hook).
 *
 * Requests are handled one at a time, in order. Sessions are cached per model path and SHA-256 of the bytes
 * they were created from: a file replaced in place (a re-registered model) gets a new session.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { NativeEngine } from '../platform/native';
import type { FeatureImage, WorkerReply, WorkerRequest, WorkerSettings } from './inference';
import { cropAndMix, padToMultiple, type Planes } from '../imaging/planes';
import { resampleRegion } from '../imaging/resize';

type RunRequest = Extract<WorkerRequest, { kind: 'run' }>;
type DistanceRequest = Extract<WorkerRequest, { kind: 'distance' }>;
type ImageRequest = Extract<WorkerRequest, { kind: 'image' }>;
type ClassifyRequest = Extract<WorkerRequest, { kind: 'classify' }>;

const settings = workerData as WorkerSettings;

// onnxruntime's own logger prints a red line for every failed CUDA probe; failures reach us as exceptions
// and are reported in the result's note or the rejection, so the logger stays quiet.
ort.env.logLevel = 'fatal';

interface CachedSession {
  /** size, mtime and inode: when unchanged, the file is not read and hashed again. */
  stamp: string;
  sha256: string;
  session: ort.InferenceSession;
  provider: 'cpu' | 'cuda';
  note: string | null;
}

const sessions = new Map<string, CachedSession>(); // by path, least recently used first
/** Why CUDA failed in auto mode, once: every later session goes straight to the CPU. */
let cudaFailure: string | null = null;

async function createSession(bytes: Uint8Array): Promise<Omit<CachedSession, 'stamp' | 'sha256'>> {
  const create = (providers: string[]) => ort.InferenceSession.create(bytes, { executionProviders: providers });
  if (settings.provider === 'cpu') return { session: await create(['cpu']), provider: 'cpu', note: null };
  if (settings.provider === 'cuda') {
    try {
      return { session: await create(['cuda']), provider: 'cuda', note: null };
    } catch (error) {
      // A bad model file fails on any provider: let the CPU say so, rather than blame CUDA.
      const cpu = await create(['cpu']);
      await cpu.release();
      throw new Error(`provider cuda was asked for, but CUDA is not available to onnxruntime: ${(error as Error).message}`);
    }
  }
  if (cudaFailure === null) {
    // ['cuda', 'cpu'] runs on CUDA with the CPU for the operators CUDA lacks; it does not fall back when the
    // CUDA provider itself cannot load (it rejects), hence the retry below.
    try {
      return { session: await create(['cuda', 'cpu']), provider: 'cuda', note: null };
    } catch (error) {
      const session = await create(['cpu']); // a bad model file fails here too, and that error is the one thrown
      cudaFailure = (error as Error).message;
      return { session, provider: 'cpu', note: `auto fell back to CPU: ${cudaFailure}` };
    }
  }
  return { session: await create(['cpu']), provider: 'cpu', note: `auto fell back to CPU: ${cudaFailure}` };
}

async function sessionFor(modelPath: string): Promise<CachedSession> {
  let stat;
  try {
    stat = statSync(modelPath);
  } catch {
    throw new Error(`model file not found: ${modelPath}`);
  }
  const stamp = `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
  let cached = sessions.get(modelPath);
  if (!cached || cached.stamp !== stamp) {
    // One read for the hash and the session, so the session is made from exactly the bytes hashed.
    const bytes = readFileSync(modelPath);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (cached && cached.sha256 === sha256) {
      cached.stamp = stamp; // touched, same content
    } else {
      if (cached) await cached.session.release();
      sessions.delete(modelPath);
      cached = { stamp, sha256, ...(await createSession(bytes)) };
    }
  }
  sessions.delete(modelPath); // re-insert: the Map's order is the LRU order
  sessions.set(modelPath, cached);
  while (sessions.size > settings.maxSessions) {
    const [oldest, entry] = sessions.entries().next().value!;
    sessions.delete(oldest);
    await entry.session.release();
  }
  return cached;
}

/** Checks the feeds against the graph's declared inputs, for a message that names the input and its dims. */
function checkInputs(session: ort.InferenceSession, request: RunRequest): void {
  for (const name of Object.keys(request.inputs)) {
    if (!session.inputNames.includes(name)) {
      throw new Error(`unknown input "${name}"; the model's inputs are ${session.inputNames.join(', ')}`);
    }
  }
  for (const meta of session.inputMetadata) {
    const feed = request.inputs[meta.name];
    if (!feed) throw new Error(`missing input "${meta.name}"`);
    if (!meta.isTensor) continue;
    const declared = meta.shape;
    const fits = declared.length === feed.dims.length && declared.every((dim, i) => typeof dim !== 'number' || dim === feed.dims[i]);
    if (!fits) throw new Error(`input "${meta.name}" must have dims [${declared.join(', ')}], got [${feed.dims.join(', ')}]`);
  }
}

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  if (request.kind === 'distance') return handleDistance(request);
  if (request.kind === 'image') return handleImage(request);
  if (request.kind === 'classify') return handleClassify(request);
  const cached = await sessionFor(request.modelPath);
  checkInputs(cached.session, request);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, input] of Object.entries(request.inputs)) feeds[name] = new ort.Tensor('float32', input.data, input.dims);
  const results = request.outputNames ? await cached.session.run(feeds, request.outputNames) : await cached.session.run(feeds);
  const outputs: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [name, tensor] of Object.entries(results)) {
    if (tensor.type !== 'float32') throw new Error(`output "${name}" is ${tensor.type}; only float32 outputs are supported`);
    outputs[name] = { data: tensor.data as Float32Array, dims: [...tensor.dims] };
  }
  return { id: request.id, ok: true, outputs, provider: cached.provider, note: cached.note };
}

// ---- Image-to-image models (the CNN-based distortion kinds): pad, run, crop and mix, all on this thread.

async function handleImage(request: ImageRequest): Promise<WorkerReply> {
  const cached = await sessionFor(request.modelPath);
  const batch = padToMultiple({ ...request.image, data: request.corrupted ?? request.image.data }, request.sizeMultiple);
  const results = await cached.session.run({ [request.inputName]: new ort.Tensor('float32', batch.data, batch.dims) }, [request.outputName]);
  const output = results[request.outputName];
  if (output.type !== 'float32') throw new Error(`output "${request.outputName}" is ${output.type}; only float32 outputs are supported`);
  const image = cropAndMix(output.data as Float32Array, batch.dims, request.image, request.mix, request.name);
  return { id: request.id, ok: true, image, provider: cached.provider, note: cached.note };
}

// ---- Classifiers: each image as the model was trained on it, then one batch.

/** An image resampled (antialiased bilinear) to width x height; the image itself when it has that size. */
function resampled<T extends Planes>(image: T, width: number, height: number): T {
  if (image.width === width && image.height === height) return image;
  const planes = { ...image, channels: image.channels as 1 | 3 };
  return { ...image, ...resampleRegion(planes, { x: 0, y: 0, width: image.width, height: image.height }, width, height) };
}

async function handleClassify(request: ClassifyRequest): Promise<WorkerReply> {
  const cached = await sessionFor(request.modelPath);
  const [height, width] = request.size;
  const plane = width * height;
  const input = new Float32Array(request.images.length * plane);
  request.images.forEach((image, index) => {
    const grey = new Float32Array(image.width * image.height);
    inputPlanes(image, 1, grey, 0); // BT.601 luma of RGB, as the training package reads it
    input.set(resampled({ data: grey, width: image.width, height: image.height, channels: 1 }, width, height).data, index * plane);
  });
  const results = await cached.session.run({ [request.inputName]: new ort.Tensor('float32', input, [request.images.length, 1, height, width]) }, ['logits']);
  const logits = results.logits;
  if (logits.type !== 'float32') throw new Error(`output "logits" is ${logits.type}; only float32 outputs are supported`);
  return { id: request.id, ok: true, outputs: { logits: { data: logits.data as Float32Array, dims: [...logits.dims] } }, provider: cached.provider, note: cached.note };
}

// ---- Deep-feature distances (LPIPS-style).

/** A feature map of one image: channels x height x width, row-major. */
interface FeatureMap {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/** Features of recent images by model hash, image key and layers, least recently used first, within a byte budget. */
const FEATURE_CACHE_BYTES = 256 * 1024 * 1024;
const featureCache = new Map<string, { maps: FeatureMap[]; bytes: number }>();
let featureCacheBytes = 0;

function keepFeatures(key: string, maps: FeatureMap[]): void {
  const bytes = maps.reduce((sum, map) => sum + map.data.byteLength, 0);
  if (bytes > FEATURE_CACHE_BYTES / 4) return; // one huge image would evict everything else
  featureCache.set(key, { maps, bytes });
  featureCacheBytes += bytes;
  for (const [oldest, entry] of featureCache) {
    if (featureCacheBytes <= FEATURE_CACHE_BYTES) break;
    featureCache.delete(oldest);
    featureCacheBytes -= entry.bytes;
  }
}

/** Images go through the model in batches of at most this many pixels (a ResNet50 holds ~1 KB per input pixel). */
const MAX_BATCH_PIXELS = 1 << 20;

/** The graph's input for one image: RGB to BT.601 luma for a 1-channel graph, grey repeated for a 3-channel one. */
function inputPlanes(image: Planes, channels: 1 | 3, out: Float32Array, offset: number): void {
  const plane = image.width * image.height;
  if (image.channels === channels) {
    out.set(image.data, offset);
  } else if (channels === 3) {
    for (let c = 0; c < 3; c++) out.set(image.data, offset + c * plane);
  } else {
    const { data } = image;
    for (let i = 0; i < plane; i++) out[offset + i] = 0.299 * data[i] + 0.587 * data[plane + i] + 0.114 * data[2 * plane + i];
  }
}

let engine: NativeEngine | null = null;

/**
 * The native engine, for the feature distance (LPIPS's formula: native/include/medpsim/feature_distance.hpp),
 * loaded on the first distance request: an N-API addon, so each worker thread gets its own instance.
 */
function nativeEngine(): NativeEngine {
  if (!engine) {
    try {
      engine = require(settings.addonPath) as NativeEngine;
    } catch (error) {
      throw new Error(`the native engine is not built (${settings.addonPath}): run \`npm run build:native\`. ${(error as Error).message}`);
    }
  }
  return engine;
}

/** LPIPS's distance between two images' feature maps (one per layer), computed by the engine. */
function featureDistance(a: FeatureMap[], b: FeatureMap[], weights: Array<Float32Array | null>): number {
  const shapes = a.map((map) => ({ channels: map.channels, pixels: map.height * map.width }));
  return nativeEngine().featureDistance(
    a.map((map) => map.data),
    b.map((map) => map.data),
    shapes,
    weights,
  );
}

async function handleDistance(request: DistanceRequest): Promise<WorkerReply> {
  const cached = await sessionFor(request.modelPath);
  const { session } = cached;
  if (!session.inputNames.includes(request.inputName)) throw new Error(`the model has no input "${request.inputName}"; its inputs are ${session.inputNames.join(', ')}`);
  for (const layer of request.layers) {
    if (!session.outputNames.includes(layer)) throw new Error(`the model has no feature output "${layer}"; its outputs are ${session.outputNames.join(', ')}`);
  }
  const cacheKey = (image: FeatureImage) => (image.key === null ? null : `${cached.sha256}|${image.key}|${request.layers.join(',')}`);
  const features: Array<FeatureMap[] | null> = request.images.map((image) => {
    const key = cacheKey(image);
    const hit = key === null ? undefined : featureCache.get(key);
    if (!hit) return null;
    featureCache.delete(key!); // re-insert: most recently used
    featureCache.set(key!, hit);
    return hit.maps;
  });
  // The rest in batches of one size (the graph takes any size, one per run), each image once even when
  // it appears in several pairs (a 2AFC reference).
  const needed = new Map<string, number[]>();
  const seen = new Set<string>();
  const computed = new Map<string, FeatureMap[]>();
  // At the graph's input size (resampled here, only the images whose features are not kept).
  const sized = new Map<number, FeatureImage>();
  request.images.forEach((image, index) => {
    if (features[index]) return;
    const key = cacheKey(image);
    if (key !== null && seen.has(key)) return;
    if (key !== null) seen.add(key);
    const input = request.inputSize === null ? image : resampled(image, request.inputSize, request.inputSize);
    sized.set(index, input);
    const size = `${input.width}x${input.height}`;
    needed.set(size, [...(needed.get(size) ?? []), index]);
  });
  for (const indices of needed.values()) {
    const { width, height } = sized.get(indices[0])!;
    const per = Math.max(1, Math.floor(MAX_BATCH_PIXELS / (width * height)));
    for (let start = 0; start < indices.length; start += per) {
      const batch = indices.slice(start, start + per);
      const plane = width * height * request.inputChannels;
      const input = new Float32Array(batch.length * plane);
      batch.forEach((index, b) => inputPlanes(sized.get(index)!, request.inputChannels, input, b * plane));
      const outputs = await session.run({ [request.inputName]: new ort.Tensor('float32', input, [batch.length, request.inputChannels, height, width]) }, request.layers);
      batch.forEach((index, b) => {
        const maps = request.layers.map((layer) => {
          const tensor = outputs[layer];
          if (tensor.type !== 'float32' || tensor.dims.length !== 4) throw new Error(`feature output "${layer}" must be float32 [batch, channels, height, width], got ${tensor.type} [${tensor.dims.join(', ')}]`);
          const [, channels, h, w] = tensor.dims;
          const size = channels * h * w;
          return { data: (tensor.data as Float32Array).slice(b * size, (b + 1) * size), channels, height: h, width: w };
        });
        features[index] = maps;
        const key = cacheKey(request.images[index]);
        if (key !== null) {
          computed.set(key, maps);
          keepFeatures(key, maps);
        }
      });
    }
  }
  // Images whose key repeated within this request take the features computed for the first.
  request.images.forEach((image, index) => {
    const key = cacheKey(image);
    if (!features[index] && key !== null) features[index] = computed.get(key) ?? null;
  });
  const weights = request.layers.map((layer) => request.weights?.[layer] ?? null);
  request.layers.forEach((layer, i) => {
    const w = weights[i];
    const channels = features.find((f) => f)?.[i].channels;
    if (w && w.length !== channels) throw new Error(`weights for "${layer}" have ${w.length} channels, the layer has ${channels}`);
  });
  const distances = request.pairs.map(([i, j]) => {
    const a = features[i];
    const b = features[j];
    if (!a || !b) throw new Error(`pair [${i}, ${j}] names an image that is not in the request`);
    if (a.some((map, layer) => map.height !== b[layer].height || map.width !== b[layer].width)) throw new Error('images of a pair differ in size');
    return featureDistance(a, b, weights);
  });
  return { id: request.id, ok: true, distances, provider: cached.provider, note: cached.note };
}

function failure(id: number, error: unknown): WorkerReply {
  return { id, ok: false, error: error instanceof Error ? error.message : String(error) };
}

async function answer(request: WorkerRequest): Promise<void> {
  let reply: WorkerReply;
  try {
    reply = await handle(request);
  } catch (error) {
    reply = failure(request.id, error);
  }
  try {
    // The output buffers move to the main thread instead of being copied; this thread keeps no reference.
    const transfer =
      reply.ok && 'outputs' in reply
        ? [...new Set(Object.values(reply.outputs).map((output) => output.data.buffer as ArrayBuffer))]
        : reply.ok && 'image' in reply
          ? [reply.image.buffer as ArrayBuffer]
          : [];
    parentPort!.postMessage(reply, transfer);
  } catch (error) {
    parentPort!.postMessage(failure(request.id, error));
  }
}

// One request at a time, in arrival order; answer() never rejects, so the chain never stalls.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => answer(request));
});
