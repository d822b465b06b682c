"""export-backbone: an ImageNet feature network (torchvision AlexNet, VGG16 or ResNet50) exported for the
server's deep-feature metric `lpips`, optionally with LPIPS's published per-channel "lin" weights.

Nothing is downloaded: the network's weights come from a file the user has (torchvision's state dicts
alexnet-owt-7be5be79.pth, vgg16-397923af.pth, resnet50-0676ba61.pth), and the lin weights from the
PerceptualSimilarity repository's lpips/weights/v0.1/alex.pth or vgg.pth. `--weights none` keeps the
random initialisation (for tests; the metric then means nothing).

The graph takes (N, 1, H, W) grey in [0, 1] like every export of this package, repeats it to 3 channels and
scales it in the graph: AlexNet/VGG16 as LPIPS does (lpips.LPIPS(normalize=True): x * 2 - 1, then its
ScalingLayer (x - shift) / scale), ResNet50 with ImageNet's mean/std. Its outputs are the feature maps at
LPIPS's taps (pretrained_networks.py in the lpips package):
- alexnet: after the ReLUs at torchvision features indices 1, 4, 7, 9, 11 (relu1..relu5);
- vgg16: after the ReLUs at indices 3, 8, 15, 22, 29 (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3);
- resnet50: conv1 after batch norm and ReLU, layer1..layer4 (LPIPS's resnet taps; LPIPS publishes no lin
  weights for it).
Files: <name>.onnx, <name>.json (manifest, task "backbone", with the deepMetric section), <name>.parity.json,
<name>.pt (checkpoint: load_backbone), and <name>.lin.json with --lin-weights.
"""
import json
import os
import re
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torchvision

from .export import _flat, cpu_eval_copy, export_onnx, parity_input, sha256_file, write_parity
from .manifest import grey_input, write_manifest
from .models import FEATURE_CHANNELS, FEATURE_STRIDES, IMAGENET_MEAN, IMAGENET_STD
from .runtime import environment, seed_everything
from .weights import CHECKPOINT_FORMAT, WeightsError, read_state, save_checkpoint

LIN_WEIGHTS_FORMAT = "medpsim-lin-weights"
# lpips.pretrained_networks' ScalingLayer (version 0.1), applied after the [0, 1] -> [-1, 1] step.
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
EXAMPLE_SIZE = 96  # the export's example input (the parity sample has another batch and size)


@dataclass(frozen=True)
class Tap:
    name: str  # relu1, relu1_2, conv1, layer1, ...
    index: int  # torchvision features index (alexnet, vgg16); -1 for resnet50
    channels: int
    shape: str  # the output's height as a formula of the input height (the same for the width)

    @property
    def output(self):
        return "features_" + self.name


@dataclass(frozen=True)
class Arch:
    name: str
    builder: str
    taps: tuple
    scaling: str  # "lpips" or "imagenet"
    head: str  # the classification head's key prefix in torchvision's state dict (not used, not loaded)
    weights_file: str  # torchvision's IMAGENET1K_V1 file name
    lin_file: str  # PerceptualSimilarity's lin weights (None: none published)
    min_size: int  # the smallest height/width the graph takes (every tap at least 1 x 1)


