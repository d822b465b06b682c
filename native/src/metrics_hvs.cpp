// Metrics modelled on the visual system: haarpsi and vif (settings: src/metrics/catalog.ts), each as its
// authors' reference code computes it, in double on samples scaled to 0..255. Reductions go through per-row
// partial sums added in row order, so the thread count never changes a bit.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "medpsim/metric_setup.hpp"
#include "medpsim/metrics.hpp"

namespace medpsim::detail {

std::vector<double> vif_window(int taps) {
  const double sigma = taps / 5.0, half = (taps - 1) / 2.0;
  std::vector<double> g(taps);
  for (int i = 0; i < taps; ++i) g[i] = std::exp(-(i - half) * (i - half) / (2 * sigma * sigma));
  const double sum = std::accumulate(g.begin(), g.end(), 0.0);
  for (double& v : g) v /= sum;
  return g;
}

namespace {

using Plane = Buffer<double>;  // row-major, one image-sized array

bool identical(const Image& a, const Image& b) { return std::equal(a.data(), a.data() + a.size(), b.data()); }

// ----- haarpsi -----
// haarpsi.m (greyscale, preprocessing on): conv2(img, ones(2, 2) / 4, 'same') and every second sample, then
// for k = 1..3 conv2 with the 2^k x 2^k Haar filter 2^-k [-1 (top half); +1 (bottom half)] and its transpose.
// conv2 'same' of a kernel of even length n = 2h keeps full-convolution samples h.. (MATLAB's alignment):
//   out[i] = sum_j ker[j] in[i + h - j], zero outside,
// so the filters are rank-1 products of two 1-D filters over t in [i - h + 1, i + h]:
//   box:  sum of in[t];   sign: sum over t <= i minus sum over t > i (ker[j] = -1 for j < h).

double sigmoid(double x) { return haar_sigmoid(x); }
double logit(double x) { return haar_logit(x); }

// Scaled 2 x 2 forward mean (zero beyond the last row and column) at even positions: ceil(w/2) x ceil(h/2).
void haar_subsample(const Image& in, double scale, Plane& out, int threads) {
  const int w = in.width(), h = in.height(), sw = (w + 1) / 2, sh = (h + 1) / 2;
  out.assign(static_cast<size_t>(sw) * sh, 0.0);
  parallel_for(sh, threads, [&](int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      for (int x = 0; x < sw; ++x) out[static_cast<size_t>(y) * sw + x] = forward_mean2(in.data(), w, h, x, y, scale);
    }
  });
}

// Along rows, for half-length hl: box[i] and sign[i] of `in` (w x h).
void haar_rows(const Plane& in, int w, int h, int hl, Plane& box, Plane& sign, int threads) {
  box.assign(in.size(), 0.0);
  sign.assign(in.size(), 0.0);
  parallel_for(h, threads, [&](int y0, int y1) {
    std::vector<double> pad(w + 2 * hl, 0.0);  // pad[t + hl] = in[t], zeros around
    for (int y = y0; y < y1; ++y) {
      const size_t row = static_cast<size_t>(y) * w;
      std::copy(in.begin() + row, in.begin() + row + w, pad.begin() + hl);
      double* b = box.data() + row;
      double* s = sign.data() + row;
      // t = i - hl + 1 + j: j < hl up to i (plus), j >= hl beyond i (minus).
      for (int j = 0; j < hl; ++j) {
        const double* p = pad.data() + 1 + j;
        for (int i = 0; i < w; ++i) s[i] += p[i];
      }
      for (int j = hl; j < 2 * hl; ++j) {
        const double* p = pad.data() + 1 + j;
        for (int i = 0; i < w; ++i) s[i] -= p[i];
      }
      for (int j = 0; j < 2 * hl; ++j) {
        const double* p = pad.data() + 1 + j;
        for (int i = 0; i < w; ++i) b[i] += p[i];
      }
    }
  });
}

double haarpsi(const Image& a, const Image& b, const Params& params, double data_range, Image* map, int threads) {
  require_metric_size("haarpsi", a.width(), a.height(), params);
  const int w = (a.width() + 1) / 2, h = (a.height() + 1) / 2;
  const size_t n = static_cast<size_t>(w) * h;
  Plane ref, dist;
  haar_subsample(a, 255.0 / data_range, ref, threads);
  haar_subsample(b, 255.0 / data_range, dist, threads);

  // Per orientation o (0: the filter's sign along y, 1: along x): ls[o] sums the local similarities of
  // scales 1 and 2, weight[o] = max(|ref|, |dist|) of scale 3.
  Plane ls[2] = {Plane(n, 0.0), Plane(n, 0.0)}, weight[2] = {Plane(n), Plane(n)};
  Plane box_r, sign_r, box_d, sign_d;
  for (int k = 1; k <= kHaarScales; ++k) {
    const int hl = 1 << (k - 1);
    const double norm = std::ldexp(1.0, -k);
    haar_rows(ref, w, h, hl, box_r, sign_r, threads);
    haar_rows(dist, w, h, hl, box_d, sign_d, threads);
    parallel_for(h, threads, [&](int y0, int y1) {
      std::vector<double> c0r(w), c0d(w), c1r(w), c1d(w);
      for (int y = y0; y < y1; ++y) {
        // Orientation 0: sign along y of the row boxes; 1: box along y of the row signs.
        std::fill(c0r.begin(), c0r.end(), 0.0);
        std::fill(c0d.begin(), c0d.end(), 0.0);
        std::fill(c1r.begin(), c1r.end(), 0.0);
        std::fill(c1d.begin(), c1d.end(), 0.0);
        for (int t = std::max(0, y - hl + 1); t <= std::min(h - 1, y + hl); ++t) {
          const size_t row = static_cast<size_t>(t) * w;
          const double sy = t <= y ? 1.0 : -1.0;
          const double *br = box_r.data() + row, *bd = box_d.data() + row;
          const double *sr = sign_r.data() + row, *sd = sign_d.data() + row;
          for (int x = 0; x < w; ++x) {
            c0r[x] += sy * br[x];
            c0d[x] += sy * bd[x];
            c1r[x] += sr[x];
            c1d[x] += sd[x];
          }
        }
        const size_t row = static_cast<size_t>(y) * w;
        const double* cr[2] = {c0r.data(), c1r.data()};
        const double* cd[2] = {c0d.data(), c1d.data()};
        for (int o = 0; o < 2; ++o) {
          double* out = (k < kHaarScales ? ls[o] : weight[o]).data() + row;
          for (int x = 0; x < w; ++x) {
            const double p = std::fabs(cr[o][x] * norm), q = std::fabs(cd[o][x] * norm);
            if (k < kHaarScales) out[x] += haar_similarity(p, q);
            else out[x] = std::max(p, q);
          }
        }
      }
    });
  }

  // Pooling: logit(sum sigmoid(ls / 2) weight / sum weight)^2, per row then in row order. Where there is no
  // weight at all (nothing but zeros in view of the coarsest filters) the two orientations count equally.
  // The map is the same pooling per pixel, so 1 where the images agree.
  std::vector<double> row_num(h, 0.0), row_den(h, 0.0), row_plain(h, 0.0);
  Image coarse;
  if (map) coarse = Image::allocate(w, h, 1);
  parallel_for(h, threads, [&](int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      double num = 0.0, den = 0.0, plain = 0.0;
      for (size_t i = static_cast<size_t>(y) * w; i < static_cast<size_t>(y + 1) * w; ++i) {
        const double s0 = sigmoid(ls[0][i] / 2), s1 = sigmoid(ls[1][i] / 2);
        const double w0 = weight[0][i], w1 = weight[1][i];
        num += s0 * w0 + s1 * w1;
        den += w0 + w1;
        plain += s0 + s1;
        if (map) {
          const double local = w0 + w1 > 0 ? (s0 * w0 + s1 * w1) / (w0 + w1) : (s0 + s1) / 2;
          coarse.data()[i] = static_cast<float>(std::pow(logit(local), 2));
        }
      }
      row_num[y] = num;
      row_den[y] = den;
      row_plain[y] = plain;
    }
  });
  if (map) repeat_to(coarse, 2, *map);
  const double num = std::accumulate(row_num.begin(), row_num.end(), 0.0);
  const double den = std::accumulate(row_den.begin(), row_den.end(), 0.0);
  const double pooled = den > 0 ? num / den : std::accumulate(row_plain.begin(), row_plain.end(), 0.0) / (2.0 * n);
  return std::pow(logit(pooled), 2);
}

