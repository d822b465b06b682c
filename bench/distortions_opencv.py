"""The OpenCV peer of `npm run bench:distortions` (bench/distortions.ts starts it once and keeps it running).

    /usr/bin/python3 bench/distortions_opencv.py

Requests on stdin, replies on stdout, each a JSON line, some followed by raw bytes:

  {"op": "hello"}                                             -> {"versions": {...}, "kinds": {kind: note}}
  {"op": "image", "id": I, "width": W, "height": H, "channels": C} + W*H*C float32 (planar, row-major)
                                                              -> {"ok": true}
  {"op": "run", "id": I, "kind": K, "params": {...}, "seed": S, "threads": N, "reps": R, "output": bool}
                                                              -> {"seconds": mean s per call, "calls": R,
                                                                  "bytes": B} + B bytes of float32 output
  {"op": "quit"}

A run sets cv2.setNumThreads(N) (OpenCL off), calls the kind's peer R times on the stored image and times each
call with time.perf_counter; "seconds" is their mean. With "output" the last call's output comes back (planar
float32, as the engine returns it; B = 0 otherwise). What each call includes, and how each peer relates to the
engine's kernel (native/src), is in the one-line comment above it and in NOTES (sent with "hello"). Set-up that
depends only on the parameters and the image size (warp maps, the coloured-noise filter, interleaved copies of
colour images) is made once per run, before the timed calls.
"""
import json
import math
import sys
import time

import cv2
import numpy as np

REFLECT = cv2.BORDER_REFLECT_101
LINEAR = cv2.INTER_LINEAR
F32 = np.float32


# ----- The engine's random numbers (native/include/medpsim/random.hpp), for the seeded geometry of homography and
# the warps: Philox4x32-10, key = seed, counter = (group lo, group hi, stream, draw), element i = word i % 4.

def philox(c0, c1, c2, c3, k0, k1):
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & 0xFFFFFFFF, p1 & 0xFFFFFFFF, ((p0 >> 32) ^ c3 ^ k1) & 0xFFFFFFFF, p0 & 0xFFFFFFFF
        k0 = (k0 + 0x9E3779B9) & 0xFFFFFFFF
        k1 = (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return c0, c1, c2, c3


def rng_uniform(seed, stream, index, draw=0):
    """Rng(seed, stream).uniform(index, draw): (float(bits >> 8) + 0.5f) / 2^24, in float32 as the engine rounds."""
    group = index >> 2
    bits = philox(group & 0xFFFFFFFF, group >> 32, stream, draw, seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF)[index & 3]
    return float((F32(bits >> 8) + F32(0.5)) * F32(1.0 / 16777216.0))


# ----- Helpers.

def clip01(a):
    """In place: cv2.min / cv2.max against scalars on a 2-D view (a Scalar has 4 entries: never give it HWC arrays)."""
    flat = a.reshape(a.shape[0], -1)
    cv2.min(flat, 1.0, dst=flat)
    cv2.max(flat, 0.0, dst=flat)
    return a


def affine1(x, a, b):
    """a x + b in one OpenCV pass (addWeighted with the second weight 0)."""
    return cv2.addWeighted(x, a, x, 0.0, b)


def planes(img):
    return [img[c] for c in range(img.shape[0])]


def per_plane(img, fn):
    """fn on each plane; one plane's result as it comes (no stacking copy)."""
    if img.shape[0] == 1:
        return fn(img[0])
    return np.stack([fn(p) for p in planes(img)])


def gaussian_taps(sigma):
    """detail::gaussian_kernel: normalised exp(-i^2 / 2 sigma^2), |i| <= ceil(3 sigma), in double."""
    r = math.ceil(3.0 * sigma)
    i = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-0.5 * i * i / (sigma * sigma))
    return g / g.sum()


