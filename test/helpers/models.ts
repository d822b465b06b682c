/**
 * Models for the model tests: a tiny ONNX graph encoded here (no Python needed), manifests in the training
 * package's format, and tiny real trainings with the training package's CLI (needs torch for /usr/bin/python3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const TRAINING_DIR = path.join(ROOT, 'training');
export const PYTHON = '/usr/bin/python3';

// ---- A minimal ONNX protobuf writer: just the fields a one-node graph needs (onnx.proto3 field numbers).

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = BigInt(value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
}

const key = (field: number, wireType: number) => varint((field << 3) | wireType);
const int = (field: number, value: number) => Buffer.concat([key(field, 0), varint(value)]);
const bytes = (field: number, value: Buffer | string) => {
  const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([key(field, 2), varint(body.length), body]);
};
const message = (field: number, ...parts: Buffer[]) => bytes(field, Buffer.concat(parts));

const FLOAT = 1; // TensorProto.DataType

function valueInfo(field: number, name: string, dims: Array<number | string>): Buffer {
  const dim = (d: number | string) => message(1, typeof d === 'number' ? int(1, d) : bytes(2, d)); // Dimension
  const shape = message(2, ...dims.map(dim)); // TensorShapeProto
  const tensorType = message(1, int(1, FLOAT), shape); // TypeProto.tensor_type
  return message(field, bytes(1, name), message(2, tensorType)); // ValueInfoProto: name, type
}

/**
 * An ONNX model (opset 17) computing `output = input * factor` for input `input` float32
 * [batch, 1, height, width], like the exports' input. Different factors give different files (and hashes).
 */
export function tinyOnnxModel(factor = 2): Buffer {
  const scale = Buffer.alloc(4);
  scale.writeFloatLE(factor);
  const initializer = message(5, int(2, FLOAT), bytes(8, 'factor'), bytes(9, scale)); // TensorProto, a scalar
  const node = message(1, bytes(1, 'input'), bytes(1, 'factor'), bytes(2, 'output'), bytes(3, 'scale'), bytes(4, 'Mul'));
  const graph = message(
    7,
    node,
    bytes(2, 'tiny'),
    initializer,
    valueInfo(11, 'input', ['batch', 1, 'height', 'width']),
    valueInfo(12, 'output', ['batch', 1, 'height', 'width']),
  );
  const opset = message(8, bytes(1, ''), int(2, 17));
  return Buffer.concat([int(1, 8), bytes(2, 'medpsim tests'), graph, opset]); // ir_version 8
}

/** A manifest in the training package's format (training/medpsim_training/manifest.py) for `onnx`. */
export function manifestFor(name: string, onnx: Buffer, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 'medpsim-model-manifest',
    version: 1,
    task: 'dae',
    name,
    createdAt: '2026-01-01T00:00:00+00:00',
    producer: 'medpsim tests',
    onnx: { file: `${name}.onnx`, sha256: createHash('sha256').update(onnx).digest('hex'), bytes: onnx.length, opset: 17 },
    inputs: [{ name: 'input', shape: ['batch', 1, 'height', 'width'], dtype: 'float32', preprocessing: { channels: 1, sizeMultiple: 1 } }],
    outputs: [{ name: 'output', shape: ['batch', 1, 'height', 'width'], dtype: 'float32', meaning: 'the input times a factor' }],
    metrics: { on: 'test', test: { mse: 0.01 } },
    initialization: { pretrained: false, source: null, reason: 'trained from scratch (by design)' },
    ...overrides,
  };
}

/** Writes `<dir>/<name>.onnx` (the tiny model) and its manifest; returns the .onnx path. */
export function writeTinyModel(dir: string, name: string, options: { factor?: number; manifest?: Record<string, unknown> } = {}): string {
  const onnx = tinyOnnxModel(options.factor ?? 2);
  const onnxPath = path.join(dir, `${name}.onnx`);
  writeFileSync(onnxPath, onnx);
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(manifestFor(name, onnx, options.manifest), null, 2));
  return onnxPath;
}

// ---- Real exports from the training package.

/** Whether /usr/bin/python3 has what the training package needs. */
export function torchAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status === 0;
}

/** Runs `python -m medpsim_training ARGS` from training/; rejects with its stderr on a non-zero exit. */
export function runTraining(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-m', 'medpsim_training', ...args], { cwd: TRAINING_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`medpsim_training ${args[0]} exited ${code}:\n${stderr}`))));
  });
}

/** A tiny Kermany-layout dataset (32 x 32 phantoms, 22 images), made by the training tests' own helper. */
export function makeTinyDataset(dir: string): void {
  const script = 'import sys; from tests.helpers import make_kermany; make_kermany(sys.argv[1], size=32)';
  const result = spawnSync(PYTHON, ['-c', script, dir], { cwd: TRAINING_DIR, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`making the tiny dataset failed: ${result.stderr}`);
}

/** The smallest fast trainings of each task (options as in training/tests/test_cli.py), 1 epoch on the CPU. */
export const TINY_TRAININGS: Record<'dae' | 'gan-generator' | 'classifier', string[]> = {
  dae: ['train-dae', '--epochs', '1', '--batch-size', '4', '--image-size', '16', '--depth', '2', '--channels', '4'],
  'gan-generator': ['train-gan', '--epochs', '1', '--batch-size', '4', '--image-size', '16', '--g-layers', '3', '--g-channels', '4', '--d-layers', '2', '--d-channels', '4'],
  // Always a ResNet50 (~94 MB): only the image size and the data are small.
  classifier: ['train-classifier', '--epochs', '1', '--batch-size', '8', '--image-size', '32', '--weights', 'none'],
};

export interface ParityTensor {
  shape: number[];
  data: number[];
}

export interface ParityFile {
  format: 'medpsim-onnx-parity';
  atol: number;
  rtol: number;
  inputs: Record<string, ParityTensor>;
  outputs: Record<string, ParityTensor>;
}

export function readParity(file: string): ParityFile {
  const parity = JSON.parse(readFileSync(file, 'utf8')) as ParityFile;
  if (parity.format !== 'medpsim-onnx-parity') throw new Error(`${file} is not a parity file`);
  return parity;
}

/** max |out - ref| and max |ref| over a whole tensor (the training package's parity rule, export.py). */
export function maxDifference(out: Float32Array, ref: number[]): { maxAbsDiff: number; maxAbsRef: number } {
  let maxAbsDiff = 0;
  let maxAbsRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(out[i] - ref[i]));
    maxAbsRef = Math.max(maxAbsRef, Math.abs(ref[i]));
  }
  return { maxAbsDiff, maxAbsRef };
}
