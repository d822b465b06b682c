"""Datasets on disk: the layouts the server imports, plus the server's dataset export.

Layouts (read exactly as src/datasets/layout.ts reads them):
- "kermany": {train,test,val}/<LABEL>/<file> (split folder names compared lower-case);
- "class-folders": <LABEL>/<file>;
- "flat": files directly in the folder (no split, no label);
- "export": a folder with manifest.json ({"format": "medpsim-dataset", "version": 1, "images": [...]}) or
  images.csv (header path,split,label,patient_id), see README.md.
Hidden files, folders starting with "." or "__" and the synthetic-dataset marker are not items.

Pixels: greyscale float32 in [0, 1]; 16-bit PNGs are divided by 65535, 8-bit images by 255; colour images
are converted to luma (ITU-R 601). Images are decoded once and kept resized to the training size as
uint16 (exact for 8- and 16-bit sources, a quarter of float32's memory).
"""
import concurrent.futures
import csv
import dataclasses
import json
import os
import random
import re
from collections import Counter, defaultdict

import numpy as np
from PIL import Image

SPLITS = ("train", "test", "val")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
SYNTHETIC_MARKER_FILE = "MEDPSIM_SYNTHETIC.json"
EXPORT_FORMAT = "medpsim-dataset"


class DataError(Exception):
    """A dataset that cannot be used (missing folder, no images, unknown labels...): exit code 2."""


@dataclasses.dataclass
class Item:
    path: str  # absolute path
    rel: str  # relative to the dataset root, forward slashes
    split: str | None
    label: str | None
    patient: str | None  # None: no recognisable id, the file is its own patient

    @property
    def patient_key(self):
        return self.patient if self.patient is not None else "file:" + self.rel


_PERSON = re.compile(r"^(person\d+)_", re.IGNORECASE | re.ASCII)
_STUDY = re.compile(r"^((?:NORMAL\d*-)?IM-\d+)-\d+", re.IGNORECASE | re.ASCII)


def patient_id_from_file_name(file_name):
    """Same rule as the server's patientIdFromFileName: person12_bacteria_45.jpeg -> person12,
    IM-0115-0001.jpeg -> IM-0115, NORMAL2-IM-1427-0001.jpeg -> NORMAL2-IM-1427, else None."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    m = _PERSON.match(base)
    if m:
        return m.group(1).lower()
    m = _STUDY.match(base)
    if m:
        return m.group(1).upper()
    return None


def _list_files(folder):
    return sorted(
        e.name
        for e in os.scandir(folder)
        if e.is_file() and not e.name.startswith(".") and e.name != SYNTHETIC_MARKER_FILE
    )


def _list_dirs(folder):
    return sorted(
        e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".") and not e.name.startswith("__")
    )


def _class_folder_items(root, prefix, split):
    out = []
    base = os.path.join(root, prefix) if prefix else root
    for f in _list_files(base):
        out.append((f"{prefix}/{f}" if prefix else f, split, None))
    for label in _list_dirs(base):
        for f in _list_files(os.path.join(base, label)):
            out.append((f"{prefix}/{label}/{f}" if prefix else f"{label}/{f}", split, label))
    return out


def _export_items(root):
    manifest = os.path.join(root, "manifest.json")
    if os.path.isfile(manifest):
        try:
            with open(manifest, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as e:
            raise DataError(f"{manifest}: not readable JSON ({e})") from e
        if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
            return None  # some other manifest.json: treat the folder as a plain layout
        if doc.get("version") != 1:
            raise DataError(f"{manifest}: unsupported export version {doc.get('version')!r} (expected 1)")
        rows = doc.get("images")
        if not isinstance(rows, list):
            raise DataError(f"{manifest}: 'images' must be a list")
        return [_export_row(root, r, i, manifest) for i, r in enumerate(rows)]
    table = os.path.join(root, "images.csv")
    if os.path.isfile(table):
        with open(table, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "path" not in reader.fieldnames:
                raise DataError(f"{table}: needs a header with at least 'path' (path,split,label,patient_id)")
            rows = [
                {"path": r.get("path"), "split": r.get("split"), "label": r.get("label"), "patientId": r.get("patient_id")}
                for r in reader
            ]
        return [_export_row(root, r, i, table) for i, r in enumerate(rows)]
    return None


def _export_row(root, row, index, source):
    if not isinstance(row, dict) or not isinstance(row.get("path"), str) or not row["path"]:
        raise DataError(f"{source}: image {index} has no 'path'")
    rel = row["path"].replace("\\", "/")
    if rel.startswith("/") or ".." in rel.split("/"):
        raise DataError(f"{source}: image {index} path must stay inside the folder: {rel}")
    split = (row.get("split") or "").strip().lower() or None
    if split is not None and split not in SPLITS:
        raise DataError(f"{source}: image {index} has split {split!r}; allowed: {', '.join(SPLITS)} or empty")
    label = (row.get("label") or "").strip() or None
    patient = (row.get("patientId") or "").strip() or None
    if patient is None:  # the export may name files by hash: fall back on the original file name
        patient = patient_id_from_file_name(row.get("sourcePath") or rel)
    return Item(os.path.join(root, rel), rel, split, label, patient)


def scan_dataset(root):
    """(layout, items, skipped): every image file of the dataset, and the non-image files left out."""
    if not os.path.exists(root):
        raise DataError(f"dataset folder not found: {root}")
    if not os.path.isdir(root):
        raise DataError(f"not a folder: {root}")
    root = os.path.abspath(root)
    exported = _export_items(root)
    if exported is not None:
        missing = [it.rel for it in exported if not os.path.isfile(it.path)]
        if missing:
            raise DataError(f"{len(missing)} file(s) listed in the export are missing, e.g. {missing[0]}")
        return "export", exported, []
    dirs = _list_dirs(root)
    split_dirs = [d for d in dirs if d.lower() in SPLITS]
    entries = []
    if split_dirs:
        layout = "kermany"
        for d in split_dirs:
            entries += _class_folder_items(root, d, d.lower())
    else:
        layout = "class-folders" if dirs else "flat"
        entries = _class_folder_items(root, "", None)
    items, skipped = [], []
    for rel, split, label in entries:
        if not rel.lower().endswith(IMAGE_EXTENSIONS):
            skipped.append(rel)
            continue
        items.append(Item(os.path.join(root, rel), rel, split, label, patient_id_from_file_name(rel)))
    return layout, items, skipped


def load_grey(path):
    """Decodes a PNG/JPEG to a float32 (H, W) array in [0, 1]."""
    with Image.open(path) as im:
        im.load()
        if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            # Pillow opens 16-bit greyscale PNG as I;16 (or I): full scale is 65535.
            return np.asarray(im, dtype=np.float64).astype(np.float32) / np.float32(65535.0)
        if im.mode == "F":
            return np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        if im.mode != "L":
            im = im.convert("L")
        return np.asarray(im, dtype=np.float32) / np.float32(255.0)


def resize_grey(array, size):
    """Whole image to size x size (aspect ratio not kept), bilinear with Pillow's antialiasing support."""
    if array.shape == (size, size):
        return array.astype(np.float32, copy=False)
    im = Image.fromarray(np.ascontiguousarray(array, dtype=np.float32), mode="F")
    return np.asarray(im.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)


