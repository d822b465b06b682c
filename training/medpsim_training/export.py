"""ONNX export, the manifest beside it, and parity data for checking another runtime against PyTorch.

Files written for a model <name> in the output folder:
- <name>.onnx          the graph (opset 17, input "input", float32 NCHW, dynamic batch and height/width);
- <name>.json          the manifest (see manifest.py);
- <name>.parity.json   a sample input and PyTorch's outputs on it, for a 1e-4 parity check with onnxruntime;
- <name>.pt            the PyTorch checkpoint (fine-tuning, or a feature net for train-gan --feature-net).
"""
import contextlib
import copy
import hashlib
import inspect
import json
import os
import sys

import numpy as np
import onnx

# torch is imported inside the functions that need it, so that verify-export runs where only numpy, onnx
# and onnxruntime are installed.

OPSET = 17
PARITY_FORMAT = "medpsim-onnx-parity"
PARITY_ATOL = 1e-4
PARITY_RTOL = 1e-4


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cpu_eval_copy(model):
    # Export and parity run on a CPU copy in eval mode: dropout off, batch norm on running statistics.
    return copy.deepcopy(model).to("cpu").eval()


def export_onnx(model, path, example, output_names, output_axes):
    """Exports model (already a CPU eval copy) and checks the file with onnx.checker (full check with shape
    inference). output_axes: {output name: {axis: dim name}}; the input's batch, height and width are dynamic."""
    import torch

    axes = {"input": {0: "batch", 2: "height", 3: "width"}}
    axes.update(output_axes)
    tmp = path + ".tmp"
    # torch >= 2.9 exports through torch.export ("dynamo") by default, at a newer opset and with other ops;
    # the TorchScript exporter gives the same graph on every torch version we support (1.13 here).
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    # stdout carries our JSON lines only: the exporter's own messages go to stderr.
    with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
        torch.onnx.export(
            model,
            (example,),
            tmp,
            input_names=["input"],
            output_names=list(output_names),
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            training=torch.onnx.TrainingMode.EVAL,
            **legacy,
        )
    onnx.checker.check_model(onnx.load(tmp), full_check=True)
    os.replace(tmp, path)
    return path


def parity_input(batch, height, width, seed):
    """A smooth gradient plus seeded noise in [0, 1]: structured enough to excite every layer."""
    import torch

    g = torch.Generator().manual_seed(seed)
    yy = torch.linspace(0.0, 1.0, height).view(1, 1, height, 1)
    xx = torch.linspace(0.0, 1.0, width).view(1, 1, 1, width)
    base = 0.25 + 0.5 * (0.6 * yy + 0.4 * xx)
    noise = torch.rand(batch, 1, height, width, generator=g) * 0.3 - 0.15
    return (base + noise).clamp(0.0, 1.0).float()


def _flat(tensor):
    # Shortest float32 decimal of each value: parses back (Math.fround in JS) to the same float32.
    return [float(str(v)) for v in tensor.detach().cpu().numpy().astype(np.float32).reshape(-1)]


def write_parity(model, path, onnx_name, example, output_names):
    """Runs model (a CPU eval copy) on example and writes input and outputs as JSON.

    Format: {"format": "medpsim-onnx-parity", "version": 1, "model": "<name>.onnx", "atol", "rtol",
    "inputs": {"input": {"shape": [...], "data": [...]}}, "outputs": {name: {"shape", "data"}}}; data is
    flat row-major float32. An output o of another runtime passes when, over the whole tensor,
    max |o - ref| <= atol + rtol * max |ref| (scaled by the tensor's largest magnitude: float32 error
    grows with the values a layer carries, and an element-wise relative test fails on the cancellations
    next to zero that any float32 runtime makes).
    """
    import torch

    with torch.no_grad():
        outs = model(example)
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    doc = {
        "format": PARITY_FORMAT,
        "version": 1,
        "model": onnx_name,
        "atol": PARITY_ATOL,
        "rtol": PARITY_RTOL,
        "inputs": {"input": {"shape": list(example.shape), "data": _flat(example)}},
        "outputs": {n: {"shape": list(o.shape), "data": _flat(o)} for n, o in zip(output_names, outs)},
    }
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"))
    os.replace(path + ".tmp", path)
    return path


