import itertools
import unittest

import numpy as np

from medpsim_training.metrics import average_ranks, binary_metrics, psnr, roc_auc


def brute_force_auc(labels, scores):
    pos = [s for l, s in zip(labels, scores) if l]
    neg = [s for l, s in zip(labels, scores) if not l]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


class AucTest(unittest.TestCase):
    def test_matches_pairwise_count_with_ties(self):
        rng = np.random.default_rng(0)
        for trial in range(200):
            n = int(rng.integers(2, 60))
            labels = rng.integers(0, 2, n)
            if labels.min() == labels.max():
                labels[0] = 1 - labels[0]
            # Few distinct values: many ties, within and across classes.
            scores = rng.integers(0, 1 + int(rng.integers(1, 8)), n) / 7.0 if trial % 2 else rng.random(n)
            self.assertAlmostEqual(roc_auc(labels, scores), brute_force_auc(labels, scores), places=12)

    def test_edges(self):
        self.assertEqual(roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]), 1.0)
        self.assertEqual(roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]), 0.0)
        self.assertEqual(roc_auc([0, 1, 0, 1], [0.5] * 4), 0.5)
        self.assertIsNone(roc_auc([1, 1], [0.2, 0.3]))
        self.assertIsNone(roc_auc([0, 0], [0.2, 0.3]))

    def test_average_ranks(self):
        self.assertEqual(average_ranks([3, 1, 3, 2]).tolist(), [3.5, 1.0, 3.5, 2.0])


class BinaryMetricsTest(unittest.TestCase):
    def test_counts(self):
        labels = [1, 1, 1, 0, 0]
        scores = [0.9, 0.6, 0.2, 0.7, 0.1]
        m = binary_metrics(labels, scores)
        self.assertEqual((m["tp"], m["fn"], m["fp"], m["tn"]), (2, 1, 1, 1))
        self.assertAlmostEqual(m["accuracy"], 3 / 5)
        self.assertAlmostEqual(m["sensitivity"], 2 / 3)
        self.assertAlmostEqual(m["specificity"], 1 / 2)
        self.assertAlmostEqual(m["auc"], brute_force_auc(labels, scores))

    def test_undefined_rates_are_none(self):
        m = binary_metrics([1, 1], [0.8, 0.3])
        self.assertIsNone(m["specificity"])
        self.assertIsNone(m["auc"])

    def test_psnr(self):
        self.assertAlmostEqual(psnr(0.01), 20.0)


if __name__ == "__main__":
    unittest.main()