// ----- vif -----
// vifp_mscale.m: for scale 1..4 a Gaussian window of N = 17, 9, 5, 3 taps (sigma N / 5; fspecial's 2-D
// window is the outer product of the normalised 1-D one), from scale 2 on the images are first filtered
// ("valid") and every second sample kept; then local means, variances and covariance ("valid"), the
// MATLAB where-rules in MATLAB's order, and sums of log10 information terms. sigma_n^2 = 2.


// A float image scaled to a double plane.
Plane scaled_plane(const Image& in, double scale) {
  Plane out(in.size());
  for (size_t i = 0; i < in.size(); ++i) out[i] = static_cast<double>(in.data()[i]) * scale;
  return out;
}

// filter2(win, in, 'valid') at even rows and columns: ceil((w - N + 1) / 2) x ceil((h - N + 1) / 2).
Plane filter_subsample(const Plane& in, int w, int h, const std::vector<double>& win, int& ow, int& oh, int threads) {
  const int taps = static_cast<int>(win.size());
  ow = (w - taps + 2) / 2;
  oh = (h - taps + 2) / 2;
  Plane out(static_cast<size_t>(ow) * oh);
  parallel_for(oh, threads, [&](int y0, int y1) {
    std::vector<double> col(w);
    for (int y = y0; y < y1; ++y) {
      std::fill(col.begin(), col.end(), 0.0);
      for (int k = 0; k < taps; ++k) {
        const double* r = in.data() + static_cast<size_t>(2 * y + k) * w;
        for (int x = 0; x < w; ++x) col[x] += win[k] * r[x];
      }
      for (int x = 0; x < ow; ++x) {
        double sum = 0.0;
        for (int k = 0; k < taps; ++k) sum += win[k] * col[2 * x + k];
        out[static_cast<size_t>(y) * ow + x] = sum;
      }
    }
  });
  return out;
}

