// haarpsi and vif on the device, following src/metrics_hvs.cpp step by step: one thread per output sample
// doing what the CPU's loops do for that sample in the same order (zero padding terms included), the same
// windows (computed by the CPU's vif_window) and per-pixel formulas (metric_setup.hpp). Only the final sums
// run in another order, and exp / log / log10 may differ from the host's by an ulp.
#include <algorithm>
#include <cmath>

#include "metrics.cuh"

namespace medpsim {
namespace cuda {
namespace {

// ----- haarpsi -----

__global__ void haar_subsample(const float* in, int w, int h, double scale, double* out) {
  const int sw = (w + 1) / 2, sh = (h + 1) / 2;
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(sw) * sh) {
    out[i] = detail::forward_mean2(in, w, h, static_cast<int>(i % sw), static_cast<int>(i / sw), scale);
  }
}

// Along rows, for half-length hl, the box sum and the sign sum (plus up to x, minus beyond) over
// t in [x - hl + 1, x + hl], zero outside; for the reference and the distorted plane at once.
__global__ void haar_rows(const double* ref, const double* dist, int w, int h, int hl, double* box_r, double* sign_r, double* box_d,
                          double* sign_d) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(w) * h) {
    const int x = static_cast<int>(i % w);
    const size_t row = i - x;
    const auto at = [&](const double* p, int t) { return t >= 0 && t < w ? p[row + t] : 0.0; };
    double sr = 0.0, sd = 0.0, br = 0.0, bd = 0.0;
    for (int j = 0; j < hl; ++j) {
      sr += at(ref, x + 1 + j - hl);
      sd += at(dist, x + 1 + j - hl);
    }
    for (int j = hl; j < 2 * hl; ++j) {
      sr -= at(ref, x + 1 + j - hl);
      sd -= at(dist, x + 1 + j - hl);
    }
    for (int j = 0; j < 2 * hl; ++j) {
      br += at(ref, x + 1 + j - hl);
      bd += at(dist, x + 1 + j - hl);
    }
    box_r[i] = br;
    sign_r[i] = sr;
    box_d[i] = bd;
    sign_d[i] = sd;
  }
}

// Along columns: orientation 0 is the sign along y of the row boxes, 1 the box along y of the row signs;
// scales 1 and 2 add their local similarity to ls, scale 3 sets the weights.
__global__ void haar_columns(const double* box_r, const double* sign_r, const double* box_d, const double* sign_d, int w, int h,
                             int hl, double norm, bool last, double* ls0, double* ls1, double* weight0, double* weight1) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(w) * h) {
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    double c0r = 0.0, c0d = 0.0, c1r = 0.0, c1d = 0.0;
    for (int t = max(0, y - hl + 1); t <= min(h - 1, y + hl); ++t) {
      const size_t p = static_cast<size_t>(t) * w + x;
      const double sy = t <= y ? 1.0 : -1.0;
      c0r += sy * box_r[p];
      c0d += sy * box_d[p];
      c1r += sign_r[p];
      c1d += sign_d[p];
    }
    const double cr[2] = {c0r, c1r}, cd[2] = {c0d, c1d};
    double* ls[2] = {ls0, ls1};
    double* weight[2] = {weight0, weight1};
    for (int o = 0; o < 2; ++o) {
      const double p = fabs(cr[o] * norm), q = fabs(cd[o] * norm);
      if (!last) ls[o][i] += detail::haar_similarity(p, q);
      else weight[o][i] = p < q ? q : p;  // std::max(p, q)
    }
  }
}

// The pooling terms per pixel and the map's coarse value (1 where the images agree).
__global__ void haar_pool(const double* ls0, const double* ls1, const double* weight0, const double* weight1, size_t n, double* num,
                          double* den, double* plain, double* coarse) {
  MEDPSIM_GRID_STRIDE(i, n) {
    const double s0 = detail::haar_sigmoid(ls0[i] / 2), s1 = detail::haar_sigmoid(ls1[i] / 2);
    const double w0 = weight0[i], w1 = weight1[i];
    num[i] = s0 * w0 + s1 * w1;
    den[i] = w0 + w1;
    plain[i] = s0 + s1;
    if (coarse) {
      const double local = w0 + w1 > 0 ? (s0 * w0 + s1 * w1) / (w0 + w1) : (s0 + s1) / 2;
      coarse[i] = pow(detail::haar_logit(local), 2);
    }
  }
}

