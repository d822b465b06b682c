"""Command line: python -m medpsim_training <command> [options]  (see training/README.md).

stdout: JSON lines only (events.py); stderr: human messages. Exit codes: 0 done, 2 bad input (dataset,
options, weights file), 1 anything else (with the traceback on stderr); each failure also logs an "error"
JSON line.
"""
import argparse
import json
import os
import re
import sys
import traceback

from .events import Events

# corrupt.py's names, without importing torch for --help.
CORRUPTION_CHOICES = ("none", "pink_noise", "white_noise", "downsampling")
DEFAULT_OUT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models", "onnx")


class JsonErrorParser(argparse.ArgumentParser):
    """argparse that also reports bad options as an "error" JSON line, like every other failure."""

    def error(self, message):
        self.print_usage(sys.stderr)
        Events(self.prog.split()[-1]).error(message, kind="usage")
        sys.exit(2)


def _name(value):
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", value):
        raise argparse.ArgumentTypeError("letters, digits, '.', '_' and '-' only (it becomes a file name)")
    return value


def _fraction(value):
    v = float(value)
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError("must be in [0, 1)")
    return v


def _open_fraction(value):
    v = float(value)
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError("must be in (0, 1)")
    return v


def _positive(kind):
    def parse(value):
        v = kind(value)
        if v <= 0:
            raise argparse.ArgumentTypeError("must be > 0")
        return v

    return parse


def _non_negative(value):
    v = float(value)
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def _json_object(value):
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return parsed


def _common(p, name, epochs, batch, lr, size):
    g = p.add_argument_group("run")
    g.add_argument("--data", required=True, help="dataset folder (Kermany, class folders, flat, or a medpsim export)")
    g.add_argument("--seed", type=int, default=0, help="seeds python, numpy, torch, splits, augmentation, noise (default 0)")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA when torch sees a GPU")
    g.add_argument("--out-dir", default=DEFAULT_OUT_DIR, help="where <name>.onnx/.json/.parity.json/.pt go (default: models/onnx)")
    g.add_argument("--name", type=_name, default=name,
                   help=f"model name, the files' stem (default {name or 'gan-<target-kind>'})")
    g.add_argument("--epochs", type=_positive(int), default=epochs, help=f"default {epochs}")
    g.add_argument("--batch-size", type=_positive(int), default=batch, help=f"default {batch}")
    g.add_argument("--lr", type=_positive(float), default=lr, help=f"learning rate (default {lr})")
    g.add_argument("--image-size", type=_positive(int), default=size, help=f"images resized to S x S for training (default {size})")
    g.add_argument("--val-fraction", type=_fraction, default=0.1, help="patients of train held out for validation (default 0.1)")
    g.add_argument("--val-source", choices=("train", "folder"), default="train",
                   help="train: validation from train by patient (default); folder: the dataset's val split")
    g.add_argument("--test-fraction", type=_fraction, default=0.2,
                   help="without a test split, patients of train held out as the test set (default 0.2)")
    g.add_argument("--workers", type=_positive(int), default=None, help="threads decoding images (default: CPUs, at most 8)")
    g.add_argument("--nondeterministic", action="store_true", help="allow non-deterministic (faster) CUDA kernels")
    g.add_argument("--log-every", type=int, default=0, help="a 'progress' JSON line every N batches (default: off)")
    g.add_argument("--no-export", action="store_true", help="train and report only: no ONNX, manifest or checkpoint")