def _load_resized(path, size):
    a = np.clip(resize_grey(load_grey(path), size), 0.0, 1.0)
    return np.round(a * 65535.0).astype(np.uint16)


def load_images(items, size, workers=None, on_error=None):
    """Decodes and resizes items in a thread pool (Pillow releases the GIL while decoding).

    Returns (array uint16 (N, size, size), kept items). Unreadable files are skipped through on_error(item, exc)
    as the server's import fails a corrupt item alone and goes on.
    """
    workers = workers or min(8, os.cpu_count() or 1)
    out, kept = [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_load_resized, it.path, size) for it in items]
        for it, fut in zip(items, futures):
            try:
                out.append(fut.result())
                kept.append(it)
            except Exception as exc:  # corrupt or not really an image
                if on_error is None:
                    raise
                on_error(it, exc)
    if not out:
        return np.zeros((0, size, size), dtype=np.uint16), kept
    return np.stack(out), kept


def split_by_patient(items, fraction, seed, stratify=True):
    """Splits items into (kept, held_out) so that no patient is on both sides.

    Patients are grouped per label (a patient's most frequent label) so both classes reach the held-out
    side; in each group round(fraction * patients) patients (at least one when the group has two or more
    and fraction > 0) are drawn with a seeded shuffle of the sorted ids (same seed, same split).
    """
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"split fraction must be in [0, 1), got {fraction}")
    by_patient = defaultdict(list)
    for it in items:
        by_patient[it.patient_key].append(it)
    strata = defaultdict(list)
    for key, group in by_patient.items():
        labels = Counter(it.label or "" for it in group)
        top = sorted(labels.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        strata[top if stratify else ""].append(key)
    rng = random.Random(seed)
    held = set()
    for label in sorted(strata):
        keys = sorted(strata[label])
        rng.shuffle(keys)
        n = int(round(fraction * len(keys)))
        if fraction > 0 and n == 0 and len(keys) >= 2:
            n = 1
        held.update(keys[:n])
    kept = [it for it in items if it.patient_key not in held]
    out = [it for it in items if it.patient_key in held]
    return kept, out


def summarize(items):
    """Counts per split and label, and patients per split (for the manifest)."""
    counts = defaultdict(Counter)
    patients = defaultdict(set)
    for it in items:
        counts[it.split or "none"][it.label or "none"] += 1
        patients[it.split or "none"].add(it.patient_key)
    return {
        "counts": {s: dict(sorted(c.items())) for s, c in sorted(counts.items())},
        "patients": {s: len(p) for s, p in sorted(patients.items())},
        "images": len(items),
    }


def part_summary(items):
    """Images, per-label counts and patients of one part (train / val / test) as used in training."""
    return {
        "images": len(items),
        "labels": dict(sorted(Counter(it.label or "none" for it in items).items())),
        "patients": len({it.patient_key for it in items}),
    }
