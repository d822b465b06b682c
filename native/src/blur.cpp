// Blur kinds.
#include <cmath>

#include "medpsim/kernels.hpp"

namespace medpsim {
namespace detail {
namespace {

void gaussian_blur(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double sigma = p.at("sigma");
  if (sigma == 0.0) return copy_image(in, out);
  const std::vector<double> taps = gaussian_kernel(sigma);
  convolve_separable(in, out, taps, taps, threads);
}

// Brute-force bilateral filter over a (2r+1)^2 window, r = ceil(2 sigma_spatial). The range
// distance is taken over all channels together, so colour edges are kept without fringes.
// Cost is O(r^2) per pixel: fine at the catalog's severities (sigma_spatial <= ~0.008 x side).
void bilateral(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double ss = p.at("sigma_spatial"), sr = p.at("sigma_range");
  if (ss == 0.0 || sr == 0.0) return copy_image(in, out);  // a window of one tap, or range weight 0 elsewhere
  const int w = in.width(), h = in.height(), channels = in.channels();
  const int r = static_cast<int>(std::ceil(2.0 * ss));
  std::vector<double> spatial(static_cast<size_t>(2 * r + 1) * (2 * r + 1));
  for (int dy = -r; dy <= r; ++dy) {
    for (int dx = -r; dx <= r; ++dx) spatial[(dy + r) * (2 * r + 1) + dx + r] = std::exp(-0.5 * (dx * dx + dy * dy) / (ss * ss));
  }
  const double range_coeff = -0.5 / (sr * sr);
  parallel_for(h, threads, [&](int y0, int y1) {
    std::vector<int> xs(w + 2 * r);
    for (int i = 0; i < w + 2 * r; ++i) xs[i] = reflect101(i - r, w);
    for (int y = y0; y < y1; ++y) {
      for (int x = 0; x < w; ++x) {
        const size_t centre = static_cast<size_t>(y) * w + x;
        double acc[3] = {0, 0, 0}, norm = 0.0;
        for (int dy = -r; dy <= r; ++dy) {
          const size_t row = static_cast<size_t>(reflect101(y + dy, h)) * w;
          for (int dx = -r; dx <= r; ++dx) {
            const size_t q = row + xs[x + dx + r];
            double d2 = 0.0;
            for (int c = 0; c < channels; ++c) {
              const double d = in.plane(c)[q] - in.plane(c)[centre];
              d2 += d * d;
            }
            const double weight = spatial[(dy + r) * (2 * r + 1) + dx + r] * std::exp(range_coeff * d2);
            norm += weight;
            for (int c = 0; c < channels; ++c) acc[c] += weight * in.plane(c)[q];
          }
        }
        for (int c = 0; c < channels; ++c) out.plane(c)[centre] = clamp01(acc[c] / norm);
      }
    }
  });
}

}  // namespace

void register_blur(KernelFunctions& k) {
  k["gaussian_blur"] = gaussian_blur;
  k["bilateral"] = bilateral;
}

}  // namespace detail
}  // namespace medpsim
