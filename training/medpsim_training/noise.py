"""The native engine's noise kinds, bit-exact with native/include/medpsim/random.hpp.

The GAN's "real" distorted images must be the very images the engine would produce for the same seed, so
the counter-based generator is re-implemented here with numpy integer arithmetic (vectorised over pixels):

- Philox4x32-10 (Random123): key = (seed low word, seed high word), counter = (group low, group high,
  stream, draw). Each block of four 32-bit words serves a group of four consecutive elements: element
  i (row-major pixel index within one channel plane) is word k = i & 3 of the block of group g = i >> 2.
- uniform(i) = ((word >> 8) + 0.5) / 2^24, strictly inside (0, 1).
- gaussian(i) = Box-Muller on the word pair (2p, 2p + 1), p = k >> 1: r = sqrt(-2 ln u1), r cos(2 pi u2)
  for even k, r sin(2 pi u2) for odd k, in float32, with the header's own ln/sin/cos (log_unit,
  sincos_turns: + - * / and sqrt only), so that the bits agree, not just the values.
- uniform_noise (amplitude a):  out = clamp01(x + a (2 u - 1)), stream 0x0100 + channel;
  gaussian_noise (sigma s):     out = clamp01(x + s g),         stream 0x0200 + channel; draw 0.
"""
import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)

UNIFORM_STREAM = 0x0100
GAUSSIAN_STREAM = 0x0200

# kind -> (parameter name, stream base); the names are those of the engine's catalog.
KINDS = {
    "uniform_noise": ("amplitude", UNIFORM_STREAM),
    "gaussian_noise": ("sigma", GAUSSIAN_STREAM),
}


def philox4x32_10(counter, key):
    """Philox4x32-10 on broadcastable arrays: counter = (c0, c1, c2, c3), key = (k0, k1), 32-bit values.

    Returns the four output words as uint32 arrays. Products are taken in uint64 (a 32 x 32-bit product
    fits), then split into high and low words, exactly like mulhilo32 in the header.
    """
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & _MASK for c in counter)
    k0, k1 = (np.asarray(k, dtype=np.uint64) & _MASK for k in key)
    m0, m1 = np.uint64(M0), np.uint64(M1)
    w0, w1 = np.uint64(W0), np.uint64(W1)
    for _ in range(10):
        p0 = m0 * c0
        p1 = m1 * c2
        hi0, lo0 = p0 >> _SHIFT, p0 & _MASK
        hi1, lo1 = p1 >> _SHIFT, p1 & _MASK
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + w0) & _MASK
        k1 = (k1 + w1) & _MASK
    return tuple(c.astype(np.uint32) for c in (c0, c1, c2, c3))


def seed_key(seed):
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    return seed & 0xFFFFFFFF, seed >> 32


def open_unit(words):
    """((w >> 8) + 0.5) / 2^24 as float32: exact (24-bit integers and a power of two)."""
    return ((np.asarray(words, dtype=np.uint32) >> np.uint32(8)).astype(np.float32) + np.float32(0.5)) * np.float32(
        1.0 / 16777216.0
    )


def blocks_for_groups(seed, stream, groups, draw=0):
    """Philox blocks (len(groups), 4) uint32 for the given group numbers (counter = group low, high,
    stream, draw; key from the seed)."""
    g = np.asarray(groups, dtype=np.uint64)
    words = philox4x32_10((g & _MASK, g >> _SHIFT, stream, draw), seed_key(seed))
    return np.stack(words, axis=-1)


def group_blocks(seed, stream, count, draw=0):
    """The blocks serving elements 0..count-1: shape (ceil(count / 4), 4)."""
    return blocks_for_groups(seed, stream, np.arange((int(count) + 3) >> 2, dtype=np.uint64), draw)


def uniform_at(seed, stream, indices, draw=0):
    """uniform(i) for arbitrary element indices (uint64), float32 in (0, 1)."""
    i = np.asarray(indices, dtype=np.uint64)
    blocks = blocks_for_groups(seed, stream, i >> np.uint64(2), draw)
    k = (i & np.uint64(3)).astype(np.intp)
    return open_unit(np.take_along_axis(blocks, k[..., None], axis=-1)[..., 0])


def uniform(seed, stream, count, draw=0):
    """uniform(i) for i in 0..count-1, float32 in (0, 1)."""
    return open_unit(group_blocks(seed, stream, count, draw).reshape(-1)[:count])


_F = np.float32


