/**
 * ONNX inference on worker threads (inference-worker.ts) with onnxruntime-node: creating a session and running
 * it block the calling thread, so the event loop never does either. A small pool; each worker caches its
 * sessions, and a request goes preferably to an idle worker that already has the model loaded.
 *
 * Failures inside a worker (a bad model file, wrong input dims) reject that request only; a worker that dies
 * rejects its pending requests and is replaced on the next request.
 */
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { ADDON_PATH } from '../platform/native';
import { moduleFile, startModuleWorker } from '../platform/worker';
import type { Planes } from '../imaging/planes';

export interface TensorData {
  data: Float32Array;
  dims: number[];
}

export interface InferenceResult {
  outputs: Record<string, TensorData>;
  /** Where the session runs: 'cuda' when the CUDA execution provider loaded (CPU kernels fill its gaps). */
  provider: 'cpu' | 'cuda';
  /** Why it is not what was asked for (e.g. "auto fell back to CPU: ..."); null otherwise. */
  note: string | null;
}

/** auto: CUDA when onnxruntime can load it, else the CPU with a note; cpu; cuda: CUDA or a rejection. */
export type ProviderChoice = 'auto' | 'cpu' | 'cuda';
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'cpu', 'cuda'];

/** Sessions a worker keeps (least recently used one released first): a ResNet50 holds ~100 MB. */
const MAX_SESSIONS_PER_WORKER = 4;

/** workerData of every worker. */
export interface WorkerSettings {
  provider: ProviderChoice;
  maxSessions: number;
  /** The native engine's addon (ADDON_PATH), which the worker loads for the feature distance. */
  addonPath: string;
}

/** An image for a deep-feature distance: planar float samples in [0, 1], as the engine holds them. */
export interface FeatureImage {
  /** Identifies the pixels (a content hash): the worker keeps the features of recent keys. Null: not kept. */
  key: string | null;
  data: Float32Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/**
 * LPIPS-style distances between images (the native engine's featureDistance): each image goes through the
 * model once (or not at all when its features are still kept), then each pair's distance is computed from
 * the named feature outputs.
 */
export interface DistanceJob {
  inputName: string;
  /** The side the graph takes (images resampled to it on the worker, src/imaging/resize.ts); null: any size. */
  inputSize: number | null;
  /** Channels the graph takes: RGB images become luma for 1, grey images are repeated for 3. */
  inputChannels: 1 | 3;
  layers: string[];
  /** Non-negative weights per channel of each layer (LPIPS's "lin" layers); null: every channel weighs 1. */
  weights: Record<string, Float32Array> | null;
  images: FeatureImage[];
  /** Indices into images. */
  pairs: Array<[number, number]>;
}

export interface DistanceResult {
  distances: number[];
  provider: 'cpu' | 'cuda';
  note: string | null;
}

/**
 * An image-to-image model on planar images (the CNN-based distortion kinds), all of it on the worker: the
 * model's input (the corrupted image, or the image) padded to `sizeMultiple` by reflect-101 with its
 * channels as the batch, the output cropped back and mixed with the image (src/imaging/planes.ts).
 */
export interface ImageJob {
  /** For messages: the model's registered name. */
  name: string;
  inputName: string;
  outputName: string;
  sizeMultiple: number;
  image: Planes;
  /** The model's input when it is not the image itself; handed over to the worker (detached here). */
  corrupted: Float32Array | null;
  /** clamp01((1 - mix) image + mix output). */
  mix: number;
}

/**
 * A classifier on images (the evaluation's predictions), prepared on the worker as it was trained: luma,
 * then the antialiased bilinear resize to `size` ([height, width], src/imaging/resize.ts), one batch.
 */
export interface ClassifyJob {
  inputName: string;
  size: [number, number];
  images: Planes[];
}

export type WorkerRequest =
  | { kind: 'run'; id: number; modelPath: string; inputs: Record<string, TensorData>; outputNames?: string[] }
  | ({ kind: 'distance'; id: number; modelPath: string } & DistanceJob)
  | ({ kind: 'image'; id: number; modelPath: string } & ImageJob)
  | ({ kind: 'classify'; id: number; modelPath: string } & ClassifyJob);

export type WorkerReply =
  | { id: number; ok: true; outputs: Record<string, TensorData>; provider: 'cpu' | 'cuda'; note: string | null }
  | { id: number; ok: true; distances: number[]; provider: 'cpu' | 'cuda'; note: string | null }
  | { id: number; ok: true; image: Float32Array; provider: 'cpu' | 'cuda'; note: string | null }
  | { id: number; ok: false; error: string };

interface Pending {
  modelPath: string;
  resolve(reply: Extract<WorkerReply, { ok: true }>): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Models sent to this worker (it probably still has their sessions). */
  models: Set<string>;
}

export class InferencePool {
  readonly size: number;
  readonly provider: ProviderChoice;
  private slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: { size?: number; provider?: ProviderChoice } = {}) {
    this.size = options.size ?? 1;
    this.provider = options.provider ?? 'auto';
    if (!Number.isInteger(this.size) || this.size < 1 || this.size > 64) throw new Error(`InferencePool size must be an integer in [1, 64], got ${this.size}`);
    if (!PROVIDER_CHOICES.includes(this.provider)) throw new Error(`InferencePool provider must be one of ${PROVIDER_CHOICES.join(', ')}, got ${this.provider}`);
  }

