"""What the three train commands share: the dataset's parts (train / val / test, split by patient), the
run's start, and the files written at the end (ONNX, parity data, checkpoint, manifest)."""
import os
import time
import warnings

import numpy as np
import torch

from . import data as D
from .export import cpu_eval_copy, export_onnx, parity_input, write_parity
from .manifest import write_manifest
from .runtime import environment, pick_device, seed_everything
from .weights import save_checkpoint


class Run:
    """One command's context: events, device, timing, output paths."""

    def __init__(self, args, events, task):
        self.args = args
        self.events = events
        self.task = task
        self.started = time.time()
        seed_everything(args.seed, deterministic=not args.nondeterministic)
        self.device = pick_device(args.device)
        self.env = environment(self.device)
        self.out_dir = os.path.abspath(args.out_dir)
        self.name = args.name

    def start(self, config):
        self.events.emit("start", task=self.task, name=self.name, seed=self.args.seed, device=str(self.device),
                         environment=self.env, config=config)
        self.events.say(f"{self.events.command}: {self.task} '{self.name}' on {self.device} (seed {self.args.seed})")

    def path(self, suffix):
        return os.path.join(self.out_dir, self.name + suffix)

    def finish(self, metrics, export):
        """The final metrics line, then export() (unless --no-export) and the done line; returns the exit code."""
        self.events.emit("metrics", stage="final", metrics=metrics)
        files = None if self.args.no_export else export()
        self.events.emit("done", metrics=metrics, files=files, seconds=round(time.time() - self.started, 3))
        return 0


def load_parts(args, events, labelled):
    """Scans args.data and returns ({"train", "val", "test"}: (items, uint16 images), data summary).

    labelled: the classifier needs NORMAL/PNEUMONIA labels (compared upper-case); the DAE and GAN ignore labels.
    Validation comes from the train split by patient (the study's rule), or the dataset's own val folder
    with --val-source folder. Without a test split, one is carved from train by patient (--test-fraction).
    """
    from .models import CLASSES

    layout, items, skipped = D.scan_dataset(args.data)
    if skipped:
        events.warning(f"{len(skipped)} file(s) that are not PNG/JPEG left out", files=skipped[:20])
    if labelled:
        unlabelled = [it for it in items if it.label is None]
        if unlabelled:
            events.warning(f"{len(unlabelled)} image(s) outside a class folder left out", files=[i.rel for i in unlabelled[:20]])
        items = [it for it in items if it.label is not None]
        unknown = sorted({it.label for it in items if it.label.upper() not in CLASSES})
        if unknown:
            raise D.DataError(f"unknown labels {unknown} in {args.data}; the classifier knows {list(CLASSES)}")
        for it in items:
            it.label = it.label.upper()
    if not items:
        raise D.DataError(f"no PNG/JPEG images found in {args.data}" + (" under class folders" if labelled else ""))
    found = D.summarize(items)
    pool = [it for it in items if it.split in ("train", None)]
    test = [it for it in items if it.split == "test"]
    folder_val = [it for it in items if it.split == "val"]
    if not pool:
        raise D.DataError(f"no training images in {args.data} (no train split)")
    test_source = "test split"
    if not test and args.test_fraction > 0:
        pool, test = D.split_by_patient(pool, args.test_fraction, args.seed + 1, stratify=labelled)
        test_source = f"carved from train by patient ({args.test_fraction})"
        events.warning(f"no test split: {len(test)} image(s) of the training images held out by patient as the test set")
    if args.val_source == "folder":
        if not folder_val:
            raise D.DataError(f"--val-source folder: {args.data} has no val split")
        train, val, val_source = pool, folder_val, "val split"
    else:
        train, val = D.split_by_patient(pool, args.val_fraction, args.seed, stratify=labelled)
        val_source = f"from train by patient ({args.val_fraction})"
    if not train:
        raise D.DataError("no images left for training after the validation/test split")

    unreadable = []

    def on_error(item, exc):
        unreadable.append(item.rel)
        events.warning(f"cannot decode {item.rel}: {exc}; left out")

    parts = {}
    for part, part_items in (("train", train), ("val", val), ("test", test)):
        images, kept = D.load_images(part_items, args.image_size, args.workers, on_error)
        parts[part] = (kept, images)
    if not parts["train"][0]:
        raise D.DataError("none of the training images could be decoded")
    summary = {
        "root": os.path.abspath(args.data),
        "layout": layout,
        "found": found,
        "nonImageFiles": len(skipped),
        "unreadable": unreadable,
        "unusedValFolder": len(folder_val) if args.val_source != "folder" else 0,
        "valSource": val_source,
        "testSource": test_source if test else None,
        "imageSize": args.image_size,
        "parts": {p: D.part_summary(kept) for p, (kept, _) in parts.items()},
    }
    return parts, summary


def batches(n, batch_size):
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


def epoch_order(n, seed, epoch):
    g = torch.Generator().manual_seed(int((seed * 1000003 + epoch) & 0x7FFFFFFFFFFFFFFF))
    return torch.randperm(n, generator=g).numpy()


def save_outputs(run, model, output_names, output_axes, example_size, parity_hw, manifest_kwargs):
    """ONNX + checker, parity data, checkpoint and manifest; returns the paths written."""
    os.makedirs(run.out_dir, exist_ok=True)
    cpu = cpu_eval_copy(model)
    onnx_path = run.path(".onnx")
    example = torch.rand(1, 1, example_size, example_size, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        # The tracer's warnings (Python branches, shape inference notes) are about export internals only.
        warnings.simplefilter("ignore")
        export_onnx(cpu, onnx_path, example, output_names, output_axes)
    # Batch 2 at another size than the example: the parity check also exercises the dynamic axes.
    parity_path = write_parity(cpu, run.path(".parity.json"), run.name + ".onnx",
                               parity_input(2, parity_hw[0], parity_hw[1], run.args.seed), output_names)
    ckpt_path = run.path(".pt")
    save_checkpoint(ckpt_path, run.task, model, manifest_kwargs["config"])
    manifest_path = write_manifest(run.out_dir, run.name, run.task, environment=run.env, seed=run.args.seed,
                                   **manifest_kwargs)
    return {"onnx": onnx_path, "manifest": manifest_path, "parity": parity_path, "checkpoint": ckpt_path}


def parity_size(multiple, minimum=32):
    """A non-square sample size (H, W) that the model accepts and that differs from the training size, so
    that the parity check also exercises the dynamic batch, height and width axes."""
    h = multiple * max(1, -(-minimum // multiple))
    return h, h + multiple


def to_device(array_u16, device):
    """uint16 (N, H, W) -> float32 (N, 1, H, W) in [0, 1] on device."""
    return torch.from_numpy(array_u16.astype(np.float32) / 65535.0).unsqueeze(1).to(device)


def save_image_to_image(run, model, meaning, manifest_kwargs):
    """save_outputs for the DAE and the GAN generator: one output `output` [batch, 1, height, width] in
    [0, 1], trained from scratch by design, parity at a size the model's multiple allows."""
    outputs = [{"name": "output", "shape": ["batch", 1, "height", "width"], "dtype": "float32", "meaning": meaning}]
    return save_outputs(run, model, ["output"], {"output": {0: "batch", 2: "height", 3: "width"}}, run.args.image_size,
                        parity_size(model.size_multiple), {
        "outputs": outputs,
        "initialization": {"pretrained": False, "source": None, "reason": "trained from scratch (by design)"},
        **manifest_kwargs,
    })
