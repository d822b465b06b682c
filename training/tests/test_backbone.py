"""export-backbone and the deep-feature distance: the export's files and manifest, LPIPS's lin weights and the
errors for wrong ones, the PyTorch distance against a literal transcription of the lpips package's code path
and against the server's `medpsim metric lpips` (Node, onnxruntime-node), and that the distance grows with the
severity of a distortion. Everything runs on the CPU with random-init or barely trained networks (no
pretrained weights can be downloaded here)."""
import json
import math
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

from medpsim_training.backbone import (ARCHS, LPIPS_SCALE, LPIPS_SHIFT, LpipsBackbone, build_backbone, load_backbone,
                                       read_lin_json, read_lin_weights, tap_size)
from medpsim_training.export import sha256_file
from medpsim_training.models import FEATURE_LAYERS, ChestClassifier
from medpsim_training.perceptual import feature_distance, normalize_features
from medpsim_training.weights import WeightsError, read_state
from tests.helpers import REPO_ROOT, make_kermany, run_cli

SERVER_CLI = os.path.join(REPO_ROOT, "dist", "src", "cli", "main.js")
ALEX_CHANNELS = [t.channels for t in ARCHS["alexnet"].taps]
ALEX_OUTPUTS = [t.output for t in ARCHS["alexnet"].taps]
FIX = {}


def lin_state(channels, seed, drop=None, **overrides):
    """A state dict in LPIPS's lin weights format (weights/v0.1/alex.pth): linK.model.1.weight [1, C, 1, 1] >= 0."""
    g = torch.Generator().manual_seed(seed)
    state = {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) for k, c in enumerate(channels)}
    state.pop(drop, None)
    state.update(overrides)
    return state


def smooth_phantom(h, w):
    """A chest-X-ray-like smooth image in [0, 1]: a vertical gradient, two lung fields and an opacity."""
    yy, xx = np.mgrid[0:h, 0:w]
    yy, xx = yy / h, xx / w
    img = 0.15 + 0.2 * yy
    for cx in (0.3, 0.7):
        img += 0.45 * np.exp(-(((xx - cx) / 0.15) ** 2 + ((yy - 0.5) / 0.3) ** 2))
    img += 0.25 * np.exp(-(((xx - 0.68) / 0.07) ** 2 + ((yy - 0.45) / 0.07) ** 2))
    return np.clip(img, 0.0, 1.0)


def save_png16(path, array):
    levels = np.round(np.clip(array, 0, 1) * 65535).astype(np.uint16)
    Image.fromarray(levels).save(path)  # 16-bit greyscale PNG
    return levels


def as_input(levels):
    """16-bit levels -> (1, 1, H, W) float32 value / 65535: what the server feeds the graph."""
    return torch.from_numpy((levels.astype(np.float64) / 65535.0).astype(np.float32))[None, None]


def setUpModule():
    tmp = FIX["tmp"] = tempfile.mkdtemp(prefix="medpsim-backbone-test-")
    FIX["env"] = {"TORCH_HOME": os.path.join(tmp, "torch-home")}
    FIX["lin_pth"] = os.path.join(tmp, "alex-lin.pth")
    torch.save(lin_state(ALEX_CHANNELS, seed=5), FIX["lin_pth"])
    FIX["out"] = os.path.join(tmp, "out")
    FIX["alex"] = run_cli("export-backbone", "--arch", "alexnet", "--weights", "none", "--lin-weights", FIX["lin_pth"],
                          "--name", "alex", "--out-dir", FIX["out"], "--seed", 4, env=FIX["env"])
    # Two 16-bit images of 48 x 40: a smooth phantom and the same with noise.
    rng = np.random.default_rng(11)
    clean = smooth_phantom(48, 40)
    FIX["a_png"], FIX["b_png"] = os.path.join(tmp, "a.png"), os.path.join(tmp, "b.png")
    FIX["a"] = save_png16(FIX["a_png"], clean)
    FIX["b"] = save_png16(FIX["b_png"], clean + 0.05 * rng.standard_normal(clean.shape))


def tearDownModule():
    shutil.rmtree(FIX["tmp"], ignore_errors=True)


