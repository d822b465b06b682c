"""train-dae: the denoising autoencoder baseline of the study's CNN-based distortions.

Input: the clean image with the engine's gaussian_noise (sigma --noise-sigma, a fresh seed per sample and
epoch); target: the clean image; loss: mean squared error; Adam. The reconstruction of a noisy image is the
"distorted" image (its characteristic smoothing and artefacts), so the server applies gaussian_noise with
the same sigma and then this model.
"""
import time

import numpy as np
import torch

from .common import Run, batches, epoch_order, load_parts, save_image_to_image, to_device
from .manifest import grey_input
from .metrics import psnr
from .models import DenoisingAutoencoder
from .noise import apply_noise
from .runtime import mix_seed


def noisy_batch(clean, sigma, seed, epoch, positions):
    """The engine's gaussian_noise on each image of a (N, 1, H, W) CPU tensor, one seed per (epoch, sample)."""
    out = np.empty_like(clean.numpy())
    for k, pos in enumerate(positions):
        out[k] = apply_noise("gaussian_noise", clean[k].numpy(), mix_seed(0xDAE, seed, epoch, pos), sigma=sigma)
    return torch.from_numpy(out)


def evaluate(model, images, args, device):
    """MSE and PSNR of the reconstruction and of the noisy input against the clean image (fixed noise seeds)."""
    if len(images) == 0:
        return None
    model.eval()
    se_rec = se_noisy = 0.0
    n_px = 0
    with torch.no_grad():
        for s in batches(len(images), args.batch_size):
            clean = to_device(images[s], "cpu")
            noisy = noisy_batch(clean, args.noise_sigma, args.seed, 0, range(s.start, s.stop))
            rec = model(noisy.to(device)).cpu()
            se_rec += float(((rec - clean) ** 2).sum())
            se_noisy += float(((noisy - clean) ** 2).sum())
            n_px += clean.numel()
    return {"mse": se_rec / n_px, "psnr": psnr(se_rec / n_px), "noisyMse": se_noisy / n_px,
            "noisyPsnr": psnr(se_noisy / n_px), "images": len(images)}


def run(args, events):
    r = Run(args, events, "dae")
    config = vars(args).copy()
    config.pop("func", None)
    model = DenoisingAutoencoder(args.depth, args.channels)
    if args.image_size % model.size_multiple:
        raise ValueError(f"--image-size {args.image_size} must be a multiple of 2^depth = {model.size_multiple}")
    r.start(config)
    parts, data = load_parts(args, events, labelled=False)
    events.emit("metrics", stage="data", data=data)
    model.to(r.device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    train = parts["train"][1]
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        order = epoch_order(len(train), args.seed, epoch)
        total, seen = 0.0, 0
        for step, s in enumerate(batches(len(order), args.batch_size)):
            idx = order[s]
            clean = to_device(train[idx], "cpu")
            noisy = noisy_batch(clean, args.noise_sigma, args.seed, epoch, idx.tolist())
            clean, noisy = clean.to(r.device), noisy.to(r.device)
            opt.zero_grad(set_to_none=True)
            loss = torch.mean((model(noisy) - clean) ** 2)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            if args.log_every and (step + 1) % args.log_every == 0:
                events.emit("progress", epoch=epoch, step=step + 1, seen=seen, of=len(order), losses={"train": total / seen})
        val = evaluate(model, parts["val"][1], args, r.device)
        record = {"epoch": epoch, "epochs": args.epochs, "losses": {"train": total / max(1, seen), "val": val and val["mse"]},
                  "metrics": {"val": val}, "seconds": round(time.time() - t0, 3)}
        history.append(record)
        events.emit("epoch", **record)
    held = "test" if len(parts["test"][1]) else "val"
    metrics = {"on": held, held: evaluate(model, parts[held][1], args, r.device), "noiseSigma": args.noise_sigma}
    return r.finish(metrics, lambda: save_image_to_image(r, model, "the reconstruction in [0, 1] (the DAE distortion of the input)", {
        "inputs": [grey_input(args.image_size, model.size_multiple, None, {"noise": {
            "kind": "gaussian_noise", "sigma": args.noise_sigma,
            "note": "trained on clean images with the engine's gaussian_noise(sigma): apply it before the model"}})],
        "config": config,
        "data": data,
        "metrics": metrics,
        "extra": {"architecture": f"conv encoder-decoder, depth {args.depth}, {args.channels} channels", "history": history},
    }))