def graph_io(path):
    """Names and shapes (dim_value, dim_param or None) of the ONNX graph's inputs and outputs."""
    model = onnx.load(path)

    def dims(v):
        out = []
        for d in v.type.tensor_type.shape.dim:
            out.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
        return out

    inits = {i.name for i in model.graph.initializer}
    return (
        [{"name": v.name, "shape": dims(v)} for v in model.graph.input if v.name not in inits],
        [{"name": v.name, "shape": dims(v)} for v in model.graph.output],
        model,
    )


def compare(outputs, reference, atol=PARITY_ATOL, rtol=PARITY_RTOL):
    """{name: {"ok", "maxAbsDiff", "maxAbsRef", "limit"}} of outputs against the parity reference outputs:
    ok when max |o - ref| <= atol + rtol * max |ref| (see write_parity)."""
    report = {}
    for name, ref in reference.items():
        want = np.asarray(ref["data"], dtype=np.float32).reshape(ref["shape"])
        got = np.asarray(outputs[name], dtype=np.float32)
        if got.shape != want.shape:
            report[name] = {"ok": False, "error": f"shape {list(got.shape)} != {list(want.shape)}"}
            continue
        diff = float(np.abs(got.astype(np.float64) - want).max()) if want.size else 0.0
        scale = float(np.abs(want).max()) if want.size else 0.0
        limit = atol + rtol * scale
        report[name] = {"ok": diff <= limit, "maxAbsDiff": diff, "maxAbsRef": scale, "limit": limit}
    return report


def run_onnx(path, feeds):
    """Runs the graph with onnxruntime when it is installed, else with the package's numpy evaluator.

    Returns (runtime name, {output name: array})."""
    try:
        import onnxruntime as ort  # noqa: F401
    except ImportError:
        ort = None
    if ort is not None:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        return "onnxruntime " + ort.__version__, dict(zip(names, sess.run(names, feeds)))
    from . import onnx_numpy

    return "medpsim_training.onnx_numpy (reference evaluator)", onnx_numpy.run(onnx.load(path), feeds)


def verify(onnx_path, require_onnxruntime=False):
    """Checks an export: onnx.checker, the manifest (SHA-256, input/output names), parity within tolerance."""
    stem = onnx_path[: -len(".onnx")] if onnx_path.endswith(".onnx") else onnx_path
    problems, report = [], {"model": onnx_path}
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    report["checker"] = "ok"
    inputs, outputs, _ = graph_io(onnx_path)
    report["graph"] = {"inputs": inputs, "outputs": outputs}
    manifest_path = stem + ".json"
    if os.path.isfile(manifest_path):
        with open(manifest_path, encoding="utf-8") as fh:
            manifest = json.load(fh)
        digest = sha256_file(onnx_path)
        if manifest.get("onnx", {}).get("sha256") != digest:
            problems.append("manifest SHA-256 does not match the .onnx file")
        if [i["name"] for i in manifest.get("inputs", [])] != [i["name"] for i in inputs]:
            problems.append("manifest inputs differ from the graph's")
        if [o["name"] for o in manifest.get("outputs", [])] != [o["name"] for o in outputs]:
            problems.append("manifest outputs differ from the graph's")
        report["manifest"] = manifest_path
    else:
        problems.append(f"no manifest {manifest_path}")
    parity_path = stem + ".parity.json"
    if os.path.isfile(parity_path):
        with open(parity_path, encoding="utf-8") as fh:
            parity = json.load(fh)
        feeds = {k: np.asarray(v["data"], dtype=np.float32).reshape(v["shape"]) for k, v in parity["inputs"].items()}
        runtime, got = run_onnx(onnx_path, feeds)
        if require_onnxruntime and not runtime.startswith("onnxruntime"):
            problems.append("onnxruntime is not installed (--require-onnxruntime)")
        cmp = compare(got, parity["outputs"], parity.get("atol", PARITY_ATOL), parity.get("rtol", PARITY_RTOL))
        report["parity"] = {"runtime": runtime, "outputs": cmp}
        problems += [f"parity: {n} {r.get('error') or 'max abs diff %.3g' % r['maxAbsDiff']}" for n, r in cmp.items() if not r["ok"]]
    else:
        problems.append(f"no parity data {parity_path}")
    report["problems"] = problems
    report["ok"] = not problems
    return report