def tiny_classifier():
    """A ResNet50 classifier trained for one epoch on a tiny synthetic dataset (once per test run)."""
    if "cls" not in FIX:
        data = os.path.join(FIX["tmp"], "data")
        make_kermany(data, {"train": {"NORMAL": 4, "PNEUMONIA": 8}, "test": {"NORMAL": 2, "PNEUMONIA": 2}}, size=32, seed=2)
        code, events, stderr = run_cli("train-classifier", "--data", data, "--epochs", 1, "--batch-size", 8, "--image-size", 32,
                                       "--weights", "none", "--balance-ratio", 0, "--device", "cpu", "--name", "cls",
                                       "--out-dir", FIX["out"], env=FIX["env"])
        assert code == 0, stderr[-3000:]
        state, _ = read_state(os.path.join(FIX["out"], "cls.pt"))
        model = ChestClassifier()
        model.load_state_dict(state)
        FIX["cls"] = model.eval()
    return FIX["cls"]


def classifier_features(model, x):
    with torch.no_grad():
        return list(model(x)[1:])  # conv1, layer1..layer4 (the export's features_* outputs)


class ExportBackboneTest(unittest.TestCase):
    def test_files_manifest_and_verify_export(self):
        code, events, stderr = FIX["alex"]
        self.assertEqual(code, 0, stderr[-3000:])
        self.assertEqual((events[0]["event"], events[-1]["event"]), ("start", "done"))
        warnings = [e for e in events if e["event"] == "warning"]
        self.assertEqual(len(warnings), 1)
        self.assertIn("not meaningful beyond testing", warnings[0]["message"])
        self.assertIn("RANDOM INITIALISATION", stderr)
        out = FIX["out"]
        for suffix in (".onnx", ".json", ".parity.json", ".pt", ".lin.json"):
            self.assertTrue(os.path.isfile(os.path.join(out, "alex" + suffix)), suffix)
        with open(os.path.join(out, "alex.json")) as fh:
            manifest = json.load(fh)
        self.assertEqual((manifest["format"], manifest["task"], manifest["name"]), ("medpsim-model-manifest", "backbone", "alex"))
        self.assertEqual(manifest["onnx"]["sha256"], sha256_file(os.path.join(out, "alex.onnx")))
        self.assertEqual(manifest["deepMetric"], {
            "layers": ALEX_OUTPUTS, "defaultLayers": ALEX_OUTPUTS, "inputSize": None,
            "linWeights": {"file": "alex.lin.json", "sha256": sha256_file(os.path.join(out, "alex.lin.json"))}})
        init = manifest["initialization"]
        self.assertFalse(init["pretrained"])
        self.assertIn("random initialisation", init["reason"])
        self.assertEqual(manifest["architecture"]["arch"], "alexnet")
        self.assertEqual([t["torchvisionIndex"] for t in manifest["architecture"]["taps"]], [1, 4, 7, 9, 11])
        self.assertEqual((manifest["lpipsScaling"]["shift"], manifest["lpipsScaling"]["scale"]), (list(LPIPS_SHIFT), list(LPIPS_SCALE)))
        self.assertEqual([i["name"] for i in manifest["inputs"]], ["input"])
        self.assertEqual(manifest["inputs"][0]["shape"], ["batch", 1, "height", "width"])
        pre = manifest["inputs"][0]["preprocessing"]
        self.assertEqual((pre["channels"], pre["valueRange"], pre["minSize"]), (1, [0.0, 1.0], 31))
        self.assertTrue(pre["normalization"]["inGraph"])
        self.assertEqual([o["name"] for o in manifest["outputs"]], ALEX_OUTPUTS)
        self.assertEqual(manifest["outputs"][0]["shape"], ["batch", 64, "floor((height-3)/4)", "floor((width-3)/4)"])
        self.assertEqual([o["shapeAt224"][2] for o in manifest["outputs"]], [55, 27, 13, 13, 13])
        with open(os.path.join(out, "alex.parity.json")) as fh:
            parity = json.load(fh)
        self.assertEqual(parity["inputs"]["input"]["shape"], [2, 1, 64, 72])
        self.assertEqual(parity["outputs"]["features_relu2"]["shape"], [2, 192, 7, 8])  # the manifest's formulas
        code, events, stderr = run_cli("verify-export", "--model", os.path.join(out, "alex.onnx"), env=FIX["env"])
        self.assertEqual(code, 0, stderr[-3000:])
        report = events[-1]["report"]
        self.assertTrue(report["ok"], report["problems"])
        self.assertEqual(set(report["parity"]["outputs"]), set(ALEX_OUTPUTS))
        # onnxruntime when installed, else the package's numpy evaluator (it has every op of this graph).
        self.assertTrue(report["parity"]["runtime"].startswith(("onnxruntime", "medpsim_training.onnx_numpy")))

    def test_lin_json_holds_the_pth_values(self):
        with open(os.path.join(FIX["out"], "alex.lin.json")) as fh:
            doc = json.load(fh)
        self.assertEqual((doc["format"], doc["version"]), ("medpsim-lin-weights", 1))
        self.assertEqual(list(doc["layers"]), ALEX_OUTPUTS)
        state = torch.load(FIX["lin_pth"])
        for k, name in enumerate(ALEX_OUTPUTS):
            want = state[f"lin{k}.model.1.weight"].reshape(-1).numpy()
            got = np.asarray(doc["layers"][name], dtype=np.float32)  # shortest decimals: the exact float32 back
            np.testing.assert_array_equal(got, want)
        for name, w in read_lin_json(os.path.join(FIX["out"], "alex.lin.json")).items():
            self.assertEqual(w.dtype, torch.float32)

    def test_bad_lin_weights_exit_2(self):
        cases = {
            "channels": (lin_state(ALEX_CHANNELS, 1, **{"lin1.model.1.weight": torch.rand(1, 100, 1, 1)}), "has 100 channels"),
            "negative": (lin_state(ALEX_CHANNELS, 1, **{"lin2.model.1.weight": -torch.rand(1, 384, 1, 1)}), "negative weights"),
            "missing": (lin_state(ALEX_CHANNELS, 1, drop="lin4.model.1.weight"), "missing lin4.model.1.weight"),
        }
        for label, (state, message) in cases.items():
            path = os.path.join(FIX["tmp"], f"bad-{label}.pth")
            torch.save(state, path)
            with self.subTest(label):
                self.assert_exit_2("--lin-weights", path, contains=message)

    def test_bad_lin_weights_messages(self):
        cases = {
            "vgg": (lin_state([64, 128, 256, 512, 512], 1), "has 128 channels, alexnet's relu2 has 192"),
            "shape": (lin_state(ALEX_CHANNELS, 1, **{"lin0.model.1.weight": torch.rand(64)}), "[1, 64, 1, 1] expected"),
            "extra": (lin_state(ALEX_CHANNELS + [10], 1), "lin5 is beyond alexnet's 5 taps"),
            "nan": (lin_state(ALEX_CHANNELS, 1, **{"lin3.model.1.weight": torch.full((1, 256, 1, 1), float("nan"))}), "non-finite"),
            "other": ({"features.0.weight": torch.zeros(2, 2)}, "holds no LPIPS lin weights"),
        }
        for label, (state, message) in cases.items():
            path = os.path.join(FIX["tmp"], f"bad-{label}.pth")
            torch.save(state, path)
            with self.subTest(label), self.assertRaises(WeightsError) as ctx:
                read_lin_weights(path, "alexnet")
            self.assertIn(message, str(ctx.exception))
        text = os.path.join(FIX["tmp"], "not-a-pth.pth")
        with open(text, "w") as fh:
            fh.write("lin weights\n")
        with self.assertRaisesRegex(WeightsError, "--lin-weights: cannot read weights"):
            read_lin_weights(text, "alexnet")
        # A whole lpips.LPIPS state dict (net.*, scaling_layer.* beside the lins) is fine: the lins are taken.
        path = os.path.join(FIX["tmp"], "whole-lpips.pth")
        torch.save({**lin_state(ALEX_CHANNELS, 2), "net.slice1.0.weight": torch.zeros(64, 3, 11, 11),
                    "scaling_layer.shift": torch.zeros(1, 3, 1, 1)}, path)
        self.assertEqual(list(read_lin_weights(path, "alexnet")), ALEX_OUTPUTS)

    def test_bad_weights_file_exit_2(self):
        path = os.path.join(FIX["tmp"], "wrong-net.pth")
        torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3), "features.0.bias": torch.zeros(64)}, path)  # VGG's first conv
        self.assert_exit_2("--weights", path, contains="does not hold torchvision alexnet weights")

    def assert_exit_2(self, *args, contains):
        base = {"--weights": "none"}
        opts = dict(zip(args[::2], args[1::2]))
        full = ["export-backbone", "--arch", "alexnet", "--out-dir", os.path.join(FIX["tmp"], "bad-out")]
        for k, v in {**base, **opts}.items():
            full += [k, v]
        code, events, stderr = run_cli(*full, env=FIX["env"])
        self.assertEqual(code, 2, stderr[-2000:])
        self.assertEqual(events[-1]["event"], "error")
        self.assertIn(contains, events[-1]["message"])
        self.assertNotIn("Traceback", stderr)
        self.assertFalse(os.path.exists(os.path.join(FIX["tmp"], "bad-out", "lpips-alexnet.onnx")))

    def test_weights_file_loads(self):
        source = torchvision.models.alexnet(weights=None)
        path = os.path.join(FIX["tmp"], "alexnet-features.pth")
        # torchvision's layout (the head, classifier.*, is not needed and left out here to keep the file small).
        torch.save({k: v for k, v in source.state_dict().items() if k.startswith("features.")}, path)
        model, init = build_backbone("alexnet", path, seed=123)
        self.assertTrue(init["pretrained"])
        self.assertEqual(init["sha256"], sha256_file(path))
        for k, v in model.state_dict().items():
            torch.testing.assert_close(v, source.state_dict()[k], rtol=0, atol=0)
        with self.assertRaisesRegex(WeightsError, "does not hold torchvision resnet50 weights"):
            build_backbone("resnet50", path)

    def test_tap_shapes_every_arch(self):
        for arch, spec in ARCHS.items():
            with self.subTest(arch):
                torch.manual_seed(0)
                model = LpipsBackbone(arch).eval()
                for h, w in ((40, 48), (spec.min_size, spec.min_size + 3)):
                    with torch.no_grad():
                        outs = model(torch.rand(1, 1, h, w))
                    self.assertEqual([list(o.shape) for o in outs],
                                     [[1, t.channels, tap_size(arch, t, h), tap_size(arch, t, w)] for t in spec.taps])
                    self.assertTrue(all(min(o.shape[2:]) >= 1 for o in outs))

    def test_checkpoint_gives_the_exported_module(self):
        model = load_backbone(os.path.join(FIX["out"], "alex.pt"))
        with open(os.path.join(FIX["out"], "alex.parity.json")) as fh:
            parity = json.load(fh)
        x = torch.tensor(parity["inputs"]["input"]["data"], dtype=torch.float32).view(parity["inputs"]["input"]["shape"])
        with torch.no_grad():
            outs = model(x)
        for name, out in zip(ALEX_OUTPUTS, outs):
            ref = parity["outputs"][name]
            np.testing.assert_allclose(out.numpy().reshape(-1), np.float32(ref["data"]), rtol=0, atol=1e-6)


