"""The PyTorch peer of `npm run bench:deep` (bench/deep-metric.ts starts it once and keeps it running).

    /usr/bin/python3 bench/deep_metric_peer.py CHECKPOINT.pt NAME:FILE.f32:SIZE:ITEMS [NAME:FILE.f32:SIZE:ITEMS ...]

CHECKPOINT.pt is the classifier checkpoint the training package wrote beside the ONNX export that our side
runs (the same weights: training/medpsim_training/weights.py read_state, models.py ChestClassifier). Each
FILE.f32 holds ITEMS 2AFC items of SIZE x SIZE float32 greyscale pixels in [0, 1] (row-major), item by item:
the reference, then p0, then p1 -- the very pixels our side scores.

Then, for each line "WORKLOAD PEER" on stdin (PEER: naive, perItem or crossItems; "WORKLOAD PEER warm": the
per-item peers on the first item only, enough to warm each shape up), one pass of that peer over all the
workload's items, and one JSON line on stdout: {"seconds": S, "distances": [ref-p0, ref-p1 of each item, ...]}.
The first line, before any pass, gives the versions and settings.

Peers, all with torch.set_num_threads(os.cpu_count()), torch.no_grad(), the model in eval mode:
- naive: per pair, two forward passes of batch 1 (the reference, then the candidate), as lpips.LPIPS()(ref, p)
  does: four passes per item;
- perItem: per item, one forward pass of the batch [ref, p0, p1] (the reference once);
- crossItems: the images of all items in batches of at most 2^20 pixels (20 images at 224x224), as our
  worker batches one request for all items.
The distance is LPIPS's formula without lin layers, written out here: per layer, each pixel's channel vector
divided by its L2 norm + 1e-10 (lpips.normalize_tensor), the squared difference summed over channels and
averaged over pixels (spatial_average), the five layers' values summed.
"""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from medpsim_training.models import ChestClassifier  # noqa: E402
from medpsim_training.weights import read_state  # noqa: E402

MAX_BATCH_PIXELS = 1 << 20  # the worker's batch limit (src/models/inference-worker.ts)


def normalize(f, eps=1e-10):
    return f / (torch.sqrt(torch.sum(f * f, dim=1, keepdim=True)) + eps)


def distance(fa, fb):
    """LPIPS (lin=False) between the feature lists of two batches of equal length: one value per row."""
    total = 0
    for a, b in zip(fa, fb):
        total = total + ((normalize(a) - normalize(b)) ** 2).sum(dim=1).mean(dim=(1, 2))
    return total


def features(model, x):
    return model(x)[1:]  # drop the logits: conv1, layer1..layer4


def naive(model, items):
    out = []
    for item in items:
        ref = item[0:1]
        for k in (1, 2):
            out.append(distance(features(model, ref), features(model, item[k:k + 1])))
    return out


def per_item(model, items):
    out = []
    for item in items:
        f = features(model, item)  # [ref, p0, p1]
        out.append(distance([m[0:1].expand(2, -1, -1, -1) for m in f], [m[1:3] for m in f]))
    return torch.cat(out).tolist()


def cross_items(model, images, size):
    per = max(1, MAX_BATCH_PIXELS // (size * size))
    maps = [features(model, images[s:s + per]) for s in range(0, images.shape[0], per)]
    f = [torch.cat([m[layer] for m in maps]) for layer in range(5)]
    refs = torch.arange(0, images.shape[0], 3).repeat_interleave(2)
    cands = refs + torch.tensor([1, 2]).repeat(images.shape[0] // 3)
    return distance([m[refs] for m in f], [m[cands] for m in f]).tolist()


def timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def main():
    checkpoint, specs = sys.argv[1], sys.argv[2:]
    torch.set_num_threads(os.cpu_count())
    model = ChestClassifier()
    state, _ = read_state(checkpoint)
    model.load_state_dict(state)
    model.eval()
    workloads = []
    for spec in specs:
        name, path, size, count = spec.rsplit(":", 3)
        size, count = int(size), int(count)
        pixels = torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(count * 3, 1, size, size))
        workloads.append({"name": name, "size": size, "images": pixels, "items": pixels.view(count, 3, 1, size, size)})
    print(json.dumps({"versions": {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": np.__version__},
                      "threads": torch.get_num_threads(), "mkldnn": torch.backends.mkldnn.is_available()}), flush=True)
    peers = {"naive": lambda w, items: naive(model, items), "perItem": lambda w, items: per_item(model, items),
             "crossItems": lambda w, items: cross_items(model, w["images"], w["size"])}
    by_name = {w["name"]: w for w in workloads}
    with torch.no_grad():
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            name, peer = words[0], words[1]
            w = by_name[name]
            # warm: the per-item peers on the first item only (their shapes are the same for every item).
            items = w["items"][:1] if "warm" in words[2:] and peer != "crossItems" else w["items"]
            values, seconds = timed(lambda: [float(v) for v in peers[peer](w, items)])
            print(json.dumps({"seconds": seconds, "distances": values}), flush=True)


if __name__ == "__main__":
    main()