// One scale's information sums (row by row, added in row order); `ratio`, when given, receives num / den
// per pixel of the (w - N + 1) x (h - N + 1) valid region (1 where den is 0).
void vif_scale(const Plane& ref, const Plane& dist, int w, int h, const std::vector<double>& win, double& num,
               double& den, std::vector<float>* ratio, int threads) {
  const int taps = static_cast<int>(win.size()), ow = w - taps + 1, oh = h - taps + 1;
  std::vector<double> row_num(oh, 0.0), row_den(oh, 0.0);
  if (ratio) ratio->assign(static_cast<size_t>(ow) * oh, 1.0f);
  parallel_for(oh, threads, [&](int y0, int y1) {
    // Vertical sums of the five moments, then horizontal.
    std::vector<double> col[5], mom[5];
    for (int q = 0; q < 5; ++q) {
      col[q].resize(w);
      mom[q].resize(ow);
    }
    // The window is symmetric: taps k and taps - 1 - k share a weight (the middle one, k = half, pairs with
    // itself and counts half a weight twice, which is exact).
    const int half = taps / 2;
    for (int y = y0; y < y1; ++y) {
      for (auto& c : col) std::fill(c.begin(), c.end(), 0.0);
      for (int k = 0; k <= half; ++k) {
        const double wk = k == half ? win[k] / 2 : win[k];
        const double* r = ref.data() + static_cast<size_t>(y + k) * w;
        const double* d = dist.data() + static_cast<size_t>(y + k) * w;
        const double* r2 = ref.data() + static_cast<size_t>(y + taps - 1 - k) * w;
        const double* d2 = dist.data() + static_cast<size_t>(y + taps - 1 - k) * w;
        for (int x = 0; x < w; ++x) {
          col[0][x] += wk * (r[x] + r2[x]);
          col[1][x] += wk * (d[x] + d2[x]);
          col[2][x] += wk * (r[x] * r[x] + r2[x] * r2[x]);
          col[3][x] += wk * (d[x] * d[x] + d2[x] * d2[x]);
          col[4][x] += wk * (r[x] * d[x] + r2[x] * d2[x]);
        }
      }
      for (int q = 0; q < 5; ++q) {
        std::fill(mom[q].begin(), mom[q].end(), 0.0);
        for (int k = 0; k <= half; ++k) {
          const double wk = k == half ? win[k] / 2 : win[k];
          const double *c = col[q].data() + k, *c2 = col[q].data() + taps - 1 - k;
          double* m = mom[q].data();
          for (int x = 0; x < ow; ++x) m[x] += wk * (c[x] + c2[x]);
        }
      }
      double sum_num = 0.0, sum_den = 0.0;
      for (int x = 0; x < ow; ++x) {
        double n_px, d_px;
        vif_pixel(mom[0][x], mom[1][x], mom[2][x], mom[3][x], mom[4][x], n_px, d_px);
        sum_num += n_px;
        sum_den += d_px;
        if (ratio && d_px > 0) (*ratio)[static_cast<size_t>(y) * ow + x] = static_cast<float>(n_px / d_px);
      }
      row_num[y] = sum_num;
      row_den[y] = sum_den;
    }
  });
  num += std::accumulate(row_num.begin(), row_num.end(), 0.0);
  den += std::accumulate(row_den.begin(), row_den.end(), 0.0);
}