def box_radii(sigma, passes):
    """detail::box_radii (native/src/helpers.cpp): Kovesi's n boxes of odd widths wl, wl + 2 of variance sigma^2."""
    ideal = math.sqrt(12.0 * sigma * sigma / passes + 1.0)
    wl = math.floor(ideal)
    if wl % 2 == 0:
        wl -= 1
    wu = wl + 2
    m_ideal = (12.0 * sigma * sigma - passes * wl * wl - 4.0 * passes * wl - 3.0 * passes) / (-4.0 * wl - 4.0)
    m = int(math.floor(abs(m_ideal) + 0.5)) * (1 if m_ideal >= 0 else -1)  # std::lround
    return [((wl if i < m else wu) - 1) // 2 for i in range(passes)]


def lround(v):
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


# ----- The detector domain (native/include/medpsim/detector.hpp): display v <-> transmitted fraction T.

def response(p):
    return p["response"] == 0, p["polarity"] < 0, float(p["attenuation_range"])


def to_signal(x, r):
    """log: T = exp(-M u), u = v (polarity +1) or 1 - v (-1): cv2.exp of an affine pass; linear: T = 1 - u."""
    log, inverted, m = r
    if log:
        return cv2.exp(affine1(x, m, -m) if inverted else affine1(x, -m, 0.0))
    return x.copy() if inverted else affine1(x, -1.0, 1.0)


def to_display(t, r):
    """log: u = -ln(T) / M (cv2.log, an affine pass), v = u or 1 - u; linear: u = 1 - T; clipped to [0, 1]."""
    log, inverted, m = r
    if log:
        lg = cv2.log(t)
        v = affine1(lg, 1.0 / m, 1.0) if inverted else affine1(lg, -1.0 / m, 0.0)
    else:
        v = t.copy() if inverted else affine1(t, -1.0, 1.0)
    return clip01(v)


def mtf_taps(sigma):
    """detail::mtf_taps: the Gaussian taps scaled to unit energy (sum of squares 1 per axis)."""
    if sigma == 0:
        return None
    g = gaussian_taps(sigma)
    return (g / math.sqrt(float((g * g).sum()))).astype(F32)


def reduce_dose(t, p, fraction, gen):
    """The dose change of reduce_dose (native/src/xray.cpp): Poisson quanta of mean f (1 - f) N0 T (numpy's exact
    Generator.poisson; the engine inverts the CDF below a mean of 30 and rounds a normal above), centred, shaped by
    the unit-energy MTF taps (cv2.sepFilter2D, reflect-101), electronic normal noise (cv2.randn) of
    sigma_e sqrt(1 - f^2), T + (quanta + electronic) / (f N0); T kept above 1e-30 for the log."""
    photons, electronic = float(p["photons"]), float(p["electronic_noise"])
    mean = cv2.max(t, 0.0) * (fraction * (1.0 - fraction) * photons)
    quanta = gen.poisson(mean).astype(F32)
    cv2.subtract(quanta, mean, dst=quanta)
    taps = mtf_taps(p["mtf_sigma"])
    if taps is not None:
        quanta = cv2.sepFilter2D(quanta, -1, taps, taps, borderType=REFLECT)
    if electronic > 0:
        normal = np.empty_like(t)
        cv2.randn(normal, 0.0, electronic * math.sqrt(1.0 - fraction * fraction))
        cv2.add(quanta, normal, dst=quanta)
    out = cv2.scaleAdd(quanta, 1.0 / (fraction * photons), t)
    return cv2.max(out, 1e-30, dst=out)


# ----- The peers: setup(image planar (C, H, W) float32, params, seed) -> call() returning planar float32.

def pointwise(fn):
    """Kinds that act on every sample alike: the planar image seen as one (C*H, W) plane."""
    def setup(img, p, seed):
        flat = img.reshape(-1, img.shape[2])
        return lambda: fn(flat, p).reshape(img.shape)
    return setup


def interleaved(fn):
    """Colour kinds: OpenCV's HWC layout, converted before and after the timed calls (not timed)."""
    def setup(img, p, seed):
        hwc = np.ascontiguousarray(img.transpose(1, 2, 0))
        return lambda: fn(hwc, p)
    return setup


def per_plane_setup(make):
    """Kinds that filter each plane: make(height, width, params, seed) builds the per-plane call once."""
    def setup(img, p, seed):
        call = make(img.shape[1], img.shape[2], p, seed)
        return lambda: per_plane(img, call)
    return setup


def seeded(make):
    """Random kinds whose draws we cannot reproduce: make(h, w, params, seed) -> per-plane call(plane, generator)."""
    def setup(img, p, seed):
        call = make(img.shape[1], img.shape[2], p, seed)
        cv2.setRNGSeed(seed)
        gen = np.random.default_rng(seed)
        return lambda: per_plane(img, lambda plane: call(plane, gen))
    return setup


PEERS = {}
NOTES = {}


def peer(kind, note):
    def register(setup):
        PEERS[kind] = setup
        NOTES[kind] = note
        return setup
    return register


# lightness_shift: cv2.add of the scalar delta, clipped; the engine adds in double then rounds (equal to rounding).
peer("lightness_shift", "cv2.add(delta), clip")(pointwise(lambda x, p: clip01(cv2.add(x, float(p["delta"])))))

# color_shift: cv2.add of a per-channel Scalar on the HWC image, clipped (equal to rounding).
peer("color_shift", "cv2.add per-channel Scalar on HWC (layout conversion untimed), clip")(
    interleaved(lambda x, p: clip01(cv2.add(x, (float(p["red"]), float(p["green"]), float(p["blue"]), 0.0)))))


# contrast: m + factor (x - m) per plane, m = cv2.mean of the plane (double), as one addWeighted; clipped.
@peer("contrast", "cv2.mean, cv2.addWeighted, clip")
def _contrast(img, p, seed):
    f = float(p["factor"])
    return lambda: per_plane(img, lambda x: clip01(affine1(x, f, (1.0 - f) * cv2.mean(x)[0])))


# saturation: luma + factor (c - luma), Rec. 709 luma, as one cv2.transform with a 3x3 matrix on HWC; clipped.
@peer("saturation", "cv2.transform (3x3) on HWC (layout conversion untimed), clip")
def _saturation(img, p, seed):
    f = float(p["factor"])
    matrix = (f * np.eye(3) + (1.0 - f) * np.array([[0.2126, 0.7152, 0.0722]] * 3)).astype(F32)
    hwc = np.ascontiguousarray(img.transpose(1, 2, 0))
    return lambda: clip01(cv2.transform(hwc, matrix))


# windowing: (x - centre) / width + 0.5 as one addWeighted, clipped (equal to rounding).
peer("windowing", "cv2.addWeighted, clip")(pointwise(lambda x, p: clip01(affine1(
    x, 1.0 / p["width_scale"], 0.5 - (0.5 + p["center_shift"]) / p["width_scale"]))))


# gaussian_noise: cv2.randn of sigma into a new plane, cv2.add, clip (other draws: statistics compared).
@peer("gaussian_noise", "cv2.randn, cv2.add, clip")
@seeded
def _gaussian_noise(h, w, p, seed):
    def call(x, gen):
        noise = np.empty_like(x)
        cv2.randn(noise, 0.0, float(p["sigma"]))
        return clip01(cv2.add(x, noise))
    return call


# uniform_noise: cv2.randu in [-a, a), cv2.add, clip.
@peer("uniform_noise", "cv2.randu, cv2.add, clip")
@seeded
def _uniform_noise(h, w, p, seed):
    def call(x, gen):
        noise = np.empty_like(x)
        cv2.randu(noise, -float(p["amplitude"]), float(p["amplitude"]))
        return clip01(cv2.add(x, noise))
    return call


def coloured(beta_of):
    """Coloured noise: white cv2.randn on the next power-of-two grid, float32 real cv2.dft (CCS), cv2.mulSpectrums by
    f^(-beta/2) (DC 0; the filter is built once per size, untimed: the engine computes it per call), cv2.idft
    (DFT_REAL_OUTPUT), crop, cv2.meanStdDev to mean 0 and std sigma, added, clipped. The engine does the FFTs in
    complex double."""
    def make(h, w, p, seed):
        beta = beta_of(p)
        ph, pw = 1 << (h - 1).bit_length(), 1 << (w - 1).bit_length()
        fy = np.minimum(np.arange(ph), ph - np.arange(ph)) / ph
        fx = np.minimum(np.arange(pw), pw - np.arange(pw)) / pw
        f = np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
        gain = np.zeros_like(f)
        gain[f > 0] = f[f > 0] ** (-0.5 * beta)
        # The real, even filter in OpenCV's packed (CCS) layout: the CCS spectrum of its own (real) inverse DFT.
        ccs = cv2.dft(np.real(np.fft.ifft2(gain)).astype(F32))
        sigma = float(p["sigma"])

        def call(x, gen):
            white = np.empty((ph, pw), F32)
            cv2.randn(white, 0.0, 1.0)
            field = cv2.idft(cv2.mulSpectrums(cv2.dft(white), ccs, 0), flags=cv2.DFT_REAL_OUTPUT)[:h, :w]
            mean, std = cv2.meanStdDev(field)
            scale = sigma / std[0, 0] if std[0, 0] > 0 else 0.0
            return clip01(cv2.addWeighted(x, 1.0, field, scale, -mean[0, 0] * scale))
        return call
    return make


peer("pink_noise", "cv2.randn, float32 cv2.dft/mulSpectrums/idft (filter untimed), meanStdDev, addWeighted, clip")(
    seeded(coloured(lambda p: 1.0)))
peer("blue_noise", "as pink_noise, beta -1")(seeded(coloured(lambda p: -1.0)))
peer("colored_noise", "as pink_noise, the step's beta")(seeded(coloured(lambda p: float(p["beta"]))))


# gaussian_blur: cv2.GaussianBlur with the engine's kernel (2 ceil(3 sigma) + 1 taps), reflect-101 (equal to rounding).
@peer("gaussian_blur", "cv2.GaussianBlur, ksize 2 ceil(3 sigma) + 1, reflect-101")
@per_plane_setup
def _gaussian_blur(h, w, p, seed):
    s = float(p["sigma"])
    k = 2 * math.ceil(3.0 * s) + 1
    return lambda x: cv2.GaussianBlur(x, (k, k), s, sigmaY=s, borderType=REFLECT)


# bilateral: cv2.bilateralFilter, d = 2 ceil(2 sigma_spatial) + 1; approximate: OpenCV's window is the disc inside
# the engine's square, and its range weights come from a table (interpolated), the engine's from exp.
@peer("bilateral", "cv2.bilateralFilter, d = 2 ceil(2 sigma_s) + 1 (disc window, tabulated range weights)")
@per_plane_setup
def _bilateral(h, w, p, seed):
    ss, sr = float(p["sigma_spatial"]), float(p["sigma_range"])
    d = 2 * math.ceil(2.0 * ss) + 1
    return lambda x: cv2.bilateralFilter(x, d, sr, ss, borderType=REFLECT)


def warp_affine(matrix):
    m = np.asarray(matrix, dtype=np.float64)
    return lambda x: cv2.warpAffine(x, m, (x.shape[1], x.shape[0]), flags=LINEAR | cv2.WARP_INVERSE_MAP, borderMode=REFLECT)


# shift: cv2.warpAffine with the inverse map [[1, 0, -dx], [0, 1, -dy]], bilinear, reflect-101; OpenCV rounds each
# source position to 1/32 px (INTER_BITS 5), so fractional shifts differ by up to 1/64 px times the gradient.
@peer("shift", "cv2.warpAffine (inverse map), INTER_LINEAR, reflect-101; positions rounded to 1/32 px")
@per_plane_setup
def _shift(h, w, p, seed):
    return warp_affine([[1, 0, -p["dx"]], [0, 1, -p["dy"]]])


# affine: cv2.warpAffine with the engine's inverse map about the centre (native/src/spatial.cpp affine); 1/32 px.
@peer("affine", "cv2.warpAffine, the engine's inverse matrix, INTER_LINEAR, reflect-101; 1/32 px positions")
@per_plane_setup
def _affine(h, w, p, seed):
    rot, scale, shear = math.radians(p["rotation"]), p["scale"], math.radians(p["shear"])
    cr, sr, sh = math.cos(rot), math.sin(rot), math.tan(shear)
    a, b, c, d = scale * cr, scale * (cr * sh + sr), -scale * sr, scale * (-sr * sh + cr)
    det = a * d - b * c
    ia, ib, ic, idd = d / det, -b / det, -c / det, a / det
    cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
    u0, v0 = -cx - p["tx"], -cy - p["ty"]  # sx = cx + ia (x - cx - tx) + ib (y - cy - ty)
    return warp_affine([[ia, ib, cx + ia * u0 + ib * v0], [ic, idd, cy + ic * u0 + idd * v0]])


# homography: the engine's matrix (homography_matrix: corners at the outer pixel edges moved by the seed's
# U(-jitter, jitter) * size, Philox stream 0x1100) by cv2.getPerspectiveTransform, cv2.warpPerspective; 1/32 px.
@peer("homography", "cv2.getPerspectiveTransform of the engine's corners (Philox port), cv2.warpPerspective; 1/32 px")
@per_plane_setup
def _homography(h, w, p, seed):
    jitter = p["jitter"]
    corners = [(-0.5, -0.5), (w - 0.5, -0.5), (w - 0.5, h - 0.5), (-0.5, h - 0.5)]
    moved = [(cx + jitter * w * (2.0 * rng_uniform(seed, 0x1100, i, 0) - 1.0), cy + jitter * h * (2.0 * rng_uniform(seed, 0x1100, i, 1) - 1.0))
             for i, (cx, cy) in enumerate(corners)]
    matrix = cv2.getPerspectiveTransform(np.array(moved, F32), np.array(corners, F32))  # output -> input
    return lambda x: cv2.warpPerspective(x, matrix, (w, h), flags=LINEAR | cv2.WARP_INVERSE_MAP, borderMode=REFLECT)


def warp_maps(h, w, p, seed, cubic):
    """The engine's displacement field (warp_lattice, stream 0x1200; WarpField in medpsim/warp_field.hpp) as float
    maps: lattice weights per axis (bilinear or Catmull-Rom, end taps clamped), field = Wy F Wx^T."""
    grid, amplitude = int(p["grid"]), p["magnitude"] * min(w, h)
    fx = np.array([amplitude * (2.0 * rng_uniform(seed, 0x1200, i, 0) - 1.0) for i in range(grid * grid)]).reshape(grid, grid)
    fy = np.array([amplitude * (2.0 * rng_uniform(seed, 0x1200, i, 1) - 1.0) for i in range(grid * grid)]).reshape(grid, grid)

    def weights(size):
        out = np.zeros((size, grid))
        for pos in range(size):
            g = pos * (grid - 1) / (size - 1) if size > 1 else 0.0
            first = min(math.floor(g), grid - 2)
            t = g - first
            if cubic:
                t2, t3 = t * t, t * t * t
                wt = [0.5 * (-t3 + 2 * t2 - t), 0.5 * (3 * t3 - 5 * t2 + 2), 0.5 * (-3 * t3 + 4 * t2 + t), 0.5 * (t3 - t2)]
            else:
                wt = [0.0, 1.0 - t, t, 0.0]
            for k in range(4):
                out[pos, min(max(first - 1 + k, 0), grid - 1)] += wt[k]
        return out

    wx, wy = weights(w), weights(h)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    return (xs + wy @ fx @ wx.T).astype(F32), (ys + wy @ fy @ wx.T).astype(F32)


def warp_peer(cubic):
    def make(h, w, p, seed):
        mx, my = warp_maps(h, w, p, seed, cubic)
        return lambda x: cv2.remap(x, mx, my, LINEAR, borderMode=REFLECT)
    return make


# linear_warp / cubic_warp: cv2.remap with the engine's field as prebuilt float maps (map building untimed: the
# engine builds its field per call), INTER_LINEAR, reflect-101; 1/32 px positions.
peer("linear_warp", "cv2.remap, the engine's field as float maps (built untimed), INTER_LINEAR; 1/32 px")(per_plane_setup(warp_peer(False)))
peer("cubic_warp", "as linear_warp, Catmull-Rom field")(per_plane_setup(warp_peer(True)))


# ghosting: (1 - alpha) x + alpha shifted(x): cv2.warpAffine shift (1/32 px) then cv2.addWeighted.
@peer("ghosting", "cv2.warpAffine shift (1/32 px), cv2.addWeighted")
@per_plane_setup
def _ghosting(h, w, p, seed):
    shifted = warp_affine([[1, 0, -p["dx"]], [0, 1, -p["dy"]]])
    a = float(p["alpha"])
    return lambda x: cv2.addWeighted(x, 1.0 - a, shifted(x), a, 0.0)


# jpeg: float -> 8-bit levels (cv2.convertScaleAbs, rounds), cv2.imencode('.jpg', quality), cv2.imdecode, -> float,
# all timed. Includes entropy coding, which the engine's DCT-domain round trip leaves out (it cannot change the
# pixels); libjpeg's integer DCT (islow) rounds differently from the engine's double DCT: a few levels apart.
@peer("jpeg", "8-bit, cv2.imencode/imdecode (libjpeg, entropy coding included), back to float, all timed")
@per_plane_setup
def _jpeg(h, w, p, seed):
    flags = [cv2.IMWRITE_JPEG_QUALITY, int(p["quality"])]

    def call(x):
        ok, encoded = cv2.imencode(".jpg", cv2.convertScaleAbs(x, alpha=255.0), flags)
        decoded = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED).astype(F32)
        return cv2.multiply(decoded, 1.0 / 255.0, dst=decoded)
    return call


