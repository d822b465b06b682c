"""Classification and image metrics, written out so that the numbers in a manifest are easy to audit."""
import math

import numpy as np


def average_ranks(values):
    """1-based ranks, ties sharing the mean of the ranks they span."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_vals = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def roc_auc(labels, scores):
    """AUC as the Mann-Whitney U statistic: P(score of a positive > score of a negative) + 0.5 P(tie).

    labels: 1 positive (PNEUMONIA), 0 negative. None when a class is absent (AUC undefined).
    """
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = average_ranks(scores)
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def binary_metrics(labels, scores, threshold=0.5):
    """Accuracy, sensitivity (recall of positives), specificity (recall of negatives), AUC and the counts.

    A sample is predicted positive when score >= threshold (for a softmax of two classes, the argmax).
    """
    labels = np.asarray(labels).astype(bool)
    pred = np.asarray(scores, dtype=np.float64) >= threshold
    tp = int(np.sum(pred & labels))
    tn = int(np.sum(~pred & ~labels))
    fp = int(np.sum(pred & ~labels))
    fn = int(np.sum(~pred & labels))
    ratio = lambda a, b: (a / b) if b else None  # noqa: E731
    return {
        "accuracy": ratio(tp + tn, len(labels)),
        "sensitivity": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
        "auc": roc_auc(labels, scores),
        "tp": tp,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "n": int(len(labels)),
        "threshold": threshold,
    }


def psnr(mse, peak=1.0):
    return float("inf") if mse <= 0 else 10.0 * math.log10(peak * peak / mse)
