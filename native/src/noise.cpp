// Additive zero-mean noise kinds. Noise is drawn independently per channel: element index =
// pixel index in the plane, stream = kind stream + channel.
#include <cmath>
#include <deque>
#include <memory>
#include <mutex>

#include "medpsim/kernels.hpp"
#include "medpsim/random.hpp"

namespace medpsim {
namespace detail {
namespace {

constexpr uint32_t kUniformStream = 0x0100, kGaussianStream = 0x0200, kColoredStream = 0x0300,
                   kCheckerboardStream = 0x0400;

// dst = clamp01(src + scale * draw(i)) over each plane (draw_span's drawN and draw1: kernels.hpp).
template <typename DrawN, typename Draw1>
void add_noise(const Image& in, Image& out, int threads, uint64_t seed, uint32_t stream, double scale, DrawN drawN, Draw1 draw1) {
  const int w = in.width();
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    const Rng rng(seed, stream + c);
    parallel_for(in.height(), threads, [&](int y0, int y1) {
      draw_span(rng, static_cast<size_t>(y0) * w, static_cast<size_t>(y1) * w, drawN, draw1,
                [&](size_t i, float noise) { dst[i] = clamp01(src[i] + scale * noise); });
    });
  }
}

void gaussian_run(const Rng& rng, uint64_t first, float* noise) { rng.gaussians(first, 0, noise); }
float gaussian_one(const Rng& rng, size_t i) { return rng.gaussian(i); }

void uniform_noise(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  const double a = p.at("amplitude");
  if (a == 0.0) return copy_image(in, out);
  // 2u - 1 is exact in float (u has 24 significant bits), so this equals the CUDA kernel's double expression.
  add_noise(
      in, out, threads, seed, kUniformStream, a,
      [](const Rng& rng, uint64_t first, float* noise) {
        rng.uniforms(first, 0, noise);
        for (int k = 0; k < 4 * Rng::kLanes; ++k) noise[k] = 2.0f * noise[k] - 1.0f;
      },
      [](const Rng& rng, size_t i) { return 2.0f * rng.uniform(i) - 1.0f; });
}

void gaussian_noise(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  const double sigma = p.at("sigma");
  if (sigma == 0.0) return copy_image(in, out);
  add_noise(in, out, threads, seed, kGaussianStream, sigma, gaussian_run, gaussian_one);
}

// The f^(-beta/2) filter of a pw x ph grid (DC 0). It depends on min(k, n - k) per axis only, so it is kept for
// (qw = pw / 2 + 1) x (ph / 2 + 1) bin pairs, one pow each; the last few tables are kept for the next calls (their
// pows cost as much as an FFT pass).
std::shared_ptr<const std::vector<double>> spectral_gains(int pw, int ph, double beta, int threads) {
  struct Entry {
    int pw, ph;
    double beta;
    std::shared_ptr<const std::vector<double>> gain;
  };
  static std::mutex mutex;
  static std::deque<Entry> recent;  // most recent first
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const Entry& e : recent) {
      if (e.pw == pw && e.ph == ph && e.beta == beta) return e.gain;
    }
  }
  const int qw = pw / 2 + 1, qh = ph / 2 + 1;
  auto gain = std::make_shared<std::vector<double>>(static_cast<size_t>(qw) * qh);
  parallel_for(qh, threads, [&](int y0, int y1) {
    for (int my = y0; my < y1; ++my) {
      const double fy = static_cast<double>(my) / ph;
      for (int mx = 0; mx < qw; ++mx) {
        const double fx = static_cast<double>(mx) / pw;
        const double f = std::sqrt(fx * fx + fy * fy);
        (*gain)[static_cast<size_t>(my) * qw + mx] = f > 0.0 ? std::pow(f, -0.5 * beta) : 0.0;
      }
    }
  });
  std::lock_guard<std::mutex> lock(mutex);
  recent.push_front({pw, ph, beta, gain});
  if (recent.size() > 4) recent.pop_back();
  return gain;
}

// Sum and sum of squares of the real parts of each row's first w values, rows [y0, y1) of a field with rows of
// `stride` values: eight rows side by side (independent chains of additions), each row's the same as alone.
MEDPSIM_VECTOR_CLONES void crop_moments(const std::complex<double>* field, size_t stride, int w, int y0, int y1, double* row_sum,
                                        double* row_sq) {
  constexpr int kRows = 8;
  int y = y0;
  for (; y + kRows <= y1; y += kRows) {
    const std::complex<double>* rows = field + static_cast<size_t>(y) * stride;
    double s[kRows] = {}, q[kRows] = {};
    for (int x = 0; x < w; ++x) {
      for (int r = 0; r < kRows; ++r) {
        const double v = rows[r * stride + x].real();
        s[r] += v;
        q[r] += v * v;
      }
    }
    for (int r = 0; r < kRows; ++r) {
      row_sum[y + r] = s[r];
      row_sq[y + r] = q[r];
    }
  }
  for (; y < y1; ++y) {
    const std::complex<double>* row = field + static_cast<size_t>(y) * stride;
    double s = 0.0, q = 0.0;
    for (int x = 0; x < w; ++x) {
      const double v = row[x].real();
      s += v;
      q += v * v;
    }
    row_sum[y] = s;
    row_sq[y] = q;
  }
}

