"""train-gan as a zoo member: the objective, the input corruptions, no discriminator without an adversarial
loss, the zooMember manifest key and the guard's statistics."""
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import torch

from medpsim_training import cli
from medpsim_training.corrupt import CORRUPTIONS, corrupt_batch
from medpsim_training.export import verify
from medpsim_training.gan import guard_stats
from medpsim_training.noise import apply_noise
from medpsim_training.runtime import mix_seed
from tests.helpers import make_kermany, phantom, run_cli

TINY = ["--epochs", 1, "--batch-size", 4, "--image-size", 32, "--g-layers", 2, "--g-channels", 4, "--d-layers", 1,
        "--d-channels", 4, "--device", "cpu"]


class _Identity(torch.nn.Module):
    def forward(self, x):
        return x


class _Constant(torch.nn.Module):
    def forward(self, x):
        return torch.full_like(x, 0.5)


class _NaN(torch.nn.Module):
    def forward(self, x):
        return x * float("nan")


def _images(n=4, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([np.round(phantom(rng, size, k % 2 == 1) * 65535).astype(np.uint16) for k in range(n)])


class ZooMemberRuns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="medpsim-zoo-member-")
        cls.data = os.path.join(cls.tmp, "data")
        make_kermany(cls.data, size=32, seed=2)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_member(self, name, *extra):
        code, events, stderr = run_cli("train-gan", "--data", self.data, *TINY, "--out-dir", self.tmp, "--name", name, *extra)
        self.assertEqual(code, 0, stderr[-3000:])
        with open(os.path.join(self.tmp, name + ".json"), encoding="utf-8") as fh:
            return events, json.load(fh)

    def test_reconstruct_member_is_a_dae_with_its_knobs_and_guard(self):
        member = {"zoo": "z", "index": 2, "draw": 1, "knobs": {"gLayers": 2, "gUpsample": "transpose"}}
        events, manifest = self.run_member("recon", "--objective", "reconstruct", "--input-corruption", "white_noise",
                                           "--input-level", 0.05, "--zoo-member", json.dumps(member))
        self.assertEqual(manifest["task"], "dae")
        self.assertEqual(manifest["zooMember"], member)
        self.assertEqual(manifest["architecture"]["objective"], "reconstruct")
        self.assertEqual(manifest["target"]["kind"], "reconstruct")
        self.assertEqual(manifest["inputs"][0]["preprocessing"]["corruption"]["kind"], "white_noise")
        guard = manifest["metrics"]["guard"]
        self.assertEqual(set(guard), {"rmsChange", "contrastRatio", "finite", "images", "on"})
        self.assertTrue(guard["finite"])
        self.assertEqual(guard["on"], "test")
        self.assertGreater(guard["rmsChange"], 0)
        self.assertEqual(events[-1]["metrics"]["guard"], guard)  # the done line carries it for the server
        report = verify(os.path.join(self.tmp, "recon.onnx"))
        self.assertTrue(report["ok"], report["problems"])

    def test_no_discriminator_without_an_adversarial_loss(self):
        events, manifest = self.run_member("noadv", "--w-adv", 0, "--input-corruption", "downsampling", "--input-level", 0.2)
        self.assertEqual(manifest["task"], "gan-generator")
        test = manifest["metrics"]["test"]
        self.assertIsNone(test["discriminatorAccuracyReal"])
        self.assertIsNone(test["discriminatorAccuracyFake"])
        self.assertIsNone(manifest["architecture"]["discriminatorLayers"])
        self.assertTrue(all(e["losses"]["d"] == 0 and e["losses"]["adv"] == 0 for e in events if e["event"] == "epoch"))

    def test_bad_input(self):
        code, events, _ = run_cli("train-gan", "--data", self.data, *TINY, "--no-export", "--w-pixel", 0, "--w-adv", 0)
        self.assertEqual(code, 2)
        self.assertIn("no loss", events[-1]["message"])
        for bad in ("[1, 2]", "not json"):
            code, events, _ = run_cli("train-gan", "--data", self.data, *TINY, "--no-export", "--zoo-member", bad)
            self.assertEqual(code, 2)
            self.assertEqual(events[-1]["event"], "error")
            self.assertIn("--zoo-member", events[-1]["message"])


