"""The command line end to end on tiny synthetic datasets: JSON lines, exit codes, ONNX + manifest +
parity files, verify-export, and identical results for the same seed."""
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import onnx
import torch

from medpsim_training.export import sha256_file
from tests.helpers import make_kermany, run_cli, save_image

COUNTS = {"train": {"NORMAL": 4, "PNEUMONIA": 12}, "test": {"NORMAL": 3, "PNEUMONIA": 3}, "val": {"NORMAL": 1, "PNEUMONIA": 1}}


class CliCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="medpsim-training-test-")
        cls.data = os.path.join(cls.tmp, "data")
        make_kermany(cls.data, COUNTS, size=32, seed=1)
        # An empty torch home: no cached ImageNet weights, whatever this machine has.
        cls.env = {"TORCH_HOME": os.path.join(cls.tmp, "torch-home")}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_ok(self, *args):
        code, events, stderr = run_cli(*args, env=self.env)
        self.assertEqual(code, 0, stderr[-3000:])
        self.assertEqual(events[0]["event"], "start")
        self.assertEqual(events[-1]["event"], "done")
        self.assertFalse([e for e in events if e["event"] == "error"])
        return events, stderr

    def check_files(self, out_dir, name, task):
        paths = {s: os.path.join(out_dir, name + s) for s in (".onnx", ".json", ".parity.json", ".pt")}
        for p in paths.values():
            self.assertTrue(os.path.isfile(p), p)
        model = onnx.load(paths[".onnx"])
        onnx.checker.check_model(model, full_check=True)
        self.assertGreaterEqual(model.opset_import[0].version, 13)
        self.assertLessEqual(model.opset_import[0].version, 17)
        with open(paths[".json"]) as fh:
            manifest = json.load(fh)
        self.assertEqual((manifest["task"], manifest["name"]), (task, name))
        self.assertEqual(manifest["onnx"]["sha256"], sha256_file(paths[".onnx"]))
        self.assertEqual([i["name"] for i in manifest["inputs"]], ["input"])
        self.assertEqual([i.name for i in model.graph.input], ["input"])
        self.assertEqual([o["name"] for o in manifest["outputs"]], [o.name for o in model.graph.output])
        dims = model.graph.input[0].type.tensor_type.shape.dim
        self.assertEqual([d.dim_param or d.dim_value for d in dims], ["batch", 1, "height", "width"])
        pre = manifest["inputs"][0]["preprocessing"]
        for key in ("channels", "valueRange", "normalization", "size", "sizeMultiple"):
            self.assertIn(key, pre)
        for key in ("training", "data", "metrics", "initialization", "environment", "createdAt", "parity"):
            self.assertIn(key, manifest)
        self.assertEqual(manifest["environment"]["torch"], torch.__version__)
        with open(paths[".parity.json"]) as fh:
            parity = json.load(fh)
        self.assertEqual(parity["model"], name + ".onnx")
        self.assertEqual(set(parity["outputs"]), {o["name"] for o in manifest["outputs"]})
        shape = parity["inputs"]["input"]["shape"]
        self.assertEqual(len(parity["inputs"]["input"]["data"]), int(np.prod(shape)))
        self.assertEqual(shape[0], 2)  # another batch size than the export's example
        # verify-export runs the .onnx (numpy evaluator here) on the parity input.
        events, _ = self.run_ok("verify-export", "--model", paths[".onnx"])
        report = events[-1]["report"]
        self.assertTrue(report["ok"], report["problems"])
        self.assertEqual(set(report["parity"]["outputs"]), set(parity["outputs"]))
        return manifest, parity


