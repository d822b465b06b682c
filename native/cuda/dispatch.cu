// cuda_apply: the table of CUDA kernels by kind, device probing, and the host <-> device copies.
#include <algorithm>
#include <stdexcept>

#include "common.cuh"
#include "medpsim/cuda.hpp"

namespace medpsim {
namespace {

const std::vector<cuda::CudaKernel>& table() {
  static const std::vector<cuda::CudaKernel> kernels = [] {
    std::vector<cuda::CudaKernel> k;
    cuda::register_pointwise(k);
    cuda::register_filters(k);
    cuda::register_spatial(k);
    cuda::register_fft(k);
    cuda::register_detector(k);
    return k;
  }();
  return kernels;
}

const cuda::CudaKernel* find(const std::string& kind) {
  for (const auto& k : table()) {
    if (kind == k.kind) return &k;
  }
  return nullptr;
}

}  // namespace

int cuda_probe(std::string& reason) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear it, so that it is not reported by a later, unrelated call
    reason = std::string("no CUDA device: ") + cudaGetErrorString(status);
    return 0;
  }
  if (count == 0) {
    reason = "no CUDA device: the CUDA runtime found none";
    return 0;
  }
  reason.clear();
  return count;
}

const std::vector<std::string>& cuda_kinds() {
  static const std::vector<std::string> kinds = [] {
    std::vector<std::string> names;
    for (const KernelInfo& info : all_kernels()) {
      if (find(info.kind)) names.push_back(info.kind);
    }
    return names;
  }();
  return kinds;
}

bool cuda_has_kernel(const std::string& kind) { return find(kind) != nullptr; }

void cuda_apply_device(const std::string& kind, const float* d_in, float* d_out, int width, int height, int channels,
                       const Params& params, uint64_t seed) {
  const cuda::CudaKernel* kernel = find(kind);
  if (!kernel) throw std::invalid_argument("no CUDA kernel for " + kind + " yet");
  const cuda::Job job{d_in, d_out, width, height, channels};
  kernel->run(job, params, seed);
  cuda::check(cudaDeviceSynchronize(), kind.c_str());
}

void cuda_apply(const std::string& kind, const Image& in, Image& out, const Params& params, uint64_t seed) {
  if (!find(kind)) throw std::invalid_argument("no CUDA kernel for " + kind + " yet");
  if (!out.same_shape(in)) throw std::invalid_argument(kind + ": output image shape differs from the input");
  cuda::DeviceBuffer<float> d_in(in.size()), d_out(in.size());
  d_in.upload(in.data(), in.size());
  cuda_apply_device(kind, d_in.get(), d_out.get(), in.width(), in.height(), in.channels(), params, seed);
  cuda::check(cudaMemcpy(out.data(), d_out.get(), out.size() * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
}

}  // namespace medpsim
