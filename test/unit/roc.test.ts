/** src/evaluation/roc.ts against scikit-learn 1.2 and a direct O(mn) DeLong (test/fixtures/make-roc-expected.py). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { delong, midranks, summarize } from '../../src/evaluation/roc';

interface Case {
  name: string;
  labels: boolean[];
  scores: number[];
  predicted: boolean[];
  confusion: Record<string, number>;
  accuracy: number;
  sensitivity: number;
  specificity: number;
  auc: number;
  delongVariance: number;
  roc: Array<{ threshold: number | null; fpr: number; tpr: number }>;
}

const cases: Case[] = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'roc-expected.json'), 'utf8'));

it.each(cases.map((c) => [c.name, c] as const))('%s: the same confusion, rates, AUC, DeLong interval and ROC points as the references', (_name, c) => {
  const summary = summarize(c.labels, c.predicted, c.scores);
  expect(summary.confusion).toEqual(c.confusion);
  expect(summary.accuracy).toBeCloseTo(c.accuracy, 12);
  expect(summary.sensitivity).toBeCloseTo(c.sensitivity, 12);
  expect(summary.specificity).toBeCloseTo(c.specificity, 12);
  expect(summary.auc).toBeCloseTo(c.auc, 12);
  const half = 1.959963984540054 * Math.sqrt(c.delongVariance);
  expect(summary.aucCi95![0]).toBeCloseTo(Math.max(0, c.auc - half), 12);
  expect(summary.aucCi95![1]).toBeCloseTo(Math.min(1, c.auc + half), 12);
  expect(summary.roc.length).toBe(c.roc.length);
  summary.roc.forEach((point, i) => {
    expect(point.threshold).toBe(c.roc[i].threshold);
    expect(point.fpr).toBeCloseTo(c.roc[i].fpr, 12);
    expect(point.tpr).toBeCloseTo(c.roc[i].tpr, 12);
  });
});

it('gives no AUC with one class, no interval with a single case of a class, and midranks for ties', () => {
  expect(summarize([true, true], [true, false], [0.9, 0.2])).toMatchObject({ auc: null, aucCi95: null, specificity: null, sensitivity: 0.5 });
  expect(delong([0.9], [0.1, 0.2])).toEqual({ auc: 1, variance: null });
  expect(Array.from(midranks([3, 1, 3, 2]))).toEqual([3.5, 1, 3.5, 2]);
  // Always answering "pneumonia" on the Kermany test split (390 of 624): 62.5% accuracy, AUC 0.5.
  const labels = Array.from({ length: 624 }, (_, i) => i < 390);
  const always = summarize(labels, labels.map(() => true), labels.map(() => 1));
  expect(always.accuracy).toBeCloseTo(0.625, 12);
  expect(always.auc).toBe(0.5);
});
