"""Input corruptions of train-gan (--input-corruption, --input-level): what a zoo member's generator sees
while training, named as the server's CNN kinds name their corruption codes (docs/distortions.md,
gan_generator).

- none: the clean image;
- white_noise: the engine's gaussian_noise with sigma = level, bit for bit (noise.py);
- pink_noise: Gaussian noise with power proportional to 1/f (beta = 1), scaled to standard deviation = level,
  added and clamped to [0, 1];
- downsampling: area downsampling by 1 + 7 level, bilinear upsampling back, clamped.

Only white noise is the engine's exact bits. The others follow the engine's definitions but not its bits
(numpy's FFT, torch's resampling): a training corruption only has to be the same kind of degradation, while
the server's application of a model, which the engine does itself, is what must be reproducible.
"""
import numpy as np
import torch
import torch.nn.functional as F

from .noise import apply_noise
from .runtime import mix_seed

CORRUPTIONS = ("none", "pink_noise", "white_noise", "downsampling")
_STREAM = 0xC0DE


def pink_field(height, width, rng):
    """Unit-variance Gaussian noise with a 1/f power spectrum (amplitude 1/sqrt(f)), zero mean."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    f = np.sqrt(fy**2 + fx**2)
    f[0, 0] = np.inf  # no DC: the field has zero mean
    spectrum = np.fft.rfft2(rng.standard_normal((height, width))) / np.sqrt(f)
    field = np.fft.irfft2(spectrum, s=(height, width))
    std = field.std()
    return field / std if std > 0 else field


def downsample_up(images, factor):
    """(N, 1, H, W): area downsampling by factor, then bilinear upsampling back to (H, W)."""
    h, w = images.shape[-2:]
    small = (max(1, round(h / factor)), max(1, round(w / factor)))
    down = F.interpolate(images, size=small, mode="area")
    return F.interpolate(down, size=(h, w), mode="bilinear", align_corners=False)


def corrupt_batch(clean, kind, level, seed, epoch, positions):
    """The corruption of each image of a (N, 1, H, W) float32 CPU tensor in [0, 1]; one seed per (epoch, sample)."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown input corruption {kind!r}; known: {', '.join(CORRUPTIONS)}")
    if kind == "none" or level == 0:
        return clean.clone()
    if kind == "downsampling":
        return downsample_up(clean, 1.0 + 7.0 * level).clamp(0.0, 1.0)
    out = np.empty_like(clean.numpy())
    for k, pos in enumerate(positions):
        sample_seed = mix_seed(_STREAM, seed, epoch, pos)
        image = clean[k].numpy()
        if kind == "white_noise":
            out[k] = apply_noise("gaussian_noise", image, sample_seed, sigma=level)
        else:
            rng = np.random.default_rng(sample_seed)
            field = pink_field(image.shape[-2], image.shape[-1], rng)
            out[k] = np.clip(image.astype(np.float64) + level * field, 0.0, 1.0).astype(np.float32)
    return torch.from_numpy(out)