def lpips_reference(features, slices, lin, x0, x1):
    """The lpips package's code path written out (lpips/__init__.py LPIPS.forward with normalize=True and
    version 0.1, pretrained_networks.alexnet/vgg16 slices, NetLinLayer, normalize_tensor, spatial_average),
    on a torchvision `features` module; lin: {k: [1, C, 1, 1]} or None (lpips=False)."""
    shift = torch.tensor([-.030, -.088, -.188])[None, :, None, None]
    scale = torch.tensor([.458, .448, .450])[None, :, None, None]

    def net(x):
        h, outs = (x - shift) / scale, []
        for lo, hi in slices:
            for i in range(lo, hi):
                h = features[i](h)
            outs.append(h)
        return outs

    def normalize_tensor(f, eps=1e-10):
        return f / (torch.sqrt(torch.sum(f ** 2, dim=1, keepdim=True)) + eps)

    in0, in1 = 2 * x0.repeat(1, 3, 1, 1) - 1, 2 * x1.repeat(1, 3, 1, 1) - 1
    outs0, outs1 = net(in0), net(in1)
    val = 0
    for k in range(len(slices)):
        diff = (normalize_tensor(outs0[k]) - normalize_tensor(outs1[k])) ** 2
        if lin is not None:
            res = F.conv2d(diff, lin[k]).mean([2, 3], keepdim=True)  # NetLinLayer: 1x1 conv, no bias
        else:
            res = diff.sum(dim=1, keepdim=True).mean([2, 3], keepdim=True)
        val = val + res
    return val.view(-1)


