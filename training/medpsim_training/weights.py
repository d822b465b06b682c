"""Loading weights from local files only: nothing can be downloaded where this runs.

- ImageNet ResNet50: torchvision's cache (torch.hub.get_dir()/checkpoints/resnet50-*.pth, i.e. $TORCH_HOME
  or ~/.cache/torch) or a file given with --weights;
- our own checkpoints (<name>.pt written by every train command: {"format": CHECKPOINT_FORMAT, ...}).
"""
import glob
import os

import torch

CHECKPOINT_FORMAT = "medpsim-training-checkpoint"
# torchvision's file names: IMAGENET1K_V1 first (the classic weights the study's transfer learning used).
RESNET50_CACHE_NAMES = ("resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth")


class WeightsError(Exception):
    pass


def find_cached_resnet50():
    folder = os.path.join(torch.hub.get_dir(), "checkpoints")
    for name in RESNET50_CACHE_NAMES:
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    found = sorted(glob.glob(os.path.join(folder, "resnet50-*.pth")))
    return found[0] if found else None


def read_state(path):
    """(state_dict, checkpoint or None) from a file: a plain state dict, {"state_dict": ...} or ours."""
    if not os.path.isfile(path):
        raise WeightsError(f"weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:
        raise WeightsError(f"cannot read weights from {path}: {e}") from e
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        return obj["state_dict"], obj
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path} holds no state dict of tensors")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in obj.items()}, None


def load_resnet50_backbone(net, state, path):
    """Loads torchvision ResNet50 weights into net except the head (fc: 1000 ImageNet classes, ours has 2)."""
    body = {k: v for k, v in state.items() if not k.startswith("fc.")}
    try:
        result = net.load_state_dict(body, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise WeightsError(f"{path} does not hold ResNet50 weights: {str(e).splitlines()[-1].strip()}") from e
    missing = [k for k in result.missing_keys if not k.startswith("fc.")]
    if missing or result.unexpected_keys:
        raise WeightsError(
            f"{path} does not hold ResNet50 weights (missing {missing[:3]}, unexpected {result.unexpected_keys[:3]})"
        )


def init_classifier(model, spec):
    """Initialises a ChestClassifier from --weights; returns the manifest's "initialization" record.

    spec: "imagenet" (torchvision's cache, else from scratch), "none" (from scratch), or a file (ImageNet
    ResNet50 weights or one of our classifier checkpoints).
    """
    if spec == "none":
        return {"pretrained": False, "source": None, "reason": "--weights none: trained from scratch"}
    path = find_cached_resnet50() if spec == "imagenet" else spec
    if path is None:
        return {
            "pretrained": False,
            "source": None,
            "reason": "no ImageNet ResNet50 weights in torchvision's cache (%s); trained from scratch"
            % os.path.join(torch.hub.get_dir(), "checkpoints"),
        }
    state, ckpt = read_state(path)
    if ckpt is not None:
        if ckpt.get("task") != "classifier":
            raise WeightsError(f"{path} is a {ckpt.get('task')} checkpoint, not a classifier")
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise WeightsError(f"{path}: {str(e).splitlines()[0]}") from e
        return {"pretrained": True, "source": os.path.abspath(path), "kind": "medpsim classifier checkpoint"}
    load_resnet50_backbone(model.net, state, path)
    return {"pretrained": True, "source": os.path.abspath(path), "kind": "ImageNet ResNet50 (torchvision layout)"}


def save_checkpoint(path, task, model, config, extra=None):
    record = {"format": CHECKPOINT_FORMAT, "task": task, "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "config": config}
    record.update(extra or {})
    tmp = path + ".tmp"
    torch.save(record, tmp)
    os.replace(tmp, path)
