"""Network shapes for the Table 1 knobs, weight loading from local files, and ONNX exports that compute
what PyTorch computes (run by the package's numpy evaluator, independently of PyTorch)."""
import json
import os
import tempfile
import unittest
import warnings

import numpy as np
import onnx
import torch
import torchvision

from medpsim_training import export as E
from medpsim_training import models as M
from medpsim_training import onnx_numpy, weights as W


class GeneratorTest(unittest.TestCase):
    def test_knobs(self):
        torch.manual_seed(0)
        x = torch.rand(2, 1, 32, 64)
        for kw, skips, dropout, multiple in [
            ({}, [1, 2, 3], [3, 2, 1][:3], 16),
            (dict(skips=1), [3], [3, 2, 1], 16),
            (dict(skips=0, force_top_skip=True), [1], [3, 2, 1], 16),
            (dict(skips=0), [], [3, 2, 1], 16),
            (dict(dropout_layers=0, first_stride=1), [1, 2, 3], [], 8),
            (dict(upsample="nearest", norm="instance"), [1, 2, 3], [3, 2, 1], 16),
            (dict(upsample="bilinear", norm="none", dropout_layers=1), [1, 2, 3], [3], 16),
        ]:
            g = M.UNetGenerator(layers=4, ngf=4, **kw).eval()
            self.assertEqual(g.skip_levels, skips, kw)
            self.assertEqual(g.dropout_levels, sorted(dropout), kw)
            self.assertEqual(g.size_multiple, multiple, kw)
            with torch.no_grad():
                y = g(x)
            self.assertEqual(tuple(y.shape), (2, 1, 32, 64), kw)
            self.assertTrue(bool(((y >= 0) & (y <= 1)).all()))
            n_dropout = sum(isinstance(m, torch.nn.Dropout) for m in g.modules())
            self.assertEqual(n_dropout, len(dropout), kw)

    def test_channels_and_validation(self):
        g = M.UNetGenerator(layers=3, ngf=5)
        self.assertEqual(g.downs[0].out_channels, 5)
        with self.assertRaises(ValueError):
            M.UNetGenerator(layers=3, skips=3)
        with self.assertRaises(ValueError):
            M.UNetGenerator(layers=3, dropout_layers=3)
        with self.assertRaises(ValueError):
            M.UNetGenerator(layers=3, norm="group")

    def test_discriminator_and_dae(self):
        d = M.PatchDiscriminator(layers=2, ndf=4)
        self.assertEqual(tuple(d(torch.rand(3, 1, 32, 32), torch.rand(3, 1, 32, 32)).shape), (3, 1, 6, 6))
        self.assertEqual(M.PatchDiscriminator.min_size(3), 24)
        dae = M.DenoisingAutoencoder(depth=2, channels=4)
        self.assertEqual(tuple(dae(torch.rand(1, 1, 16, 24)).shape), (1, 1, 16, 24))

    def test_classifier_features(self):
        m = M.ChestClassifier().eval()
        with torch.no_grad():
            out = m(torch.rand(1, 1, 36, 44))
        self.assertEqual(tuple(out[0].shape), (1, 2))
        for layer, f in zip(M.FEATURE_LAYERS, out[1:]):
            s = M.FEATURE_STRIDES[layer]
            self.assertEqual(tuple(f.shape), (1, M.FEATURE_CHANNELS[layer], -(-36 // s), -(-44 // s)), layer)


class WeightsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.old_home = os.environ.get("TORCH_HOME")
        os.environ["TORCH_HOME"] = self.tmp.name

    def tearDown(self):
        if self.old_home is None:
            os.environ.pop("TORCH_HOME", None)
        else:
            os.environ["TORCH_HOME"] = self.old_home
        self.tmp.cleanup()

    def test_from_scratch_when_nothing_cached(self):
        init = W.init_classifier(M.ChestClassifier(), "imagenet")
        self.assertFalse(init["pretrained"])
        self.assertIn("from scratch", init["reason"])

    def test_torchvision_cache_and_file(self):
        torch.manual_seed(1)
        reference = torchvision.models.resnet50(weights=None)
        folder = os.path.join(self.tmp.name, "hub", "checkpoints")
        os.makedirs(folder)
        path = os.path.join(folder, "resnet50-0676ba61.pth")
        torch.save(reference.state_dict(), path)
        for spec in ("imagenet", path):
            model = M.ChestClassifier()
            init = W.init_classifier(model, spec)
            self.assertTrue(init["pretrained"], spec)
            self.assertEqual(init["source"], path)
            self.assertTrue(torch.equal(model.net.layer3[0].conv2.weight, reference.layer3[0].conv2.weight))
            self.assertEqual(tuple(model.net.fc.weight.shape), (2, 2048))  # the head stays ours
        bad = os.path.join(self.tmp.name, "bad.pth")
        torch.save({"conv1.weight": torch.zeros(1)}, bad)
        with self.assertRaises(W.WeightsError):
            W.init_classifier(M.ChestClassifier(), bad)
        with self.assertRaises(W.WeightsError):
            W.init_classifier(M.ChestClassifier(), os.path.join(self.tmp.name, "missing.pth"))


class ExportParityTest(unittest.TestCase):
    """Export, then run the .onnx file with the numpy evaluator on another batch size and image size."""

    def check(self, model, names, axes, x, tmp):
        model = E.cpu_eval_copy(model)
        path = os.path.join(tmp, "m.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            E.export_onnx(model, path, torch.rand(1, 1, 32, 32), names, axes)
        E.write_parity(model, os.path.join(tmp, "m.parity.json"), "m.onnx", x, names)
        with open(os.path.join(tmp, "m.parity.json")) as fh:
            parity = json.load(fh)
        self.assertEqual(parity["format"], "medpsim-onnx-parity")
        self.assertEqual(parity["inputs"]["input"]["shape"], list(x.shape))
        feeds = {"input": np.asarray(parity["inputs"]["input"]["data"], dtype=np.float32).reshape(x.shape)}
        got = onnx_numpy.run(onnx.load(path), feeds)
        report = E.compare(got, parity["outputs"])
        for name, r in report.items():
            self.assertTrue(r["ok"], (name, r))
            self.assertLess(r["maxAbsDiff"], 1e-4 * max(1.0, r["maxAbsRef"]))
        return report

    def test_generators_and_dae(self):
        torch.manual_seed(0)
        axes = {"output": {0: "batch", 2: "height", 3: "width"}}
        x = E.parity_input(2, 32, 48, 5)
        with tempfile.TemporaryDirectory() as tmp:
            for model in (
                M.DenoisingAutoencoder(depth=2, channels=4),
                M.UNetGenerator(layers=3, ngf=4),
                M.UNetGenerator(layers=3, ngf=4, upsample="nearest", norm="instance", first_stride=1, skips=0, force_top_skip=True),
                M.UNetGenerator(layers=3, ngf=4, upsample="bilinear", norm="none", skips=1),
            ):
                for m in model.modules():  # batch norm with statistics that are not the identity
                    if isinstance(m, torch.nn.BatchNorm2d):
                        m.running_mean.uniform_(-0.2, 0.2)
                        m.running_var.uniform_(0.5, 2.0)
                self.check(model, ["output"], axes, x, tmp)

    def test_classifier(self):
        torch.manual_seed(0)
        names = ["logits"] + ["features_" + l for l in M.FEATURE_LAYERS]
        axes = {n: {0: "batch"} for n in names}
        with tempfile.TemporaryDirectory() as tmp:
            self.check(M.ChestClassifier(), names, axes, E.parity_input(2, 36, 44, 1), tmp)

    def test_numpy_evaluator_refuses_unknown_ops(self):
        node = onnx.helper.make_node("Erf", ["input"], ["output"])
        graph = onnx.helper.make_graph([node], "g", [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1])],
                                       [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1])])
        with self.assertRaises(NotImplementedError):
            onnx_numpy.run(onnx.helper.make_model(graph), {"input": np.zeros(1, np.float32)})


if __name__ == "__main__":
    unittest.main()