// A w x h Gaussian field with power spectrum ~ f^-beta (f in cycles/pixel, isotropic), zero mean
// and standard deviation exactly sigma. White noise on the next power-of-two grid is filtered by
// f^(-beta/2) in the frequency domain (DC set to 0), then cropped; the crop is re-centred and
// re-scaled so mean and std are exact.
Buffer<float> colored_field(int w, int h, double sigma, double beta, uint64_t seed, uint32_t stream, int threads) {
  const int pw = next_pow2(w), ph = next_pow2(h);
  Buffer<std::complex<double>> field(static_cast<size_t>(pw) * ph);
  const Rng rng(seed, stream);
  parallel_for(ph, threads, [&](int y0, int y1) {
    draw_span(rng, static_cast<size_t>(y0) * pw, static_cast<size_t>(y1) * pw, gaussian_run, gaussian_one,
              [&](size_t i, float normal) { field[i] = normal; });
  });
  fft2(field.data(), ph, pw, false, threads);
  const int qw = pw / 2 + 1;
  const std::shared_ptr<const std::vector<double>> gain = spectral_gains(pw, ph, beta, threads);
  parallel_for(ph, threads, [&](int y0, int y1) {
    for (int ky = y0; ky < y1; ++ky) {
      const double* row = gain->data() + static_cast<size_t>(std::min(ky, ph - ky)) * qw;
      for (int kx = 0; kx < pw; ++kx) field[static_cast<size_t>(ky) * pw + kx] *= row[std::min(kx, pw - kx)];
    }
  });
  fft2(field.data(), ph, pw, true, threads);
  // Mean and variance of the crop, in a fixed order.
  std::vector<double> row_sum(h), row_sq(h);
  parallel_for(h, threads, [&](int y0, int y1) { crop_moments(field.data(), pw, w, y0, y1, row_sum.data(), row_sq.data()); });
  double mean, scale;
  colored_field_normalisation(row_sum.data(), row_sq.data(), w, h, sigma, mean, scale);
  Buffer<float> out(static_cast<size_t>(w) * h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      out[static_cast<size_t>(y) * w + x] = static_cast<float>((field[static_cast<size_t>(y) * pw + x].real() - mean) * scale);
    }
  }
  return out;
}

void add_colored(const Image& in, Image& out, double sigma, double beta, uint64_t seed, int threads) {
  if (sigma == 0.0) return copy_image(in, out);
  const int w = in.width();
  for (int c = 0; c < in.channels(); ++c) {
    const Buffer<float> noise = colored_field(w, in.height(), sigma, beta, seed, kColoredStream + c, threads);
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    parallel_for(in.height(), threads, [&](int y0, int y1) {
      for (size_t i = static_cast<size_t>(y0) * w; i < static_cast<size_t>(y1) * w; ++i) dst[i] = clamp01(static_cast<double>(src[i]) + noise[i]);
    });
  }
}

void colored_noise(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  add_colored(in, out, p.at("sigma"), p.at("beta"), seed, threads);
}
void pink_noise(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  add_colored(in, out, p.at("sigma"), 1.0, seed, threads);
}
void blue_noise(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  add_colored(in, out, p.at("sigma"), -1.0, seed, threads);
}

// The stride artefact of transposed convolutions: one period x period tile, drawn from the seed,
// made zero-mean and scaled to a peak of 1, repeated over the image (same tile in every channel,
// as the artefact comes from the shared spatial upsampling).
void checkerboard(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  const double a = p.at("amplitude");
  if (a == 0.0) return copy_image(in, out);
  const int period = static_cast<int>(p.at("period"));
  const std::vector<double> tile = checkerboard_tile(period, seed);
  const int w = in.width();
  // a * tile value for every x of each of the tile's rows, once: rows are then a plain vectorised addition.
  std::vector<double> pattern(static_cast<size_t>(period) * w);
  for (int ty = 0; ty < period; ++ty) {
    for (int x = 0; x < w; ++x) pattern[static_cast<size_t>(ty) * w + x] = a * tile[static_cast<size_t>(ty) * period + x % period];
  }
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    parallel_for(in.height(), threads, [&](int y0, int y1) {
      for (int y = y0; y < y1; ++y) {
        const double* added = pattern.data() + static_cast<size_t>(y % period) * w;
        const size_t row = static_cast<size_t>(y) * w;
        index_loop(0, w, [&](size_t x) { dst[row + x] = clamp01(src[row + x] + added[x]); });
      }
    });
  }
}

}  // namespace

// The stride artefact's tile: Gaussian draws from the seed, made zero-mean and scaled to a peak of 1.
std::vector<double> checkerboard_tile(int period, uint64_t seed) {
  std::vector<double> tile(static_cast<size_t>(period) * period);
  const Rng rng(seed, kCheckerboardStream);
  double mean = 0.0;
  for (size_t i = 0; i < tile.size(); ++i) mean += tile[i] = rng.gaussian(i);
  mean /= static_cast<double>(tile.size());
  double peak = 0.0;
  for (double& v : tile) peak = std::max(peak, std::fabs(v -= mean));
  if (peak > 0.0) {
    for (double& v : tile) v /= peak;
  }
  return tile;
}

void register_noise(KernelFunctions& k) {
  k["uniform_noise"] = uniform_noise;
  k["gaussian_noise"] = gaussian_noise;
  k["pink_noise"] = pink_noise;
  k["blue_noise"] = blue_noise;
  k["colored_noise"] = colored_noise;
  k["checkerboard"] = checkerboard;
}

}  // namespace detail
}  // namespace medpsim
