// Photometric kinds: point operations on the sample values.
#include "medpsim/kernels.hpp"

namespace medpsim {
namespace detail {
namespace {

// y = clamp(x + offset[c]) over every plane, row-parallel.
void add_per_channel(const Image& in, Image& out, const double* offset, int threads) {
  const size_t w = in.width();
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    const double add = offset[c];
    parallel_for(in.height(), threads, [&](int y0, int y1) {
      clamped_map(src + y0 * w, dst + y0 * w, (y1 - y0) * w, [add](auto x) { return x + add; });
    });
  }
}

void lightness_shift(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double delta = p.at("delta");
  if (delta == 0.0) return copy_image(in, out);
  const double offset[3] = {delta, delta, delta};
  add_per_channel(in, out, offset, threads);
}

void color_shift(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double offset[3] = {p.at("red"), p.at("green"), p.at("blue")};
  if (offset[0] == 0.0 && offset[1] == 0.0 && offset[2] == 0.0) return copy_image(in, out);
  add_per_channel(in, out, offset, threads);
}

// Each row's sum, from x = 0 up, rows[y] for y in [y0, y1): eight rows at a time, so that eight independent
// chains of additions run side by side (one row alone waits on each addition); each row's sum the same.
MEDPSIM_VECTOR_CLONES void row_sums(const float* plane, size_t w, int y0, int y1, double* rows) {
  constexpr int kRows = 8;
  int y = y0;
  for (; y + kRows <= y1; y += kRows) {
    const float* row = plane + static_cast<size_t>(y) * w;
    double s[kRows] = {};
    for (size_t x = 0; x < w; ++x) {
      for (int r = 0; r < kRows; ++r) s[r] += row[r * w + x];
    }
    for (int r = 0; r < kRows; ++r) rows[y + r] = s[r];
  }
  for (; y < y1; ++y) {
    const float* row = plane + static_cast<size_t>(y) * w;
    double s = 0.0;
    for (size_t x = 0; x < w; ++x) s += row[x];
    rows[y] = s;
  }
}

// Mean of a plane: per-row sums in parallel, then added in row order, so it does not depend on the thread
// count.
double plane_mean(const float* plane, int w, int h, int threads) {
  std::vector<double> rows(h);
  parallel_for(h, threads, [&](int y0, int y1) { row_sums(plane, w, y0, y1, rows.data()); });
  double total = 0.0;
  for (double s : rows) total += s;
  return total / (static_cast<double>(w) * h);
}

void contrast(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double factor = p.at("factor");
  if (factor == 1.0) return copy_image(in, out);
  const int w = in.width();
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    const double m = plane_mean(src, w, in.height(), threads);
    parallel_for(in.height(), threads, [&](int y0, int y1) {
      const size_t begin = static_cast<size_t>(y0) * w;
      clamped_map(src + begin, dst + begin, static_cast<size_t>(y1 - y0) * w, [m, factor](auto x) { return m + factor * (x - m); });
    });
  }
}

// One span of pixels, four at a time in double lanes (AVX2 when the CPU has it: the same operations, the same bits).
MEDPSIM_VECTOR_CLONES void saturation_span(const float* __restrict r, const float* __restrict g, const float* __restrict b, float* __restrict ro,
                                           float* __restrict go, float* __restrict bo, size_t n, double factor) {
  const auto saturate = [factor](auto red, auto green, auto blue, float* out_r, float* out_g, float* out_b) {
    const auto luma = 0.2126 * red + 0.7152 * green + 0.0722 * blue;  // Rec. 709
    store_clamped(out_r, luma + factor * (red - luma));
    store_clamped(out_g, luma + factor * (green - luma));
    store_clamped(out_b, luma + factor * (blue - luma));
  };
  size_t i = 0;
  for (; i + 4 <= n; i += 4) saturate(load_double4(r + i), load_double4(g + i), load_double4(b + i), ro + i, go + i, bo + i);
  for (; i < n; ++i) saturate(static_cast<double>(r[i]), static_cast<double>(g[i]), static_cast<double>(b[i]), ro + i, go + i, bo + i);
}

void saturation(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double factor = p.at("factor");
  if (factor == 1.0) return copy_image(in, out);
  const size_t w = in.width();
  const float *r = in.plane(0), *g = in.plane(1), *b = in.plane(2);
  float *ro = out.plane(0), *go = out.plane(1), *bo = out.plane(2);
  parallel_for(in.height(), threads, [&](int y0, int y1) {
    const size_t i = y0 * w, n = (y1 - y0) * w;
    saturation_span(r + i, g + i, b + i, ro + i, go + i, bo + i, n, factor);
  });
}

}  // namespace

void register_photometric(KernelFunctions& k) {
  k["lightness_shift"] = lightness_shift;
  k["color_shift"] = color_shift;
  k["contrast"] = contrast;
  k["saturation"] = saturation;
}

}  // namespace detail
}  // namespace medpsim
