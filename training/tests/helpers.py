"""Fixtures for the tests: tiny synthetic chest-X-ray-like datasets written in Python (no Node needed) and
a runner for the command line that parses its JSON lines."""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

TRAINING_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(TRAINING_DIR)


def phantom(rng, size, pneumonia):
    """A dark background, two brighter lung fields, and for PNEUMONIA a bright opacity in one lung."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = 0.15 + 0.05 * rng.standard_normal((size, size))
    for cx in (0.3, 0.7):
        img += 0.45 * np.exp(-(((xx - cx) / 0.15) ** 2 + ((yy - 0.5) / 0.3) ** 2))
    if pneumonia:
        cx, cy = rng.choice([0.3, 0.7]), rng.uniform(0.35, 0.65)
        img += 0.35 * np.exp(-(((xx - cx) / 0.08) ** 2 + ((yy - cy) / 0.08) ** 2))
    return np.clip(img, 0.0, 1.0)


def save_image(path, array, bit_depth):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if bit_depth == 16:
        Image.fromarray(np.round(array * 65535).astype(np.uint16)).save(path)  # 16-bit greyscale PNG
    elif path.endswith((".jpeg", ".jpg")):
        Image.fromarray(np.round(array * 255).astype(np.uint8), mode="L").save(path, quality=95)
    else:
        Image.fromarray(np.round(array * 255).astype(np.uint8), mode="L").save(path)


def make_kermany(root, counts=None, size=32, bit_depth=8, seed=0, per_patient=2):
    """{split: {label: n}} images in {split}/{LABEL}/ with Kermany file names (two images per patient):
    NORMAL IM-0001-0001 (every third patient NORMAL2-IM-...), PNEUMONIA person1_bacteria_1."""
    counts = counts or {"train": {"NORMAL": 4, "PNEUMONIA": 12}, "test": {"NORMAL": 3, "PNEUMONIA": 3}}
    rng = np.random.default_rng(seed)
    ext = "png" if bit_depth == 16 else "jpeg"
    normal_patient = pneumonia_patient = pneumonia_image = 0
    paths = []
    for split, labels in counts.items():
        for label, n in labels.items():
            for k in range(n):
                first = k % per_patient == 0
                if label == "NORMAL":
                    normal_patient += first
                    prefix = "NORMAL2-" if normal_patient % 3 == 0 else ""
                    name = f"{prefix}IM-{normal_patient:04d}-{k % per_patient + 1:04d}.{ext}"
                else:
                    pneumonia_patient += first
                    pneumonia_image += 1
                    name = f"person{pneumonia_patient}_bacteria_{pneumonia_image}.{ext}"
                path = os.path.join(root, split, label, name)
                save_image(path, phantom(rng, size, label == "PNEUMONIA"), bit_depth)
                paths.append(path)
    return paths


def run_cli(*args, env=None, timeout=600):
    """Runs python -m medpsim_training; returns (exit code, [JSON objects from stdout], stderr).

    Fails (AssertionError) when a stdout line is not a JSON object: stdout must be JSON lines only."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = TRAINING_DIR + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "medpsim_training", *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=TRAINING_DIR)
    events = []
    for line in proc.stdout.splitlines():
        obj = json.loads(line)  # raises on anything but JSON
        assert isinstance(obj, dict) and "event" in obj, line
        events.append(obj)
    return proc.returncode, events, proc.stderr
