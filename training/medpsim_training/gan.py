"""train-gan: the study's conditional GAN (pix2pix-like) that distorts a given image, and the generators of a
zoo (the server's trainGeneratorZoo runs one train-gan per member with its drawn knobs).

The generator maps its input u = corrupt(x) (--input-corruption, corrupt.py; the original image x itself by
default) to a target y:
- --objective imitate (GAN-style, the default): y is a traditional distortion of x made exactly as the native
  engine makes it (noise.py: gaussian_noise / uniform_noise, a fresh seed per sample and epoch);
- --objective reconstruct (DAE-style, BAPPS's autoencoders): y is x, the clean image.
The discriminator sees (u, y) as "real" pairs and (u, G(u)) as "fake" ones. Generator loss:
w_adv * adversarial + w_pixel * L1(G(u), y) + w_feature * feature distance; with w_adv 0 no discriminator is
built (it could not change the generator). At the end the guard's statistics (guard_stats) say whether the
generator is (nearly) the identity or (nearly) constant on clean held-out images.
"""
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision

from .common import Run, batches, epoch_order, load_parts, save_image_to_image, to_device
from .corrupt import corrupt_batch
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


def pair_batch(clean, args, params, epoch, positions):
    """(generator input u, target y) of a (N, 1, H, W) CPU batch of clean images (see the module's docstring)."""
    u = corrupt_batch(clean, args.input_corruption, args.input_level, args.seed, epoch, positions)
    y = clean if args.objective == "reconstruct" else real_batch(clean, args.target_kind, params, args.seed, epoch, positions)
    return u, y


def guard_stats(gen, images, batch_size, device, on):
    """The zoo's degeneracy statistics of a generator on clean images x (uint16 (N, H, W)), in eval mode:
    rmsChange = sqrt(mean (G(x) - x)^2) (0 for the identity), contrastRatio = mean_i std(G(x_i)) / mean_i
    std(x_i) (0 for a constant output; None when the images have no contrast), finite = no NaN or inf."""
    gen.eval()
    se = 0.0
    n_px = 0
    std_out = std_in = 0.0
    finite = True
    with torch.no_grad():
        for s in batches(len(images), batch_size):
            x = to_device(images[s], "cpu").to(device)
            o = gen(x).double()
            finite = finite and bool(torch.isfinite(o).all())
            se += float(((o - x.double()) ** 2).sum())
            n_px += x.numel()
            std_out += float(o.flatten(1).std(dim=1, unbiased=False).sum())
            std_in += float(x.double().flatten(1).std(dim=1, unbiased=False).sum())
    n = len(images)
    return {"rmsChange": float(np.sqrt(se / n_px)) if finite else None,
            "contrastRatio": (std_out / n) / (std_in / n) if finite and std_in > 0 else None,
            "finite": finite, "images": n, "on": on}


def guard_images(parts):
    """The clean held-out images of the guard: test, else val, else the first 16 training images."""
    for part in ("test", "val"):
        if len(parts[part][1]):
            return part, parts[part][1]
    return "train", parts["train"][1][:16]


def feature_distance(net, a, b):
    fa, fb = net(a), net(b)
    return sum(torch.mean(torch.abs(x - y)) for x, y in zip(fa, fb)) / len(fa)


def evaluate(gen, disc, images, args, params, device):
    """On held-out images with fixed seeds: L1 to the target, how strong the generated change is next to the
    target's (residual std, both against the generator's input), and the discriminator's accuracy on real and
    fake pairs (None without a discriminator)."""
    if len(images) == 0:
        return None
    gen.eval()
    if disc is not None:
        disc.eval()
    l1 = res_fake = res_real = 0.0
    d_real_ok = d_fake_ok = n_patches = 0
    n = 0
    with torch.no_grad():
        for s in batches(len(images), args.batch_size):
            u, y = pair_batch(to_device(images[s], "cpu"), args, params, 0, range(s.start, s.stop))
            u, y = u.to(device), y.to(device)
            fake = gen(u)
            l1 += float(torch.mean(torch.abs(fake - y))) * len(u)
            res_fake += float(torch.std(fake - u)) * len(u)
            res_real += float(torch.std(y - u)) * len(u)
            if disc is not None:
                dr, df = disc(u, y), disc(u, fake)
                d_real_ok += int((dr > 0).sum())
                d_fake_ok += int((df < 0).sum())
                n_patches += dr.numel()
            n += len(u)
    return {"l1": l1 / n, "residualStdGenerated": res_fake / n, "residualStdTarget": res_real / n,
            "discriminatorAccuracyReal": d_real_ok / n_patches if disc is not None else None,
            "discriminatorAccuracyFake": d_fake_ok / n_patches if disc is not None else None,
            "images": n}