// Images of at least 41 x 41 (require_metric_size), so that the fourth scale keeps one sample.
double vif(const Image& a, const Image& b, const Params& params, double data_range, Image* map, int threads) {
  require_metric_size("vif", a.width(), a.height(), params);
  int w = a.width(), h = a.height();
  Plane ref = scaled_plane(a, 255.0 / data_range), dist = scaled_plane(b, 255.0 / data_range);
  double num = 0.0, den = 0.0;
  std::vector<float> ratio;
  for (int scale = 1; scale <= kVifScales; ++scale) {
    const std::vector<double> win = vif_window(vif_taps(scale));
    if (scale > 1) {
      int ow = 0, oh = 0;
      ref = filter_subsample(ref, w, h, win, ow, oh, threads);
      dist = filter_subsample(dist, w, h, win, ow, oh, threads);
      w = ow;
      h = oh;
    }
    vif_scale(ref, dist, w, h, win, num, den, scale == 1 && map ? &ratio : nullptr, threads);
  }
  if (map) {
    // The finest scale's valid region, centred (offset 8), edge pixels repeated outwards.
    const int margin = 8, vw = a.width() - 2 * margin, vh = a.height() - 2 * margin;
    for (int y = 0; y < map->height(); ++y) {
      const int vy = std::clamp(y - margin, 0, vh - 1);
      for (int x = 0; x < map->width(); ++x) map->at(0, y, x) = ratio[static_cast<size_t>(vy) * vw + std::clamp(x - margin, 0, vw - 1)];
    }
  }
  // den = 0: the reference is flat at every scale, so there is no information to keep; identical images
  // keep it all (1), any other pair none (0).
  if (den == 0) return identical(a, b) ? 1.0 : 0.0;
  return num / den;
}

}  // namespace

void register_hvs_metrics(MetricFunctions& metrics) {
  metrics["haarpsi"] = haarpsi;
  metrics["vif"] = vif;
}

}  // namespace medpsim::detail
