/** InferencePool with real onnxruntime on worker threads: results, bad input, bad files, crashed workers, providers. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InferencePool, type TensorData } from '../../src/models/inference';
import { tinyOnnxModel } from '../helpers/models';

let dir: string;
let model: string;
const pools: InferencePool[] = [];

function pool(options: ConstructorParameters<typeof InferencePool>[0] = {}): InferencePool {
  const created = new InferencePool(options);
  pools.push(created);
  return created;
}

function image(dims: number[], fill = (i: number) => i / 10): TensorData {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = fill(i);
  return { data, dims };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'medpsim-inference-'));
  model = path.join(dir, 'times2.onnx');
  writeFileSync(model, tinyOnnxModel(2));
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  rmSync(dir, { recursive: true, force: true });
});

it('runs a model on a worker and returns its outputs by name, leaving the inputs alone', async () => {
  const p = pool({ provider: 'cpu' });
  const input = image([2, 1, 3, 4]);
  const result = await p.run(model, { input });
  expect(result.provider).toBe('cpu');
  expect(result.note).toBeNull();
  expect(Object.keys(result.outputs)).toEqual(['output']);
  expect(result.outputs.output.dims).toEqual([2, 1, 3, 4]);
  expect(Array.from(result.outputs.output.data)).toEqual(Array.from(input.data, (v) => Math.fround(v * 2)));
  expect(input.data[5]).toBeCloseTo(0.5, 6); // copied to the worker, not transferred away
  // Picking outputs by name, and another size (dynamic height and width)
  const picked = await p.run(model, { input: image([1, 1, 5, 7]) }, ['output']);
  expect(picked.outputs.output.dims).toEqual([1, 1, 5, 7]);
});

it('rejects wrong input dims, unknown names and inconsistent data with a clear message, and stays usable', async () => {
  const p = pool({ provider: 'cpu' });
  await expect(p.run(model, { input: image([1, 2, 4, 4]) })).rejects.toThrow(
    /times2\.onnx failed: input "input" must have dims \[batch, 1, height, width\], got \[1, 2, 4, 4\]/,
  );
  await expect(p.run(model, { input: image([1, 4, 4]) })).rejects.toThrow(/must have dims .*got \[1, 4, 4\]/);
  await expect(p.run(model, { picture: image([1, 1, 4, 4]) })).rejects.toThrow(/unknown input "picture"; the model's inputs are input/);
  await expect(p.run(model, { input: image([1, 1, 4, 4]) }, ['nope'])).rejects.toThrow(/invalid output name: nope/);
  await expect(p.run(model, { input: { data: new Float32Array(15), dims: [1, 1, 4, 4] } })).rejects.toThrow(/hold 16 values, data has 15/);
  await expect(p.run(model, { input: { data: [1, 2] as unknown as Float32Array, dims: [1, 1, 1, 2] } })).rejects.toThrow(/must be a Float32Array/);
  const ok = await p.run(model, { input: image([1, 1, 2, 2]) });
  expect(ok.outputs.output.dims).toEqual([1, 1, 2, 2]);
});

it('rejects a missing or corrupt model file and stays usable', async () => {
  const p = pool({ provider: 'cpu' });
  await expect(p.run(path.join(dir, 'missing.onnx'), { input: image([1, 1, 2, 2]) })).rejects.toThrow(/model file not found: .*missing\.onnx/);
  const corrupt = path.join(dir, 'corrupt.onnx');
  writeFileSync(corrupt, 'not a protobuf at all');
  await expect(p.run(corrupt, { input: image([1, 1, 2, 2]) })).rejects.toThrow(/corrupt\.onnx failed: .*protobuf parsing failed/i);
  expect((await p.run(model, { input: image([1, 1, 2, 2]) })).outputs.output.dims).toEqual([1, 1, 2, 2]);
});

it('uses the new file when a model is replaced in place (sessions are keyed by path and hash)', async () => {
  const p = pool({ provider: 'cpu' });
  const replaced = path.join(dir, 'replaced.onnx');
  writeFileSync(replaced, tinyOnnxModel(2));
  const input = { input: image([1, 1, 1, 2], () => 1) };
  expect(Array.from((await p.run(replaced, input)).outputs.output.data)).toEqual([2, 2]);
  writeFileSync(replaced, tinyOnnxModel(3));
  expect(Array.from((await p.run(replaced, input)).outputs.output.data)).toEqual([3, 3]);
});

it('runs requests in parallel on up to `size` workers', async () => {
  const p = pool({ size: 2, provider: 'cpu' });
  const results = await Promise.all(Array.from({ length: 6 }, (_, k) => p.run(model, { input: image([1, 1, 2, 2], () => k) })));
  results.forEach((result, k) => expect(Array.from(result.outputs.output.data)).toEqual([2 * k, 2 * k, 2 * k, 2 * k]));
  expect((p as unknown as { slots: unknown[] }).slots.length).toBe(2);
});

it('rejects the requests of a worker that dies, and replaces it', async () => {
  const p = pool({ provider: 'cpu' });
  // Reaching into the pool is the only way to kill a worker from outside; a fresh worker is still loading
  // onnxruntime when it is killed, so the request is certainly pending.
  const pending = p.run(model, { input: image([1, 1, 2, 2]) });
  const slots = (p as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } }> }).slots;
  await slots[0].worker.terminate();
  await expect(pending).rejects.toThrow(/times2\.onnx failed: the inference worker exited/);
  expect((await p.run(model, { input: image([1, 1, 2, 2]) })).outputs.output.dims).toEqual([1, 1, 2, 2]);
});

it('auto falls back to the CPU with a note when CUDA cannot be loaded; cuda then rejects', async () => {
  const auto = await pool({ provider: 'auto' }).run(model, { input: image([1, 1, 2, 2]) });
  const strict = pool({ provider: 'cuda' }).run(model, { input: image([1, 1, 2, 2]) });
  if (auto.provider === 'cuda') {
    // A machine where onnxruntime-node has its CUDA provider and a GPU: both run on it.
    expect(auto.note).toBeNull();
    expect((await strict).provider).toBe('cuda');
    return;
  }
  expect(auto.note).toMatch(/^auto fell back to CPU: .+/);
  expect(Array.from(auto.outputs.output.data)).toEqual([0, 0.2, 0.4, 0.6].map(Math.fround));
  await expect(strict).rejects.toThrow(/provider cuda was asked for, but CUDA is not available to onnxruntime: .+/);
});

it('refuses bad options and runs after close', async () => {
  expect(() => new InferencePool({ size: 0 })).toThrow(/size must be an integer in \[1, 64\]/);
  expect(() => new InferencePool({ provider: 'tpu' as 'cpu' })).toThrow(/provider must be one of auto, cpu, cuda/);
  const p = pool({ provider: 'cpu' });
  await p.run(model, { input: image([1, 1, 2, 2]) });
  await p.close();
  await expect(p.run(model, { input: image([1, 1, 2, 2]) })).rejects.toThrow(/the inference pool is closed/);
});
