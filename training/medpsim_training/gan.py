"""train-gan: the study's conditional GAN (pix2pix-like) that distorts a given image.

The generator maps an original image x to a distorted one; the discriminator sees (x, distorted) pairs,
"real" ones where the distorted image is a traditional distortion of x made exactly as the native engine
makes it (noise.py: gaussian_noise / uniform_noise, a fresh seed per sample and epoch), "fake" ones from the
generator. Generator loss: w_adv * adversarial + w_pixel * L1(G(x), real) + w_feature * feature distance.
"""
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision

from .common import Run, batches, epoch_order, load_parts, save_image_to_image, to_device
from .manifest import grey_input
from .models import ChestClassifier, ClassifierFeatures, PatchDiscriminator, RandomConvFeatures, UNetGenerator, VGGFeatures
from .noise import KINDS, apply_noise
from .runtime import mix_seed
from .weights import WeightsError, load_resnet50_backbone, read_state


def target_params(args):
    name, _ = KINDS[args.target_kind]
    return {name: args.target_sigma if name == "sigma" else args.target_amplitude}


def real_batch(clean, kind, params, seed, epoch, positions):
    """The engine's distortion of each image of a (N, 1, H, W) CPU tensor; seed per (epoch, sample)."""
    out = np.empty_like(clean.numpy())
    for k, pos in enumerate(positions):
        out[k] = apply_noise(kind, clean[k].numpy(), mix_seed(0x6A4, seed, epoch, pos), **params)
    return torch.from_numpy(out)


def load_feature_net(spec):
    """--feature-net: "random" (fixed random VGG-style net) or a local file: one of our classifier
    checkpoints, torchvision ResNet50 weights (conv1, layer1, layer2 features) or torchvision VGG16/VGG19
    weights (relu1_2, relu2_2, relu3_3/relu3_4)."""
    if spec == "random":
        return RandomConvFeatures()
    state, ckpt = read_state(spec)
    if ckpt is not None:
        if ckpt.get("task") != "classifier":
            raise WeightsError(f"{spec}: a {ckpt.get('task')} checkpoint cannot serve as a feature net")
        model = ChestClassifier()
        model.load_state_dict(state)
        return ClassifierFeatures(model, f"medpsim classifier checkpoint {spec}: conv1, layer1, layer2")
    if "conv1.weight" in state and "layer4.0.conv1.weight" in state:
        model = ChestClassifier()
        load_resnet50_backbone(model.net, state, spec)
        return ClassifierFeatures(model, f"ResNet50 weights {spec}: conv1, layer1, layer2")
    convs = sorted(int(k.split(".")[1]) for k, v in state.items() if k.startswith("features.") and k.endswith(".weight") and v.dim() == 4)
    if len(convs) in (13, 16):
        vgg = torchvision.models.vgg16(weights=None) if len(convs) == 13 else torchvision.models.vgg19(weights=None)
        vgg.features.load_state_dict({k[len("features."):]: v for k, v in state.items() if k.startswith("features.")})
        cuts = (3, 8, 15) if len(convs) == 13 else (3, 8, 17)
        return VGGFeatures(vgg, cuts, f"VGG{16 if len(convs) == 13 else 19} weights {spec}: relu1_2, relu2_2, relu3")
    raise WeightsError(f"{spec}: not a classifier checkpoint, ResNet50 or VGG16/19 weights")


def feature_distance(net, a, b):
    fa, fb = net(a), net(b)
    return sum(torch.mean(torch.abs(x - y)) for x, y in zip(fa, fb)) / len(fa)


def evaluate(gen, disc, images, args, params, device):
    """On held-out images with fixed seeds: L1 to the engine's distortion, how strong the generated change is
    next to the real one (residual std), and the discriminator's accuracy on real and fake pairs."""
    if len(images) == 0:
        return None
    gen.eval()
    disc.eval()
    l1 = res_fake = res_real = 0.0
    d_real_ok = d_fake_ok = n_patches = 0
    n = 0
    with torch.no_grad():
        for s in batches(len(images), args.batch_size):
            x = to_device(images[s], "cpu")
            y = real_batch(x, args.target_kind, params, args.seed, 0, range(s.start, s.stop)).to(device)
            x = x.to(device)
            fake = gen(x)
            l1 += float(torch.mean(torch.abs(fake - y))) * len(x)
            res_fake += float(torch.std(fake - x)) * len(x)
            res_real += float(torch.std(y - x)) * len(x)
            dr, df = disc(x, y), disc(x, fake)
            d_real_ok += int((dr > 0).sum())
            d_fake_ok += int((df < 0).sum())
            n_patches += dr.numel()
            n += len(x)
    return {"l1": l1 / n, "residualStdGenerated": res_fake / n, "residualStdTarget": res_real / n,
            "discriminatorAccuracyReal": d_real_ok / n_patches, "discriminatorAccuracyFake": d_fake_ok / n_patches,
            "images": n}