class ClassifierCliTest(CliCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.out = os.path.join(cls.tmp, "out")
        # On the CPU: some CUDA kernels have no deterministic version, and the reruns must match exactly.
        cls.args = ["train-classifier", "--data", cls.data, "--epochs", 2, "--batch-size", 8, "--image-size", 32,
                    "--seed", 3, "--device", "cpu"]
        cls.result = run_cli(*cls.args, "--out-dir", cls.out, "--name", "cls", env=cls.env)

    def test_run_logs_and_files(self):
        code, events, stderr = self.result
        self.assertEqual(code, 0, stderr[-3000:])
        kinds = [e["event"] for e in events]
        self.assertEqual((kinds[0], kinds[-1]), ("start", "done"))
        self.assertEqual([e["epoch"] for e in events if e["event"] == "epoch"], [1, 2])
        for e in events:
            if e["event"] == "epoch":
                self.assertIn("train", e["losses"])
                self.assertIn("val", e["metrics"])
        scratch = [e for e in events if e["event"] == "warning" and "FROM SCRATCH" in e["message"]]
        self.assertEqual(len(scratch), 1)
        self.assertIn("FROM SCRATCH", stderr)

        manifest, parity = self.check_files(self.out, "cls", "classifier")
        self.assertEqual(manifest["classes"], ["NORMAL", "PNEUMONIA"])
        self.assertEqual(manifest["deepMetric"], {"layers": manifest["featureLayers"], "defaultLayers": manifest["featureLayers"],
                                                  "inputSize": None, "linWeights": None})
        names = [o["name"] for o in manifest["outputs"]]
        self.assertEqual(names, ["logits", "features_conv1", "features_layer1", "features_layer2", "features_layer3", "features_layer4"])
        l2 = manifest["outputs"][3]
        self.assertEqual(l2["shape"], ["batch", 512, "ceil(height/8)", "ceil(width/8)"])
        self.assertEqual(l2["shapeAtTrainingSize"], [None, 512, 4, 4])
        self.assertEqual(parity["outputs"]["features_layer2"]["shape"], [2, 512, 5, 6])  # 36 x 44 input
        self.assertFalse(manifest["initialization"]["pretrained"])
        self.assertTrue(manifest["inputs"][0]["preprocessing"]["normalization"]["inGraph"])
        cfg = manifest["training"]["config"]
        self.assertEqual((cfg["epochs"], cfg["batch_size"], cfg["rotation"], cfg["shear"]), (2, 8, 45.0, 16.0))
        data = manifest["data"]
        self.assertEqual(data["found"]["counts"]["train"], {"NORMAL": 4, "PNEUMONIA": 12})
        train = data["parts"]["train"]["labels"]
        aug = data["augmentation"]
        self.assertEqual(aug["augmentedCopies"], {"NORMAL": train["PNEUMONIA"] - train["NORMAL"]})
        self.assertEqual(aug["perClassPerEpoch"]["NORMAL"], aug["perClassPerEpoch"]["PNEUMONIA"])
        self.assertEqual(data["parts"]["test"]["images"], 6)
        test = manifest["metrics"]["test"]
        for key in ("accuracy", "sensitivity", "specificity", "auc"):
            self.assertIsInstance(test[key], float)
        self.assertEqual(test["n"], 6)

    def test_same_seed_same_results(self):
        code, events, stderr = run_cli(*self.args, "--no-export", env=self.env)
        self.assertEqual(code, 0, stderr[-3000:])
        first = [e for e in self.result[1] if e["event"] in ("epoch", "metrics")]
        again = [e for e in events if e["event"] in ("epoch", "metrics")]
        strip = lambda e: {k: v for k, v in e.items() if k not in ("time", "seconds")}  # noqa: E731
        self.assertEqual([strip(e) for e in first], [strip(e) for e in again])

    def test_classifier_checkpoint_as_gan_feature_net(self):
        code, events, stderr = run_cli("train-gan", "--data", self.data, "--epochs", 1, "--batch-size", 4, "--image-size", 32,
                                       "--g-layers", 3, "--g-channels", 4, "--d-layers", 2, "--d-channels", 4,
                                       "--w-feature", 1, "--feature-net", os.path.join(self.out, "cls.pt"), "--no-export",
                                       env=self.env)
        self.assertEqual(code, 0, stderr[-3000:])
        self.assertIn("medpsim classifier checkpoint", stderr)
        epoch = [e for e in events if e["event"] == "epoch"][0]
        self.assertGreater(epoch["losses"]["feature"], 0.0)


class DaeGanCliTest(CliCase):
    def test_dae(self):
        out = os.path.join(self.tmp, "dae")
        events, _ = self.run_ok("train-dae", "--data", self.data, "--out-dir", out, "--epochs", 2, "--batch-size", 4,
                                "--image-size", 32, "--depth", 2, "--channels", 4, "--noise-sigma", 0.2)
        manifest, parity = self.check_files(out, "dae", "dae")
        self.assertEqual(manifest["inputs"][0]["preprocessing"]["sizeMultiple"], 4)
        self.assertEqual(manifest["inputs"][0]["preprocessing"]["noise"]["sigma"], 0.2)
        self.assertEqual(parity["inputs"]["input"]["shape"], [2, 1, 32, 36])  # non-square: dynamic H and W
        self.assertIn("psnr", manifest["metrics"]["test"])

    def test_gan_and_determinism(self):
        args = ["train-gan", "--data", self.data, "--epochs", 2, "--batch-size", 4, "--image-size", 32,
                "--target-kind", "uniform_noise", "--target-amplitude", 0.2, "--g-layers", 3, "--g-channels", 4,
                "--g-skips", 1, "--g-force-top-skip", "--g-dropout-layers", 1, "--g-upsample", "nearest",
                "--g-norm", "instance", "--d-layers", 2, "--d-channels", 4, "--w-feature", 0.5, "--seed", 9,
                "--device", "cpu"]
        runs = []
        for k in range(2):
            out = os.path.join(self.tmp, f"gan{k}")
            events, _ = self.run_ok(*args, "--out-dir", out, "--name", "g")
            runs.append(events)
        manifest, parity = self.check_files(out, "g", "gan-generator")
        arch = manifest["architecture"]
        self.assertEqual((arch["skipLevels"], arch["dropoutLevels"], arch["upsample"], arch["norm"]), ([1, 2], [2], "nearest", "instance"))
        self.assertEqual(manifest["target"], {"kind": "uniform_noise", "params": {"amplitude": 0.2},
                                              "note": manifest["target"]["note"]})
        self.assertEqual(set(runs[0][-2]["metrics"]["test"]), {"l1", "residualStdGenerated", "residualStdTarget",
                                                              "discriminatorAccuracyReal", "discriminatorAccuracyFake", "images"})
        losses = [[e["losses"] for e in r if e["event"] == "epoch"] for r in runs]
        self.assertEqual(losses[0], losses[1])
        with open(os.path.join(self.tmp, "gan0", "g.parity.json")) as fh:
            self.assertEqual(json.load(fh)["outputs"], parity["outputs"])

    def test_flat_folder_carves_a_test_split(self):
        flat = os.path.join(self.tmp, "flat")
        rng = np.random.default_rng(0)
        for k in range(10):
            save_image(os.path.join(flat, f"scan_{k}.png"), rng.random((16, 16)), 16)
        events, _ = self.run_ok("train-dae", "--data", flat, "--epochs", 1, "--batch-size", 4, "--image-size", 16,
                                "--depth", 2, "--channels", 4, "--no-export")
        data = [e for e in events if e["event"] == "metrics" and e.get("stage") == "data"][0]["data"]
        self.assertEqual(data["layout"], "flat")
        self.assertEqual(data["parts"]["test"]["images"], 2)
        self.assertTrue(any(e["event"] == "warning" and "no test split" in e["message"] for e in events))


@unittest.skipUnless(torch.cuda.is_available(), "no CUDA device")
class CudaTest(CliCase):
    def test_train_on_the_gpu(self):
        for args in (["train-classifier", "--image-size", 64, "--batch-size", 8],
                     ["train-gan", "--image-size", 32, "--g-layers", 3, "--g-channels", 8, "--d-layers", 2, "--w-feature", 1]):
            out = os.path.join(self.tmp, "cuda-" + args[0])
            events, _ = self.run_ok(*args, "--data", self.data, "--epochs", 1, "--device", "cuda", "--out-dir", out)
            self.assertEqual(events[0]["device"], "cuda")
            name = "classifier-resnet50" if args[0] == "train-classifier" else "gan-gaussian_noise"
            self.check_files(out, name, "classifier" if args[0] == "train-classifier" else "gan-generator")


class ErrorTest(CliCase):
    def assert_error(self, *args, code=2, contains=""):
        rc, events, stderr = run_cli(*args, env=self.env)
        self.assertEqual(rc, code, stderr[-2000:])
        self.assertEqual(events[-1]["event"], "error")
        self.assertIn(contains, events[-1]["message"])
        self.assertNotIn("Traceback", stderr)
        return events

    def test_bad_dataset_folders(self):
        self.assert_error("train-classifier", "--data", os.path.join(self.tmp, "missing"), contains="not found")
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty, exist_ok=True)
        self.assert_error("train-dae", "--data", empty, contains="no PNG/JPEG images")
        odd = os.path.join(self.tmp, "odd")
        save_image(os.path.join(odd, "train", "COVID", "person1_virus_1.png"), np.zeros((8, 8)), 8)
        self.assert_error("train-classifier", "--data", odd, contains="unknown labels")
        one_class = os.path.join(self.tmp, "one-class")
        make_kermany(one_class, {"train": {"PNEUMONIA": 4}}, size=8)
        self.assert_error("train-classifier", "--data", one_class, "--image-size", 8, contains="both NORMAL and PNEUMONIA")

    def test_bad_options(self):
        self.assert_error("train-dae", "--data", self.data, "--epochs", 0, contains="must be > 0")
        self.assert_error("train-dae", "--data", self.data, "--name", "../x", contains="letters")
        self.assert_error("train-gan", "--data", self.data, "--image-size", 40, "--g-layers", 4, contains="multiple of 16")
        self.assert_error("verify-export", "--model", os.path.join(self.tmp, "none.onnx"), contains="not found")

    @unittest.skipIf(torch.cuda.is_available(), "a GPU is present")
    def test_cuda_without_gpu(self):
        self.assert_error("train-dae", "--data", self.data, "--device", "cuda", contains="no CUDA device")


if __name__ == "__main__":
    unittest.main()
