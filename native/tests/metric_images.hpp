// The metric tests' images: integer formulas that native/tests/fixtures/metric_images.py computes
// identically, so expected values made in Python (scikit-image, SciPy) apply to exactly these pixels.
// Samples are integers 0..2^bits - 1; as images they are divided by 255 (8 bits) or 65535 (otherwise,
// i.e. 16-bit PNG storage, also for 12-bit data).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "medpsim/image.hpp"

namespace metric_images {

// The reference: a gradient, a bright disk, a 4-pixel checker texture and a per-channel offset, as 8-bit
// levels; with more bits, the 8-bit level shifted up plus fine detail in the low bits.
inline int64_t reference_level(int x, int y, int c, int w, int h, int bits) {
  int64_t v = 40 + (x * 150) / (w > 1 ? w - 1 : 1) + (y * 50) / (h > 1 ? h - 1 : 1) + c * 17;
  const int64_t dx = 2 * x - w, dy = 2 * y - h;
  if (dx * dx + dy * dy < static_cast<int64_t>(w) * h / 4) v += 40;
  v += ((x / 4 + y / 4) % 2) ? 12 : -12;
  v = v < 0 ? 0 : (v > 255 ? 255 : v);
  if (bits == 8) return v;
  const int64_t top = (int64_t{1} << bits) - 1;
  int64_t wide = (v << (bits - 8)) + (x * 31 + y * 17 + c * 5) % (int64_t{1} << (bits - 8));
  return wide > top ? top : wide;
}

// A deterministic hash in [0, 2^32) (the Python side masks to 32 bits after each step).
inline uint32_t hash3(int x, int y, int c) {
  uint32_t v = static_cast<uint32_t>(x) * 73856093u ^ static_cast<uint32_t>(y) * 19349663u ^ static_cast<uint32_t>(c) * 83492791u;
  v ^= v >> 13;
  v *= 0x5bd1e995u;
  v ^= v >> 15;
  return v;
}

// The distortions, on levels (scale = 2^(bits - 8)):
//   noise:    reference + (hash % 41 - 20) * scale
//   contrast: reference * 3 / 4 + 32 * scale (integer division)
//   blur:     3 x 3 box mean of the reference (integer division, edges clamped)
inline int64_t distorted_level(const std::string& distortion, int x, int y, int c, int w, int h, int bits) {
  const int64_t top = (int64_t{1} << bits) - 1, scale = int64_t{1} << (bits - 8);
  int64_t v = 0;
  if (distortion == "reference") {
    v = reference_level(x, y, c, w, h, bits);
  } else if (distortion == "noise") {
    v = reference_level(x, y, c, w, h, bits) + (static_cast<int64_t>(hash3(x, y, c) % 41) - 20) * scale;
  } else if (distortion == "contrast") {
    v = reference_level(x, y, c, w, h, bits) * 3 / 4 + 32 * scale;
  } else if (distortion == "blur") {
    for (int j = -1; j <= 1; ++j) {
      for (int i = -1; i <= 1; ++i) {
        const int xx = x + i < 0 ? 0 : (x + i >= w ? w - 1 : x + i);
        const int yy = y + j < 0 ? 0 : (y + j >= h ? h - 1 : y + j);
        v += reference_level(xx, yy, c, w, h, bits);
      }
    }
    v /= 9;
  } else {
    throw std::invalid_argument("unknown test distortion " + distortion);
  }
  return v < 0 ? 0 : (v > top ? top : v);
}

inline medpsim::Image make(const std::string& distortion, int w, int h, int channels, int bits) {
  medpsim::Image image = medpsim::Image::allocate(w, h, channels);
  const double full = bits == 8 ? 255.0 : 65535.0;
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) image.at(c, y, x) = static_cast<float>(distorted_level(distortion, x, y, c, w, h, bits) / full);
  return image;
}

// The data range L in sample units for data of `bits` bits stored as make() stores it.
inline double data_range(int bits) { return bits == 8 ? 1.0 : ((int64_t{1} << bits) - 1) / 65535.0; }

}  // namespace metric_images