def _alexnet_size(tap):
    # conv 11x11 stride 4 pad 2, then maxpool 3x3 stride 2 before relu2 and relu3 (no ceil mode).
    return {"relu1": lambda h: (h - 3) // 4, "relu2": lambda h: (h - 7) // 8}.get(tap, lambda h: (h - 15) // 16)


ARCHS = {
    "alexnet": Arch("alexnet", "alexnet", (
        Tap("relu1", 1, 64, "floor((height-3)/4)"),
        Tap("relu2", 4, 192, "floor((height-7)/8)"),
        Tap("relu3", 7, 384, "floor((height-15)/16)"),
        Tap("relu4", 9, 256, "floor((height-15)/16)"),
        Tap("relu5", 11, 256, "floor((height-15)/16)"),
    ), "lpips", "classifier.", "alexnet-owt-7be5be79.pth", "alex.pth", 31),
    "vgg16": Arch("vgg16", "vgg16", (
        Tap("relu1_2", 3, 64, "height"),
        Tap("relu2_2", 8, 128, "floor(height/2)"),
        Tap("relu3_3", 15, 256, "floor(height/4)"),
        Tap("relu4_3", 22, 512, "floor(height/8)"),
        Tap("relu5_3", 29, 512, "floor(height/16)"),
    ), "lpips", "classifier.", "vgg16-397923af.pth", "vgg.pth", 16),
    "resnet50": Arch("resnet50", "resnet50", tuple(
        Tap(layer, -1, FEATURE_CHANNELS[layer], f"ceil(height/{FEATURE_STRIDES[layer]})")
        for layer in ("conv1", "layer1", "layer2", "layer3", "layer4")
    ), "imagenet", "fc.", "resnet50-0676ba61.pth", None, 1),
}
PARITY_SIZE = {"alexnet": (64, 72), "vgg16": (40, 48), "resnet50": (36, 44)}


def tap_size(arch, tap, h):
    """The height (or width) of a tap's feature map for an input of height (width) h."""
    if arch == "alexnet":
        return _alexnet_size(tap.name)(h)
    if arch == "vgg16":
        return h >> {"relu1_2": 0, "relu2_2": 1, "relu3_3": 2, "relu4_3": 3, "relu5_3": 4}[tap.name]
    return -(-h // FEATURE_STRIDES[tap.name])


class LpipsBackbone(nn.Module):
    """A torchvision network cut at LPIPS's taps. forward((N, 1, H, W) in [0, 1]) -> tuple of feature maps.

    The state dict keeps torchvision's key names (features.N.* for AlexNet/VGG16, conv1.*, bn1.*, layer1.*
    ... for ResNet50), without the classification head.
    """

    def __init__(self, arch, net=None):
        super().__init__()
        spec = ARCHS[arch]
        self.arch = arch
        net = net if net is not None else getattr(torchvision.models, spec.builder)(weights=None)
        self.tap_names = [t.name for t in spec.taps]
        if spec.scaling == "lpips":
            last = spec.taps[-1].index
            layers = list(net.features)[: last + 1]
            for i, layer in enumerate(layers):
                if isinstance(layer, nn.ReLU):
                    layers[i] = nn.ReLU(inplace=False)  # the taps are ReLU outputs: keep them unmodified
            self.features = nn.Sequential(*layers)
            self.tap_index = {t.index for t in spec.taps}
            shift, scale = LPIPS_SHIFT, LPIPS_SCALE
        else:
            for part in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):
                setattr(self, part, getattr(net, part))
            shift, scale = IMAGENET_MEAN, IMAGENET_STD
        # Not persistent: constants of the preprocessing, not learnt state.
        self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False)

    def forward(self, x):
        x = torch.cat([x, x, x], dim=1)
        if self.arch == "resnet50":
            x = (x - self.shift) / self.scale
            f0 = self.relu(self.bn1(self.conv1(x)))
            f1 = self.layer1(self.maxpool(f0))
            f2 = self.layer2(f1)
            f3 = self.layer3(f2)
            return f0, f1, f2, f3, self.layer4(f3)
        x = x * 2.0 - 1.0  # lpips.LPIPS(normalize=True): [0, 1] -> [-1, 1]
        x = (x - self.shift) / self.scale  # lpips ScalingLayer
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.tap_index:
                outs.append(x)
        return tuple(outs)


def _weights_state(arch, path):
    """torchvision-layout weights from a file: a torchvision state dict, or for resnet50 one of our
    classifier checkpoints (its ResNet50 body); or one of our backbone checkpoints of the same arch."""
    state, ckpt = read_state(path)
    if ckpt is None:
        return state, f"ImageNet {arch} (torchvision layout)"
    if ckpt.get("task") == "backbone" and ckpt.get("arch") == arch:
        return state, "medpsim backbone checkpoint"
    if ckpt.get("task") == "classifier" and arch == "resnet50":
        return {k[len("net."):]: v for k, v in state.items() if k.startswith("net.")}, "medpsim classifier checkpoint (its ResNet50 body)"
    raise WeightsError(f"{path} is a medpsim {ckpt.get('task')} checkpoint{' of ' + str(ckpt.get('arch')) if ckpt.get('arch') else ''}, not {arch} weights")


