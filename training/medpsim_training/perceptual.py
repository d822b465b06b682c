"""The deep-feature distance (LPIPS's formula, Zhang et al. 2018) in PyTorch.

It matches the server's featureDistance (src/models/inference-worker.ts), which computes the `lpips` metric
from an exported model's feature outputs: per layer, each pixel's channel vector is divided by (its L2 norm
+ 1e-10), the two images' normalised vectors are subtracted and squared, weighted per channel (1 without
weights) and summed over the channels, averaged over the pixels; the layers are summed. With weights this
is lpips.LPIPS(lpips=True)'s value (the lin layers are 1x1 convolutions without bias, i.e. per-channel
weights, dropout off at evaluation); without weights it is lpips.LPIPS(lpips=False)'s.
"""
import torch


def normalize_features(f, eps=1e-10):
    """f / (||f||_2 over the channels + eps) at every pixel: lpips.normalize_tensor. f: (N, C, H, W)."""
    norm = torch.sqrt(torch.sum(f * f, dim=1, keepdim=True))
    return f / (norm + eps)


def feature_distance(feats0, feats1, weights=None):
    """The distance of two lists of feature maps (NCHW, one per layer, the same shapes pairwise); a tensor [N].

    weights: None (every channel weighs 1) or a list with, per layer, a 1-D tensor of C non-negative weights
    (LPIPS's lin weights: linK.model.1.weight[0, :, 0, 0]) or None for that layer.
    """
    if len(feats0) != len(feats1):
        raise ValueError(f"{len(feats0)} feature maps against {len(feats1)}")
    if weights is not None and len(weights) != len(feats0):
        raise ValueError(f"{len(weights)} weight vectors for {len(feats0)} layers")
    total = None
    for k, (a, b) in enumerate(zip(feats0, feats1)):
        if a.shape != b.shape or a.dim() != 4:
            raise ValueError(f"layer {k}: shapes {list(a.shape)} and {list(b.shape)} (NCHW, equal) expected")
        d = (normalize_features(a) - normalize_features(b)) ** 2
        w = None if weights is None else weights[k]
        if w is not None:
            w = torch.as_tensor(w, dtype=d.dtype, device=d.device).reshape(-1)
            if w.numel() != d.shape[1]:
                raise ValueError(f"layer {k}: {w.numel()} weights for {d.shape[1]} channels")
            d = d * w.view(1, -1, 1, 1)
        layer = d.sum(dim=1).mean(dim=(1, 2))  # over channels, then the pixels' mean: [N]
        total = layer if total is None else total + layer
    if total is None:
        raise ValueError("no feature maps")
    return total
