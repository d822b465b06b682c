// mse, psnr, ssim, ms_ssim, gmsd on the device, following src/metrics_structural.cpp step by step: the same
// taps and constants (metric_setup.hpp), the same accumulation order per pixel (so the moments, S and the
// GMS map match the CPU's to the bit); only the final sums run in another order.
#include <algorithm>
#include <cmath>
#include <limits>

#include "metrics.cuh"

namespace medpsim {
namespace cuda {
namespace {

// ----- mse, psnr -----

// Per pixel the squared error summed over channels (the CPU's order); map: its mean over the channels.
__global__ void squared_error(MetricJob job, double* error) {
  const size_t plane = job.plane();
  MEDPSIM_GRID_STRIDE(i, plane) {
    double e = 0.0;
    for (int c = 0; c < job.channels; ++c) {
      const double d = static_cast<double>(job.a[c * plane + i]) - job.b[c * plane + i];
      e += d * d;
    }
    error[i] = e;
    if (job.map) job.map[i] = static_cast<float>(e / job.channels);
  }
}

double mean_squared_error(const MetricJob& job) {
  DeviceBuffer<double> error(job.plane());
  squared_error<<<blocks_for(job.plane()), kBlock>>>(job, error.get());
  MEDPSIM_CUDA_LAUNCHED("squared_error");
  return device_sums({error.get()}, job.plane())[0] / static_cast<double>(job.plane() * job.channels);
}

double mse(const MetricJob& job, const Params&) { return mean_squared_error(job); }

double psnr(const MetricJob& job, const Params&) {
  const double error = mean_squared_error(job);
  if (error == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(job.data_range * job.data_range / error);
}

// ----- ssim, ms_ssim -----

struct SsimTaps {
  double t[kSsimRadius + 1];
};

SsimTaps ssim_device_taps() {
  const std::array<double, kSsimRadius + 1> host = detail::ssim_taps();
  SsimTaps taps;
  for (int k = 0; k <= kSsimRadius; ++k) taps.t[k] = host[k];
  return taps;
}

// The vertical pass of the five moments (x, y, xx, xy, yy planes of `moments`): centre tap first, then the
// pairs from the outside in, as scipy.ndimage and the CPU add them.
template <typename T>
__global__ void ssim_vertical(const T* a, const T* b, int w, int h, SsimTaps taps, double* moments) {
  const size_t n = static_cast<size_t>(w) * h;
  MEDPSIM_GRID_STRIDE(i, n) {
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    const double va = a[i], vb = b[i], t0 = taps.t[0];
    double mx = va * t0, my = vb * t0, mxx = (va * va) * t0, mxy = (va * vb) * t0, myy = (vb * vb) * t0;
    for (int k = kSsimRadius; k >= 1; --k) {
      const size_t i0 = static_cast<size_t>(detail::ssim_reflect(y - k, h)) * w + x;
      const size_t i1 = static_cast<size_t>(detail::ssim_reflect(y + k, h)) * w + x;
      const double p0 = a[i0], p1 = a[i1], q0 = b[i0], q1 = b[i1], tk = taps.t[k];
      mx += (p0 + p1) * tk;
      my += (q0 + q1) * tk;
      mxx += (p0 * p0 + p1 * p1) * tk;
      mxy += (p0 * q0 + p1 * q1) * tk;
      myy += (q0 * q0 + q1 * q1) * tk;
    }
    moments[i] = mx;
    moments[n + i] = my;
    moments[2 * n + i] = mxx;
    moments[3 * n + i] = mxy;
    moments[4 * n + i] = myy;
  }
}

// The horizontal pass and S; s_in and cs_in get S and CS over the interior (whole windows inside), 0 elsewhere.
__global__ void ssim_horizontal(const double* moments, int w, int h, SsimTaps taps, double c1, double c2, float* map, double* s_in,
                                double* cs_in) {
  const size_t n = static_cast<size_t>(w) * h;
  MEDPSIM_GRID_STRIDE(i, n) {
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    const size_t row = i - x;
    double u[5];
    for (int q = 0; q < 5; ++q) u[q] = moments[q * n + i] * taps.t[0];
    for (int k = kSsimRadius; k >= 1; --k) {
      const size_t left = row + detail::ssim_reflect(x - k, w), right = row + detail::ssim_reflect(x + k, w);
      for (int q = 0; q < 5; ++q) u[q] += (moments[q * n + left] + moments[q * n + right]) * taps.t[k];
    }
    double s, cs;
    detail::ssim_pixel(u[0], u[1], u[2], u[3], u[4], c1, c2, s, cs);
    if (map) map[i] = static_cast<float>(s);
    const bool interior = x >= kSsimRadius && x < w - kSsimRadius && y >= kSsimRadius && y < h - kSsimRadius;
    s_in[i] = interior ? s : 0.0;
    cs_in[i] = interior ? cs : 0.0;
  }
}

// Scratch for SSIM of planes up to n samples (reused by the MS-SSIM scales).
struct SsimScratch {
  explicit SsimScratch(size_t n) : moments(5 * n), s_in(n), cs_in(n) {}
  DeviceBuffer<double> moments, s_in, cs_in;
};

struct SsimMeans {
  double ssim, cs;  // over the interior
};

template <typename T>
SsimMeans ssim_planes(const T* a, const T* b, int w, int h, double data_range, float* map, SsimScratch& scratch) {
  const SsimTaps taps = ssim_device_taps();
  double c1, c2;
  detail::ssim_constants(data_range, c1, c2);
  const size_t n = static_cast<size_t>(w) * h;
  ssim_vertical<<<blocks_for(n), kBlock>>>(a, b, w, h, taps, scratch.moments.get());
  MEDPSIM_CUDA_LAUNCHED("ssim_vertical");
  ssim_horizontal<<<blocks_for(n), kBlock>>>(scratch.moments.get(), w, h, taps, c1, c2, map, scratch.s_in.get(), scratch.cs_in.get());
  MEDPSIM_CUDA_LAUNCHED("ssim_horizontal");
  const std::vector<double> sums = device_sums({scratch.s_in.get(), scratch.cs_in.get()}, n);
  const double count = static_cast<double>(w - 2 * kSsimRadius) * (h - 2 * kSsimRadius);
  return {sums[0] / count, sums[1] / count};
}

double ssim(const MetricJob& job, const Params&) {
  SsimScratch scratch(job.plane());
  return ssim_planes(job.a, job.b, job.w, job.h, job.data_range, job.map, scratch).ssim;
}

template <typename T>
__global__ void ms_ssim_halve(const T* in, int w, int h, double* out) {
  const int hw = (w + 1) / 2, hh = (h + 1) / 2;
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(hw) * hh) {
    out[i] = detail::ms_ssim_halve_pixel(in, w, h, static_cast<int>(i % hw), static_cast<int>(i / hw));
  }
}

template <typename T>
void halve(const T* in, int w, int h, double* out) {
  ms_ssim_halve<<<blocks_for(static_cast<size_t>((w + 1) / 2) * ((h + 1) / 2)), kBlock>>>(in, w, h, out);
  MEDPSIM_CUDA_LAUNCHED("ms_ssim_halve");
}

double ms_ssim(const MetricJob& job, const Params& params) {
  const int scales = static_cast<int>(params.at("scales"));
  int w = job.w, h = job.h;
  SsimScratch scratch(job.plane());
  // Two halved planes per image, written in turn (scale j reads what scale j - 1 wrote).
  const size_t half = static_cast<size_t>((w + 1) / 2) * ((h + 1) / 2);
  DeviceBuffer<double> pa[2] = {DeviceBuffer<double>(scales > 1 ? half : 0), DeviceBuffer<double>(scales > 2 ? half : 0)};
  DeviceBuffer<double> pb[2] = {DeviceBuffer<double>(scales > 1 ? half : 0), DeviceBuffer<double>(scales > 2 ? half : 0)};
  SsimMeans means = ssim_planes(job.a, job.b, w, h, job.data_range, job.map, scratch);
  double value = 1.0;
  for (int j = 0; j < scales; ++j) {
    if (j > 0) {
      double *na = pa[(j - 1) % 2].get(), *nb = pb[(j - 1) % 2].get();
      if (j == 1) {
        halve(job.a, w, h, na);
        halve(job.b, w, h, nb);
      } else {
        halve(pa[j % 2].get(), w, h, na);
        halve(pb[j % 2].get(), w, h, nb);
      }
      w = (w + 1) / 2;
      h = (h + 1) / 2;
      means = ssim_planes(na, nb, w, h, job.data_range, static_cast<float*>(nullptr), scratch);
    }
    const double term = j == scales - 1 ? means.ssim : means.cs;
    value *= std::pow(std::max(term, 0.0), detail::ms_ssim_exponent(j, scales));
  }
  return value;
}

// ----- gmsd -----

// The scaled 2 x 2 forward means, into a plane of pitch cw + 2 with a zero border (cleared beforehand).
__global__ void gmsd_downsample(const float* in, int w, int h, double scale, double* out) {
  const int cw = (w + 1) / 2, ch = (h + 1) / 2, pw = cw + 2;
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(cw) * ch) {
    const int x = static_cast<int>(i % cw), y = static_cast<int>(i / cw);
    out[static_cast<size_t>(y + 1) * pw + x + 1] = detail::forward_mean2(in, w, h, x, y, scale);
  }
}

__global__ void gmsd_gms(const double* da, const double* db, int cw, int ch, double* gms) {
  const int pw = cw + 2;
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(cw) * ch) {
    const int x = static_cast<int>(i % cw), y = static_cast<int>(i / cw);
    const size_t p = static_cast<size_t>(y + 1) * pw + x + 1;
    gms[i] = detail::gms_pixel(detail::gmsd_magnitude(da, p, pw), detail::gmsd_magnitude(db, p, pw));
  }
}

__global__ void squared_deviation(const double* values, size_t n, double mean, double* out) {
  MEDPSIM_GRID_STRIDE(i, n) {
    const double d = values[i] - mean;
    out[i] = d * d;
  }
}

double gmsd(const MetricJob& job, const Params&) {
  const int w = job.w, h = job.h, cw = (w + 1) / 2, ch = (h + 1) / 2;
  const size_t padded = static_cast<size_t>(cw + 2) * (ch + 2), n = static_cast<size_t>(cw) * ch;
  const double scale = 255.0 / job.data_range;
  DeviceBuffer<double> da(padded), db(padded), gms(n), deviation(n);
  check(cudaMemset(da.get(), 0, padded * sizeof(double)), "cudaMemset");
  check(cudaMemset(db.get(), 0, padded * sizeof(double)), "cudaMemset");
  gmsd_downsample<<<blocks_for(n), kBlock>>>(job.a, w, h, scale, da.get());
  MEDPSIM_CUDA_LAUNCHED("gmsd_downsample");
  gmsd_downsample<<<blocks_for(n), kBlock>>>(job.b, w, h, scale, db.get());
  MEDPSIM_CUDA_LAUNCHED("gmsd_downsample");
  gmsd_gms<<<blocks_for(n), kBlock>>>(da.get(), db.get(), cw, ch, gms.get());
  MEDPSIM_CUDA_LAUNCHED("gmsd_gms");
  const double count = static_cast<double>(n);
  const double mean = device_sums({gms.get()}, n)[0] / count;
  squared_deviation<<<blocks_for(n), kBlock>>>(gms.get(), n, mean, deviation.get());
  MEDPSIM_CUDA_LAUNCHED("squared_deviation");
  if (job.map) repeat_to_map(gms.get(), cw, ch, 2, job.map, w, h);
  const double squares = device_sums({deviation.get()}, n)[0];
  if (count < 2) return 0.0;  // one GMS sample: MATLAB's std2 gives 0
  return std::sqrt(squares / (count - 1.0));
}

}  // namespace

void register_metrics_structural(std::vector<CudaMetric>& m) {
  m.push_back({"mse", mse});
  m.push_back({"psnr", psnr});
  m.push_back({"ssim", ssim});
  m.push_back({"ms_ssim", ms_ssim});
  m.push_back({"gmsd", gmsd});
}

}  // namespace cuda
}  // namespace medpsim