def build_backbone(arch, weights, seed=0):
    """(LpipsBackbone, initialization record) from --weights FILE|none."""
    spec = ARCHS[arch]
    torch.manual_seed(seed)  # the random initialisation of --weights none is reproducible
    net = getattr(torchvision.models, spec.builder)(weights=None)
    if weights == "none":
        return LpipsBackbone(arch, net), {
            "pretrained": False, "source": None,
            "reason": f"--weights none: random initialisation (seed {seed}); the metric is not meaningful beyond testing",
        }
    state, kind = _weights_state(arch, weights)
    body = {k: v for k, v in state.items() if not k.startswith(spec.head)}
    try:
        result = net.load_state_dict(body, strict=False)
    except RuntimeError as e:  # shape mismatches: another network's weights
        detail = [line.strip() for line in str(e).splitlines() if line.strip()]
        raise WeightsError(f"{weights} does not hold torchvision {arch} weights: {detail[1] if len(detail) > 1 else detail[0]}") from e
    missing = [k for k in result.missing_keys if not k.startswith(spec.head)]
    if missing or result.unexpected_keys:
        raise WeightsError(f"{weights} does not hold torchvision {arch} weights "
                           f"(missing {missing[:3]}, unexpected {result.unexpected_keys[:3]})")
    return LpipsBackbone(arch, net), {"pretrained": True, "source": os.path.abspath(weights), "kind": kind,
                                      "sha256": sha256_file(weights)}


_LIN_KEY = re.compile(r"^lin(\d+)\.model\.(\d+)\.weight$")


def read_lin_weights(path, arch):
    """LPIPS's lin weights file (a state dict with lin0.model.1.weight ... lin{K-1}.model.1.weight, each
    [1, C, 1, 1], C the tap's channels, all >= 0) -> {output name: float32 tensor [C]}, in tap order.
    Other keys (a whole lpips.LPIPS state dict also has net.* and scaling_layer.*) are ignored."""
    spec = ARCHS[arch]
    taps = spec.taps
    try:
        state, ckpt = read_state(path)
    except WeightsError as e:
        raise WeightsError(f"--lin-weights: {e}") from e
    if ckpt is not None:
        raise WeightsError(f"--lin-weights {path} is a medpsim {ckpt.get('task')} checkpoint, not LPIPS lin weights")
    want = ", ".join(f"lin{k}.model.1.weight" for k in range(len(taps)))
    found = {}
    for key, value in state.items():
        m = _LIN_KEY.match(key)
        if m:
            k = int(m.group(1))
            if k in found:
                raise WeightsError(f"--lin-weights {path}: lin{k} appears twice ({found[k][0]}, {key})")
            found[k] = (key, value)
    if not found:
        raise WeightsError(f"--lin-weights {path} holds no LPIPS lin weights (expected {want}; it has "
                           f"{sorted(state)[:4]}{' ...' if len(state) > 4 else ''})")
    missing = [k for k in range(len(taps)) if k not in found]
    extra = sorted(k for k in found if k >= len(taps))
    if missing:
        raise WeightsError(f"--lin-weights {path}: missing {', '.join(f'lin{k}.model.1.weight' for k in missing)} "
                           f"({arch} has {len(taps)} taps: {', '.join(t.name for t in taps)})")
    if extra:
        raise WeightsError(f"--lin-weights {path}: lin{extra[0]} is beyond {arch}'s {len(taps)} taps "
                           f"(lin weights of another network? {spec.lin_file or 'LPIPS publishes none for ' + arch})")
    out = {}
    for k, tap in enumerate(taps):
        key, w = found[k]
        if w.dim() != 4 or w.shape[0] != 1 or tuple(w.shape[2:]) != (1, 1):
            raise WeightsError(f"--lin-weights {path}: {key} has shape {list(w.shape)}, [1, {tap.channels}, 1, 1] expected")
        if w.shape[1] != tap.channels:
            raise WeightsError(f"--lin-weights {path}: {key} has {w.shape[1]} channels, {arch}'s {tap.name} has "
                               f"{tap.channels} (lin weights of another network? {arch}'s are {spec.lin_file or 'not published'})")
        w = w.detach().float().reshape(-1)
        if not torch.isfinite(w).all():
            raise WeightsError(f"--lin-weights {path}: {key} has non-finite weights")
        if (w < 0).any():
            raise WeightsError(f"--lin-weights {path}: {key} has negative weights (min {float(w.min()):.4g}); "
                               "LPIPS's lin weights are >= 0 (clamped while training)")
        out[tap.output] = w
    return out


