import random
import unittest
from collections import Counter

import torch

from medpsim_training import augment as A


def centre_of_mass(img):
    h, w = img.shape[-2:]
    total = img.sum()
    ys = torch.arange(h, dtype=torch.float64).view(h, 1)
    xs = torch.arange(w, dtype=torch.float64).view(1, w)
    return float((img[0].double() * ys).sum() / total), float((img[0].double() * xs).sum() / total)


NONE = {"angle": 0.0, "shift_x": 0.0, "shift_y": 0.0, "shear": 0.0, "crop_pad": [0.0, 0.0, 0.0, 0.0]}


class BalanceTest(unittest.TestCase):
    def test_minority_reaches_one_to_one(self):
        labels = [0] * 25 + [1] * 77  # about the Kermany 1:3
        plan = A.balance_plan(labels, seed=1)
        counts = Counter(labels[i] for i, _ in plan)
        self.assertEqual(counts[0], counts[1])
        self.assertEqual(A.augmented_counts(plan, labels), {0: 52})
        self.assertTrue(all(aug is False for i, aug in plan[:102]))  # originals once each, unaugmented
        copies = Counter(i for i, aug in plan if aug)
        self.assertTrue(all(labels[i] == 0 for i in copies))
        self.assertLessEqual(max(copies.values()) - min(copies.values()), 1)  # spread evenly over the class

    def test_ratio_and_off(self):
        labels = [0] * 10 + [1] * 40
        plan = A.balance_plan(labels, seed=0, ratio=0.5)
        self.assertEqual(Counter(labels[i] for i, _ in plan)[0], 20)
        self.assertEqual(len(A.balance_plan(labels, seed=0, ratio=0)), 50)


class ParamsTest(unittest.TestCase):
    def test_study_ranges_are_used(self):
        cfg = A.AugmentConfig()
        self.assertEqual((cfg.rotation, cfg.shift_y, cfg.shift_x, cfg.shear, cfg.crop_pad), (45.0, 0.2, 0.15, 16.0, 0.25))
        rng = random.Random(0)
        ps = [A.sample_params(cfg, rng) for _ in range(2000)]
        for key, limit in (("angle", 45.0), ("shift_x", 0.15), ("shift_y", 0.2), ("shear", 16.0)):
            values = [p[key] for p in ps]
            self.assertLessEqual(max(abs(v) for v in values), limit)
            self.assertGreater(max(values), 0.95 * limit)  # the whole range is reached, both signs
            self.assertLess(min(values), -0.95 * limit)
        sides = [v for p in ps for v in p["crop_pad"]]
        self.assertLessEqual(max(abs(v) for v in sides), 0.25)
        self.assertGreater(max(sides), 0.24)
        self.assertLess(min(sides), -0.24)

    def test_rotation_is_applied(self):
        img = torch.zeros(1, 33, 33)
        img[0, 2:8, 14:19] = 1.0  # a blob above the centre
        out = A.apply_params(img, dict(NONE, angle=90.0))
        y, x = centre_of_mass(out)
        # torchvision's affine turns clockwise: from above the centre to right of it.
        self.assertAlmostEqual(y, 16.0, delta=0.6)
        self.assertGreater(x, 25.0)

    def test_shift_is_applied(self):
        img = torch.zeros(1, 40, 40)
        img[0, 15:25, 15:25] = 1.0
        y0, x0 = centre_of_mass(img)
        y, x = centre_of_mass(A.apply_params(img, dict(NONE, shift_x=0.15, shift_y=-0.2)))
        self.assertAlmostEqual(x - x0, 6.0, delta=0.5)
        self.assertAlmostEqual(y - y0, -8.0, delta=0.5)

    def test_pad_adds_black_border_and_keeps_size(self):
        img = torch.ones(1, 40, 40)
        out = A.apply_params(img, dict(NONE, crop_pad=[0.25, 0.0, 0.0, 0.0]))  # pad the top by a quarter
        self.assertEqual(tuple(out.shape), (1, 40, 40))
        self.assertLess(float(out[0, :6].max()), 0.05)  # 10 of 50 rows padded, squeezed into 8 of 40
        self.assertGreater(float(out[0, 12:].min()), 0.95)
        cropped = A.apply_params(torch.arange(40.0).view(1, 1, 40).expand(1, 40, 40) / 40, dict(NONE, crop_pad=[0, -0.25, 0, 0]))
        self.assertGreater(float(cropped[0, 20, 0]), 0.2)  # the left quarter is gone

    def test_identity_and_determinism(self):
        img = torch.rand(1, 16, 16)
        self.assertTrue(torch.allclose(A.apply_params(img, NONE), img, atol=1e-6))
        batch = torch.rand(4, 1, 16, 16)
        a = A.augment_batch(batch.clone(), [True, False, True, True], 3, 1, [0, 1, 2, 3], A.AugmentConfig())
        b = A.augment_batch(batch.clone(), [True, False, True, True], 3, 1, [0, 1, 2, 3], A.AugmentConfig())
        c = A.augment_batch(batch.clone(), [True, False, True, True], 3, 2, [0, 1, 2, 3], A.AugmentConfig())
        self.assertTrue(torch.equal(a, b))
        self.assertTrue(torch.equal(a[1], batch[1]))
        self.assertFalse(torch.equal(a[0], c[0]))  # fresh parameters in another epoch


if __name__ == "__main__":
    unittest.main()
