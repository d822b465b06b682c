/**
 * One inference worker thread (started by InferencePool in inference.ts). onnxruntime's session creation and
 * run block the thread that calls them, so they happen here, never on the server's event loop.
 *
 * Self-contained on purpose (only node: modules and onnxruntime-node, message types by `import type`): under
 * jest this file is transpiled on the fly and run from a string (see inference.ts).
 *
 * Requests are handled one at a time, in order. Sessions are cached per model path and SHA-256 of the bytes
 * they were created from: a file replaced in place (a re-registered model) gets a new session.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { WorkerReply, WorkerRequest, WorkerSettings } from './inference';

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
function checkInputs(session: ort.InferenceSession, request: WorkerRequest): void {
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
  const cached = await sessionFor(request.modelPath);
  checkInputs(cached.session, request);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, input] of Object.entries(request.inputs)) feeds[name] = new ort.Tensor('float32', input.data, input.dims);
  const results = request.outputNames ? await cached.session.run(feeds, request.outputNames) : await cached.session.run(feeds);
  const outputs: Extract<WorkerReply, { ok: true }>['outputs'] = {};
  for (const [name, tensor] of Object.entries(results)) {
    if (tensor.type !== 'float32') throw new Error(`output "${name}" is ${tensor.type}; only float32 outputs are supported`);
    outputs[name] = { data: tensor.data as Float32Array, dims: [...tensor.dims] };
  }
  return { id: request.id, ok: true, outputs, provider: cached.provider, note: cached.note };
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
    const transfer = reply.ok ? [...new Set(Object.values(reply.outputs).map((output) => output.data.buffer as ArrayBuffer))] : [];
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