def build_parser():
    parser = JsonErrorParser(prog="medpsim_training", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=JsonErrorParser)

    c = sub.add_parser("train-classifier", help="ResNet50 NORMAL/PNEUMONIA classifier (the perceptual-metric backbone)")
    _common(c, "classifier-resnet50", 25, 128, 0.01, 224)
    g = c.add_argument_group("classifier (the study's Table 4)")
    g.add_argument("--weights", default="imagenet",
                   help="imagenet: torchvision's cache, else from scratch with a warning; none; or a file (ImageNet "
                        "ResNet50 state dict or a classifier .pt)")
    g.add_argument("--momentum", type=_non_negative, default=0.9, help="SGD momentum (default 0.9)")
    g.add_argument("--weight-decay", type=_non_negative, default=1e-4, help="SGD weight decay (default 1e-4)")
    g.add_argument("--gamma", type=_positive(float), default=0.9, help="ExponentialLR factor per epoch (default 0.9)")
    g.add_argument("--select", choices=("best", "last"), default="best",
                   help="keep the epoch with the lowest validation loss (default) or the last one")
    g = c.add_argument_group("minority-class augmentation (the study's settings)")
    g.add_argument("--balance-ratio", type=float, default=1.0, help="augment smaller classes to this x the largest (1.0: 1:1; 0: off)")
    g.add_argument("--rotation", type=_non_negative, default=45.0, help="degrees (default 45)")
    g.add_argument("--shift-x", type=_non_negative, default=0.15, help="horizontal shift, fraction of the width (default 0.15)")
    g.add_argument("--shift-y", type=_non_negative, default=0.2, help="vertical shift, fraction of the height (default 0.2)")
    g.add_argument("--shear", type=_non_negative, default=16.0, help="degrees (default 16)")
    g.add_argument("--crop-pad", type=_non_negative, default=0.25, help="crop (-) or pad (+) each side up to this fraction (default 0.25)")
    c.set_defaults(func="classifier")

    d = sub.add_parser("train-dae", help="denoising autoencoder (the CNN-distortion baseline)")
    _common(d, "dae", 10, 32, 1e-3, 256)
    g = d.add_argument_group("autoencoder")
    g.add_argument("--noise-sigma", type=_non_negative, default=0.1, help="the engine's gaussian_noise sigma on the input (default 0.1)")
    g.add_argument("--depth", type=_positive(int), default=3, help="stride-2 levels; sizes must be multiples of 2^depth (default 3)")
    g.add_argument("--channels", type=_positive(int), default=32, help="channels of the first level (default 32)")
    d.set_defaults(func="dae")

    n = sub.add_parser("train-gan", help="conditional GAN (pix2pix-like) that learns a traditional distortion, or a "
                                         "zoo member (GAN- or DAE-style)")
    _common(n, None, 20, 8, 2e-4, 256)
    g = n.add_argument_group("objective and input corruption (a zoo's knobs)")
    g.add_argument("--objective", choices=("imitate", "reconstruct"), default="imitate",
                   help="imitate: the target is the engine's --target-kind of the image (GAN-style, default); "
                        "reconstruct: the target is the clean image (DAE-style, manifest task dae)")
    g.add_argument("--input-corruption", choices=CORRUPTION_CHOICES, default="none",
                   help="what the generator's input is corrupted with while training (default none)")
    g.add_argument("--input-level", type=_non_negative, default=0.1,
                   help="corruption strength: noise standard deviation, or downsampling by 1 + 7 level (default 0.1)")
    g.add_argument("--zoo-member", type=_json_object, default=None,
                   help="a JSON object recorded in the manifest as zooMember (the server's zoo: index, draw, knobs)")
    g = n.add_argument_group("target: the 'real' distortion (the native engine's definition)")
    g.add_argument("--target-kind", choices=("gaussian_noise", "uniform_noise"), default="gaussian_noise")
    g.add_argument("--target-sigma", type=_non_negative, default=0.1, help="gaussian_noise sigma (default 0.1)")
    g.add_argument("--target-amplitude", type=_non_negative, default=0.1, help="uniform_noise amplitude (default 0.1)")
    g = n.add_argument_group("generator (Table 1)")
    g.add_argument("--g-layers", type=_positive(int), default=6, help="encoder/decoder levels (default 6)")
    g.add_argument("--g-channels", type=_positive(int), default=64, help="channels in the first layer (default 64)")
    g.add_argument("--g-skips", type=int, default=None, help="levels with skip connections, deepest first (default: all, layers-1)")
    g.add_argument("--g-force-top-skip", action="store_true", help="force a skip connection at the highest level")
    g.add_argument("--g-dropout-layers", type=int, default=None, help="deepest decoder layers with dropout (default min(3, layers-1))")
    g.add_argument("--g-upsample", choices=("transpose", "nearest", "bilinear"), default="transpose",
                   help="transposed convolution or upsampling + convolution (default transpose)")
    g.add_argument("--g-norm", choices=("batch", "instance", "none"), default="batch", help="normalisation (default batch)")
    g.add_argument("--g-first-stride", type=int, choices=(1, 2), default=2, help="stride of the first layer (default 2)")
    g = n.add_argument_group("discriminator and losses")
    g.add_argument("--d-layers", type=_positive(int), default=3, help="PatchGAN layers (default 3)")
    g.add_argument("--d-channels", type=_positive(int), default=64, help="default 64")
    g.add_argument("--d-norm", choices=("batch", "instance", "none"), default="batch")
    g.add_argument("--w-pixel", type=_non_negative, default=100.0, help="weight of the L1 pixel loss (default 100, pix2pix)")
    g.add_argument("--w-feature", type=_non_negative, default=0.0, help="weight of the feature loss (default 0: off)")
    g.add_argument("--w-adv", type=_non_negative, default=1.0, help="weight of the adversarial loss (default 1)")
    g.add_argument("--feature-net", default="random",
                   help="random (fixed random-init VGG-style net) or a file: classifier .pt, ResNet50 or VGG16/19 weights")
    g.add_argument("--lr-d", type=_positive(float), default=None, help="discriminator learning rate (default: --lr)")
    g.add_argument("--beta1", type=_non_negative, default=0.5, help="Adam beta1 (default 0.5, pix2pix)")
    n.set_defaults(func="gan")

    b = sub.add_parser("export-backbone", help="an ImageNet AlexNet/VGG16/ResNet50 (local weights file) for the lpips metric, "
                                              "with LPIPS's lin weights")
    b.add_argument("--arch", choices=("alexnet", "vgg16", "resnet50"), required=True,
                   help="alexnet/vgg16: LPIPS's taps and input scaling; resnet50: conv1, layer1..layer4, ImageNet mean/std")
    b.add_argument("--weights", required=True,
                   help="a torchvision state dict (alexnet-owt-7be5be79.pth, vgg16-397923af.pth, resnet50-0676ba61.pth), "
                        "or none: random initialisation (the metric is then meaningful for tests only)")
    b.add_argument("--lin-weights", default=None,
                   help="LPIPS's lin weights (PerceptualSimilarity lpips/weights/v0.1/alex.pth, vgg.pth), written as "
                        "<name>.lin.json beside the model (default: none, every channel weighs 1)")
    b.add_argument("--name", type=_name, default=None, help="model name, the files' stem (default lpips-<arch>)")
    b.add_argument("--out-dir", default=DEFAULT_OUT_DIR, help="where the files go (default: models/onnx)")
    b.add_argument("--seed", type=int, default=0, help="the random initialisation of --weights none and the parity sample (default 0)")
    b.set_defaults(func="backbone")

    f = sub.add_parser("fit-lin", help="learn LPIPS's per-channel lin weights of a deep-metric model from a study's 2AFC "
                                       "judgments (a BAPPS-layout folder)")
    f.add_argument("--bapps", required=True, help="a BAPPS-layout folder (2afc/<split>/<category>/{ref,p0,p1,judge}), "
                                                 "e.g. a study export")
    f.add_argument("--model", required=True, help="the model's manifest <name>.json (classifier or backbone export with "
                                                 "a deepMetric section); its .onnx and checkpoint beside it")
    f.add_argument("--layers", nargs="+", default=None, help="feature outputs to weigh (default: deepMetric.defaultLayers)")
    f.add_argument("--train-split", default="train", help="split folder to fit on (default train)")
    f.add_argument("--val-split", default="val", help="split folder held out for the before/after score (default val)")
    f.add_argument("--val-fraction", type=_open_fraction, default=None,
                   help="instead of --val-split: hold out this fraction of the training split's items (seeded, by "
                        "item); needed when the folder has one split")
    f.add_argument("--epochs", type=_positive(int), default=60, help="default 60 (the second half decays the lr linearly to 0)")
    f.add_argument("--lr", type=_positive(float), default=0.1, help="Adam learning rate (default 0.1)")
    f.add_argument("--batch", type=_positive(int), default=50, help="triplets per step (default 50, as LPIPS)")
    f.add_argument("--seed", type=int, default=0, help="seeds the head's initialisation, the batch order and --val-fraction (default 0)")
    f.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="for the features (the fit runs on the CPU)")
    f.add_argument("--out", default=None, help="where N.lin.json, N.json and copies of the model's files go (default: the model's folder)")
    f.add_argument("--name", type=_name, default=None, help="the calibrated model's name (default <model name>-lin)")
    f.set_defaults(func="fit-lin")

    v = sub.add_parser("verify-export", help="check an exported model: onnx.checker, manifest, parity with PyTorch")
    v.add_argument("--model", required=True, help="path to <name>.onnx (its .json and .parity.json beside it)")
    v.add_argument("--require-onnxruntime", action="store_true",
                   help="fail unless onnxruntime runs the parity check (else the numpy evaluator is used)")
    v.set_defaults(func="verify")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    events = Events(args.command)
    if args.func in ("backbone", "gan") and args.name is None:
        args.name = "lpips-" + args.arch if args.func == "backbone" else "gan-" + args.target_kind
    try:
        if args.func == "classifier":
            from .classifier import run
        elif args.func == "dae":
            from .dae import run
        elif args.func == "gan":
            from .gan import run
        elif args.func == "backbone":
            from .backbone import run
        elif args.func == "fit-lin":
            from .lin_fit import run
        else:
            return verify_command(args, events)
        return run(args, events)
    except KeyboardInterrupt:
        events.error("interrupted", kind="interrupted")
        return 130
    except Exception as exc:  # every failure ends with an error line; bad input is exit code 2
        from .data import DataError
        from .weights import WeightsError

        if isinstance(exc, (DataError, WeightsError, ValueError)):
            events.error(str(exc), kind=type(exc).__name__)
            return 2
        traceback.print_exc(file=sys.stderr)
        events.error(f"{type(exc).__name__}: {exc}", kind="internal")
        return 1


def verify_command(args, events):
    from .export import verify

    if not os.path.isfile(args.model):
        events.error(f"model not found: {args.model}", kind="not-found")
        return 2
    events.emit("start", model=os.path.abspath(args.model))
    report = verify(args.model, args.require_onnxruntime)
    for problem in report["problems"]:
        events.say("problem: " + problem)
    if not report["ok"]:
        events.emit("error", message="; ".join(report["problems"]), report=report)
        return 1
    events.emit("done", report=report)
    events.say(json.dumps({n: r for n, r in report.get("parity", {}).get("outputs", {}).items()}))
    return 0
