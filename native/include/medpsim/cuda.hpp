// CUDA kernels and metrics (native/cuda/*.cu), compiled only where CMake finds nvcc (MEDPSIM_WITH_CUDA). This header
// has no CUDA types in it, so plain C++ files (backends.cpp, the tests) can include it.
//
// Every CUDA kernel gives the result of the CPU kernel of the same kind for the same (image, parameters,
// seed) within 1e-5 per sample: the same algorithms in the same order and precision (double where the
// CPU uses double), the same Philox counters, tables computed by the same host code; the device code is
// built with --fmad=false so that + - * / round exactly as on the host; only transcendental functions
// (exp, log, cos, pow) may differ by an ulp or two.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "medpsim/kernels.hpp"

namespace medpsim {

// The CUDA device count, or 0 with the reason in `reason` ("no CUDA device: <cudaGetErrorString>").
// Never aborts: without a driver or GPU the (statically linked) runtime just returns an error.
int cuda_probe(std::string& reason);

// Kinds that have a CUDA kernel, in catalog order.
const std::vector<std::string>& cuda_kinds();
bool cuda_has_kernel(const std::string& kind);

// Runs `kind` on the current CUDA device: copies `in` to the device, runs, copies the result into `out`.
// Unchecked like KernelInfo::run: call KernelInfo::check first (`out` must have the shape of `in`).
// Throws std::invalid_argument for a kind without a CUDA kernel, std::runtime_error for any CUDA error.
void cuda_apply(const std::string& kind, const Image& in, Image& out, const Params& params, uint64_t seed);

// The same on device memory (planar float, `channels` planes of width x height), for batches that stay on
// the device (the benchmark). Synchronises before returning.
void cuda_apply_device(const std::string& kind, const float* d_in, float* d_out, int width, int height, int channels,
                       const Params& params, uint64_t seed);

// ----- Metrics (native/cuda/metrics*.cu): each gives the CPU's value within 1e-5 (mse: relative; psnr:
// 1e-5 dB) and its map within 1e-5 per pixel, by the same per-pixel formulas (medpsim/metric_setup.hpp);
// only the reductions run in another order (double accumulators).

// Metrics that have a CUDA implementation, in catalog order.
const std::vector<std::string>& cuda_metrics();
bool cuda_has_metric(const std::string& name);

// Computes metric `name` on the current CUDA device with MetricFn's contract (medpsim/metrics.hpp): a, b of
// the same size, 1-channel (mse and psnr, whose channels are pooled, take 3 as well), params complete, `map`,
// when not null, allocated at their size. Copies a and b to the device, computes, copies back the value and
// the map. Throws std::invalid_argument for an unknown metric or images too small for it (the CPU's
// messages), std::runtime_error for any CUDA error.
double cuda_metric(const std::string& name, const Image& a, const Image& b, const Params& params, double data_range, Image* map);

// The same on device memory (planar float, `channels` planes of width x height; d_map: one width x height
// plane, or null), for pairs that stay on the device (the benchmark).
double cuda_metric_device(const std::string& name, const float* d_a, const float* d_b, int width, int height, int channels,
                          const Params& params, double data_range, float* d_map);

}  // namespace medpsim
