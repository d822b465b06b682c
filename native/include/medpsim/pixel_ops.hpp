// Per-sample helpers compiled for both the CPU kernels and the CUDA kernels (__host__ __device__), so
// that both backends run the very same operations and round alike.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define MEDPSIM_HD __host__ __device__
#define MEDPSIM_HD_INLINE __host__ __device__ __forceinline__
#else
#define MEDPSIM_HD
// The per-sample exp and ln: always inlined, so the loops that call them vectorise (a call per sample does not).
#define MEDPSIM_HD_INLINE __attribute__((always_inline)) inline
#endif

namespace medpsim {
namespace detail {

// v below 0: 0; above 1: 1; otherwise (NaN too) v. Written as two selects in double, each the form of an SSE
// max/min (`a < b ? b : a`), so that vector loops clamp before narrowing to float instead of blending floats by
// narrowed masks.
MEDPSIM_HD inline float clamp01(double v) {
  const double low = v < 0.0 ? 0.0 : v;
  return static_cast<float>(low > 1.0 ? 1.0 : low);
}

// OpenCV BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ..., for any integer i.
MEDPSIM_HD inline int reflect101(int64_t i, int n) {
  if (i >= 0 && i < n) return static_cast<int>(i);  // nearly every call: skip the 64-bit modulo
  if (n == 1) return 0;
  const int64_t period = 2 * static_cast<int64_t>(n) - 2;
  i %= period;
  if (i < 0) i += period;
  return static_cast<int>(i < n ? i : period - i);
}

// Where a bilinear sample at (x, y) reads: the offsets of its four taps in the plane (reflect-101 outside)
// and its fractions. sample_bilinear is bilinear_blend of bilinear_position; the CPU warps split the two to
// blend a whole row at once.
struct BilinearTaps {
  size_t top_left, top_right, bottom_left, bottom_right;
  double fx, fy;
};

MEDPSIM_HD inline BilinearTaps bilinear_position(int width, int height, double x, double y) {
  // Far-out or non-finite coordinates (degenerate homographies) are pinned so the integer maths
  // below cannot overflow; reflect-101 makes any finite position valid. (v - v is 0 only for finite v.)
  if (!(x - x == 0.0)) x = 0.0;
  if (!(y - y == 0.0)) y = 0.0;
  x = x < -1e9 ? -1e9 : (x > 1e9 ? 1e9 : x);  // fmax/fmin's NaN rules would cost a library call; x is finite here
  y = y < -1e9 ? -1e9 : (y > 1e9 ? 1e9 : y);
  const double fx0 = floor(x), fy0 = floor(y);
  const int64_t ix = static_cast<int64_t>(fx0), iy = static_cast<int64_t>(fy0);
  // Inside the image (nearly every tap of a warp) reflect-101 is the identity: one test for all four.
  const bool inside = ix >= 0 && ix + 1 < width && iy >= 0 && iy + 1 < height;
  const int x0 = inside ? static_cast<int>(ix) : reflect101(ix, width);
  const int x1 = inside ? static_cast<int>(ix) + 1 : reflect101(ix + 1, width);
  const int y0 = inside ? static_cast<int>(iy) : reflect101(iy, height);
  const int y1 = inside ? static_cast<int>(iy) + 1 : reflect101(iy + 1, height);
  const size_t r0 = static_cast<size_t>(y0) * width, r1 = static_cast<size_t>(y1) * width;
  return {r0 + x0, r0 + x1, r1 + x0, r1 + x1, x - fx0, y - fy0};
}

MEDPSIM_HD inline float bilinear_blend(const float* plane, const BilinearTaps& t) {
  // With fx = fy = 0 this is exactly the top-left tap, so integer shifts are bit-exact copies.
  const double top = plane[t.top_left] * (1.0 - t.fx) + plane[t.top_right] * t.fx;
  const double bottom = plane[t.bottom_left] * (1.0 - t.fx) + plane[t.bottom_right] * t.fx;
  return static_cast<float>(top * (1.0 - t.fy) + bottom * t.fy);
}

// Bilinear sample of one plane at (x, y) (pixel centres at integers), out-of-image taps reflect-101.
MEDPSIM_HD inline float sample_bilinear(const float* plane, int width, int height, double x, double y) {
  return bilinear_blend(plane, bilinear_position(width, height, x, y));
}

// Float bit patterns (frexp without a library call, identical on host and device).
MEDPSIM_HD_INLINE uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
#endif
}
MEDPSIM_HD_INLINE float bits_float(uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
#endif
}

MEDPSIM_HD inline uint64_t double_bits(double d) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint64_t>(__double_as_longlong(d));
#else
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
#endif
}
MEDPSIM_HD inline double bits_double(uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(b));
#else
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
#endif
}

// Transcendental functions written with + - * / and sqrt alone (each correctly rounded in IEEE float on
// the CPU, on the GPU with --fmad=false, and in numpy float32), so that every implementation of the
// engine gets the same bits (Box-Muller's normals, the detector response); a few ns each, within ~2e-7 of the exact
// functions. The series and reduction constants are plain Taylor / atanh coefficients.

