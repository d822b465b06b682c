"""fit-lin: LPIPS's "lin" calibration (per-channel non-negative weights) learned from a study's 2AFC judgments.

As LPIPS trains its lin layers (Zhang et al. 2018, the "lin" configuration): the backbone is frozen; per layer
the features are unit-normalised along the channels, the two images' difference squared, weighted per channel
(a 1x1 convolution without bias, weights >= 0) and averaged over the pixels, and the layers summed; a small
ranking head (LPIPS's Dist2LogitLayer) turns (d0, d1) into the probability that p1 was judged closer, trained
with binary cross-entropy against the judge file (the fraction of raters who chose p1) as a soft target; Adam,
the weights clamped to >= 0 after every step.

The distance is linear in the weights (d = sum_c w_c * mean_pixels(diff_c^2)), so each item's per-channel
pooled differences are computed once with the frozen network and the fit runs on those vectors only.

Inputs: a BAPPS-layout folder (2afc/<split>/<category>/{ref,p0,p1}/NAME.png, judge/NAME.npy; a study export is
one) and a model export with a deepMetric section (classifier or backbone). Outputs, for --name N in --out:
N.lin.json (the format src/metrics/deep.ts reads), N.json (the model's manifest under the new name, its
deepMetric.linWeights naming N.lin.json, provenance in "linFit") and copies of the model's N.onnx,
N.parity.json and N.pt, so that N is a complete export the server registers on its own.

`python -m medpsim_training.lin_fit simulate` runs the learning-curve experiment of README.md (synthetic
triplets judged by a known channel-weighted distance).
"""
import copy
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from . import __version__
from .data import DataError, load_grey, resize_grey
from .events import Events, clean_json, now_iso
from .export import _flat, compare, sha256_file
from .perceptual import normalize_features
from .runtime import environment, pick_device, seed_everything

# Why these minima: the 2AFC score of n items has a standard error of about 0.5 / sqrt(n) (less with soft
# judgments, but of that order), so with fewer than 20 held-out items (SE >= 0.1) a before/after difference of a
# few points cannot be told from chance; 50 training items is the smallest size the learning curve measured
# (README.md: there only strongly miscalibrated channels gain). Floors against meaningless runs, not the amount
# a real gain needs.
MIN_TRAIN_ITEMS = 50
MIN_VAL_ITEMS = 20
HEAD_EPS = 0.1  # LPIPS's Dist2LogitLayer eps in d0 / (d1 + eps)
FEATURE_BATCH = 16  # triplets per forward pass (48 images)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
LIN_FORMAT = "medpsim-lin-weights"
STUDY_EXPORT_FORMAT = "medpsim study export 1"

# Small-data defaults (LPIPS: lr 1e-4, 5 + 5 epochs, batch 50 on ~151k triplets, i.e. ~30k steps): a few hundred
# items give only a few steps per epoch, so a larger lr and more epochs; lr 0.1 was best or tied at every N of
# the learning curve (0.01 and 0.03 tried), batch 50 as LPIPS.
DEFAULTS = {"epochs": 60, "lr": 0.1, "batch": 50}


# ---------------------------------------------------------------------------------------------------------
# The BAPPS folder


def _visible(folder, dirs):
    """Sorted names of the sub-folders (dirs=True) or files of a folder; hidden names and links are skipped
    (src/testsets/bapps-folder.ts does not follow links either)."""
    out = []
    for e in os.scandir(folder):
        if e.name.startswith(".") or e.is_symlink():
            continue
        if (e.is_dir() if dirs else e.is_file()):
            out.append(e.name)
    return sorted(out)


def _stems(folder, extensions):
    stems = {}
    for name in _visible(folder, dirs=False):
        stem, ext = os.path.splitext(name)
        if ext.lower() in extensions and stem not in stems:
            stems[stem] = os.path.join(folder, name)
    return stems


def _export_judgment_counts(root):
    """{judge file relative path: number of judgments} from a study export's manifest.json, else {}."""
    path = os.path.join(root, "manifest.json")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("format") != STUDY_EXPORT_FORMAT:
        return {}
    counts = {}
    for item in doc.get("items") or []:
        judgment = (item.get("files") or {}).get("judgment") if isinstance(item, dict) else None
        if isinstance(judgment, str) and isinstance(item.get("judgments"), int):
            counts[judgment] = item["judgments"]
    return counts