# motion_blur: cv2.filter2D with the engine's line kernel: n = max(2, ceil(length) + 1) points spaced along the
# segment, each bilinear-splatted (weight 1 / n) onto its four pixel offsets; the engine samples those same points
# bilinearly, so this is the same linear filter (reflect-101 both), equal to rounding, at any angle.
@peer("motion_blur", "cv2.filter2D with the engine's splatted line kernel, reflect-101")
@per_plane_setup
def _motion_blur(h, w, p, seed):
    length, angle = float(p["length"]), math.radians(p["angle"])
    n = max(2, math.ceil(length) + 1)
    ux, uy = math.cos(angle), -math.sin(angle)
    r = math.ceil(length / 2) + 2
    kernel = np.zeros((2 * r + 1, 2 * r + 1))
    for k in range(n):
        t = length * (k / (n - 1) - 0.5)
        px, py = t * ux, t * uy
        x0, y0 = math.floor(px), math.floor(py)
        fx, fy = px - x0, py - y0
        for dy, wy in ((0, 1.0 - fy), (1, fy)):
            for dx, wx in ((0, 1.0 - fx), (1, fx)):
                kernel[r + y0 + dy, r + x0 + dx] += wx * wy / n
    rows, cols = np.nonzero(kernel)
    r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
    kernel = kernel[r0:r1 + 1, c0:c1 + 1].astype(F32)
    anchor = (int(r - c0), int(r - r0))
    return lambda x: cv2.filter2D(x, -1, kernel, anchor=anchor, borderType=REFLECT)