// ln u for u in (0, 1]: u = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m - 1) / (m + 1).
MEDPSIM_HD_INLINE float log_unit(float u) {
  const uint32_t bits = float_bits(u);
  int e = static_cast<int>(bits >> 23) - 127;
  const uint32_t mantissa = (bits & 0x7fffffu) | 0x3f800000u;  // m in [1, 2)
  const uint32_t halve = mantissa > 0x3fb504f3u ? 1u : 0u;      // m > sqrt(2); arithmetic, not a branch
  e += static_cast<int>(halve);
  const float m = bits_float(mantissa - (halve << 23));
  const float s = (m - 1.0f) / (m + 1.0f), z = s * s;  // |s| <= 0.172
  const float series = 1.0f + z * (0.333333343f + z * (0.2f + z * (0.142857149f + z * 0.111111112f)));
  return static_cast<float>(e) * 0.693147182f + 2.0f * s * series;
}

// e^x for x <= 0: Cody-Waite reduction to r in [-ln2/2, ln2/2] and a degree-7 series, then 2^k put into
// the exponent bits. Only + - * and bit operations, without branches: the compiler vectorises it, and the
// CPU and the GPU compute the same bits. Within 2e-7 relative of std::exp (tested); results below 2^-126
// are flushed to 0.
MEDPSIM_HD_INLINE float exp_nonpositive(float x) {
  x = x > -100.0f ? x : -100.0f;  // keeps k in int range; e^-100 is flushed to 0 by the scale below
  const float k = -static_cast<float>(static_cast<int>(x * -1.44269502f + 0.5f));  // nearest integer to x / ln 2
  const float r = (x - k * 0.693145752f) - k * 1.42860677e-06f;  // ln 2 = hi + lo, hi exact in k * hi
  const float e = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f + r * (0.00833333377f +
                  r * (0.00138888892f + r * 0.000198412701f))))));
  const int biased = static_cast<int>(k) + 127;
  const float scale = bits_float(static_cast<uint32_t>(biased > 0 ? biased : 0) << 23);  // 2^k; 0 when k < -126
  return e * scale;
}

// ln x for a positive normal double, the same reduction as log_unit in double: the atanh series to s^21
// (|s| <= 0.172, so the next term is below 1e-17). Within 2 ulp of std::log (tested).
MEDPSIM_HD inline double log_positive(double x) {
  const uint64_t bits = double_bits(x);
  int e = static_cast<int>(bits >> 52) - 1023;
  const uint64_t mantissa = (bits & 0xfffffffffffffull) | 0x3ff0000000000000ull;  // m in [1, 2)
  const uint64_t halve = mantissa > 0x3ff6a09e667f3bcdull ? 1u : 0u;              // m > sqrt(2)
  e += static_cast<int>(halve);
  const double m = bits_double(mantissa - (halve << 52));
  const double s = (m - 1.0) / (m + 1.0), z = s * s;
  double series = 1.0 / 21.0;
  for (int k = 9; k >= 0; --k) series = 1.0 / (2 * k + 1) + z * series;
  return static_cast<double>(e) * 0.6931471805599453 + 2.0 * s * series;
}

// e^x in double for x in [-700, 0]: the reduction of exp_nonpositive (ln 2 as hi + lo, hi with 32 bits so that
// k hi is exact) and a degree-13 series on |r| <= ln2 / 2 (next term below 1e-17). Within 2 ulp of std::exp.
MEDPSIM_HD inline double exp_nonpositive_double(double x) {
  x = x > -700.0 ? x : -700.0;
  const double k = floor(x * 1.4426950408889634 + 0.5);
  const double r = (x - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
  double series = 1.0;  // 1 + r (1 + r / 2 (1 + ... (1 + r / 13)))
  for (int n = 13; n >= 1; --n) series = 1.0 + r * series / n;
  return series * bits_double(static_cast<uint64_t>(static_cast<int64_t>(k) + 1023) << 52);
}

// Coloured noise: from the per-row sums and sums of squares of the w x h crop (added in row order), the
// mean to subtract and the factor that scales the crop to standard deviation sigma (0 without variance).
// On the device too, so that the CUDA kind never copies its sums back to the host.
MEDPSIM_HD inline void colored_field_normalisation(const double* row_sum, const double* row_sq, int w, int h, double sigma,
                                                   double& mean, double& scale) {
  double sum = 0.0, sq = 0.0;
  for (int y = 0; y < h; ++y) {
    sum += row_sum[y];
    sq += row_sq[y];
  }
  const double n = static_cast<double>(w) * h;
  mean = sum / n;
  const double spread = sq / n - mean * mean;
  const double var = spread > 0.0 ? spread : 0.0;
  scale = var > 0.0 ? sigma / sqrt(var) : 0.0;  // a 1x1 image has no zero-mean noise
}

}  // namespace detail
}  // namespace medpsim
