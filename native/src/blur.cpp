// Blur kinds.
#include <algorithm>
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

// Bilateral filter over the (2r + 1)^2 square window, r = ceil(2 sigma_spatial), borders reflect-101: the
// weight of a tap is exp(-(dx^2 + dy^2) / (2 ss^2) - d^2 / (2 sr^2)) with d^2 the squared difference summed
// over all channels (colour edges are kept without fringes), one exp_nonpositive per tap. Taps dy-major then
// dx, products and sums in float in that order (the CUDA kernel adds the same terms in the same order).
//
// One output row: per window row the source rows are padded once, then each tap runs along the row, which
// vectorises (AVX2 when the CPU has it: the same operations, the same bits).
template <int C>
MEDPSIM_VECTOR_CLONES void bilateral_row(const float* const* planes, int w, int h, int y, int r, const float* spatial, float range,
                                         float* padded, float* acc, float* norm, float* const* out) {
  const int span = w + 2 * r;
  std::fill(norm, norm + w, 0.0f);
  std::fill(acc, acc + C * w, 0.0f);
  const float* centre[C];
  for (int c = 0; c < C; ++c) centre[c] = planes[c] + static_cast<size_t>(y) * w;
  for (int dy = -r; dy <= r; ++dy) {
    const size_t row = static_cast<size_t>(reflect101(y + dy, h)) * w;
    for (int c = 0; c < C; ++c) {
      for (int i = 0; i < span; ++i) padded[c * span + i] = planes[c][row + reflect101(i - r, w)];
    }
    for (int dx = -r; dx <= r; ++dx) {
      const float s = spatial[(dy + r) * (2 * r + 1) + dx + r];
      const float* q[C];
      for (int c = 0; c < C; ++c) q[c] = padded + c * span + r + dx;
      for (int x = 0; x < w; ++x) {
        float d2 = 0.0f;
        for (int c = 0; c < C; ++c) {
          const float d = q[c][x] - centre[c][x];
          d2 += d * d;
        }
        const float weight = exp_nonpositive(range * d2 + s);
        norm[x] += weight;
        for (int c = 0; c < C; ++c) acc[c * w + x] += weight * q[c][x];
      }
    }
  }
  for (int c = 0; c < C; ++c) {
    for (int x = 0; x < w; ++x) out[c][static_cast<size_t>(y) * w + x] = clamp01(acc[c * w + x] / norm[x]);
  }
}

template <int C>
void bilateral_planes(const Image& in, Image& out, int r, const std::vector<float>& spatial, float range, int threads) {
  const int w = in.width(), h = in.height();
  const float* planes[C];
  float* outs[C];
  for (int c = 0; c < C; ++c) {
    planes[c] = in.plane(c);
    outs[c] = out.plane(c);
  }
  parallel_for(h, threads, [&](int y0, int y1) {
    std::vector<float> padded(static_cast<size_t>(C) * (w + 2 * r)), acc(static_cast<size_t>(C) * w), norm(w);
    for (int y = y0; y < y1; ++y) bilateral_row<C>(planes, w, h, y, r, spatial.data(), range, padded.data(), acc.data(), norm.data(), outs);
  });
}

void bilateral(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double ss = p.at("sigma_spatial"), sr = p.at("sigma_range");
  if (ss == 0.0 || sr == 0.0) return copy_image(in, out);  // a window of one tap, or range weight 0 elsewhere
  const int r = static_cast<int>(std::ceil(2.0 * ss));
  const std::vector<float> spatial = bilateral_spatial(r, ss);
  const float range = static_cast<float>(-0.5 / (sr * sr));
  if (in.channels() == 1) bilateral_planes<1>(in, out, r, spatial, range, threads);
  else bilateral_planes<3>(in, out, r, spatial, range, threads);
}

}  // namespace

std::vector<float> bilateral_spatial(int r, double sigma_spatial) {
  std::vector<float> exponent(static_cast<size_t>(2 * r + 1) * (2 * r + 1));
  for (int dy = -r; dy <= r; ++dy) {
    for (int dx = -r; dx <= r; ++dx) exponent[(dy + r) * (2 * r + 1) + dx + r] = static_cast<float>(-0.5 * (dx * dx + dy * dy) / (sigma_spatial * sigma_spatial));
  }
  return exponent;
}

void register_blur(KernelFunctions& k) {
  k["gaussian_blur"] = gaussian_blur;
  k["bilateral"] = bilateral;
}

}  // namespace detail
}  // namespace medpsim
