"""Seeding, determinism and device choice shared by the commands."""
import os
import platform
import random

import numpy as np
import torch

_M64 = 0xFFFFFFFFFFFFFFFF


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def mix_seed(*parts):
    """A 64-bit seed from integers, stable across Python versions and platforms (unlike hash())."""
    h = 0
    for p in parts:
        h = splitmix64(h ^ (int(p) & _M64))
    return h


def seed_everything(seed, deterministic=True):
    """Seeds python, numpy and torch; asks torch for deterministic kernels where they exist.

    CUBLAS_WORKSPACE_CONFIG must be set before cuBLAS starts for deterministic matmuls on CUDA;
    warn_only keeps ops without a deterministic implementation usable (torch warns on stderr instead).
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def pick_device(name):
    """auto: CUDA when torch sees a GPU, else the CPU. cuda without a GPU is an error, not a silent fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: torch sees no CUDA device (torch %s)" % torch.__version__)
    return torch.device(name)


def environment(device):
    info = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "device": str(device),
    }
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except ImportError:  # pragma: no cover
        pass
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