double haarpsi(const MetricJob& job, const Params&) {
  const int w = (job.w + 1) / 2, h = (job.h + 1) / 2;
  const size_t n = static_cast<size_t>(w) * h;
  const unsigned blocks = blocks_for(n);
  DeviceBuffer<double> ref(n), dist(n), box_r(n), sign_r(n), box_d(n), sign_d(n), ls0(n), ls1(n), weight0(n), weight1(n);
  haar_subsample<<<blocks, kBlock>>>(job.a, job.w, job.h, 255.0 / job.data_range, ref.get());
  MEDPSIM_CUDA_LAUNCHED("haar_subsample");
  haar_subsample<<<blocks, kBlock>>>(job.b, job.w, job.h, 255.0 / job.data_range, dist.get());
  MEDPSIM_CUDA_LAUNCHED("haar_subsample");
  check(cudaMemset(ls0.get(), 0, n * sizeof(double)), "cudaMemset");
  check(cudaMemset(ls1.get(), 0, n * sizeof(double)), "cudaMemset");
  for (int k = 1; k <= kHaarScales; ++k) {
    const int hl = 1 << (k - 1);
    haar_rows<<<blocks, kBlock>>>(ref.get(), dist.get(), w, h, hl, box_r.get(), sign_r.get(), box_d.get(), sign_d.get());
    MEDPSIM_CUDA_LAUNCHED("haar_rows");
    haar_columns<<<blocks, kBlock>>>(box_r.get(), sign_r.get(), box_d.get(), sign_d.get(), w, h, hl, std::ldexp(1.0, -k),
                                     k == kHaarScales, ls0.get(), ls1.get(), weight0.get(), weight1.get());
    MEDPSIM_CUDA_LAUNCHED("haar_columns");
  }
  // The row planes are free again: they hold the pooling terms.
  double *num = box_r.get(), *den = sign_r.get(), *plain = box_d.get(), *coarse = job.map ? sign_d.get() : nullptr;
  haar_pool<<<blocks, kBlock>>>(ls0.get(), ls1.get(), weight0.get(), weight1.get(), n, num, den, plain, coarse);
  MEDPSIM_CUDA_LAUNCHED("haar_pool");
  if (job.map) repeat_to_map(coarse, w, h, 2, job.map, job.w, job.h);
  const std::vector<double> sums = device_sums({num, den, plain}, n);
  const double pooled = sums[1] > 0 ? sums[0] / sums[1] : sums[2] / (2.0 * n);
  return std::pow(detail::haar_logit(pooled), 2);
}

// ----- vif -----

constexpr int kMaxTaps = 17;  // vif_taps(1)

struct VifWindow {
  double w[kMaxTaps];
  int taps;
};

VifWindow vif_device_window(int scale) {
  const std::vector<double> host = detail::vif_window(detail::vif_taps(scale));
  VifWindow win{};
  win.taps = static_cast<int>(host.size());
  std::copy(host.begin(), host.end(), win.w);
  return win;
}

__global__ void scaled_plane(const float* in, size_t n, double scale, double* out) {
  MEDPSIM_GRID_STRIDE(i, n) out[i] = static_cast<double>(in[i]) * scale;
}

// filter2(win, in, 'valid') at even rows and columns, as two passes: the columns (taps rows from 2y) ...
__global__ void vif_filter_columns(const double* in, int w, int oh, VifWindow win, double* col) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(w) * oh) {
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    double sum = 0.0;
    for (int k = 0; k < win.taps; ++k) sum += win.w[k] * in[static_cast<size_t>(2 * y + k) * w + x];
    col[i] = sum;
  }
}

// ... then every second column of those.
__global__ void vif_filter_rows(const double* col, int w, int ow, int oh, VifWindow win, double* out) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(ow) * oh) {
    const int x = static_cast<int>(i % ow), y = static_cast<int>(i / ow);
    const double* c = col + static_cast<size_t>(y) * w + 2 * x;
    double sum = 0.0;
    for (int k = 0; k < win.taps; ++k) sum += win.w[k] * c[k];
    out[i] = sum;
  }
}

// The vertical sums of the five moments over the valid rows, symmetric taps paired (the middle one with
// itself at half weight), into five w x oh planes.
__global__ void vif_moment_columns(const double* ref, const double* dist, int w, int oh, VifWindow win, double* col) {
  const size_t n = static_cast<size_t>(w) * oh;
  const int half = win.taps / 2;
  MEDPSIM_GRID_STRIDE(i, n) {
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    double c[5] = {0.0, 0.0, 0.0, 0.0, 0.0};
    for (int k = 0; k <= half; ++k) {
      const double wk = k == half ? win.w[k] / 2 : win.w[k];
      const size_t p = static_cast<size_t>(y + k) * w + x, p2 = static_cast<size_t>(y + win.taps - 1 - k) * w + x;
      const double r = ref[p], d = dist[p], r2 = ref[p2], d2 = dist[p2];
      c[0] += wk * (r + r2);
      c[1] += wk * (d + d2);
      c[2] += wk * (r * r + r2 * r2);
      c[3] += wk * (d * d + d2 * d2);
      c[4] += wk * (r * d + r2 * d2);
    }
    for (int q = 0; q < 5; ++q) col[q * n + i] = c[q];
  }
}

