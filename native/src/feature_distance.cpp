// The LPIPS-style feature distance (medpsim/feature_distance.hpp). The maps are channel-major, so both
// passes go channel by channel over contiguous planes, with per-pixel running values in scratch arrays:
// first the squared norms, then the weighted squared differences. Each pixel's channels are added in
// channel order, as the per-pixel formula does; only the final sum over pixels is ordered differently.
#include "medpsim/feature_distance.hpp"

#include <algorithm>
#include <cmath>

#include "medpsim/buffer_pool.hpp"
#include "medpsim/metrics.hpp"  // MEDPSIM_VECTOR_CLONES

namespace medpsim {
namespace {

// na[p] += a[p]², nb[p] += b[p]² for one channel's planes. Double: the norms of layers with thousands of
// channels would lose ~1e-5 (relative) summed in float.
MEDPSIM_VECTOR_CLONES void add_squares(const float* __restrict a, const float* __restrict b, double* __restrict na,
                                       double* __restrict nb, size_t pixels) {
  for (size_t p = 0; p < pixels; ++p) {
    const double x = a[p], y = b[p];
    na[p] += x * x;
    nb[p] += y * y;
  }
}

// sum[p] += w (a[p] sa[p] - b[p] sb[p])² for one channel's planes. Double: for close images the difference
// cancels most of the normalised values, and float would leave it a few digits only.
MEDPSIM_VECTOR_CLONES void add_weighted_squared_differences(const float* __restrict a, const float* __restrict b,
                                                            const double* __restrict sa, const double* __restrict sb,
                                                            double w, double* __restrict sum, size_t pixels) {
  for (size_t p = 0; p < pixels; ++p) {
    const double d = a[p] * sa[p] - b[p] * sb[p];
    sum[p] += w * d * d;
  }
}

// The norms' reciprocals, in place: 1 / (sqrt(n) + 1e-10).
MEDPSIM_VECTOR_CLONES void inverse_norms(double* __restrict n, size_t pixels) {
  for (size_t p = 0; p < pixels; ++p) n[p] = 1.0 / (std::sqrt(n[p]) + 1e-10);
}

}  // namespace

double feature_distance(const std::vector<FeatureLayer>& layers) {
  size_t most = 0;
  for (const FeatureLayer& layer : layers) most = std::max(most, layer.pixels);
  // Pooled scratch: a fresh multi-hundred-KiB block costs page faults on every call (buffer_pool.hpp).
  detail::Buffer<double> scratch(3 * most);
  double total = 0.0;
  for (const FeatureLayer& layer : layers) {
    const size_t pixels = layer.pixels;
    double* sa = scratch.data();
    double* sb = sa + pixels;
    double* sum = sb + pixels;
    std::fill(sa, sa + 3 * pixels, 0.0);
    for (size_t c = 0; c < layer.channels; ++c) add_squares(layer.a + c * pixels, layer.b + c * pixels, sa, sb, pixels);
    inverse_norms(sa, pixels);
    inverse_norms(sb, pixels);
    for (size_t c = 0; c < layer.channels; ++c) {
      const double w = layer.weights ? layer.weights[c] : 1.0;
      add_weighted_squared_differences(layer.a + c * pixels, layer.b + c * pixels, sa, sb, w, sum, pixels);
    }
    double layer_sum = 0.0;
    for (size_t p = 0; p < pixels; ++p) layer_sum += sum[p];
    total += layer_sum / static_cast<double>(pixels);
  }
  return total;
}

}  // namespace medpsim
