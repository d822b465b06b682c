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

// One step of a chain: a kind with parameters already checked (KernelInfo::check).
struct CudaStep {
  std::string kind;
  Params params;
};
// One image of a batch, in host memory: planar float, `channels` planes of width x height; `out` has room
// for as many samples. Memory from cuda_host_alloc (pinned) is copied to and from the device directly;
// any other memory through the engine's pinned staging buffers.
struct CudaItem {
  const float* in;
  float* out;
  int width, height, channels;
  uint64_t seed;
};

// Runs the whole chain on every item with the item's seed (as the CPU runs a chain: the output of a step is the
// input of the next), on the device: one copy in and one copy out per image, the steps between them on the
// device, images spread over a few streams so that copies overlap kernels, and the host waiting only when a
// stream's staging buffers are needed again and at the end. Unchecked like cuda_apply; `threads` copies
// to and from the staging buffers on the engine's worker threads (< 1: one per core). Throws as cuda_apply,
// after every copy that reads or writes the items has finished.
void cuda_apply_chain(const std::vector<CudaStep>& steps, const std::vector<CudaItem>& items, int threads = 0);

// Pinned host memory (cudaHostAlloc) for images that cuda_apply_chain copies without staging; freed by cuda_host_free.
float* cuda_host_alloc(size_t samples);
void cuda_host_free(float* samples);

// A CUDA stream on the current device with its own pinned staging for the kinds' small tables: kinds are
// enqueued on device memory without waiting for the device, and synchronize() waits for all of them.
class CudaQueue {
 public:
  CudaQueue();
  ~CudaQueue();
  CudaQueue(const CudaQueue&) = delete;
  CudaQueue& operator=(const CudaQueue&) = delete;

  // Enqueues `kind` (unchecked, as cuda_apply) on planar device images of width x height x channels.
  void enqueue(const std::string& kind, const float* d_in, float* d_out, int width, int height, int channels,
               const Params& params, uint64_t seed);
  // Waits for everything enqueued, then reuses the staging; throws std::runtime_error for a CUDA error.
  void synchronize();
  // The cudaStream_t, for copies the caller enqueues in order with the kinds.
  void* stream() const;

  struct State;

 private:
  State* state_;
};

// The same on device memory (planar float, `channels` planes of width x height): one kind on one image,
// then a synchronisation.
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