# resolution_loss: cv2.resize INTER_AREA to lround(size / factor), then INTER_LINEAR back (the engine's area taps
# and its half-pixel, clamped bilinear are OpenCV's definitions): equal to rounding.
@peer("resolution_loss", "cv2.resize INTER_AREA down, INTER_LINEAR up")
@per_plane_setup
def _resolution_loss(h, w, p, seed):
    f = float(p["factor"])
    sw, sh = max(1, lround(w / f)), max(1, lround(h / f))
    return lambda x: cv2.resize(cv2.resize(x, (sw, sh), interpolation=cv2.INTER_AREA), (w, h), interpolation=LINEAR)


# scatter: T, three cv2.blur box passes with detail::box_radii(sigma, 3) (reflect-101; the engine runs the three
# horizontal passes then the three vertical ones: the same operator), (T + spr S) / (1 + spr) by addWeighted, display.
@peer("scatter", "cv2.exp, 3 x cv2.blur (the engine's box radii), cv2.addWeighted, cv2.log, clip")
@per_plane_setup
def _scatter(h, w, p, seed):
    r, spr = response(p), float(p["spr"])
    radii = box_radii(float(p["sigma"]), 3)

    def call(x):
        t = to_signal(x, r)
        veil = t
        for radius in radii:
            veil = cv2.blur(veil, (2 * radius + 1, 2 * radius + 1), borderType=REFLECT)
        return to_display(cv2.addWeighted(t, 1.0 / (1.0 + spr), veil, spr / (1.0 + spr), 0.0), r)
    return call