class DistanceTest(unittest.TestCase):
    def test_matches_the_lpips_code_path(self):
        slices = {"alexnet": [(0, 2), (2, 5), (5, 8), (8, 10), (10, 12)],
                  "vgg16": [(0, 4), (4, 9), (9, 16), (16, 23), (23, 30)]}
        g = torch.Generator().manual_seed(3)
        x0 = torch.rand(2, 1, 40, 48, generator=g)
        x1 = (x0 + 0.1 * torch.randn(x0.shape, generator=g)).clamp(0, 1)
        for arch, sl in slices.items():
            with self.subTest(arch):
                torch.manual_seed(1)
                model = LpipsBackbone(arch).eval()
                tv = getattr(torchvision.models, arch)(weights=None)
                tv.features.load_state_dict(model.features.state_dict())  # ours stops at the last tap (no weights after it)
                lin = {k: torch.rand(1, t.channels, 1, 1, generator=g) for k, t in enumerate(ARCHS[arch].taps)}
                with torch.no_grad():
                    f0, f1 = model(x0), model(x1)
                    for weights in (lin, None):
                        want = lpips_reference(tv.features.eval(), sl, weights, x0, x1)
                        got = feature_distance(f0, f1, None if weights is None else [w.reshape(-1) for w in weights.values()])
                        self.assertEqual(got.shape, (2,))
                        torch.testing.assert_close(got, want, rtol=1e-5, atol=0)

    def test_formula(self):
        g = torch.Generator().manual_seed(0)
        a, b = torch.randn(3, 5, 4, 6, generator=g), torch.randn(3, 5, 4, 6, generator=g)
        n = normalize_features(a)
        torch.testing.assert_close(n.norm(dim=1), torch.ones(3, 4, 6))
        self.assertTrue(torch.equal(normalize_features(torch.zeros(1, 4, 2, 2)), torch.zeros(1, 4, 2, 2)))
        w = torch.rand(5, generator=g)
        d = (normalize_features(a) - normalize_features(b)) ** 2
        torch.testing.assert_close(feature_distance([a, a], [b, b], [w, None]), (d * w.view(1, -1, 1, 1)).sum(1).mean((1, 2)) + d.sum(1).mean((1, 2)))
        self.assertTrue(torch.equal(feature_distance([a], [a]), torch.zeros(3)))
        with self.assertRaises(ValueError):
            feature_distance([a], [b], [torch.ones(4)])

    def test_grows_with_severity(self):
        """Per distortion family, three increasing severities give strictly increasing distances, with the
        trained tiny classifier's features and with the random-init AlexNet + synthetic lin weights."""
        x = torch.from_numpy(smooth_phantom(64, 64)).float()[None, None]
        families = {
            "gaussian blur sigma": (gaussian_blur, (0.5, 1.0, 2.0)),
            "gaussian noise sigma": (lambda t, s: (t + s * torch.randn(t.shape, generator=torch.Generator().manual_seed(7))).clamp(0, 1),
                                     (0.02, 0.05, 0.1)),
            "contrast factor": (lambda t, f: (t.mean() + (t - t.mean()) * f).clamp(0, 1), (0.9, 0.7, 0.5)),
        }
        alex = load_backbone(os.path.join(FIX["out"], "alex.pt"))
        lin = list(read_lin_json(os.path.join(FIX["out"], "alex.lin.json")).values())
        cls = tiny_classifier()
        nets = {"classifier": (lambda t: classifier_features(cls, t), None),
                "alexnet+lin": (lambda t: list(alex(t)), lin)}
        with torch.no_grad():
            for net, (features, weights) in nets.items():
                ref = features(x)
                for family, (distort, severities) in families.items():
                    d = [float(feature_distance(ref, features(distort(x, s)), weights)) for s in severities]
                    with self.subTest(f"{net}: {family}"):
                        self.assertGreater(d[0], 0.0)
                        self.assertLess(d[0], d[1], d)
                        self.assertLess(d[1], d[2], d)