def write_lin_json(path, weights, source, arch):
    """<name>.lin.json: {"format": "medpsim-lin-weights", "version": 1, "layers": {output: [w per channel]}}
    (shortest float32 decimals), plus where the weights came from."""
    doc = {"format": LIN_WEIGHTS_FORMAT, "version": 1, "arch": arch,
           "source": {"file": os.path.basename(source), "sha256": sha256_file(source)},
           "layers": {name: _flat(w) for name, w in weights.items()}}
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.write("\n")
    os.replace(path + ".tmp", path)
    return path


def read_lin_json(path):
    """{output name: float32 tensor} from a <name>.lin.json."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if doc.get("format") != LIN_WEIGHTS_FORMAT or doc.get("version") != 1:
        raise ValueError(f"{path} is not a {LIN_WEIGHTS_FORMAT} version 1 file")
    return {k: torch.tensor(np.asarray(v, dtype=np.float32)) for k, v in doc["layers"].items()}


def load_backbone(path):
    """An LpipsBackbone (eval mode, CPU) from an export's <name>.pt checkpoint."""
    obj = torch.load(path, map_location="cpu")
    if not (isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT and obj.get("task") == "backbone"):
        raise WeightsError(f"{path} is not a medpsim backbone checkpoint")
    model = LpipsBackbone(obj["arch"])
    model.load_state_dict(obj["state_dict"])
    return model.eval()


def _normalization(spec):
    if spec.scaling == "lpips":
        return {"inGraph": True, "repeatChannels": 3, "steps": ["x * 2 - 1", "(x - shift) / scale"],
                "shift": list(LPIPS_SHIFT), "scale": list(LPIPS_SCALE),
                "note": "the graph repeats the grey channel to 3, maps [0, 1] to [-1, 1] (lpips.LPIPS(normalize=True)) "
                        "and applies LPIPS's ScalingLayer (ImageNet's mean/std expressed in [-1, 1]) itself"}
    return {"inGraph": True, "repeatChannels": 3, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
            "note": "the graph repeats the grey channel to 3 and applies ImageNet's mean/std itself"}


