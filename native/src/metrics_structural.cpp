// Pixel, structural and gradient metrics: mse, psnr, ssim, ms_ssim, gmsd (settings: src/metrics/catalog.ts).
// Reductions go through per-row partial sums added in row order, so the thread count never changes a bit.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <vector>

#include "medpsim/buffer_pool.hpp"
#include "medpsim/metric_setup.hpp"
#include "medpsim/metrics.hpp"

namespace medpsim::detail {

// ----- ssim, ms_ssim set-up (shared with the CUDA backend) -----

constexpr double kSsimSigma = 1.5, kSsimK1 = 0.01, kSsimK2 = 0.03;

std::array<double, kSsimRadius + 1> ssim_taps() {
  std::array<double, kSsimRadius + 1> t{};
  double sum = 0.0;
  for (int k = -kSsimRadius; k <= kSsimRadius; ++k) sum += std::exp(-0.5 / (kSsimSigma * kSsimSigma) * k * k);
  for (int k = 0; k <= kSsimRadius; ++k) t[k] = std::exp(-0.5 / (kSsimSigma * kSsimSigma) * k * k) / sum;
  return t;
}

void ssim_constants(double data_range, double& c1, double& c2) {
  c1 = (kSsimK1 * data_range) * (kSsimK1 * data_range);
  c2 = (kSsimK2 * data_range) * (kSsimK2 * data_range);
}

double ms_ssim_exponent(int j, int scales) {
  static const double kWeights[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
  // Fewer than 5 scales: the first weights renormalised to sum 1 (5: as published, summing to 1.0001).
  double weight_sum = 1.0;
  if (scales < 5) weight_sum = std::accumulate(kWeights, kWeights + scales, 0.0);
  return kWeights[j] / weight_sum;
}

namespace {

// ----- mse, psnr -----

// The squared errors of one row, in four running sums the compiler keeps in vector lanes (one sum would be
// a serial chain of dependent additions); a fixed order, so the thread count never changes the result.
MEDPSIM_VECTOR_CLONES double row_squared_error(const float* a, const float* b, int w) {
  double sum[4] = {0.0, 0.0, 0.0, 0.0};
  int x = 0;
  for (; x + 4 <= w; x += 4) {
    for (int k = 0; k < 4; ++k) {
      const double d = static_cast<double>(a[x + k]) - b[x + k];
      sum[k] += d * d;
    }
  }
  for (; x < w; ++x) {
    const double d = static_cast<double>(a[x]) - b[x];
    sum[0] += d * d;
  }
  return (sum[0] + sum[1]) + (sum[2] + sum[3]);
}

// The sum of squared errors over every sample of every channel; map (when given): the squared error
// averaged over channels.
double sum_squared_error(const Image& a, const Image& b, Image* map, int threads) {
  const int w = a.width(), h = a.height(), channels = a.channels();
  // Memory-bound and ~0.3 ms per million samples: a thread more only pays for itself (its start costs ~0.1 ms)
  // beyond a few million samples.
  if (threads < 1) threads = hardware_threads();
  threads = std::max(1, std::min<int>(threads, static_cast<int>(a.size() / (4u << 20))));
  std::vector<double> row_sum(h, 0.0);
  parallel_for(h, threads, [&](int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      const size_t row = static_cast<size_t>(y) * w;
      double sum = 0.0;
      for (int c = 0; c < channels; ++c) sum += row_squared_error(a.plane(c) + row, b.plane(c) + row, w);
      row_sum[y] = sum;
      if (!map) continue;
      float* out = map->data() + row;
      for (int x = 0; x < w; ++x) {
        double e = 0.0;
        for (int c = 0; c < channels; ++c) {
          const double d = static_cast<double>(a.plane(c)[row + x]) - b.plane(c)[row + x];
          e += d * d;
        }
        out[x] = static_cast<float>(e / channels);
      }
    }
  });
  return std::accumulate(row_sum.begin(), row_sum.end(), 0.0);
}

double mse(const Image& a, const Image& b, const Params&, double, Image* map, int threads) {
  return sum_squared_error(a, b, map, threads) / static_cast<double>(a.size());
}

double psnr(const Image& a, const Image& b, const Params&, double data_range, Image* map, int threads) {
  const double error = sum_squared_error(a, b, map, threads) / static_cast<double>(a.size());
  if (error == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(data_range * data_range / error);
}

// ----- ssim, ms_ssim -----

constexpr int kRadius = kSsimRadius;
inline int reflect(int i, int n) { return ssim_reflect(i, n); }

struct SsimMeans {
  double ssim;  // mean of S over the interior (pixels whose whole window lies inside)
  double cs;    // mean of the contrast-structure term (2 vxy + C2) / (vx + vy + C2) over the interior
};

// One row of S (and of the contrast-structure term) from the two planes: the five windowed moments by a
// separable Gaussian filter, vertical pass first and taps added centre first then from the outside in, as
// scipy.ndimage does (so the moments match it closely), then S per pixel. `moments` holds 5 rows of
// w + 2 kRadius doubles. Always inlined into the row functions below, which are compiled for AVX2 too.
template <typename T>
__attribute__((always_inline)) inline void ssim_row_body(const T* a, const T* b, int w, int h, int y, const double* t, double c1, double c2,
                                                          double* moments, double* s_row, double* cs_row) {
  const int padded = w + 2 * kRadius;
  double* const mx = moments + kRadius;
  double* const my = mx + padded;
  double* const mxx = my + padded;
  double* const mxy = mxx + padded;
  double* const myy = mxy + padded;
  const T* ac = a + static_cast<size_t>(y) * w;
  const T* bc = b + static_cast<size_t>(y) * w;
#pragma GCC ivdep
  for (int x = 0; x < w; ++x) {
    const double va = ac[x], vb = bc[x];
    mx[x] = va * t[0];
    my[x] = vb * t[0];
    mxx[x] = (va * va) * t[0];
    mxy[x] = (va * vb) * t[0];
    myy[x] = (vb * vb) * t[0];
  }
  for (int k = kRadius; k >= 1; --k) {
    const T* a0 = a + static_cast<size_t>(reflect(y - k, h)) * w;
    const T* a1 = a + static_cast<size_t>(reflect(y + k, h)) * w;
    const T* b0 = b + static_cast<size_t>(reflect(y - k, h)) * w;
    const T* b1 = b + static_cast<size_t>(reflect(y + k, h)) * w;
    const double tk = t[k];
#pragma GCC ivdep
    for (int x = 0; x < w; ++x) {
      const double p0 = a0[x], p1 = a1[x], q0 = b0[x], q1 = b1[x];
      mx[x] += (p0 + p1) * tk;
      my[x] += (q0 + q1) * tk;
      mxx[x] += (p0 * p0 + p1 * p1) * tk;
      mxy[x] += (p0 * q0 + p1 * q1) * tk;
      myy[x] += (q0 * q0 + q1 * q1) * tk;
    }
  }
  for (double* m : {mx, my, mxx, mxy, myy}) {
    for (int k = 1; k <= kRadius; ++k) {
      m[-k] = m[reflect(-k, w)];
      m[w - 1 + k] = m[reflect(w - 1 + k, w)];
    }
  }
  // Horizontal pass and S, one pixel at a time from the padded moment rows.
#pragma GCC ivdep
  for (int x = 0; x < w; ++x) {
    double ux = mx[x] * t[0], uy = my[x] * t[0], uxx = mxx[x] * t[0], uxy = mxy[x] * t[0], uyy = myy[x] * t[0];
    for (int k = kRadius; k >= 1; --k) {
      ux += (mx[x - k] + mx[x + k]) * t[k];
      uy += (my[x - k] + my[x + k]) * t[k];
      uxx += (mxx[x - k] + mxx[x + k]) * t[k];
      uxy += (mxy[x - k] + mxy[x + k]) * t[k];
      uyy += (myy[x - k] + myy[x + k]) * t[k];
    }
    ssim_pixel(ux, uy, uxx, uxy, uyy, c1, c2, s_row[x], cs_row[x]);
  }
}

MEDPSIM_VECTOR_CLONES void ssim_row(const float* a, const float* b, int w, int h, int y, const double* t, double c1, double c2,
                                    double* moments, double* s_row, double* cs_row) {
  ssim_row_body(a, b, w, h, y, t, c1, c2, moments, s_row, cs_row);
}

MEDPSIM_VECTOR_CLONES void ssim_row(const double* a, const double* b, int w, int h, int y, const double* t, double c1, double c2,
                                    double* moments, double* s_row, double* cs_row) {
  ssim_row_body(a, b, w, h, y, t, c1, c2, moments, s_row, cs_row);
}

// SSIM of two w x h planes (w, h >= 11) as scikit-image computes it (row by row: ssim_row). `map`, when not
// null, gets the full S map.
template <typename T>
SsimMeans ssim_planes(const T* a, const T* b, int w, int h, double data_range, float* map, int threads) {
  const std::array<double, kRadius + 1> t = ssim_taps();
  double c1, c2;
  ssim_constants(data_range, c1, c2);
  std::vector<double> row_s(h, 0.0), row_cs(h, 0.0);
  parallel_for(h, threads, [&](int y0, int y1) {
    std::vector<double> moments(5 * static_cast<size_t>(w + 2 * kRadius));
    std::vector<double> s_row(w), cs_row(w);
    for (int y = y0; y < y1; ++y) {
      ssim_row(a, b, w, h, y, t.data(), c1, c2, moments.data(), s_row.data(), cs_row.data());
      if (map) {
        float* out = map + static_cast<size_t>(y) * w;
        for (int x = 0; x < w; ++x) out[x] = static_cast<float>(s_row[x]);
      }
      if (y < kRadius || y >= h - kRadius) continue;
      double s = 0.0, cs = 0.0;
      for (int x = kRadius; x < w - kRadius; ++x) {
        s += s_row[x];
        cs += cs_row[x];
      }
      row_s[y] = s;
      row_cs[y] = cs;
    }
  });
  const double count = static_cast<double>(w - 2 * kRadius) * (h - 2 * kRadius);
  return {std::accumulate(row_s.begin(), row_s.end(), 0.0) / count, std::accumulate(row_cs.begin(), row_cs.end(), 0.0) / count};
}

double ssim(const Image& a, const Image& b, const Params& params, double data_range, Image* map, int threads) {
  require_metric_size("ssim", a.width(), a.height(), params);
  return ssim_planes(a.data(), b.data(), a.width(), a.height(), data_range, map ? map->data() : nullptr, threads).ssim;
}

// One MS-SSIM scale step: 2 x 2 block means, every second one kept (size ceil(n / 2)); an odd last row or
// column is averaged with its mirror, i.e. with itself (MATLAB imfilter "symmetric" in msssim.m).
template <typename T>
Buffer<double> halve(const T* in, int w, int h, int threads) {
  const int hw = (w + 1) / 2, hh = (h + 1) / 2;
  Buffer<double> out(static_cast<size_t>(hw) * hh);
  parallel_for(hh, threads, [&](int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      for (int x = 0; x < hw; ++x) out[static_cast<size_t>(y) * hw + x] = ms_ssim_halve_pixel(in, w, h, x, y);
    }
  });
  return out;
}

double ms_ssim(const Image& a, const Image& b, const Params& params, double data_range, Image* map, int threads) {
  const int scales = static_cast<int>(params.at("scales"));
  require_metric_size("ms_ssim", a.width(), a.height(), params);

  int w = a.width(), h = a.height();
  SsimMeans means = ssim_planes(a.data(), b.data(), w, h, data_range, map ? map->data() : nullptr, threads);
  double value = 1.0;
  Buffer<double> pa, pb;
  for (int j = 0; j < scales; ++j) {
    if (j > 0) {
      pa = j == 1 ? halve(a.data(), w, h, threads) : halve(pa.data(), w, h, threads);
      pb = j == 1 ? halve(b.data(), w, h, threads) : halve(pb.data(), w, h, threads);
      w = (w + 1) / 2;
      h = (h + 1) / 2;
      means = ssim_planes(pa.data(), pb.data(), w, h, data_range, nullptr, threads);
    }
    const double term = j == scales - 1 ? means.ssim : means.cs;
    value *= std::pow(std::max(term, 0.0), ms_ssim_exponent(j, scales));
  }
  return value;
}

// ----- gmsd -----

// As the authors' GMSD.m, on samples scaled to 0..255: conv2(Y, ones(2) / 4, 'same') (zero beyond the last
// row and column) and every second sample, Prewitt gradients / 3 (conv2 'same', zero padded), the GMS map
// with T = 170 and its standard deviation (N - 1 denominator, as std2).
double gmsd(const Image& a, const Image& b, const Params& params, double data_range, Image* map, int threads) {
  require_metric_size("gmsd", a.width(), a.height(), params);
  const int w = a.width(), h = a.height();
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  const int pw = cw + 2;  // the downsampled images with one zero sample around them
  const double scale = 255.0 / data_range;
  Buffer<double> da(static_cast<size_t>(pw) * (ch + 2), 0.0), db(da.size(), 0.0);
  const auto downsample = [&](const Image& in, double* out, int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      for (int x = 0; x < cw; ++x) out[static_cast<size_t>(y + 1) * pw + x + 1] = forward_mean2(in.data(), w, h, x, y, scale);
    }
  };
  parallel_for(ch, threads, [&](int y0, int y1) {
    downsample(a, da.data(), y0, y1);
    downsample(b, db.data(), y0, y1);
  });
  Buffer<double> gms(static_cast<size_t>(cw) * ch);
  std::vector<double> row_sum(ch, 0.0);
  parallel_for(ch, threads, [&](int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      double sum = 0.0;
      for (int x = 0; x < cw; ++x) {
        const size_t i = static_cast<size_t>(y + 1) * pw + x + 1;
        const double g = gms_pixel(gmsd_magnitude(da.data(), i, pw), gmsd_magnitude(db.data(), i, pw));
        gms[static_cast<size_t>(y) * cw + x] = g;
        sum += g;
      }
      row_sum[y] = sum;
    }
  });
  const double n = static_cast<double>(cw) * ch;
  const double mean = std::accumulate(row_sum.begin(), row_sum.end(), 0.0) / n;
  parallel_for(ch, threads, [&](int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      double sum = 0.0;
      for (int x = 0; x < cw; ++x) {
        const double d = gms[static_cast<size_t>(y) * cw + x] - mean;
        sum += d * d;
      }
      row_sum[y] = sum;
    }
  });
  if (map) {
    Image coarse = Image::allocate(cw, ch, 1);
    for (size_t i = 0; i < gms.size(); ++i) coarse.data()[i] = static_cast<float>(gms[i]);
    repeat_to(coarse, 2, *map);
  }
  if (n < 2) return 0.0;  // one GMS sample: MATLAB's std2 gives 0
  return std::sqrt(std::accumulate(row_sum.begin(), row_sum.end(), 0.0) / (n - 1.0));
}

}  // namespace

void register_structural_metrics(MetricFunctions& metrics) {
  metrics["mse"] = mse;
  metrics["psnr"] = psnr;
  metrics["ssim"] = ssim;
  metrics["ms_ssim"] = ms_ssim;
  metrics["gmsd"] = gmsd;
}

}  // namespace medpsim::detail