def gaussian_blur(x, sigma):
    """Separable Gaussian blur (radius ceil(3 sigma), reflect padding) in torch."""
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = (k / k.sum()).float()
    x = F.pad(x, (r, r, r, r), mode="reflect")
    return F.conv2d(F.conv2d(x, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))


class ServerParityTest(unittest.TestCase):
    """The PyTorch distance against the server's (`medpsim metric lpips`: onnxruntime-node runs the exported
    graph, inference-worker.ts featureDistance pools it). Both runtimes compute float32 features with their
    own kernels (summation order, fused ops), so the distances agree to float32 accuracy, not bit for bit:
    a relative difference <= 1e-4 is the bound."""

    def setUp(self):
        reason = None
        if shutil.which("node") is None:
            reason = "node is not on PATH"
        elif not os.path.isfile(SERVER_CLI):
            reason = f"{SERVER_CLI} is missing (run `npm run build` in {REPO_ROOT})"
        if reason:
            if os.environ.get("CI"):
                self.fail(f"{reason}; CI is set, so the server comparison must run")
            self.skipTest(reason)

    def server(self, model, a, b, layers=()):
        cmd = ["node", SERVER_CLI, "metric", "lpips", a, b, "--model", model, "--json"]
        for layer in layers:
            cmd += ["--layer", layer]
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def assert_close(self, server, torch_value):
        rel = abs(server - torch_value) / abs(torch_value)
        self.assertLessEqual(rel, 1e-4, f"server {server!r} vs PyTorch {torch_value!r}")

    def test_alexnet_with_lin_weights(self):
        self.assertEqual(FIX["alex"][0], 0, FIX["alex"][2][-3000:])
        onnx_path = os.path.join(FIX["out"], "alex.onnx")
        model = load_backbone(os.path.join(FIX["out"], "alex.pt"))
        lin = read_lin_json(os.path.join(FIX["out"], "alex.lin.json"))
        with torch.no_grad():
            fa = [f.double() for f in model(as_input(FIX["a"]))]
            fb = [f.double() for f in model(as_input(FIX["b"]))]
        full = float(feature_distance(fa, fb, [lin[n] for n in ALEX_OUTPUTS]))
        result = self.server(onnx_path, FIX["a_png"], FIX["b_png"])
        self.assertEqual((result["model"], result["layers"]), ("alex", ALEX_OUTPUTS))
        self.assert_close(result["value"], full)
        pick = [1, 3]
        subset = float(feature_distance([fa[i] for i in pick], [fb[i] for i in pick], [lin[ALEX_OUTPUTS[i]] for i in pick]))
        result = self.server(onnx_path, FIX["a_png"], FIX["b_png"], [ALEX_OUTPUTS[i] for i in pick])
        self.assertEqual(result["layers"], [ALEX_OUTPUTS[i] for i in pick])
        self.assert_close(result["value"], subset)
        self.assertEqual(self.server(onnx_path, FIX["a_png"], FIX["a_png"])["value"], 0)

    def test_trained_classifier(self):
        model = tiny_classifier()
        onnx_path = os.path.join(FIX["out"], "cls.onnx")
        fa = [f.double() for f in classifier_features(model, as_input(FIX["a"]))]
        fb = [f.double() for f in classifier_features(model, as_input(FIX["b"]))]
        result = self.server(onnx_path, FIX["a_png"], FIX["b_png"])
        self.assertEqual(result["layers"], [f"features_{l}" for l in FEATURE_LAYERS])
        self.assert_close(result["value"], float(feature_distance(fa, fb)))
        result = self.server(onnx_path, FIX["a_png"], FIX["b_png"], ["features_layer1", "features_conv1"])
        self.assert_close(result["value"], float(feature_distance(fa[:2], fb[:2])))


if __name__ == "__main__":
    unittest.main()
