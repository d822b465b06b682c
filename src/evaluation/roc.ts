/**
 * Binary classification summaries for the classifier's evaluation: accuracy, sensitivity, specificity and
 * the confusion matrix of the predictions, and from the scores (P(positive)) the ROC curve and its area
 * with DeLong's 95% confidence interval. test/unit/roc.test.ts checks them against scikit-learn and a
 * direct O(mn) DeLong (test/fixtures/roc-expected.json, made by test/fixtures/make-roc-expected.py).
 */

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface RocPoint {
  /** Scores >= threshold count as positive; null for the curve's first point (nothing positive). */
  threshold: number | null;
  fpr: number;
  tpr: number;
}

export interface BinarySummary {
  n: number;
  positives: number;
  negatives: number;
  confusion: Confusion;
  accuracy: number | null;
  /** Recall of the positives; null without positives. */
  sensitivity: number | null;
  /** Recall of the negatives; null without negatives. */
  specificity: number | null;
  /** Mann-Whitney AUC (ties count half); null unless both classes are present. */
  auc: number | null;
  /** DeLong's variance, normal interval clipped to [0, 1]; null with fewer than 2 of either class. */
  aucCi95: [number, number] | null;
  roc: RocPoint[];
}

/** 1-based ranks, ties sharing the mean of the ranks they span. */
export function midranks(values: readonly number[]): Float64Array {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

function variance(values: Float64Array): number {
  let mean = 0;
  for (const v of values) mean += v / values.length;
  let sum = 0;
  for (const v of values) sum += (v - mean) ** 2;
  return sum / (values.length - 1);
}

/**
 * AUC and DeLong's variance by the midrank formulation (Sun & Xu 2014): for a positive i,
 * V10_i = (rank among all - rank among positives) / n; for a negative j, V01_j = 1 - (rank among all - rank
 * among negatives) / m; Var(AUC) = var(V10) / m + var(V01) / n (m positives, n negatives).
 */
export function delong(positive: readonly number[], negative: readonly number[]): { auc: number; variance: number | null } {
  const m = positive.length;
  const n = negative.length;
  const all = midranks([...positive, ...negative]);
  const withinPositive = midranks(positive);
  const withinNegative = midranks(negative);
  const v10 = Float64Array.from(positive, (_, i) => (all[i] - withinPositive[i]) / n);
  const v01 = Float64Array.from(negative, (_, j) => 1 - (all[m + j] - withinNegative[j]) / m);
  let rankSum = 0; // Mann-Whitney U from the ranks: exact for ties, unlike a sum of small fractions
  for (let i = 0; i < m; i++) rankSum += all[i];
  const auc = (rankSum - (m * (m + 1)) / 2) / (m * n);
  return { auc, variance: m >= 2 && n >= 2 ? variance(v10) / m + variance(v01) / n : null };
}

/** The ROC curve through every distinct score, from (0, 0) to (1, 1) (scikit-learn's roc_curve without dropping points). */
export function rocCurve(labels: readonly boolean[], scores: readonly number[]): RocPoint[] {
  const positives = labels.filter(Boolean).length;
  const negatives = labels.length - positives;
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const points: RocPoint[] = [{ threshold: null, fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; ) {
    const threshold = scores[order[i]];
    for (; i < order.length && scores[order[i]] === threshold; i++) {
      if (labels[order[i]]) tp++;
      else fp++;
    }
    points.push({ threshold, fpr: negatives ? fp / negatives : 0, tpr: positives ? tp / positives : 0 });
  }
  return points;
}

/** labels: truth (true = positive); predicted: the classifier's decision; scores: P(positive). */
export function summarize(labels: readonly boolean[], predicted: readonly boolean[], scores: readonly number[]): BinarySummary {
  const confusion: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  labels.forEach((truth, i) => {
    if (truth) confusion[predicted[i] ? 'tp' : 'fn']++;
    else confusion[predicted[i] ? 'fp' : 'tn']++;
  });
  const positives = confusion.tp + confusion.fn;
  const negatives = confusion.tn + confusion.fp;
  const n = labels.length;
  const ratio = (num: number, den: number) => (den > 0 ? num / den : null);
  let auc: number | null = null;
  let aucCi95: [number, number] | null = null;
  if (positives > 0 && negatives > 0) {
    const result = delong(scores.filter((_, i) => labels[i]), scores.filter((_, i) => !labels[i]));
    auc = result.auc;
    if (result.variance !== null) {
      const half = 1.959963984540054 * Math.sqrt(result.variance);
      aucCi95 = [Math.max(0, auc - half), Math.min(1, auc + half)];
    }
  }
  return {
    n,
    positives,
    negatives,
    confusion,
    accuracy: ratio(confusion.tp + confusion.tn, n),
    sensitivity: ratio(confusion.tp, positives),
    specificity: ratio(confusion.tn, negatives),
    auc,
    aucCi95,
    roc: rocCurve(labels, scores),
  };
}
