// Shared building blocks (border handling and sampling: medpsim/pixel_ops.hpp): separable and box convolution, FFT, homography.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "medpsim/kernels.hpp"
#include "medpsim/random.hpp"

namespace medpsim {
namespace detail {

std::vector<double> gaussian_kernel(double sigma) {
  const int radius = static_cast<int>(std::ceil(3.0 * sigma));
  std::vector<double> taps(2 * radius + 1);
  double sum = 0.0;
  for (int i = -radius; i <= radius; ++i) sum += taps[i + radius] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (double& t : taps) t /= sum;
  return taps;
}

namespace {

constexpr int kTapBlock = 32;

template <bool Clamp>
__attribute__((always_inline)) inline void taps_row(const float* const* __restrict sources, const float* __restrict weights, size_t taps,
                                                    float* __restrict out, int n) {
  int x = 0;
  for (; x + kTapBlock <= n; x += kTapBlock) {
    Float8 acc[kTapBlock / 8] = {};
    for (size_t t = 0; t < taps; ++t) {
      const float* s = sources[t] + x;
      for (int k = 0; k < kTapBlock / 8; ++k) {
        Float8 v;
        __builtin_memcpy(&v, s + 8 * k, sizeof v);
        acc[k] += weights[t] * v;
      }
    }
    float sums[kTapBlock];
    __builtin_memcpy(sums, acc, sizeof sums);
    for (int i = 0; i < kTapBlock; ++i) out[x + i] = Clamp ? clamp01(sums[i]) : sums[i];
  }
  for (; x < n; ++x) {
    float acc = 0.0f;
    for (size_t t = 0; t < taps; ++t) acc += weights[t] * sources[t][x];
    out[x] = Clamp ? clamp01(acc) : acc;
  }
}

// One clone pair each way, the clamp decided at compile time (no test of it per block).
MEDPSIM_VECTOR_CLONES void clamped_taps_row(const float* const* sources, const float* weights, size_t taps, float* out, int n) {
  taps_row<true>(sources, weights, taps, out, n);
}
MEDPSIM_VECTOR_CLONES void unclamped_taps_row(const float* const* sources, const float* weights, size_t taps, float* out, int n) {
  taps_row<false>(sources, weights, taps, out, n);
}

}  // namespace

void weighted_taps_row(const float* const* sources, const float* weights, size_t taps, float* out, int n, bool clamp) {
  if (clamp) clamped_taps_row(sources, weights, taps, out, n);
  else unclamped_taps_row(sources, weights, taps, out, n);
}

void convolve_plane(const float* src, float* dst, int w, int h, const std::vector<float>& fx, const std::vector<float>& fy, bool clamp,
                    int threads) {
  const int rx = static_cast<int>(fx.size() / 2), ry = static_cast<int>(fy.size() / 2);
  Buffer<float> tmp(static_cast<size_t>(w) * h);
  parallel_for(h, threads, [&](int y0, int y1) {
    std::vector<float> padded(w + 2 * rx);  // the row with reflect-101 borders
    std::vector<const float*> sources(fx.size());
    for (size_t k = 0; k < fx.size(); ++k) sources[k] = padded.data() + k;
    for (int y = y0; y < y1; ++y) {
      const float* row = src + static_cast<size_t>(y) * w;
      for (int i = 0; i < w + 2 * rx; ++i) padded[i] = row[reflect101(i - rx, w)];
      weighted_taps_row(sources.data(), fx.data(), fx.size(), tmp.data() + static_cast<size_t>(y) * w, w, false);
    }
  });
  parallel_for(h, threads, [&](int y0, int y1) {
    std::vector<const float*> sources(fy.size());
    for (int y = y0; y < y1; ++y) {
      for (int k = 0; k <= 2 * ry; ++k) sources[k] = tmp.data() + static_cast<size_t>(reflect101(y + k - ry, h)) * w;
      weighted_taps_row(sources.data(), fy.data(), fy.size(), dst + static_cast<size_t>(y) * w, w, clamp);
    }
  });
}

void convolve_separable(const Image& in, Image& out, const std::vector<double>& kx, const std::vector<double>& ky,
                        int threads) {
  // Float taps and accumulators (float rounding stays far below the 1e-5 the tests allow).
  const std::vector<float> fx(kx.begin(), kx.end()), fy(ky.begin(), ky.end());
  for (int c = 0; c < in.channels(); ++c) convolve_plane(in.plane(c), out.plane(c), in.width(), in.height(), fx, fy, true, threads);
}

std::vector<int> box_radii(double sigma, int passes) {
  const double ideal = std::sqrt(12.0 * sigma * sigma / passes + 1.0);
  int wl = static_cast<int>(std::floor(ideal));
  if (wl % 2 == 0) --wl;
  const int wu = wl + 2;
  const double m_ideal = (12.0 * sigma * sigma - passes * wl * wl - 4.0 * passes * wl - 3.0 * passes) / (-4.0 * wl - 4.0);
  const int m = static_cast<int>(std::lround(m_ideal));
  std::vector<int> radii;
  for (int i = 0; i < passes; ++i) radii.push_back(((i < m ? wl : wu) - 1) / 2);
  return radii;
}

namespace {

// Lines are boxed kBoxLanes at a time, interleaved (sample i of lane l at [i * kBoxLanes + l]): each lane gets
// the operations a single line would get, in the same order, so the result does not depend on the grouping,
// and the lanes vectorise (a line alone is one dependent chain of additions).
constexpr int kBoxLanes = 16;

// One box pass of radius r over interleaved lines of n samples; window sums slide in O(1). Outputs are rounded
// to float, as the plane between passes stores them. Written with vector types: left to itself the compiler
// assembles each vector from scalar loads.
constexpr int kBoxVectors = kBoxLanes / 4;

__attribute__((always_inline)) inline void load_lanes(Double4& x, const double* p) { __builtin_memcpy(&x, p, sizeof x); }

MEDPSIM_VECTOR_CLONES void box_pass_lanes(const double* __restrict in, double* __restrict out, int n, int r) {
  Double4 sum[kBoxVectors] = {};
  for (int k = -r; k <= r; ++k) {
    const double* s = in + static_cast<size_t>(reflect101(k, n)) * kBoxLanes;
#pragma GCC unroll 4
    for (int v = 0; v < kBoxVectors; ++v) {
      Double4 x;
      load_lanes(x, s + 4 * v);
      sum[v] += x;
    }
  }
  const double norm = 1.0 / (2 * r + 1);
  for (int i = 0; i < n; ++i) {
    double* o = out + static_cast<size_t>(i) * kBoxLanes;
    const double* entering = in + static_cast<size_t>(reflect101(static_cast<int64_t>(i) + r + 1, n)) * kBoxLanes;
    const double* leaving = in + static_cast<size_t>(reflect101(static_cast<int64_t>(i) - r, n)) * kBoxLanes;
#pragma GCC unroll 4
    for (int v = 0; v < kBoxVectors; ++v) {
      const Double4 rounded = __builtin_convertvector(__builtin_convertvector(sum[v] * norm, Float4), Double4);
      __builtin_memcpy(o + 4 * v, &rounded, sizeof rounded);
      Double4 in_window, out_of_window;
      load_lanes(in_window, entering + 4 * v);
      load_lanes(out_of_window, leaving + 4 * v);
      sum[v] += in_window - out_of_window;
    }
  }
}

MEDPSIM_VECTOR_CLONES void interleave_rows(const float* const* rows, double* __restrict lanes, int n) {
  for (int i = 0; i < n; ++i) {
    for (int l = 0; l < kBoxLanes; ++l) lanes[static_cast<size_t>(i) * kBoxLanes + l] = rows[l][i];
  }
}

MEDPSIM_VECTOR_CLONES void deinterleave_rows(const double* __restrict lanes, float* const* rows, int count, int n) {
  for (int i = 0; i < n; ++i) {
    for (int l = 0; l < count; ++l) rows[l][i] = static_cast<float>(lanes[static_cast<size_t>(i) * kBoxLanes + l]);
  }
}

// Every pass in `radii` over interleaved lines (in `a`, n samples each); the result ends in `a`.
void box_passes_lanes(std::vector<double>& a, std::vector<double>& b, int n, const std::vector<int>& radii) {
  for (int r : radii) {
    box_pass_lanes(a.data(), b.data(), n, r);
    std::swap(a, b);
  }
}

}  // namespace

void box_blur3(const Image& in, Image& out, double sigma, int threads) {
  const int w = in.width(), h = in.height();
  const std::vector<int> radii = box_radii(sigma, 3);
  const int L = kBoxLanes;
  for (int c = 0; c < out.channels(); ++c) {
    const float* src = in.plane(c);
    float* p = out.plane(c);
    // Rows, kBoxLanes at a time (spare lanes of the last group are boxed too, never written back).
    parallel_for((h + L - 1) / L, threads, [&](int g0, int g1) {
      std::vector<double> a(static_cast<size_t>(w) * L), b(a.size());
      for (int g = g0; g < g1; ++g) {
        const int y0 = g * L, lanes = std::min(L, h - y0);
        const float* rows[kBoxLanes];
        float* outs[kBoxLanes];
        for (int l = 0; l < L; ++l) {
          const int y = y0 + std::min(l, lanes - 1);  // spare lanes repeat the last row
          rows[l] = src + static_cast<size_t>(y) * w;
          outs[l] = p + static_cast<size_t>(y) * w;
        }
        interleave_rows(rows, a.data(), w);
        box_passes_lanes(a, b, w, radii);
        deinterleave_rows(a.data(), outs, lanes, w);
      }
    });
    // Columns, kBoxLanes neighbours at a time: each row of the group is contiguous.
    parallel_for((w + L - 1) / L, threads, [&](int g0, int g1) {
      std::vector<double> a(static_cast<size_t>(h) * L), b(a.size());
      for (int g = g0; g < g1; ++g) {
        const int x0 = g * L, lanes = std::min(L, w - x0);
        if (lanes < L) std::fill(a.begin(), a.end(), 0.0);
        for (int j = 0; j < h; ++j) {
          const float* row = p + static_cast<size_t>(j) * w + x0;
          for (int l = 0; l < lanes; ++l) a[static_cast<size_t>(j) * L + l] = row[l];
        }
        box_passes_lanes(a, b, h, radii);
        for (int j = 0; j < h; ++j) {
          float* row = p + static_cast<size_t>(j) * w + x0;
          for (int l = 0; l < lanes; ++l) row[l] = static_cast<float>(a[static_cast<size_t>(j) * L + l]);
        }
      }
    });
  }
}

int next_pow2(int n) {
  int p = 1;
  while (p < n) p <<= 1;
  return p;
}

std::vector<std::complex<double>> fft_twiddles(size_t n, bool inverse) {
  std::vector<std::complex<double>> twiddle(n / 2);
  const double angle = (inverse ? 2.0 : -2.0) * M_PI / static_cast<double>(n);
  for (size_t k = 0; k < n / 2; ++k) twiddle[k] = {std::cos(angle * k), std::sin(angle * k)};
  return twiddle;
}

// The radix-2 FFT of n values (a power of two) with the twiddle table of fft_twiddles(n, inverse).
// Products are written out as (ac - bd, ad + bc): the value std::complex gives for finite numbers,
// without its NaN recovery branch, and the formula the CUDA kernel uses.
void fft_in_place(std::complex<double>* a, size_t n, const std::complex<double>* twiddle) {
  for (size_t i = 1, j = 0; i < n; ++i) {  // bit-reversal permutation
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  // The stage of length len uses every (n / len)-th twiddle.
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t step = n / len;
    for (size_t i = 0; i < n; i += len) {
      for (size_t k = 0; k < len / 2; ++k) {
        const std::complex<double> u = a[i + k], b = a[i + k + len / 2], w = twiddle[k * step];
        const std::complex<double> v(b.real() * w.real() - b.imag() * w.imag(), b.real() * w.imag() + b.imag() * w.real());
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
      }
    }
  }
}


void fft(std::vector<std::complex<double>>& a, bool inverse) {
  const size_t n = a.size();
  if (n & (n - 1)) throw std::invalid_argument("fft: size must be a power of two");
  fft_in_place(a.data(), n, fft_twiddles(n, inverse).data());
}

namespace {

// fft_in_place on four sequences at once, split and interleaved (element k of lane l at re[4 k + l], im[4 k + l]):
// each lane gets fft_in_place's very operations (the bit-reversal swaps, (ac - bd, ad + bc), u + v, u - v), so
// its result is fft_in_place's to the bit, and the lanes fill a vector.
constexpr int kFftLanes = 4;

MEDPSIM_VECTOR_CLONES void fft_lanes(double* __restrict re, double* __restrict im, size_t n, const std::complex<double>* twiddle) {
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      for (int l = 0; l < kFftLanes; ++l) {
        std::swap(re[i * kFftLanes + l], re[j * kFftLanes + l]);
        std::swap(im[i * kFftLanes + l], im[j * kFftLanes + l]);
      }
    }
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t step = n / len, half = len / 2;
    for (size_t i = 0; i < n; i += len) {
      for (size_t k = 0; k < half; ++k) {
        const double wr = twiddle[k * step].real(), wi = twiddle[k * step].imag();
        double *ur = re + (i + k) * kFftLanes, *ui = im + (i + k) * kFftLanes;
        double *br = ur + half * kFftLanes, *bi = ui + half * kFftLanes;
        Double4 u_re, u_im, b_re, b_im;
        load_lanes(u_re, ur);
        load_lanes(u_im, ui);
        load_lanes(b_re, br);
        load_lanes(b_im, bi);
        const Double4 v_re = b_re * wr - b_im * wi, v_im = b_re * wi + b_im * wr;
        const Double4 sum_re = u_re + v_re, sum_im = u_im + v_im, difference_re = u_re - v_re, difference_im = u_im - v_im;
        __builtin_memcpy(ur, &sum_re, sizeof sum_re);
        __builtin_memcpy(ui, &sum_im, sizeof sum_im);
        __builtin_memcpy(br, &difference_re, sizeof difference_re);
        __builtin_memcpy(bi, &difference_im, sizeof difference_im);
      }
    }
  }
}

// The FFT of `count` lines of n values, kFftLanes at a time; line m starts at a + m * line_step, its values
// `stride` apart (a last group of fewer lines repeats its last line, written back once).
void fft_lines(std::complex<double>* a, int count, size_t n, size_t line_step, size_t stride, const std::complex<double>* twiddle,
               int threads) {
  parallel_for((count + kFftLanes - 1) / kFftLanes, threads, [&](int g0, int g1) {
    std::vector<double> re(n * kFftLanes), im(n * kFftLanes);
    for (int g = g0; g < g1; ++g) {
      const int first = g * kFftLanes, lanes = std::min(kFftLanes, count - first);
      std::complex<double>* lines[kFftLanes];
      for (int l = 0; l < kFftLanes; ++l) lines[l] = a + static_cast<size_t>(first + std::min(l, lanes - 1)) * line_step;
      for (size_t k = 0; k < n; ++k) {
        for (int l = 0; l < kFftLanes; ++l) {
          re[k * kFftLanes + l] = lines[l][k * stride].real();
          im[k * kFftLanes + l] = lines[l][k * stride].imag();
        }
      }
      fft_lanes(re.data(), im.data(), n, twiddle);
      for (size_t k = 0; k < n; ++k) {
        for (int l = 0; l < lanes; ++l) lines[l][k * stride] = {re[k * kFftLanes + l], im[k * kFftLanes + l]};
      }
    }
  });
}

}  // namespace