def read_bapps(root):
    """The judged 2AFC triplets of a BAPPS folder, paired by file name as the server's lister pairs them.

    Returns (triplets, report): each triplet {"split", "category", "name", "ref", "p0", "p1", "judge",
    "judgments" (count from a study export's manifest, else None), "size" (W, H)}; report: counts and what
    was left out (incomplete items, unreadable or out-of-range judge files, images of unequal sizes).
    """
    if not os.path.isdir(root):
        raise DataError(f"--bapps {root}: not a folder")
    base = os.path.join(root, "2afc")
    if not os.path.isdir(base):
        raise DataError(f"--bapps {root} has no 2afc/ folder: the BAPPS layout is 2afc/<split>/<category>/{{ref,p0,p1}}/NAME.png "
                        "with 2afc/<split>/<category>/judge/NAME.npy (a study export has it)")
    counts = _export_judgment_counts(root)
    triplets, left_out = [], []
    for split in _visible(base, dirs=True):
        for category in _visible(os.path.join(base, split), dirs=True):
            folder = os.path.join(base, split, category)
            parts = {sub: _stems(os.path.join(folder, sub), IMAGE_EXTENSIONS if sub != "judge" else (".npy",))
                     if os.path.isdir(os.path.join(folder, sub)) else {} for sub in ("ref", "p0", "p1", "judge")}
            for name in sorted(set().union(*parts.values())):
                where = f"2afc/{split}/{category}/*/{name}"
                if any(name not in parts[sub] for sub in parts):
                    left_out.append({"item": where, "reason": "incomplete (ref, p0, p1 and judge are needed)"})
                    continue
                try:
                    judge = np.load(parts["judge"][name], allow_pickle=False)
                    judge = float(judge.reshape(-1)[0]) if judge.size == 1 else None
                except Exception:  # not a readable .npy
                    judge = None
                if judge is None or not (0.0 <= judge <= 1.0):
                    left_out.append({"item": where, "reason": "judge file is not one number in [0, 1]"})
                    continue
                try:
                    sizes = set()
                    for sub in ("ref", "p0", "p1"):
                        with Image.open(parts[sub][name]) as im:  # the header only
                            sizes.add(im.size)
                except Exception:
                    left_out.append({"item": where, "reason": "an image cannot be read"})
                    continue
                if len(sizes) != 1:
                    left_out.append({"item": where, "reason": f"ref, p0 and p1 differ in size {sorted(sizes)}"})
                    continue
                rel = f"2afc/{split}/{category}/judge/{os.path.basename(parts['judge'][name])}"
                triplets.append({"split": split, "category": category, "name": name, "ref": parts["ref"][name],
                                 "p0": parts["p0"][name], "p1": parts["p1"][name], "judge": judge,
                                 "judgments": counts.get(rel), "size": sizes.pop()})
    return triplets, {"root": os.path.abspath(root), "studyExport": bool(counts), "judgedItems": len(triplets),
                      "perSplit": _per_split(triplets), "leftOut": len(left_out), "leftOutExamples": left_out[:20]}


def _per_split(triplets):
    out = {}
    for t in triplets:
        cats = out.setdefault(t["split"], {})
        cats[t["category"]] = cats.get(t["category"], 0) + 1
    return out


def _judgment_total(triplets):
    known = [t["judgments"] for t in triplets if t["judgments"] is not None]
    return sum(known) if len(known) == len(triplets) and triplets else None


def choose_splits(triplets, train_split, val_split, val_fraction, seed):
    """(train, val, description): the two splits' items, or with val_fraction a seeded split by item of the
    training split (or of the folder's only split)."""
    if not triplets:
        raise DataError("the 2afc folder holds no judged item (each needs ref/, p0/, p1/ NAME.png and judge/NAME.npy)")
    splits = sorted({t["split"] for t in triplets})
    if val_fraction is not None:
        pool_split = train_split if train_split in splits else (splits[0] if len(splits) == 1 else None)
        if pool_split is None:
            raise DataError(f"--val-fraction: no split '{train_split}' among {splits}; name one with --train-split")
        pool = [t for t in triplets if t["split"] == pool_split]
        order = np.random.default_rng(seed).permutation(len(pool))
        n_val = int(round(val_fraction * len(pool)))
        held = set(order[:n_val].tolist())
        return ([t for i, t in enumerate(pool) if i not in held], [t for i, t in enumerate(pool) if i in held],
                {"trainSplit": pool_split, "valSplit": None, "valFraction": val_fraction, "by": "item", "seed": seed})
    missing = [s for s in (train_split, val_split) if s not in splits]
    if missing:
        hint = (f"it has one split ('{splits[0]}'): pass --val-fraction F to hold out a seeded fraction of its items"
                if len(splits) == 1 else f"its splits are {splits}: name them with --train-split / --val-split")
        raise DataError(f"the 2afc folder has no split {', '.join(repr(s) for s in missing)}; {hint}")
    if train_split == val_split:
        raise DataError("--train-split and --val-split name the same split; use --val-fraction to split one")
    return ([t for t in triplets if t["split"] == train_split], [t for t in triplets if t["split"] == val_split],
            {"trainSplit": train_split, "valSplit": val_split, "valFraction": None})


# ---------------------------------------------------------------------------------------------------------
# The model: rebuilt in PyTorch from what its export recorded


