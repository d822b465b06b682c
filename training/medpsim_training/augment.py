"""Minority-class augmentation (the study's recipe) and class balancing.

The train split is about 1:3 NORMAL:PNEUMONIA; the study added augmented copies of the minority class until
the classes were about 1:1, with: rotation 45 degrees, vertical shift 0.2 (of the height), horizontal shift
0.15 (of the width), shear 16 degrees, crop-and-pad 0.25. Each copy draws fresh parameters every epoch from
a generator seeded by (seed, epoch, position), so a run is reproducible whatever the hardware.
"""
import dataclasses
import random
from collections import defaultdict

import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from .runtime import mix_seed


@dataclasses.dataclass
class AugmentConfig:
    rotation: float = 45.0  # degrees, uniform in [-rotation, rotation]
    shift_x: float = 0.15  # fraction of the width, uniform in [-shift_x, shift_x]
    shift_y: float = 0.2  # fraction of the height
    shear: float = 16.0  # degrees (x shear), uniform in [-shear, shear]
    crop_pad: float = 0.25  # each side independently cropped (< 0) or padded (> 0) by up to this fraction


def sample_params(cfg, rng):
    """Draws one set of augmentation parameters from a random.Random."""
    u = lambda a: rng.uniform(-a, a) if a > 0 else 0.0  # noqa: E731
    return {
        "angle": u(cfg.rotation),
        "shift_x": u(cfg.shift_x),
        "shift_y": u(cfg.shift_y),
        "shear": u(cfg.shear),
        # top, left, bottom, right: > 0 pads (zeros), < 0 crops, as imgaug's CropAndPad(percent=...)
        "crop_pad": [u(cfg.crop_pad) for _ in range(4)],
    }


def apply_params(image, p):
    """Applies parameters to a float tensor (C, H, W); the result has the same size.

    Affine part (rotation about the centre, shift, shear) with bilinear sampling and black fill, then
    crop-and-pad of each side and a resize back to H x W. Black (0) is the background of an X-ray.
    """
    _, h, w = image.shape
    out = TF.affine(
        image,
        angle=p["angle"],
        translate=[p["shift_x"] * w, p["shift_y"] * h],
        scale=1.0,
        shear=[p["shear"], 0.0],
        interpolation=InterpolationMode.BILINEAR,
        fill=[0.0],
    )
    top, left, bottom, right = p["crop_pad"]
    t, l = int(round(top * h)), int(round(left * w))
    height = h + t + int(round(bottom * h))
    width = w + l + int(round(right * w))
    if (t, l, height, width) != (0, 0, h, w):
        # crop() pads with zeros where the box leaves the image: a negative top/left pads.
        out = TF.resized_crop(out, -t, -l, max(1, height), max(1, width), [h, w], InterpolationMode.BILINEAR, antialias=True)
    return out.clamp_(0.0, 1.0)


def augment_seed(seed, epoch, position):
    # One independent stream per (seed, epoch, position): no dependence on batch order or workers.
    return mix_seed(0xA06, seed, epoch, position)


def balance_plan(labels, seed, ratio=1.0):
    """Which samples an epoch trains on: [(source index, augmented?)].

    Every original once, plus augmented copies of each smaller class until it has ratio x the largest
    class's count (ratio 1.0: 1:1). Copies cycle through the class's images in a seeded order, so each is
    copied floor or ceil(extra / n) times. ratio <= 0 turns balancing off.
    """
    by_class = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    plan = [(i, False) for i in range(len(labels))]
    if ratio <= 0 or len(by_class) < 2:
        return plan
    largest = max(len(v) for v in by_class.values())
    rng = random.Random(seed)
    for label in sorted(by_class, key=str):
        members = by_class[label]
        extra = int(round(largest * ratio)) - len(members)
        order = members[:]
        rng.shuffle(order)
        plan += [(order[k % len(order)], True) for k in range(max(0, extra))]
    return plan


def augmented_counts(plan, labels):
    counts = defaultdict(int)
    for i, aug in plan:
        if aug:
            counts[labels[i]] += 1
    return dict(sorted(counts.items(), key=lambda kv: str(kv[0])))


def augment_batch(images, augmented, seed, epoch, positions, cfg):
    """Augments the rows of a (N, 1, H, W) tensor where augmented[k] is true, in place."""
    for k, (aug, pos) in enumerate(zip(augmented, positions)):
        if aug:
            rng = random.Random(augment_seed(seed, epoch, pos))
            images[k] = apply_params(images[k], sample_params(cfg, rng))
    return images


def as_tensor(uint16_images):
    """uint16 (N, H, W) -> float32 (N, 1, H, W) in [0, 1]."""
    return torch.from_numpy(uint16_images.astype("float32") / 65535.0).unsqueeze(1)
