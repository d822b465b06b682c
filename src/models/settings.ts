/** The models module's settings, and the app's ONNX inference pool. */
import path from 'node:path';
import { appService } from '../platform/app';
import { choiceFromEnv, defineSettings, intFromEnv } from '../platform/config';
import { packageRoot } from '../platform/paths';
import { InferencePool, PROVIDER_CHOICES } from './inference';

export const MODEL_SETTINGS = defineSettings('models', (env) => ({
  /** Folder of ONNX models with their manifests, registered at start (models/onnx of the package by default). */
  modelsDir: path.resolve(env.MEDPSIM_MODELS_DIR || path.join(packageRoot(), 'models', 'onnx')),
  /** onnxruntime execution provider: auto (CUDA when it loads, else CPU, with a note), cpu, or cuda (strict). */
  onnxProvider: choiceFromEnv(env, 'MEDPSIM_ONNX_PROVIDER', PROVIDER_CHOICES, 'auto'),
  /** Worker threads running ONNX inference; each keeps its own sessions, so each adds a model's memory. */
  inferenceWorkers: intFromEnv(env, 'MEDPSIM_INFERENCE_WORKERS', 1, 1, 16),
}));

/** ONNX inference on worker threads (started on first use), closed with the app. */
export const inferencePool = appService((app) => {
  const settings = app.settings(MODEL_SETTINGS);
  const pool = new InferencePool({ size: settings.inferenceWorkers, provider: settings.onnxProvider });
  app.onClose(() => pool.close());
  return pool;
});
