/** Model manifests: what is accepted, and a clear per-file error for everything else. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkModelFiles, ManifestError, parseManifest } from '../../src/models/manifest';
import { manifestFor, tinyOnnxModel, writeTinyModel } from '../helpers/models';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'medpsim-manifest-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function problem(onnxPath: string): Promise<ManifestError> {
  const error = await checkModelFiles(onnxPath).then(
    () => {
      throw new Error('expected a ManifestError');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ManifestError);
  return error as ManifestError;
}

it('accepts a valid model and returns its hash, size and manifest', async () => {
  const onnxPath = writeTinyModel(dir, 'good');
  const checked = await checkModelFiles(onnxPath);
  expect(checked).toMatchObject({ onnxPath, manifestPath: path.join(dir, 'good.json'), sizeBytes: tinyOnnxModel().length });
  expect(checked.sha256).toBe(checked.manifest.onnx.sha256);
  expect(checked.manifest.task).toBe('dae');
});

it('checks format, version, task, name, onnx and the tensor lists', () => {
  const onnx = tinyOnnxModel();
  const bad = (overrides: Record<string, unknown>) => () => parseManifest(manifestFor('m', onnx, overrides), 'm.json');
  expect(() => parseManifest([], 'm.json')).toThrow('m.json: a manifest must be a JSON object');
  expect(bad({ format: 'medpsim-onnx-parity' })).toThrow('format must be "medpsim-model-manifest", got "medpsim-onnx-parity"');
  expect(bad({ version: 2 })).toThrow('version must be 1 (the one this server reads), got 2');
  expect(bad({ task: 'segmenter' })).toThrow('task must be one of classifier, dae, gan-generator, backbone, got "segmenter"');
  expect(bad({ name: '../x' })).toThrow(/name must be 1 to 100 letters/);
  expect(bad({ onnx: { file: 'm.onnx', sha256: 'abc' } })).toThrow(/onnx must be an object with file and sha256/);
  expect(bad({ inputs: [] })).toThrow('inputs must be a non-empty list');
  expect(bad({ outputs: [{ name: 'output', shape: 'batch' }] })).toThrow(/outputs\[0\]\.shape must be a list/);
  expect(bad({ outputs: [{ name: 'a', shape: [1] }, { name: 'a', shape: [1] }] })).toThrow('outputs[1].name "a" appears twice');
  expect(bad({ initialization: 'scratch' })).toThrow('initialization must be an object');
});

it('reports each kind of broken model files with the file that is wrong', async () => {
  expect((await problem(path.join(dir, 'nothing.onnx'))).message).toBe(`${path.join(dir, 'nothing.onnx')}: no such file on the server`);
  expect((await problem(path.join(dir, 'good.json'))).message).toMatch(/a model path must name an \.onnx file/);

  writeFileSync(path.join(dir, 'lonely.onnx'), tinyOnnxModel());
  expect((await problem(path.join(dir, 'lonely.onnx'))).message).toBe(`${path.join(dir, 'lonely.json')}: no manifest beside the .onnx file`);

  const corruptJson = writeTinyModel(dir, 'corrupt-json');
  writeFileSync(path.join(dir, 'corrupt-json.json'), '{"format": "medpsim-model-manifest", ');
  expect((await problem(corruptJson)).message).toMatch(/corrupt-json\.json: not valid JSON: /);

  const replaced = writeTinyModel(dir, 'replaced');
  writeFileSync(replaced, tinyOnnxModel(5)); // same size, other bytes
  const mismatch = await problem(replaced);
  expect(mismatch.file).toBe(replaced);
  expect(mismatch.message).toMatch(/replaced\.onnx: SHA-256 [0-9a-f]{64} differs from the manifest's [0-9a-f]{64}/);

  const truncated = writeTinyModel(dir, 'truncated');
  writeFileSync(truncated, tinyOnnxModel().subarray(0, 20));
  expect((await problem(truncated)).message).toMatch(/truncated\.onnx: has 20 bytes, the manifest says \d+ \(truncated or replaced\?\)/);

  const renamed = writeTinyModel(dir, 'renamed', { manifest: { onnx: { file: 'other.onnx', sha256: '0'.repeat(64) } } });
  expect((await problem(renamed)).message).toMatch(/renamed\.json: describes other\.onnx, not renamed\.onnx/);
});