def log_unit(u):
    """ln u for float32 u in (0, 1], exactly as random.hpp's log_unit: u = m 2^e with m in
    [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m - 1) / (m + 1), a short odd series. Only + - * / in
    float32 (each correctly rounded), so numpy gives the engine's bits, not just its value."""
    u = np.asarray(u, dtype=np.float32)
    bits = u.view(np.uint32)
    e = (bits >> np.uint32(23)).astype(np.int32) - 127
    mantissa = (bits & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)  # m in [1, 2)
    big = mantissa > np.uint32(0x3FB504F3)  # m > sqrt(2): halve it
    mantissa = np.where(big, mantissa - np.uint32(0x00800000), mantissa).astype(np.uint32)
    e = e + big.astype(np.int32)
    m = mantissa.view(np.float32)
    s = (m - _F(1.0)) / (m + _F(1.0))
    z = s * s
    series = _F(1.0) + z * (_F(0.333333343) + z * (_F(0.2) + z * (_F(0.142857149) + z * _F(0.111111112))))
    return e.astype(np.float32) * _F(0.693147182) + (_F(2.0) * s) * series


def sincos_turns(t):
    """(sin, cos) of 2 pi t for float32 t in [0, 1], exactly as random.hpp's sincos_turns: the nearest
    quarter turn q is exact, the remainder a in [-pi/4, pi/4] goes through Taylor series."""
    t = np.asarray(t, dtype=np.float32)
    quarters = _F(4.0) * t
    q = (quarters + _F(0.5)).astype(np.int32)  # truncation toward zero, like static_cast<int>
    a = (quarters - q.astype(np.float32)) * _F(1.57079637)
    z = a * a
    sa = a + (a * z) * (_F(-0.166666672) + z * (_F(0.00833333377) + z * (_F(-0.000198412701) + z * _F(2.75573188e-06))))
    ca = _F(1.0) + z * (_F(-0.5) + z * (_F(0.0416666679) + z * (_F(-0.00138888892) + z * (_F(2.48015876e-05) + z * _F(-2.75573188e-07)))))
    quadrant = q & 3
    sine = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [sa, ca, -sa], -ca).astype(np.float32)
    cosine = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [ca, -sa, -ca], sa).astype(np.float32)
    return sine, cosine


def box_muller(a, b):
    """random.hpp's box_muller on word arrays a, b: (r cos(2 pi u2), r sin(2 pi u2)), r = sqrt(-2 ln u1)."""
    r = np.sqrt(_F(-2.0) * log_unit(open_unit(a)))
    sine, cosine = sincos_turns(open_unit(b))
    return r * cosine, r * sine


def gaussian_at(seed, stream, indices, draw=0):
    """gaussian(i) for arbitrary element indices (uint64)."""
    i = np.asarray(indices, dtype=np.uint64)
    blocks = blocks_for_groups(seed, stream, i >> np.uint64(2), draw)
    pair = (i & np.uint64(2)).astype(np.intp)[..., None]
    first, second = box_muller(np.take_along_axis(blocks, pair, axis=-1)[..., 0],
                               np.take_along_axis(blocks, pair + 1, axis=-1)[..., 0])
    return np.where((i & np.uint64(1)) == 1, second, first).astype(np.float32)


def gaussian(seed, stream, count, draw=0):
    """gaussian(i) for i in 0..count-1, float32 standard normal: words (0, 1) of a block give elements 0
    (cosine) and 1 (sine), words (2, 3) elements 2 and 3."""
    blocks = group_blocks(seed, stream, count, draw)
    out = np.empty(blocks.shape, dtype=np.float32)
    out[:, 0], out[:, 1] = box_muller(blocks[:, 0], blocks[:, 1])
    out[:, 2], out[:, 3] = box_muller(blocks[:, 2], blocks[:, 3])
    return out.reshape(-1)[:count]


def apply_noise(kind, image, seed, **params):
    """One of the engine's noise kinds on a float32 planar image (C, H, W) or (H, W) in [0, 1].

    The sum is formed in float64 and rounded once to float32 after clamping, as the engine does
    (clamp01 takes a double).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    name, stream = KINDS[kind]
    if name not in params:
        raise ValueError(f"{kind} needs the parameter {name}")
    value = float(params[name])
    image = np.asarray(image, dtype=np.float32)
    planar = image[None] if image.ndim == 2 else image
    if value == 0.0:
        return image.copy()  # severity 0 is exactly the identity in the engine (a copy, no clamp)
    out = np.empty_like(planar)
    count = planar.shape[1] * planar.shape[2]
    for c in range(planar.shape[0]):
        if kind == "uniform_noise":
            # 2u - 1 is exact in float32 (u has 24 significant bits), as in the engine.
            noise = value * (_F(2.0) * uniform(seed, stream + c, count) - _F(1.0)).astype(np.float64)
        else:
            noise = value * gaussian(seed, stream + c, count).astype(np.float64)
        plane = planar[c].reshape(-1).astype(np.float64) + noise
        out[c] = np.clip(plane, 0.0, 1.0).astype(np.float32).reshape(planar.shape[1:])
    return out[0] if image.ndim == 2 else out
