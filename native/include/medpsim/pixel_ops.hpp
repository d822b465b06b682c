// Per-sample helpers compiled for both the CPU kernels and the CUDA kernels (__host__ __device__), so
// that both backends run the very same operations and round alike.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define MEDPSIM_HD __host__ __device__
#else
#define MEDPSIM_HD
#endif

namespace medpsim {
namespace detail {

MEDPSIM_HD inline float clamp01(double v) { return static_cast<float>(v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v)); }

// OpenCV BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ..., for any integer i.
MEDPSIM_HD inline int reflect101(int64_t i, int n) {
  if (i >= 0 && i < n) return static_cast<int>(i);  // nearly every call: skip the 64-bit modulo
  if (n == 1) return 0;
  const int64_t period = 2 * static_cast<int64_t>(n) - 2;
  i %= period;
  if (i < 0) i += period;
  return static_cast<int>(i < n ? i : period - i);
}

// Bilinear sample of one plane at (x, y) (pixel centres at integers), out-of-image taps reflect-101.
MEDPSIM_HD inline float sample_bilinear(const float* plane, int width, int height, double x, double y) {
  // Far-out or non-finite coordinates (degenerate homographies) are pinned so the integer maths
  // below cannot overflow; reflect-101 makes any finite position valid. (v - v is 0 only for finite v.)
  if (!(x - x == 0.0)) x = 0.0;
  if (!(y - y == 0.0)) y = 0.0;
  x = fmax(-1e9, fmin(1e9, x));
  y = fmax(-1e9, fmin(1e9, y));
  const double fx0 = floor(x), fy0 = floor(y);
  const double fx = x - fx0, fy = y - fy0;
  const int64_t ix = static_cast<int64_t>(fx0), iy = static_cast<int64_t>(fy0);
  // Inside the image (nearly every tap of a warp) reflect-101 is the identity: one test for all four.
  const bool inside = ix >= 0 && ix + 1 < width && iy >= 0 && iy + 1 < height;
  const int x0 = inside ? static_cast<int>(ix) : reflect101(ix, width);
  const int x1 = inside ? static_cast<int>(ix) + 1 : reflect101(ix + 1, width);
  const int y0 = inside ? static_cast<int>(iy) : reflect101(iy, height);
  const int y1 = inside ? static_cast<int>(iy) + 1 : reflect101(iy + 1, height);
  const float* r0 = plane + static_cast<size_t>(y0) * width;
  const float* r1 = plane + static_cast<size_t>(y1) * width;
  // With fx = fy = 0 this is exactly r0[x0], so integer shifts are bit-exact copies.
  const double top = r0[x0] * (1.0 - fx) + r0[x1] * fx;
  const double bottom = r1[x0] * (1.0 - fx) + r1[x1] * fx;
  return static_cast<float>(top * (1.0 - fy) + bottom * fy);
}

// The exposure kind's v^gamma for v in [0, 1], as 2^(gamma log2 v) in float: a few ns per sample (a
// double pow costs ~4 times that) and within ~1e-6 of the exact power on [0, 1].
MEDPSIM_HD inline float exposure_curve(float v, float gamma) { return exp2f(gamma * log2f(v)); }

}  // namespace detail
}  // namespace medpsim
