// CUDA kernels (native/cuda/*.cu), compiled only where CMake finds nvcc (MEDPSIM_WITH_CUDA). This header
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

}  // namespace medpsim