# grid_lines: T times the per-column (vertical lines) or per-row factor (1 - a g) / (1 - a / 2), g the raised
# cosine of the period (detail::grid_profile), a numpy broadcast multiply; display. Equal to rounding.
@peer("grid_lines", "cv2.exp, numpy broadcast multiply by the grid profile, cv2.log, clip")
@per_plane_setup
def _grid_lines(h, w, p, seed):
    r, amplitude, period = response(p), float(p["amplitude"]), float(p["period"])
    vertical = p["angle"] == 90

    def call(x):
        t = to_signal(x, r)
        g = 0.5 * (1.0 + np.cos(2.0 * np.pi * np.arange(w if vertical else h) / period))
        factor = ((1.0 - amplitude * g) / (1.0 - 0.5 * amplitude)).astype(F32)
        np.multiply(t, factor[None, :] if vertical else factor[:, None], out=t)
        return to_display(t, r)
    return call


# quantum_noise: T, the dose change (reduce_dose above: numpy Poisson, cv2.sepFilter2D, cv2.randn), display.
@peer("quantum_noise", "cv2.exp, numpy Generator.poisson, cv2.sepFilter2D (MTF taps), cv2.randn, cv2.log, clip")
@seeded
def _quantum_noise(h, w, p, seed):
    r = response(p)
    return lambda x, gen: to_display(reduce_dose(to_signal(x, r), p, float(p["dose"]), gen), r)