class GuardStats(unittest.TestCase):
    def test_identity_constant_and_nan(self):
        images = _images()
        identity = guard_stats(_Identity(), images, 2, "cpu", "test")
        self.assertEqual(identity["rmsChange"], 0.0)
        self.assertAlmostEqual(identity["contrastRatio"], 1.0, places=12)
        self.assertEqual((identity["finite"], identity["images"], identity["on"]), (True, 4, "test"))
        self.assertEqual(guard_stats(_Constant(), images, 3, "cpu", "val")["contrastRatio"], 0.0)
        nan = guard_stats(_NaN(), images, 4, "cpu", "test")
        self.assertEqual((nan["finite"], nan["rmsChange"], nan["contrastRatio"]), (False, None, None))

    def test_flat_images_have_no_contrast_ratio(self):
        flat = np.full((2, 16, 16), 30000, dtype=np.uint16)
        self.assertIsNone(guard_stats(_Identity(), flat, 2, "cpu", "test")["contrastRatio"])


class Corruptions(unittest.TestCase):
    def setUp(self):
        self.clean = torch.from_numpy(_images(3, 64).astype(np.float32) / 65535.0).unsqueeze(1)

    def test_the_cli_offers_the_same_corruptions(self):
        self.assertEqual(cli.CORRUPTION_CHOICES, CORRUPTIONS)

    def test_none_is_the_identity(self):
        self.assertTrue(torch.equal(corrupt_batch(self.clean, "none", 0.3, 1, 1, [0, 1, 2]), self.clean))

    def test_white_noise_is_the_engines_gaussian_noise(self):
        out = corrupt_batch(self.clean, "white_noise", 0.1, 5, 2, [7, 8, 9])
        for k, pos in enumerate([7, 8, 9]):
            want = apply_noise("gaussian_noise", self.clean[k].numpy(), mix_seed(0xC0DE, 5, 2, pos), sigma=0.1)
            np.testing.assert_array_equal(out[k].numpy(), want)

    def test_pink_noise_has_the_level_as_std_and_is_seeded(self):
        grey = torch.full((2, 1, 128, 128), 0.5)  # no clamping: the added field is the noise itself
        a = corrupt_batch(grey, "pink_noise", 0.05, 3, 1, [0, 1])
        # The field is scaled to unit std per image, so the added noise has std = level up to float32 rounding.
        self.assertAlmostEqual(float((a - grey).std(dim=(1, 2, 3), unbiased=False).mean()), 0.05, delta=1e-4)
        self.assertTrue(torch.equal(a, corrupt_batch(grey, "pink_noise", 0.05, 3, 1, [0, 1])))
        self.assertFalse(torch.equal(a, corrupt_batch(grey, "pink_noise", 0.05, 4, 1, [0, 1])))
        # 1/f: more power at low than at high frequencies.
        power = np.abs(np.fft.rfft2((a - grey)[0, 0].numpy())) ** 2
        self.assertGreater(power[1:4, 1:4].mean(), 10 * power[40:60, 40:60].mean())

    def test_downsampling(self):
        self.assertTrue(torch.allclose(corrupt_batch(self.clean, "downsampling", 0.0, 0, 0, [0, 1, 2]), self.clean))
        blurred = corrupt_batch(self.clean, "downsampling", 0.3, 0, 0, [0, 1, 2])
        self.assertGreater(float((blurred - self.clean).abs().mean()), 1e-3)
        # Area averaging and bilinear interpolation keep the mean (to the border effects: 1% of the range).
        self.assertLess(float((blurred.mean(dim=(2, 3)) - self.clean.mean(dim=(2, 3))).abs().max()), 0.01)

    def test_unknown_corruption(self):
        with self.assertRaises(ValueError):
            corrupt_batch(self.clean, "colour_removal", 0.1, 0, 0, [0, 1, 2])


if __name__ == "__main__":
    unittest.main()