// The horizontal sums, the information terms per valid pixel and (scale 1) their ratio.
__global__ void vif_terms(const double* col, int w, int ow, int oh, VifWindow win, double* num, double* den, float* ratio) {
  const size_t n = static_cast<size_t>(w) * oh;
  const int half = win.taps / 2;
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(ow) * oh) {
    const int x = static_cast<int>(i % ow), y = static_cast<int>(i / ow);
    double m[5];
    for (int q = 0; q < 5; ++q) {
      const double* c = col + q * n + static_cast<size_t>(y) * w + x;
      m[q] = 0.0;
      for (int k = 0; k <= half; ++k) {
        const double wk = k == half ? win.w[k] / 2 : win.w[k];
        m[q] += wk * (c[k] + c[win.taps - 1 - k]);
      }
    }
    double n_px, d_px;
    detail::vif_pixel(m[0], m[1], m[2], m[3], m[4], n_px, d_px);
    num[i] = n_px;
    den[i] = d_px;
    if (ratio) ratio[i] = d_px > 0 ? static_cast<float>(n_px / d_px) : 1.0f;
  }
}

// The finest scale's valid region (vw x vh) centred in the map (offset `margin`), its edge pixels repeated outwards.
__global__ void vif_map(const float* ratio, int vw, int vh, int margin, float* map, int w, int h) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(w) * h) {
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    const int vy = min(max(y - margin, 0), vh - 1), vx = min(max(x - margin, 0), vw - 1);
    map[i] = ratio[static_cast<size_t>(vy) * vw + vx];
  }
}

double vif(const MetricJob& job, const Params&) {
  int w = job.w, h = job.h;
  const size_t full = job.plane();
  const double scale = 255.0 / job.data_range;
  // Planes sized for scale 1, reused by the smaller scales: the images (and their filtered copies, in turn),
  // the filter's column pass, the five moment columns, the information terms.
  DeviceBuffer<double> ref[2] = {DeviceBuffer<double>(full), DeviceBuffer<double>(full)};
  DeviceBuffer<double> dist[2] = {DeviceBuffer<double>(full), DeviceBuffer<double>(full)};
  DeviceBuffer<double> filter_col(full), moment_col(5 * full), num(full), den(full);
  DeviceBuffer<float> ratio(job.map ? full : 0);
  scaled_plane<<<blocks_for(full), kBlock>>>(job.a, full, scale, ref[0].get());
  MEDPSIM_CUDA_LAUNCHED("scaled_plane");
  scaled_plane<<<blocks_for(full), kBlock>>>(job.b, full, scale, dist[0].get());
  MEDPSIM_CUDA_LAUNCHED("scaled_plane");
  double sum_num = 0.0, sum_den = 0.0;
  int current = 0;
  for (int s = 1; s <= kVifScales; ++s) {
    const VifWindow win = vif_device_window(s);
    if (s > 1) {
      const int ow = (w - win.taps + 2) / 2, oh = (h - win.taps + 2) / 2;
      for (DeviceBuffer<double>* planes : {ref, dist}) {
        vif_filter_columns<<<blocks_for(static_cast<size_t>(w) * oh), kBlock>>>(planes[current].get(), w, oh, win, filter_col.get());
        MEDPSIM_CUDA_LAUNCHED("vif_filter_columns");
        vif_filter_rows<<<blocks_for(static_cast<size_t>(ow) * oh), kBlock>>>(filter_col.get(), w, ow, oh, win, planes[1 - current].get());
        MEDPSIM_CUDA_LAUNCHED("vif_filter_rows");
      }
      current = 1 - current;
      w = ow;
      h = oh;
    }
    const int ow = w - win.taps + 1, oh = h - win.taps + 1;
    const size_t valid = static_cast<size_t>(ow) * oh;
    vif_moment_columns<<<blocks_for(static_cast<size_t>(w) * oh), kBlock>>>(ref[current].get(), dist[current].get(), w, oh, win,
                                                                           moment_col.get());
    MEDPSIM_CUDA_LAUNCHED("vif_moment_columns");
    float* scale_ratio = s == 1 && job.map ? ratio.get() : nullptr;
    vif_terms<<<blocks_for(valid), kBlock>>>(moment_col.get(), w, ow, oh, win, num.get(), den.get(), scale_ratio);
    MEDPSIM_CUDA_LAUNCHED("vif_terms");
    if (scale_ratio) {
      // The finest scale's (w - 16) x (h - 16) valid region, centred in the map.
      const int margin = 8;
      vif_map<<<blocks_for(full), kBlock>>>(scale_ratio, ow, oh, margin, job.map, job.w, job.h);
      MEDPSIM_CUDA_LAUNCHED("vif_map");
    }
    const std::vector<double> sums = device_sums({num.get(), den.get()}, valid);
    sum_num += sums[0];
    sum_den += sums[1];
  }
  // den = 0: the reference is flat at every scale; identical images keep all the information (1), others none.
  if (sum_den == 0) return device_equal(job.a, job.b, full) ? 1.0 : 0.0;
  return sum_num / sum_den;
}

}  // namespace

void register_metrics_hvs(std::vector<CudaMetric>& m) {
  m.push_back({"haarpsi", haarpsi});
  m.push_back({"vif", vif});
}

}  // namespace cuda
}  // namespace medpsim