  /**
   * Runs the model at `modelPath` (an .onnx file) on float32 inputs by name; `outputNames` picks outputs (all
   * by default). The inputs are copied, never modified; the outputs are fresh arrays owned by the caller.
   */
  async run(modelPath: string, inputs: Record<string, TensorData>, outputNames?: string[]): Promise<InferenceResult> {
    if (this.closed) throw new Error('the inference pool is closed');
    const { copies, transfer } = copyInputs(inputs);
    const reply = await this.send({ kind: 'run', id: this.nextId++, modelPath: path.resolve(modelPath), inputs: copies, outputNames }, transfer);
    if (!('outputs' in reply)) throw new Error('the inference worker answered a run with something else');
    return { outputs: reply.outputs, provider: reply.provider, note: reply.note };
  }

  /**
   * Deep-feature distances on a worker thread: the images are copied to it (never modified here); only the
   * distances come back, so feature maps (hundreds of MB for a ResNet50 on a large image) stay there.
   */
  async distances(modelPath: string, job: DistanceJob): Promise<DistanceResult> {
    if (this.closed) throw new Error('the inference pool is closed');
    const images = job.images.map((image) => ({ ...image, data: image.data.slice() }));
    const request: WorkerRequest = { kind: 'distance', id: this.nextId++, modelPath: path.resolve(modelPath), ...job, images };
    const reply = await this.send(request, images.map((image) => image.data.buffer as ArrayBuffer));
    if (!('distances' in reply)) throw new Error('the inference worker answered a distance request with something else');
    return { distances: reply.distances, provider: reply.provider, note: reply.note };
  }

  /**
   * An image-to-image model run on a worker thread, padding, crop and mix included (ImageJob). The image is
   * copied to the worker (never modified here; not at all when the corrupted input is given and mix is 1);
   * `corrupted` is handed over, not copied. Resolves to the mixed image's planes.
   */
  async image(modelPath: string, job: ImageJob): Promise<Float32Array> {
    if (this.closed) throw new Error('the inference pool is closed');
    const needsImage = job.corrupted === null || job.mix !== 1;
    const image = { ...job.image, data: needsImage ? job.image.data.slice() : new Float32Array(0) };
    const transfer = [image.data.buffer as ArrayBuffer, ...(job.corrupted ? [job.corrupted.buffer as ArrayBuffer] : [])];
    const reply = await this.send({ kind: 'image', id: this.nextId++, modelPath: path.resolve(modelPath), ...job, image }, transfer);
    if (!('image' in reply)) throw new Error('the inference worker answered an image request with something else');
    return reply.image;
  }

  /** The logits ([images, classes]) of a classifier on images prepared on the worker (ClassifyJob); the images are copied. */
  async classify(modelPath: string, job: ClassifyJob): Promise<TensorData> {
    if (this.closed) throw new Error('the inference pool is closed');
    const images = job.images.map((image) => ({ ...image, data: image.data.slice() }));
    const request: WorkerRequest = { kind: 'classify', id: this.nextId++, modelPath: path.resolve(modelPath), ...job, images };
    const reply = await this.send(request, images.map((image) => image.data.buffer as ArrayBuffer));
    if (!('outputs' in reply) || !reply.outputs.logits) throw new Error('the inference worker answered a classify request without logits');
    return reply.outputs.logits;
  }

