/**
 * ONNX parity: tiny models of each task trained and exported by the training package (training/), then run
 * with onnxruntime-node through InferencePool on their parity sample must give PyTorch's outputs within the
 * parity file's tolerance: max |out - ref| <= atol + rtol * max |ref| per output (atol = rtol = 1e-4).
 *
 * Needs torch, torchvision and onnx for /usr/bin/python3: skipped with a message without them, failed in CI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InferencePool } from '../../src/models/inference';
import { checkModelFiles } from '../../src/models/manifest';
import { makeTinyDataset, maxDifference, readParity, runTraining, TINY_TRAININGS, torchAvailable } from '../helpers/models';

const TORCH = torchAvailable();
const TASKS = Object.keys(TINY_TRAININGS) as Array<keyof typeof TINY_TRAININGS>;

if (!TORCH) {
  if (process.env.CI) {
    it('has torch, torchvision and onnx for /usr/bin/python3 (required in CI)', () => {
      throw new Error('/usr/bin/python3 cannot import torch, torchvision and onnx: install python3-torch python3-torchvision python3-onnx');
    });
  } else {
    console.warn('models-parity: SKIPPED, /usr/bin/python3 cannot import torch, torchvision and onnx (see training/README.md)');
  }
}

(TORCH ? describe : describe.skip)('exports of the training package run in onnxruntime-node like in PyTorch', () => {
  let dir: string;
  let out: string;
  const pool = new InferencePool({ size: 2, provider: 'cpu' });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'medpsim-parity-'));
    out = path.join(dir, 'models');
    makeTinyDataset(path.join(dir, 'data'));
    // In parallel: the classifier (a ResNet50 even at 32 x 32) takes most of the time.
    await Promise.all(
      TASKS.map((task) =>
        runTraining([...TINY_TRAININGS[task], '--data', path.join(dir, 'data'), '--out-dir', out, '--name', task, '--seed', '1', '--device', 'cpu']),
      ),
    );
  }, 240_000);

  afterAll(async () => {
    await pool.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(TASKS)('%s: the manifest is valid, names the task and matches the file', async (task) => {
    const checked = await checkModelFiles(path.join(out, `${task}.onnx`));
    expect(checked.manifest.task).toBe(task);
    expect(checked.manifest.inputs.map((input) => input.name)).toEqual(['input']);
    expect(checked.manifest.initialization?.pretrained).toBe(false);
  });

  it.each(TASKS)('%s: outputs match PyTorch within atol + rtol * max|ref|', async (task) => {
    const checked = await checkModelFiles(path.join(out, `${task}.onnx`));
    const parity = readParity(path.join(out, `${task}.parity.json`));
    const inputs = Object.fromEntries(
      Object.entries(parity.inputs).map(([name, tensor]) => [name, { data: Float32Array.from(tensor.data), dims: tensor.shape }]),
    );
    const result = await pool.run(checked.onnxPath, inputs);
    expect(result.provider).toBe('cpu');
    expect(Object.keys(result.outputs).sort()).toEqual(checked.manifest.outputs.map((output) => output.name).sort());
    expect(Object.keys(parity.outputs).sort()).toEqual(Object.keys(result.outputs).sort());
    for (const [name, ref] of Object.entries(parity.outputs)) {
      const got = result.outputs[name];
      expect({ name, dims: got.dims }).toEqual({ name, dims: ref.shape });
      const { maxAbsDiff, maxAbsRef } = maxDifference(got.data, ref.data);
      const limit = parity.atol + parity.rtol * maxAbsRef;
      // The object names the output when it fails.
      expect({ name, maxAbsDiff, withinLimit: maxAbsDiff <= limit }).toEqual({ name, maxAbsDiff, withinLimit: true });
    }
  });
});
