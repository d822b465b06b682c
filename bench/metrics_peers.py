"""The peers of `npm run bench:metrics` (bench/metrics.ts spawns this once per round).

    /usr/bin/python3 bench/metrics_peers.py A.f32 B.f32 WIDTH HEIGHT MIN_SECONDS ALL_THREADS [METRICS]

A.f32 and B.f32 hold the very float32 pixels (row-major, in [0, 1]) that the engine scored. One pass: each
peer once, as one sample: a warm-up call, then as many calls as fill MIN_SECONDS (at least one), timed with
time.perf_counter; the sample is the mean seconds per call. METRICS (comma-separated) limits the peers to
those metrics. Prints one JSON object on stdout.

Peers:
- scikit-image (single-threaded: scipy.ndimage filters and numpy): structural_similarity with the settings
  our ssim pins (gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1),
  peak_signal_noise_ratio(data_range=1), mean_squared_error; on the float32 arrays as they are.
- OpenCV's quality module (opencv-contrib; Debian's python3-opencv has it), with cv2.setNumThreads(1) and
  with ALL_THREADS, OpenCL off: QualityMSE and QualityPSNR (maxPixelValue 1) on the [0, 1] arrays;
  QualitySSIM and QualityGMSD on the arrays times 255 (computed once, untimed), because their constants
  (C1 = 6.5025, C2 = 58.5225; T = 170) are those of 0..255 samples.
"""
import json
import sys
import time

import numpy as np
import skimage
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity


def sample(call, min_seconds):
    """(value of the last call, mean seconds per call): a warm-up, then calls until min_seconds have passed."""
    value = call()
    count = 0
    start = time.perf_counter()
    while True:
        value = call()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return value, elapsed / count


def main():
    a_path, b_path, width, height, min_seconds, all_threads = sys.argv[1:7]
    width, height, min_seconds, all_threads = int(width), int(height), float(min_seconds), int(all_threads)
    wanted = set(sys.argv[7].split(",")) if len(sys.argv) > 7 else None
    a = np.fromfile(a_path, dtype=np.float32).reshape(height, width)
    b = np.fromfile(b_path, dtype=np.float32).reshape(height, width)
    out = {"versions": {"python": sys.version.split()[0], "numpy": np.__version__, "skimage": skimage.__version__}, "peers": []}

    def add(metric, peer, value, seconds_one, seconds_all=None):
        out["peers"].append({"metric": metric, "peer": peer, "value": float(value), "seconds1": seconds_one, "secondsAll": seconds_all})

    ssim = lambda: structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)
    skimage_peers = [
        ("ssim", "scikit-image structural_similarity", ssim),
        ("psnr", "scikit-image peak_signal_noise_ratio", lambda: peak_signal_noise_ratio(a, b, data_range=1)),
        ("mse", "scikit-image mean_squared_error", lambda: mean_squared_error(a, b)),
    ]
    for metric, peer, call in skimage_peers:
        if wanted is not None and metric not in wanted:
            continue
        value, seconds = sample(call, min_seconds)
        add(metric, peer, value, seconds)  # single-threaded: the same figure stands for all threads

    try:
        import cv2

        quality = cv2.quality
    except (ImportError, AttributeError) as error:
        out["opencv"] = f"unavailable: {error}"
    else:
        out["versions"]["opencv"] = cv2.__version__
        cv2.ocl.setUseOpenCL(False)
        a255, b255 = a * 255, b * 255
        opencv_peers = [
            ("ssim", "OpenCV quality.QualitySSIM", lambda: quality.QualitySSIM_compute(a255, b255)[0][0]),
            ("gmsd", "OpenCV quality.QualityGMSD", lambda: quality.QualityGMSD_compute(a255, b255)[0][0]),
            ("psnr", "OpenCV quality.QualityPSNR", lambda: quality.QualityPSNR_compute(a, b, maxPixelValue=1.0)[0][0]),
            ("mse", "OpenCV quality.QualityMSE", lambda: quality.QualityMSE_compute(a, b)[0][0]),
        ]
        for metric, peer, call in opencv_peers:
            if wanted is not None and metric not in wanted:
                continue
            cv2.setNumThreads(1)
            value, seconds_one = sample(call, min_seconds)
            cv2.setNumThreads(all_threads)
            _, seconds_all = sample(call, min_seconds)
            add(metric, peer, value, seconds_one, seconds_all)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
