/**
 * A registered classifier on stored images: each image converted to what the model was trained on (luma,
 * resized to the training size with the antialiased bilinear filter the training package uses) and the logits
 * from onnxruntime, both on the inference pool's worker; softmax probabilities in the manifest's class order.
 */
import type { InferencePool } from '../models/inference';
import type { ModelManifest } from '../models/manifest';
import { badUserInput } from '../platform/errors';
import type { FloatImage } from '../platform/native';

export interface ClassifierModel {
  name: string;
  path: string;
  sha256: string;
  classes: string[];
  /** Index of the positive class (PNEUMONIA): sensitivity is its recall. */
  positive: number;
  inputName: string;
  size: [number, number];
}

/** The classifier's description from its manifest; BAD_USER_INPUT on `field` for a model that is not one. */
export function describeClassifier(model: { name: string; path: string; sha256: string; task: string; manifest: ModelManifest }, field: string): ClassifierModel {
  const refuse = (message: string) => badUserInput(field, `model ${model.name}: ${message}`);
  if (model.task !== 'classifier') throw refuse(`is a ${model.task} model, not a classifier`);
  const classes = model.manifest.classes;
  if (!Array.isArray(classes) || classes.length < 2 || !classes.every((c) => typeof c === 'string')) throw refuse('its manifest lists no classes');
  const positiveName = (model.manifest.metrics as { positiveClass?: unknown } | null | undefined)?.positiveClass ?? 'PNEUMONIA';
  const positive = classes.indexOf(positiveName as string);
  if (positive < 0) throw refuse(`its positive class ${String(positiveName)} is not one of its classes`);
  const input = model.manifest.inputs[0];
  const size = (input.preprocessing as { size?: unknown } | undefined)?.size;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((s) => Number.isInteger(s) && s > 0)) throw refuse('its input has no preprocessing.size');
  if (!model.manifest.outputs.some((output) => output.name === 'logits')) throw refuse('it has no logits output');
  return { name: model.name, path: model.path, sha256: model.sha256, classes: classes as string[], positive, inputName: input.name, size: size as [number, number] };
}

/** Class probabilities (softmax of the logits, in double) of each image; the images are prepared on the worker. */
export async function classify(pool: InferencePool, model: ClassifierModel, images: FloatImage[]): Promise<number[][]> {
  const logits = await pool.classify(model.path, { inputName: model.inputName, size: model.size, images });
  const classes = model.classes.length;
  if (logits.dims.length !== 2 || logits.dims[1] !== classes) throw new Error(`logits have dims [${logits.dims.join(', ')}], expected [${images.length}, ${classes}]`);
  return images.map((_, index) => {
    const row = Array.from(logits.data.subarray(index * classes, (index + 1) * classes), Number);
    const top = Math.max(...row);
    const exp = row.map((v) => Math.exp(v - top));
    const total = exp.reduce((a, b) => a + b, 0);
    return exp.map((v) => v / total);
  });
}

/** The class the classifier answers: the most probable (the first of equals, as argmax). */
export function predictedClass(probabilities: number[]): number {
  return probabilities.indexOf(Math.max(...probabilities));
}