def run(args, events):
    r = Run(args, events, "gan-generator")
    config = vars(args).copy()
    config.pop("func", None)
    params = target_params(args)
    gen = UNetGenerator(args.g_layers, args.g_channels, args.g_skips, args.g_force_top_skip, args.g_dropout_layers,
                        args.g_upsample, args.g_norm, args.g_first_stride)
    disc = PatchDiscriminator(args.d_layers, args.d_channels, args.d_norm)
    if args.image_size % gen.size_multiple:
        raise ValueError(f"--image-size {args.image_size} must be a multiple of {gen.size_multiple} for this generator")
    if args.image_size < PatchDiscriminator.min_size(args.d_layers):
        raise ValueError(f"--image-size {args.image_size} is too small for {args.d_layers} discriminator layers "
                         f"(at least {PatchDiscriminator.min_size(args.d_layers)})")
    features = load_feature_net(args.feature_net) if args.w_feature > 0 else None
    r.start(config)
    if features is not None:
        events.say(f"feature loss: {features.description}")
    parts, data = load_parts(args, events, labelled=False)
    events.emit("metrics", stage="data", data=data)
    gen.to(r.device)
    disc.to(r.device)
    if features is not None:
        features.to(r.device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=args.lr_d or args.lr, betas=(args.beta1, 0.999))
    bce = nn.BCEWithLogitsLoss()
    train = parts["train"][1]
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        gen.train()
        disc.train()
        order = epoch_order(len(train), args.seed, epoch)
        if len(order) % args.batch_size == 1 and len(order) > 1 and "batch" in (args.g_norm, args.d_norm):
            order = order[:-1]  # a batch of one breaks batch norm in training mode
        sums = {"d": 0.0, "g": 0.0, "adv": 0.0, "pixel": 0.0, "feature": 0.0}
        seen = 0
        for step, s in enumerate(batches(len(order), args.batch_size)):
            idx = order[s]
            x = to_device(train[idx], "cpu")
            y = real_batch(x, args.target_kind, params, args.seed, epoch, idx.tolist()).to(r.device)
            x = x.to(r.device)
            fake = gen(x)
            # Discriminator: real pairs -> 1, generated pairs -> 0 (the generator is not updated here).
            opt_d.zero_grad(set_to_none=True)
            d_real, d_fake = disc(x, y), disc(x, fake.detach())
            loss_d = 0.5 * (bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake)))
            loss_d.backward()
            opt_d.step()
            # Generator: fool the discriminator, stay close to a real distortion in pixels and features.
            opt_g.zero_grad(set_to_none=True)
            d_fake = disc(x, fake)
            adv = bce(d_fake, torch.ones_like(d_fake))
            pixel = torch.mean(torch.abs(fake - y))
            feat = feature_distance(features, fake, y) if features is not None else torch.zeros((), device=r.device)
            loss_g = args.w_adv * adv + args.w_pixel * pixel + args.w_feature * feat
            loss_g.backward()
            opt_g.step()
            for k, v in (("d", loss_d), ("g", loss_g), ("adv", adv), ("pixel", pixel), ("feature", feat)):
                sums[k] += float(v) * len(idx)
            seen += len(idx)
            if args.log_every and (step + 1) % args.log_every == 0:
                events.emit("progress", epoch=epoch, step=step + 1, seen=seen, of=len(order),
                            losses={k: v / seen for k, v in sums.items()})
        val = evaluate(gen, disc, parts["val"][1], args, params, r.device)
        record = {"epoch": epoch, "epochs": args.epochs, "losses": {k: v / max(1, seen) for k, v in sums.items()},
                  "metrics": {"val": val}, "seconds": round(time.time() - t0, 3)}
        history.append(record)
        events.emit("epoch", **record)
    held = "test" if len(parts["test"][1]) else "val"
    metrics = {"on": held, held: evaluate(gen, disc, parts[held][1], args, params, r.device)}
    meaning = f"the generator's distortion of the input in [0, 1], trained to look like {args.target_kind} {params}"
    return r.finish(metrics, lambda: save_image_to_image(r, gen, meaning, {
        "inputs": [grey_input(args.image_size, gen.size_multiple)],
        "config": config,
        "data": data,
        "metrics": metrics,
        "extra": {
            "architecture": {"generator": "U-Net (pix2pix)", "layers": args.g_layers, "channels": args.g_channels,
                             "skipLevels": gen.skip_levels, "dropoutLevels": gen.dropout_levels,
                             "upsample": args.g_upsample, "norm": args.g_norm, "firstStride": args.g_first_stride,
                             "discriminatorLayers": args.d_layers,
                             "dropoutAtInference": False},
            "target": {"kind": args.target_kind, "params": params,
                       "note": "real distortions made with the native engine's exact definition (noise.py)"},
            "featureNet": features.description if features is not None else None,
            "history": history,
        },
    }))
