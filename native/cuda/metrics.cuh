// Shared by the CUDA metric files (metrics*.cu): the job, the table entries, device reductions and the
// map helpers. The per-pixel formulas and the host-side tables are the CPU metrics' own
// (medpsim/metric_setup.hpp).
#pragma once

#include <initializer_list>
#include <vector>

#include "common.cuh"
#include "medpsim/metric_setup.hpp"

namespace medpsim {
namespace cuda {

using detail::kHaarScales;
using detail::kPhaseOrients;
using detail::kPhaseScales;
using detail::kSsimRadius;
using detail::kVifScales;

// One metric evaluation on the device: a and b planar (`channels` planes of w x h; 1 except for the pooled
// mse and psnr), map one w x h plane or null.
struct MetricJob {
  const float* a;
  const float* b;
  int w, h, channels;
  double data_range;
  float* map;
  __host__ __device__ size_t plane() const { return static_cast<size_t>(w) * h; }
};

// Checked and size-checked by the caller (cuda_metric_device); returns the value, fills job.map when set.
using CudaMetricFn = double (*)(const MetricJob& job, const Params& params);
struct CudaMetric {
  const char* name;
  CudaMetricFn run;
};

void register_metrics_structural(std::vector<CudaMetric>& m);  // mse, psnr, ssim, ms_ssim, gmsd
void register_metrics_hvs(std::vector<CudaMetric>& m);         // haarpsi, vif
void register_metrics_phase(std::vector<CudaMetric>& m);       // fsim

// The sums of n doubles of each device array: per-block partial sums (a fixed grid, so the same order on
// every run), added on the host. One round trip for all the arrays.
std::vector<double> device_sums(std::initializer_list<const double*> arrays, size_t n);

// detail::repeat_to on the device: map (w x h) = float(coarse) with each of the cw x ch coarse pixels repeated
// factor x factor times, the last coarse row and column repeated beyond.
void repeat_to_map(const double* coarse, int cw, int ch, int factor, float* map, int w, int h);

// Whether two device arrays hold the same n floats.
bool device_equal(const float* a, const float* b, size_t n);

}  // namespace cuda
}  // namespace medpsim