# exposure: T, the dose change when exposure < 1, min(gain T, saturation) * ranging as one scale and one cv2.min
# (ranging = exposure^-compensation > 0), display. Deterministic above exposure 1: equal to rounding there.
@peer("exposure", "cv2.exp, (exposure < 1: as quantum_noise), scale, cv2.min, cv2.log, clip")
@seeded
def _exposure(h, w, p, seed):
    r, gain, saturation = response(p), float(p["exposure"]), float(p["saturation"])
    ranging = float(F32(gain ** -float(p["compensation"])))

    def call(x, gen):
        t = to_signal(x, r)
        if gain < 1.0:
            t = reduce_dose(t, p, gain, gen)
        return to_display(cv2.min(affine1(t, gain * ranging, 0.0), saturation * ranging), r)
    return call


# ----- The protocol.

def reply(header, payload=b""):
    header["bytes"] = len(payload)
    out = sys.stdout.buffer
    out.write((json.dumps(header) + "\n").encode())
    if payload:
        out.write(payload)
    out.flush()


def main():
    cv2.ocl.setUseOpenCL(False)
    images = {}
    stdin = sys.stdin.buffer
    for line in iter(stdin.readline, b""):
        request = json.loads(line)
        op = request["op"]
        if op == "hello":
            reply({"versions": {"python": sys.version.split()[0], "numpy": np.__version__, "opencv": cv2.__version__}, "kinds": NOTES})
        elif op == "image":
            w, h, c = request["width"], request["height"], request["channels"]
            data = stdin.read(w * h * c * 4)
            images[request["id"]] = np.frombuffer(data, dtype=F32).reshape(c, h, w).copy()
            reply({"ok": True})
        elif op == "run":
            try:
                cv2.setNumThreads(int(request["threads"]))
                img = images[request["id"]]
                call = PEERS[request["kind"]](img, request["params"], int(request.get("seed", 1)))
                reps = max(1, int(request.get("reps", 1)))
                total = 0.0
                for _ in range(reps):
                    start = time.perf_counter()
                    out = call()
                    total += time.perf_counter() - start
                payload = b""
                if request.get("output"):
                    out = np.asarray(out, dtype=F32)
                    if out.ndim == 3 and out.shape != img.shape:  # HWC colour peers
                        out = out.transpose(2, 0, 1)
                    payload = np.ascontiguousarray(out.reshape(img.shape)).tobytes()
                reply({"seconds": total / reps, "calls": reps}, payload)
            except Exception as error:  # noqa: BLE001 - reported to the bench, which stops
                reply({"error": f"{type(error).__name__}: {error}"})
        elif op == "quit":
            break
        else:
            reply({"error": f"unknown op {op}"})


if __name__ == "__main__":
    main()
