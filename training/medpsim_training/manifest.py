"""The manifest written beside every ONNX model (<name>.json): what the server needs to run the model
and what a reader needs to trust it. Keys are camelCase (the server is TypeScript); "training.config" keeps
the CLI option names (dashes as underscores), so a run can be repeated from it.
"""
import json
import os

from . import __version__
from .events import clean_json, now_iso
from .export import OPSET, PARITY_ATOL, PARITY_RTOL, sha256_file

MANIFEST_FORMAT = "medpsim-model-manifest"


def grey_input(size, size_multiple, normalization=None, extra=None):
    pre = {
        "channels": 1,
        "valueRange": [0.0, 1.0],
        "dtype": "float32",
        "layout": "NCHW",
        # The engine's pixel format: 16-bit samples / 65535, 8-bit / 255, colour converted to luma.
        "scaling": "16-bit PNG / 65535, 8-bit / 255; colour to luma (ITU-R 601)",
        "size": [size, size],
        "resize": "whole image to size x size, bilinear with antialiasing (aspect ratio not kept) while training;"
        " the graph accepts any height and width that are multiples of sizeMultiple",
        "sizeMultiple": size_multiple,
        "normalization": normalization,
    }
    pre.update(extra or {})
    return {"name": "input", "shape": ["batch", 1, "height", "width"], "dtype": "float32", "preprocessing": pre}


def write_manifest(out_dir, name, task, inputs, outputs, config, data, metrics, initialization, environment,
                   seed, extra=None):
    onnx_file = os.path.join(out_dir, name + ".onnx")
    doc = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "task": task,
        "name": name,
        "createdAt": now_iso(),
        "producer": "medpsim_training " + __version__,
        "onnx": {
            "file": name + ".onnx",
            "sha256": sha256_file(onnx_file),
            "bytes": os.path.getsize(onnx_file),
            "opset": OPSET,
        },
        "inputs": inputs,
        "outputs": outputs,
        "parity": {"file": name + ".parity.json", "atol": PARITY_ATOL, "rtol": PARITY_RTOL},
        "checkpoint": name + ".pt",
        "training": {"seed": seed, "config": config},
        "data": data,
        "metrics": metrics,
        "initialization": initialization,
        "environment": environment,
    }
    doc.update(extra or {})
    path = os.path.join(out_dir, name + ".json")
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(clean_json(doc), fh, indent=2, allow_nan=False)
        fh.write("\n")
    os.replace(path + ".tmp", path)
    return path