def run(args, events):
    if args.w_pixel == 0 and args.w_feature == 0 and args.w_adv == 0:
        raise ValueError("no loss: at least one of --w-pixel, --w-feature, --w-adv must be > 0")
    reconstruct = args.objective == "reconstruct"
    r = Run(args, events, "dae" if reconstruct else "gan-generator")
    config = vars(args).copy()
    config.pop("func", None)
    params = target_params(args)
    gen = UNetGenerator(args.g_layers, args.g_channels, args.g_skips, args.g_force_top_skip, args.g_dropout_layers,
                        args.g_upsample, args.g_norm, args.g_first_stride)
    disc = PatchDiscriminator(args.d_layers, args.d_channels, args.d_norm) if args.w_adv > 0 else None
    if args.image_size % gen.size_multiple:
        raise ValueError(f"--image-size {args.image_size} must be a multiple of {gen.size_multiple} for this generator")
    if disc is not None and args.image_size < PatchDiscriminator.min_size(args.d_layers):
        raise ValueError(f"--image-size {args.image_size} is too small for {args.d_layers} discriminator layers "
                         f"(at least {PatchDiscriminator.min_size(args.d_layers)})")
    features = load_feature_net(args.feature_net) if args.w_feature > 0 else None
    r.start(config)
    if features is not None:
        events.say(f"feature loss: {features.description}")
    parts, data = load_parts(args, events, labelled=False)
    events.emit("metrics", stage="data", data=data)
    gen.to(r.device)
    if disc is not None:
        disc.to(r.device)
    if features is not None:
        features.to(r.device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=args.lr_d or args.lr, betas=(args.beta1, 0.999)) if disc is not None else None
    bce = nn.BCEWithLogitsLoss()
    train = parts["train"][1]
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        gen.train()
        if disc is not None:
            disc.train()
        order = epoch_order(len(train), args.seed, epoch)
        if len(order) % args.batch_size == 1 and len(order) > 1 and "batch" in (args.g_norm, args.d_norm):
            order = order[:-1]  # a batch of one breaks batch norm in training mode
        sums = {"d": 0.0, "g": 0.0, "adv": 0.0, "pixel": 0.0, "feature": 0.0}
        seen = 0
        for step, s in enumerate(batches(len(order), args.batch_size)):
            idx = order[s]
            u, y = pair_batch(to_device(train[idx], "cpu"), args, params, epoch, idx.tolist())
            u, y = u.to(r.device), y.to(r.device)
            fake = gen(u)
            zero = torch.zeros((), device=r.device)
            if disc is not None:
                # Discriminator: real pairs -> 1, generated pairs -> 0 (the generator is not updated here).
                opt_d.zero_grad(set_to_none=True)
                d_real, d_fake = disc(u, y), disc(u, fake.detach())
                loss_d = 0.5 * (bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake)))
                loss_d.backward()
                opt_d.step()
            else:
                loss_d = zero
            # Generator: fool the discriminator, stay close to the target in pixels and features.
            opt_g.zero_grad(set_to_none=True)
            if disc is not None:
                d_fake = disc(u, fake)
                adv = bce(d_fake, torch.ones_like(d_fake))
            else:
                adv = zero
            pixel = torch.mean(torch.abs(fake - y))
            feat = feature_distance(features, fake, y) if features is not None else zero
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
    guard_on, guard_set = guard_images(parts)
    metrics["guard"] = guard_stats(gen, guard_set, args.batch_size, r.device, guard_on)
    if reconstruct:
        meaning = "the generator's reconstruction of its (corrupted) input in [0, 1]: the DAE-style distortion of the input"
        target = {"kind": "reconstruct", "note": "trained to give back the clean image"}
    else:
        meaning = f"the generator's distortion of the input in [0, 1], trained to look like {args.target_kind} {params}"
        target = {"kind": args.target_kind, "params": params,
                  "note": "real distortions made with the native engine's exact definition (noise.py)"}
    corruption = {"corruption": {
        "kind": args.input_corruption, "level": args.input_level if args.input_corruption != "none" else None,
        "note": "trained on inputs corrupted this way (corrupt.py); the server applies a corruption per step"}}
    extra = {
        "architecture": {"generator": "U-Net (pix2pix)", "objective": args.objective, "layers": args.g_layers,
                         "channels": args.g_channels, "skipLevels": gen.skip_levels,
                         "dropoutLevels": gen.dropout_levels, "upsample": args.g_upsample, "norm": args.g_norm,
                         "firstStride": args.g_first_stride,
                         "discriminatorLayers": args.d_layers if disc is not None else None,
                         "dropoutAtInference": False},
        "target": target,
        "featureNet": features.description if features is not None else None,
        "history": history,
    }
    if args.zoo_member is not None:
        extra["zooMember"] = args.zoo_member
    return r.finish(metrics, lambda: save_image_to_image(r, gen, meaning, {
        "inputs": [grey_input(args.image_size, gen.size_multiple, None, corruption)],
        "config": config,
        "data": data,
        "metrics": metrics,
        "extra": extra,
    }))