def read_model_manifest(path):
    """(manifest dict, its absolute path) of a model export; path is its .json (or its .onnx: the .json beside it)."""
    if path.endswith(".onnx"):
        path = path[: -len(".onnx")] + ".json"
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except OSError as e:
        raise ValueError(f"--model {path}: cannot read the manifest ({e.strerror or e})") from e
    except ValueError as e:
        raise ValueError(f"--model {path}: not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("format") != "medpsim-model-manifest":
        raise ValueError(f"--model {path} is not a medpsim model manifest (format medpsim-model-manifest)")
    section = manifest.get("deepMetric")
    if not isinstance(section, dict) or not section.get("layers"):
        raise ValueError(f"--model {path} ({manifest.get('task')} '{manifest.get('name')}') has no deepMetric section: "
                         "only a classifier or backbone export with deepMetric.layers can be calibrated")
    return manifest, os.path.abspath(path)


def choose_layers(manifest, requested):
    section = manifest["deepMetric"]
    if not requested:
        return list(section.get("defaultLayers") or section["layers"])
    names = [n for item in requested for n in item.split(",") if n]
    unknown = [n for n in names if n not in section["layers"]]
    if unknown:
        raise ValueError(f"--layers {', '.join(unknown)}: not in the model's deepMetric.layers {section['layers']}")
    return list(dict.fromkeys(names))


def rebuild_network(manifest, folder):
    """(module in eval mode on the CPU, output names in the order its forward returns them, description),
    with the package's own loaders: the classifier's checkpoint (weights.init_classifier), the backbone's
    checkpoint (backbone.load_backbone) or, without one, the torchvision weights file its manifest recorded
    (backbone.build_backbone)."""
    from .weights import WeightsError

    task = manifest.get("task")
    ckpt = manifest.get("checkpoint")
    ckpt_path = os.path.join(folder, ckpt) if isinstance(ckpt, str) else None
    if task == "classifier":
        from .models import CLASSES, FEATURE_LAYERS, ChestClassifier
        from .weights import init_classifier

        if not ckpt_path or not os.path.isfile(ckpt_path):
            raise WeightsError(f"the classifier's checkpoint {ckpt_path or '(none named)'} is missing: it is needed to "
                               "rebuild the network in PyTorch (train-classifier writes it beside the .onnx)")
        model = ChestClassifier(len(CLASSES))
        init_classifier(model, ckpt_path)
        return model.eval(), ["logits"] + [f"features_{l}" for l in FEATURE_LAYERS], {"checkpoint": ckpt_path}
    if task == "backbone":
        from .backbone import ARCHS, build_backbone, load_backbone

        arch = (manifest.get("architecture") or {}).get("arch")
        if arch not in ARCHS:
            raise ValueError(f"backbone manifest with an unknown architecture {arch!r} (known: {', '.join(ARCHS)})")
        names = [t.output for t in ARCHS[arch].taps]
        if ckpt_path and os.path.isfile(ckpt_path):
            model = load_backbone(ckpt_path)
            if model.arch != arch:
                raise WeightsError(f"{ckpt_path} holds a {model.arch} backbone, the manifest says {arch}")
            return model, names, {"checkpoint": ckpt_path}
        init = manifest.get("initialization") or {}
        if init.get("pretrained") and init.get("source") and os.path.isfile(init["source"]):
            model, _ = build_backbone(arch, init["source"])
            return model.eval(), names, {"weights": init["source"]}
        if init.get("pretrained") is False:
            seed = (manifest.get("training") or {}).get("seed", 0)
            model, _ = build_backbone(arch, "none", seed)  # the export's seeded random initialisation
            return model.eval(), names, {"weights": f"none (random initialisation, seed {seed})"}
        raise WeightsError(f"cannot rebuild the {arch} backbone: no checkpoint {ckpt_path} and its weights file "
                           f"{init.get('source')!r} is not on this machine")
    raise ValueError(f"cannot rebuild a {task!r} model's network (classifier and backbone exports only)")


def check_parity(model, names, manifest, folder):
    """Runs the rebuilt network on the export's parity input: its outputs must be the ones recorded when the
    .onnx was written, else the weights learned here would calibrate another network. Returns a summary, or
    None when there is no parity file."""
    parity = (manifest.get("parity") or {}).get("file")
    path = os.path.join(folder, parity) if isinstance(parity, str) else None
    if not path or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    spec = doc["inputs"]["input"]
    x = torch.tensor(np.asarray(spec["data"], dtype=np.float32).reshape(spec["shape"]))
    with torch.no_grad():
        outs = dict(zip(names, model(x)))
    ref = {n: doc["outputs"][n] for n in names if n in doc["outputs"]}
    report = compare({n: outs[n].numpy() for n in ref}, ref, doc.get("atol", 1e-4), doc.get("rtol", 1e-4))
    bad = {n: r for n, r in report.items() if not r["ok"]}
    if bad:
        n, r = next(iter(bad.items()))
        raise ValueError(f"the network rebuilt in PyTorch does not reproduce {os.path.basename(path)} ({n}: "
                         f"{r.get('error') or 'max abs diff %.3g' % r['maxAbsDiff']}); its checkpoint or weights file "
                         "is not the one the .onnx was exported from")
    return {"file": os.path.basename(path), "outputs": len(report), "ok": True}


# ---------------------------------------------------------------------------------------------------------
# Features: per item, the per-channel pooled squared differences of the normalised features


def pooled_differences(extract, layers, refs, p0s, p1s):
    """(D0, D1), each (N, sum of channels) float32: mean over the pixels of (n(f_ref) - n(f_p))^2 per channel,
    the layers' channels concatenated in `layers` order. d = D @ w is then the deep.ts / perceptual.py distance
    with weights w (all ones: the unweighted one). extract: (B, 1, H, W) -> {name: (B, C, h, w)}."""
    n = refs.shape[0]
    with torch.no_grad():
        feats = extract(torch.cat([refs, p0s, p1s]))
    d0s, d1s = [], []
    for name in layers:
        f = normalize_features(feats[name].float())
        r, a, b = f[:n], f[n: 2 * n], f[2 * n:]
        d0s.append(((r - a) ** 2).mean(dim=(2, 3)))
        d1s.append(((r - b) ** 2).mean(dim=(2, 3)))
    return torch.cat(d0s, 1).cpu(), torch.cat(d1s, 1).cpu()


def folder_differences(triplets, extract, layers, device, input_size, on_progress=None):
    """pooled_differences of a folder's triplets, read as the server reads images (8-bit / 255, 16-bit /
    65535, colour to luma; resized to input_size x input_size when the manifest gives one), in batches of
    same-sized items. on_progress(done, total) is called at each twentieth of the items."""
    def load(path):
        a = load_grey(path)
        return np.clip(resize_grey(a, input_size), 0.0, 1.0) if input_size else a

    by_size = {}
    for i, t in enumerate(triplets):
        by_size.setdefault(t["size"], []).append(i)
    D0 = D1 = None
    done = reported = 0
    for size in sorted(by_size):
        idx = by_size[size]
        for s in range(0, len(idx), FEATURE_BATCH):
            chunk = idx[s: s + FEATURE_BATCH]
            imgs = {k: torch.from_numpy(np.stack([load(triplets[i][k]) for i in chunk]))[:, None].to(device)
                    for k in ("ref", "p0", "p1")}
            d0, d1 = pooled_differences(extract, layers, imgs["ref"], imgs["p0"], imgs["p1"])
            if D0 is None:
                D0, D1 = torch.zeros(len(triplets), d0.shape[1]), torch.zeros(len(triplets), d0.shape[1])
            D0[chunk], D1[chunk] = d0, d1
            done += len(chunk)
            if on_progress and done * 20 // len(triplets) > reported:
                reported = done * 20 // len(triplets)
                on_progress(done, len(triplets))
    return D0, D1


# ---------------------------------------------------------------------------------------------------------
# The fit


class RankingHead(nn.Module):
    """LPIPS's Dist2LogitLayer (networks_basic.py): 1x1 convolutions 5 -> 32 -> 32 -> 1 with LeakyReLU(0.2) on
    (d0, d1, d0 - d1, d0 / (d1 + eps), d1 / (d0 + eps)). Its output is the logit of "p1 was judged closer"
    (LPIPS's BCERankingLoss targets (judge + 1) / 2 of its +-1 encoding: the judge fraction itself); LPIPS's
    final sigmoid is inside BCEWithLogitsLoss here."""

    def __init__(self, mid=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(5, mid), nn.LeakyReLU(0.2), nn.Linear(mid, mid), nn.LeakyReLU(0.2), nn.Linear(mid, 1))

    def forward(self, d0, d1):
        x = torch.stack([d0, d1, d0 - d1, d0 / (d1 + HEAD_EPS), d1 / (d0 + HEAD_EPS)], dim=1)
        return self.net(x).squeeze(1)


def two_afc(d0, d1, h):
    """LPIPS's 2AFC score: per triplet (d0 < d1)(1 - h) + (d1 < d0)h + (d0 == d1)0.5, averaged."""
    d0, d1, h = (np.asarray(v, dtype=np.float64) for v in (d0, d1, h))
    if h.size == 0:
        return None
    return float(np.mean((d0 < d1) * (1 - h) + (d1 < d0) * h + (d0 == d1) * 0.5))


def ceiling(h):
    """The best 2AFC score any deterministic metric can reach on these judgments: mean of max(h, 1 - h)."""
    h = np.asarray(h, dtype=np.float64)
    return float(np.mean(np.maximum(h, 1 - h))) if h.size else None


def fit_weights(train, val, epochs, lr, batch, seed, on_epoch=None):
    """Learns w >= 0 (init 1: the start is the unweighted distance) and the ranking head.

    train, val: (D0, D1, judge) tensors. Adam (beta1 0.5, as LPIPS), lr constant for the first half of the
    epochs and decaying linearly to 0 over the second half (LPIPS: 5 + 5 epochs), w clamped to >= 0 after
    every step. Deterministic for a seed on the CPU. Returns (w, history)."""
    torch.manual_seed(seed)
    D0, D1, h = train
    w = nn.Parameter(torch.ones(D0.shape[1]))
    head = RankingHead()
    opt = torch.optim.Adam([w, *head.parameters()], lr=lr, betas=(0.5, 0.999))
    flat = max(1, epochs - epochs // 2)
    history = []
    for epoch in range(1, epochs + 1):
        t0 = time.time()
        cur = lr if epoch <= flat else lr * (epochs - epoch + 1) / (epochs - flat + 1)
        for group in opt.param_groups:
            group["lr"] = cur
        order = torch.randperm(len(h), generator=torch.Generator().manual_seed(seed * 1000003 + epoch))
        total = 0.0
        for s in range(0, len(order), batch):
            b = order[s: s + batch]
            loss = F.binary_cross_entropy_with_logits(head(D0[b] @ w, D1[b] @ w), h[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                w.clamp_(min=0.0)  # LPIPS's clamp_weights: the lin weights stay non-negative
            total += float(loss) * len(b)
        record = {"epoch": epoch, "epochs": epochs, "losses": {"train": total / len(h)}, "metrics": {}, "lr": cur}
        with torch.no_grad():
            for part, (a0, a1, hh) in (("train", train), ("val", val)):
                d0, d1 = a0 @ w, a1 @ w
                if part == "val":
                    record["losses"]["val"] = float(F.binary_cross_entropy_with_logits(head(d0, d1), hh))
                record["metrics"][part] = {"2afc": two_afc(d0.numpy(), d1.numpy(), hh.numpy())}
        record["seconds"] = round(time.time() - t0, 3)
        history.append(record)
        if on_epoch:
            on_epoch(record)
    return w.detach().clone(), history


def scores(part, w):
    D0, D1, h = part
    return two_afc((D0 @ w).numpy(), (D1 @ w).numpy(), h.numpy())


# ---------------------------------------------------------------------------------------------------------
# Outputs


def write_json(path, doc, compact=False):
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        if compact:
            json.dump(clean_json(doc), fh, separators=(",", ":"), allow_nan=False)
        else:
            json.dump(clean_json(doc), fh, indent=2, allow_nan=False)
        fh.write("\n")
    os.replace(path + ".tmp", path)
    return path


def _copy(src, dst):
    if os.path.abspath(src) != os.path.abspath(dst):
        shutil.copyfile(src, dst + ".tmp")
        os.replace(dst + ".tmp", dst)
    return dst


def run(args, events):
    started = time.time()
    seed_everything(args.seed)
    device = pick_device(args.device)
    # Cheap checks first (the manifest, the layers, the folder, the splits), before the network is built.
    manifest, manifest_path = read_model_manifest(args.model)
    model_dir = os.path.dirname(manifest_path)
    layers = choose_layers(manifest, args.layers)
    name = args.name or f"{manifest['name']}-lin"
    config = {k: v for k, v in vars(args).items() if k != "func"}
    events.emit("start", task="fit-lin", name=name, model=manifest_path, seed=args.seed, device=str(device),
                environment=environment(device), config=config)
    if name == manifest["name"]:
        raise ValueError(f"--name {name} is the model's own name: the registry keeps one model per name, pick another")
    onnx_src = os.path.join(model_dir, manifest["onnx"]["file"])
    if not os.path.isfile(onnx_src) or sha256_file(onnx_src) != manifest["onnx"]["sha256"]:
        raise ValueError(f"{onnx_src} is missing or differs from its manifest's SHA-256")
    channels = {o["name"]: o["shape"][1] for o in manifest.get("outputs", []) if o.get("name") in layers}
    triplets, bapps = read_bapps(args.bapps)
    if bapps["leftOut"]:
        events.warning(f"{bapps['leftOut']} 2AFC item(s) left out", examples=bapps["leftOutExamples"])
    train_items, val_items, split_info = choose_splits(triplets, args.train_split, args.val_split, args.val_fraction, args.seed)
    if len(train_items) < MIN_TRAIN_ITEMS or len(val_items) < MIN_VAL_ITEMS:
        raise DataError(f"too few judged 2AFC items: {len(train_items)} for training and {len(val_items)} held out; at least "
                        f"{MIN_TRAIN_ITEMS} and {MIN_VAL_ITEMS} are needed (below that the held-out 2AFC score cannot "
                        "tell a calibration from chance; see training/README.md, fit-lin)")
    min_size = ((manifest.get("inputs") or [{}])[0].get("preprocessing") or {}).get("minSize")
    input_size = manifest["deepMetric"].get("inputSize")
    small = [t for t in train_items + val_items if min_size and not input_size and min(t["size"]) < min_size]
    if small:
        raise DataError(f"{len(small)} item(s) smaller than the model's minSize {min_size} (e.g. {small[0]['ref']}, "
                        f"{small[0]['size'][0]} x {small[0]['size'][1]})")
    data = {"bapps": {k: v for k, v in bapps.items() if k != "leftOutExamples"}, "splits": split_info,
            "items": {"train": len(train_items), "val": len(val_items)},
            "judgments": {"train": _judgment_total(train_items), "val": _judgment_total(val_items)}}
    events.emit("metrics", stage="data", data=data)

    model, names, rebuilt = rebuild_network(manifest, model_dir)
    parity = check_parity(model, names, manifest, model_dir)
    if parity is None:
        events.warning("no parity file beside the model: the rebuilt network could not be checked against the .onnx")
    model.to(device)
    extract = lambda x: dict(zip(names, model(x)))  # noqa: E731
    events.say(f"{events.command}: features of {len(train_items) + len(val_items)} triplets ({', '.join(layers)}) on {device}")
    parts = {}
    for part, items in (("train", train_items), ("val", val_items)):
        # The features are the slow step (a ResNet50 on full-size X-rays): progress lines while they run.
        D0, D1 = folder_differences(items, extract, layers, device, input_size, on_progress=lambda done, of, part=part:
                                    events.emit("progress", stage="features", part=part, done=done, of=of))
        parts[part] = (D0, D1, torch.tensor([t["judge"] for t in items], dtype=torch.float32))
    width = parts["train"][0].shape[1]
    if sum(channels.get(layer) or 0 for layer in layers) != width:
        raise ValueError(f"the manifest's channel counts {channels} do not add up to the network's {width} channels")

    w, history = fit_weights(parts["train"], parts["val"], args.epochs, args.lr, args.batch, args.seed,
                             on_epoch=lambda r: events.emit("epoch", **r))
    ones = torch.ones_like(w)
    summary = {part: {"before": scores(parts[part], ones), "after": scores(parts[part], w), "items": len(parts[part][2]),
                      "ceiling": ceiling(parts[part][2].numpy())} for part in ("train", "val")}
    if summary["val"]["after"] <= summary["val"]["before"]:
        events.warning(f"the learned weights do not beat the unweighted distance on the held-out items "
                       f"({summary['val']['after']:.4f} vs {summary['val']['before']:.4f}): more judgments are needed "
                       "(see training/README.md, fit-lin); the files are written anyway")

    provenance = {
        "sourceModel": {"name": manifest["name"], "manifest": manifest_path, "onnxSha256": manifest["onnx"]["sha256"],
                        "deepMetric": manifest["deepMetric"], "rebuiltFrom": rebuilt, "parity": parity},
        "data": data, "layers": layers, "channels": channels,
        "training": {"epochs": args.epochs, "lr": args.lr, "batch": args.batch, "seed": args.seed, "device": str(device),
                     "optimizer": "Adam betas (0.5, 0.999); lr constant for the first half, linear decay to 0 over the second",
                     "init": "every weight 1 (the unweighted distance)", "clamp": "weights >= 0 after every step",
                     "loss": "BCE of LPIPS's ranking head (Dist2LogitLayer) against the judge fraction"},
        "scores": summary, "history": history,
    }
    files = write_outputs(os.path.abspath(args.out or model_dir), name, manifest, model_dir, w, provenance)
    events.emit("done", train=summary["train"], val=summary["val"], file=files["linWeights"],
                sha256=sha256_file(files["linWeights"]), files=files, layers=layers, seconds=round(time.time() - started, 3))
    return 0


def write_outputs(out, name, manifest, model_dir, w, provenance):
    """N.lin.json, copies of the model's .onnx, parity data and checkpoint under the new name, and N.json last
    (the server registers a model by its <name>.json beside <name>.onnx, manifest.onnx.file its basename)."""
    os.makedirs(out, exist_ok=True)
    path = lambda suffix: os.path.join(out, name + suffix)  # noqa: E731
    layers, channels = provenance["layers"], provenance["channels"]
    per_layer, start = {}, 0
    for layer in layers:
        per_layer[layer] = _flat(w[start: start + channels[layer]])
        start += channels[layer]
    architecture = manifest.get("architecture")
    arch = architecture.get("arch") if isinstance(architecture, dict) else ("resnet50" if manifest["task"] == "classifier" else None)
    lin_path = write_json(path(".lin.json"), {
        "format": LIN_FORMAT, "version": 1, "arch": arch,
        "source": {"fitLin": True, "model": manifest["name"], "bapps": provenance["data"]["bapps"]["root"],
                   "items": provenance["data"]["items"], "seed": provenance["training"]["seed"]},
        "layers": per_layer}, compact=True)
    files = {"linWeights": lin_path, "onnx": _copy(os.path.join(model_dir, manifest["onnx"]["file"]), path(".onnx"))}
    doc = copy.deepcopy(manifest)
    doc.update(name=name, createdAt=now_iso(), producer=f"medpsim_training {__version__} (fit-lin)")
    doc["onnx"] = dict(manifest["onnx"], file=name + ".onnx")
    if provenance["sourceModel"]["parity"] is not None:
        with open(os.path.join(model_dir, manifest["parity"]["file"]), encoding="utf-8") as fh:
            parity_doc = json.load(fh)
        parity_doc["model"] = name + ".onnx"
        files["parity"] = write_json(path(".parity.json"), parity_doc, compact=True)
        doc["parity"] = dict(manifest["parity"], file=name + ".parity.json")
    checkpoint = provenance["sourceModel"]["rebuiltFrom"].get("checkpoint")
    if checkpoint:
        files["checkpoint"] = _copy(checkpoint, path(".pt"))
    doc["checkpoint"] = name + ".pt" if checkpoint else None  # rebuilt from the weights file its initialization names
    # Only the fitted layers: the weights were learned for their sum, and deep.ts wants weights for every layer listed.
    doc["deepMetric"] = {"layers": layers, "defaultLayers": layers, "inputSize": manifest["deepMetric"].get("inputSize"),
                         "linWeights": {"file": name + ".lin.json", "sha256": sha256_file(lin_path)}}
    if "linWeightsSource" in doc:
        doc["linWeightsSource"] = {"file": None, "sha256": None, "fittedBy": "fit-lin (see linFit)"}
    doc["linFit"] = provenance
    files["manifest"] = write_json(path(".json"), doc)
    return files


# ---------------------------------------------------------------------------------------------------------
# Synthetic triplets (the learning-curve experiment and the tests)


def _blur(x, sigma):
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = k / k.sum()
    x = F.pad(x[None, None], (r, r, r, r), mode="reflect")
    return F.conv2d(F.conv2d(x, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))[0, 0]


def synthetic_images(n, size, seed):
    """n triplets (ref, p0, p1) of 8-bit grey images (uint8 (n, size, size) each): a smooth random reference
    with fine texture, p0 and p1 each one random distortion of it (noise, blur, contrast, brightness, stripes)
    at a random severity; p0 == p1 never, ties happen only by chance."""
    g = torch.Generator().manual_seed(seed)
    u = lambda a, b: float(a + (b - a) * torch.rand((), generator=g))  # noqa: E731
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    out = np.zeros((3, n, size, size), dtype=np.uint8)
    for i in range(n):
        ref = 0.3 + 0.2 * yy * u(-1, 1) + 0.2 * xx * u(-1, 1)
        for _ in range(4):
            cx, cy, s, a = u(0, 1), u(0, 1), u(0.08, 0.3), u(-0.3, 0.4)
            ref = ref + a * torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
        ref = ref + 0.04 * _blur(torch.randn(size, size, generator=g), 0.7)
        ref = ref.clamp(0, 1)
        imgs = [ref]
        for _ in range(2):
            kind = int(torch.randint(0, 5, (), generator=g))
            if kind == 0:
                p = ref + u(0.01, 0.12) * torch.randn(size, size, generator=g)
            elif kind == 1:
                p = _blur(ref, u(0.4, 1.8))
            elif kind == 2:
                p = ref.mean() + (ref - ref.mean()) * u(0.5, 1.5)
            elif kind == 3:
                p = ref + u(-0.2, 0.2)
            else:
                f, ph = u(2, 10), u(0, 6.3)
                p = ref + u(0.02, 0.12) * torch.sin(2 * math.pi * f * (xx if u(0, 1) < 0.5 else yy) + ph)
            imgs.append(p.clamp(0, 1))
        for k, im in enumerate(imgs):
            out[k, i] = np.round(im.numpy() * 255).astype(np.uint8)
    return out[0], out[1], out[2]


def synthetic_truth(D0, D1, kind, seed):
    """Known non-negative channel weights for the simulated raters, from the items' pooled differences:
    - "random": 2% of the channels, at random, with exponential weights (the others weigh 0);
    - "contrary": 5% of the live channels (non-zero difference on 90% of the items), those whose differences
      correlate least with the unweighted distance's, with exponential weights: raters who see the images
      otherwise than the network's channels on average do (a random-init network's channels are so redundant
      that a random truth often ranks like the unweighted distance).
    """
    g = torch.Generator().manual_seed(seed)
    k = D0.shape[1]
    if kind == "random":
        chosen = torch.randperm(k, generator=g)[: max(1, round(0.02 * k))]
    elif kind == "contrary":
        diff = D0 - D1
        dc = diff - diff.mean(0)
        u = dc.sum(1)
        corr = (dc * u[:, None]).sum(0) / (dc.norm(dim=0) * u.norm() + 1e-12)
        corr[(diff != 0).float().mean(0) <= 0.9] = float("inf")  # dead channels would make every item a tie
        chosen = torch.argsort(corr)[: max(1, round(0.05 * k))]
    else:
        raise ValueError(f"unknown truth {kind!r} (random, contrary)")
    w = torch.zeros(k)
    w[chosen] = -torch.log(torch.rand(len(chosen), generator=g))
    return w


def synthetic_judges(D0, D1, truth, raters, noise, seed):
    """The fraction of `raters` simulated raters who chose p1: each chooses p1 with probability
    sigmoid((d0 - d1) / (noise * median |d0 - d1|)) under the true distance, independently (the median, not
    the standard deviation: a few very different pairs would otherwise make every other item a coin flip)."""
    g = torch.Generator().manual_seed(seed)
    diff = D0 @ truth - D1 @ truth
    p = torch.sigmoid(diff / (noise * diff.abs().median() + 1e-12))
    votes = (torch.rand(raters, len(p), generator=g) < p).float().sum(0)
    return votes / raters


def simulate(items=(50, 200, 1000), val_items=1000, size=64, raters=5, noise=0.25, truth="random", seed=0,
             epochs=DEFAULTS["epochs"], lr=DEFAULTS["lr"], batch=DEFAULTS["batch"]):
    """One run of the learning curve: a random-init AlexNet (the package's LpipsBackbone, all 5 taps; seeded),
    synthetic triplets judged by `raters` noisy raters under a known channel-weighted distance
    (synthetic_truth); for each N in `items`, fit on the first N training triplets and score on `val_items`
    held-out ones. Returns one dict per N."""
    from .backbone import LpipsBackbone

    torch.manual_seed(seed)
    net = LpipsBackbone("alexnet").eval()
    names = [f"features_{t}" for t in net.tap_names]
    extract = lambda x: dict(zip(names, net(x)))  # noqa: E731
    n_total = max(items) + val_items
    imgs = synthetic_images(n_total, size, seed)
    D0, D1 = [], []
    for s in range(0, n_total, 64):
        t = [torch.from_numpy(a[s: s + 64].astype(np.float32) / 255.0)[:, None] for a in imgs]
        d0, d1 = pooled_differences(extract, names, *t)
        D0.append(d0)
        D1.append(d1)
    D0, D1 = torch.cat(D0), torch.cat(D1)
    true_w = synthetic_truth(D0, D1, truth, seed + 1)
    h = synthetic_judges(D0, D1, true_w, raters, noise, seed + 2)
    val = (D0[-val_items:], D1[-val_items:], h[-val_items:])
    ones = torch.ones(D0.shape[1])
    results = []
    for n in items:
        train = (D0[:n], D1[:n], h[:n])
        w, _ = fit_weights(train, val, epochs, lr, batch, seed)
        results.append({"seed": seed, "truth": truth, "items": n, "judgments": n * raters,
                        "val": {"items": val_items, "before": scores(val, ones), "after": scores(val, w),
                                "truth": scores(val, true_w), "ceiling": ceiling(val[2].numpy())},
                        "train": {"before": scores(train, ones), "after": scores(train, w)}})
    return results


def main(argv=None):
    """python -m medpsim_training.lin_fit simulate: a "result" JSON line per seed, truth and N, then a
    "summary" line per truth and N (means over the seeds; gain = after - before, gap = truth - before)."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m medpsim_training.lin_fit", description="fit-lin's learning-curve experiment")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("simulate", help="synthetic triplets judged by a known channel-weighted distance")
    s.add_argument("--items", default="50,200,1000", help="training items, comma-separated (default 50,200,1000)")
    s.add_argument("--val-items", type=int, default=1000, help="held-out items (default 1000)")
    s.add_argument("--size", type=int, default=64, help="image size (default 64, BAPPS's patch size)")
    s.add_argument("--raters", type=int, default=5, help="raters per item (default 5)")
    s.add_argument("--noise", type=float, default=0.25, help="rater noise in units of median |d0 - d1| (default 0.25)")
    s.add_argument("--truth", default="random,contrary", help="random and/or contrary (default both)")
    s.add_argument("--seeds", default="0,1,2", help="repetitions (network, images, truth, raters), default 0,1,2")
    s.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    s.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    s.add_argument("--batch", type=int, default=DEFAULTS["batch"])
    args = p.parse_args(argv)
    events = Events("fit-lin-simulate")
    items = tuple(int(v) for v in args.items.split(","))
    rows = []
    for seed in (int(v) for v in args.seeds.split(",")):
        seed_everything(seed)
        for truth in args.truth.split(","):
            for result in simulate(items, args.val_items, args.size, args.raters, args.noise, truth, seed, args.epochs,
                                   args.lr, args.batch):
                events.emit("result", **result)
                rows.append(result)
    for truth in args.truth.split(","):
        for n in items:
            sel = [r["val"] for r in rows if r["truth"] == truth and r["items"] == n]
            mean = lambda key: float(np.mean([r[key] for r in sel]))  # noqa: E731
            gains = [r["after"] - r["before"] for r in sel]
            events.emit("summary", truth=truth, items=n, judgments=n * args.raters, seeds=len(sel), before=mean("before"),
                        after=mean("after"), truth_score=mean("truth"), ceiling=mean("ceiling"),
                        gain=float(np.mean(gains)), gain_min=float(np.min(gains)),
                        gap=float(np.mean([r["truth"] - r["before"] for r in sel])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