  private send(request: WorkerRequest, transfer: ArrayBuffer[]): Promise<Extract<WorkerReply, { ok: true }>> {
    if (this.closed) return Promise.reject(new Error('the inference pool is closed'));
    const slot = this.pick(request.modelPath);
    return new Promise((resolve, reject) => {
      slot.pending.set(request.id, { modelPath: request.modelPath, resolve, reject });
      slot.models.add(request.modelPath);
      slot.worker.postMessage(request, transfer);
    });
  }

  /** Stops the workers; requests still running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    await Promise.all(
      slots.map((slot) => {
        this.failPending(slot, 'the inference pool was closed');
        return slot.worker.terminate();
      }),
    );
  }

  /** An idle worker with the model, else a new worker while below size, else the least busy (with the model on ties). */
  private pick(modelPath: string): Slot {
    const idleWithModel = this.slots.find((slot) => slot.pending.size === 0 && slot.models.has(modelPath));
    if (idleWithModel) return idleWithModel;
    if (this.slots.length < this.size) return this.spawn();
    const load = (slot: Slot) => slot.pending.size * 2 + (slot.models.has(modelPath) ? 0 : 1);
    return this.slots.reduce((best, slot) => (load(slot) < load(best) ? slot : best));
  }

  private spawn(): Slot {
    const slot: Slot = { worker: startModuleWorker(moduleFile(__dirname, 'inference-worker'), { provider: this.provider, maxSessions: MAX_SESSIONS_PER_WORKER, addonPath: ADDON_PATH } satisfies WorkerSettings), pending: new Map(), models: new Set() };
    slot.worker.on('message', (reply: WorkerReply) => {
      const pending = slot.pending.get(reply.id);
      if (!pending) return;
      slot.pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply);
      else pending.reject(new Error(`inference with ${pending.modelPath} failed: ${reply.error}`));
    });
    // A worker that throws outside a request, or exits, takes its pending requests with it; the next
    // request starts a new worker.
    slot.worker.on('error', (error) => this.retire(slot, `the inference worker crashed: ${error.message}`));
    slot.worker.on('exit', (code) => this.retire(slot, `the inference worker exited (code ${code})`));
    this.slots.push(slot);
    return slot;
  }

  private retire(slot: Slot, reason: string): void {
    this.slots = this.slots.filter((other) => other !== slot);
    this.failPending(slot, reason);
  }

  private failPending(slot: Slot, reason: string): void {
    for (const pending of slot.pending.values()) pending.reject(new Error(`inference with ${pending.modelPath} failed: ${reason}`));
    slot.pending.clear();
  }
}

/**
 * Checks the inputs and copies them for the worker (the copies are transferred, not cloned again). Typed
 * arrays are recognised by their tag, not instanceof: one made by a native addon, or in another realm
 * (jest runs tests in a vm context), is still a Float32Array.
 */
function copyInputs(inputs: Record<string, TensorData>): { copies: Record<string, TensorData>; transfer: ArrayBuffer[] } {
  if (typeof inputs !== 'object' || inputs === null || Object.keys(inputs).length === 0) throw new Error('inference needs at least one input');
  const copies: Record<string, TensorData> = {};
  const transfer: ArrayBuffer[] = [];
  for (const [name, input] of Object.entries(inputs)) {
    if (Object.prototype.toString.call(input?.data) !== '[object Float32Array]') throw new Error(`input "${name}": data must be a Float32Array`);
    if (!Array.isArray(input.dims) || !input.dims.every((dim) => Number.isInteger(dim) && dim >= 0)) {
      throw new Error(`input "${name}": dims must be a list of integers >= 0`);
    }
    const count = input.dims.reduce((product, dim) => product * dim, 1);
    if (count !== input.data.length) throw new Error(`input "${name}": dims [${input.dims.join(', ')}] hold ${count} values, data has ${input.data.length}`);
    const data = input.data.slice();
    copies[name] = { data, dims: [...input.dims] };
    transfer.push(data.buffer as ArrayBuffer);
  }
  return { copies, transfer };
}