def run(args, events):
    started = time.time()
    spec = ARCHS[args.arch]
    seed_everything(args.seed)
    device = torch.device("cpu")
    env = environment(device)
    config = vars(args).copy()
    config.pop("func", None)
    events.emit("start", task="backbone", name=args.name, seed=args.seed, device=str(device), environment=env, config=config)
    events.say(f"{events.command}: {args.arch} backbone '{args.name}' (seed {args.seed})")

    # Bad input first, before the (slow) build and export.
    lin = read_lin_weights(args.lin_weights, args.arch) if args.lin_weights else None
    model, init = build_backbone(args.arch, args.weights, args.seed)
    if not init["pretrained"]:
        events.warning("RANDOM INITIALISATION (--weights none): the lpips distance of this backbone is not meaningful "
                       f"beyond testing; pass --weights with torchvision's {spec.weights_file}", initialization=init)
    if lin is None and spec.lin_file:
        events.say(f"no --lin-weights: every channel weighs 1 (lpips.LPIPS(lpips=False)); LPIPS's are {spec.lin_file}")

    out_dir = os.path.abspath(args.out_dir)
    os.makedirs(out_dir, exist_ok=True)
    path = lambda suffix: os.path.join(out_dir, args.name + suffix)  # noqa: E731
    cpu = cpu_eval_copy(model)
    names = [t.output for t in spec.taps]
    axes = {n: {0: "batch", 2: n + "_height", 3: n + "_width"} for n in names}
    example = torch.rand(1, 1, EXAMPLE_SIZE, EXAMPLE_SIZE, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes are about export internals only
        export_onnx(cpu, path(".onnx"), example, names, axes)
    ph, pw = PARITY_SIZE[args.arch]
    parity_path = write_parity(cpu, path(".parity.json"), args.name + ".onnx", parity_input(2, ph, pw, args.seed), names)
    save_checkpoint(path(".pt"), "backbone", model, config, extra={"arch": args.arch, "taps": [t.name for t in spec.taps]})
    files = {"onnx": path(".onnx"), "parity": parity_path, "checkpoint": path(".pt")}
    lin_ref = None
    if lin is not None:
        files["linWeights"] = write_lin_json(path(".lin.json"), lin, args.lin_weights, args.arch)
        lin_ref = {"file": args.name + ".lin.json", "sha256": sha256_file(files["linWeights"])}

    outputs = []
    for t in spec.taps:
        if t.index >= 0:
            meaning = f"{'AlexNet' if args.arch == 'alexnet' else 'VGG16'} {t.name}: after the ReLU at torchvision features index {t.index}"
        else:
            meaning = "ResNet50 conv1 after batch norm and ReLU" if t.name == "conv1" else f"ResNet50 {t.name} output"
        size = tap_size(args.arch, t, 224)
        outputs.append({
            "name": t.output, "shape": ["batch", t.channels, t.shape, t.shape.replace("height", "width")],
            "shapeAt224": [None, t.channels, size, size], "dtype": "float32", "layer": t.name,
            "torchvisionIndex": t.index if t.index >= 0 else None,
            "meaning": meaning + "; an LPIPS tap (a deep-perceptual-metric feature map)",
        })
    pre_extra = {
        "size": [224, 224],
        "resize": "none: the graph takes any height and width >= minSize (the lpips metric feeds the images at "
                  "their own size); the ImageNet weights were trained at 224 x 224",
        "minSize": spec.min_size,
    }
    lpips_scaling = ({"applied": True, "steps": ["x * 2 - 1", "(x - shift) / scale"], "shift": list(LPIPS_SHIFT),
                      "scale": list(LPIPS_SCALE),
                      "note": "lpips.LPIPS(normalize=True) then its ScalingLayer (version 0.1), in the graph"}
                     if spec.scaling == "lpips" else
                     {"applied": False, "note": "ImageNet mean/std (torchvision's ResNet50 preprocessing) instead: "
                                                "LPIPS publishes no lin weights for a ResNet"})
    files["manifest"] = write_manifest(
        out_dir, args.name, "backbone", inputs=[grey_input(224, 1, _normalization(spec), pre_extra)], outputs=outputs,
        config=config, data=None, metrics=None, initialization=init, environment=env, seed=args.seed, extra={
            "architecture": {"name": f"torchvision {args.arch}", "arch": args.arch,
                             "taps": [{"name": t.name, "output": t.output, "channels": t.channels,
                                       "torchvisionIndex": t.index if t.index >= 0 else None} for t in spec.taps],
                             "imagenetWeightsFile": spec.weights_file, "lpipsLinWeightsFile": spec.lin_file},
            "lpipsScaling": lpips_scaling,
            "featureLayers": names,
            "linWeightsSource": None if lin is None else {"file": os.path.basename(args.lin_weights),
                                                           "sha256": sha256_file(args.lin_weights)},
            # The server's lpips metric (src/metrics/deep.ts): every tap, at the images' own size.
            "deepMetric": {"layers": names, "defaultLayers": names, "inputSize": None, "linWeights": lin_ref},
        })
    events.emit("done", metrics=None, files=files, initialization=init, seconds=round(time.time() - started, 3))
    return 0