void fft2(std::complex<double>* a, int rows, int cols, bool inverse, int threads) {
  // One twiddle table per axis (each entry a cos and a sin), not one per line.
  const std::vector<std::complex<double>> row_twiddle = fft_twiddles(cols, inverse), column_twiddle = fft_twiddles(rows, inverse);
  fft_lines(a, rows, cols, cols, 1, row_twiddle.data(), threads);
  fft_lines(a, cols, rows, 1, cols, column_twiddle.data(), threads);
}

void solve_homography(const double from[4][2], const double to[4][2], double h[9]) {
  // u = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), v likewise with h3..h5: two linear rows per pair.
  double m[8][9] = {};
  for (int i = 0; i < 4; ++i) {
    const double x = from[i][0], y = from[i][1], u = to[i][0], v = to[i][1];
    const double r0[9] = {x, y, 1, 0, 0, 0, -u * x, -u * y, u};
    const double r1[9] = {0, 0, 0, x, y, 1, -v * x, -v * y, v};
    std::copy(r0, r0 + 9, m[2 * i]);
    std::copy(r1, r1 + 9, m[2 * i + 1]);
  }
  for (int col = 0; col < 8; ++col) {  // Gaussian elimination with partial pivoting
    int pivot = col;
    for (int r = col + 1; r < 8; ++r) {
      if (std::fabs(m[r][col]) > std::fabs(m[pivot][col])) pivot = r;
    }
    if (std::fabs(m[pivot][col]) < 1e-12) throw std::runtime_error("solve_homography: degenerate points");
    std::swap(m[col], m[pivot]);
    for (int r = 0; r < 8; ++r) {
      if (r == col) continue;
      const double f = m[r][col] / m[col][col];
      for (int k = col; k < 9; ++k) m[r][k] -= f * m[col][k];
    }
  }
  for (int i = 0; i < 8; ++i) h[i] = m[i][8] / m[i][i];
  h[8] = 1.0;
}

void copy_image(const Image& in, Image& out) { std::memcpy(out.data(), in.data(), in.size() * sizeof(float)); }

}  // namespace detail
}  // namespace medpsim
