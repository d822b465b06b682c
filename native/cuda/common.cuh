// Shared by the CUDA kernel files: error handling, device buffers and launch helpers. The per-sample
// helpers (medpsim/pixel_ops.hpp) and the warp field (medpsim/warp_field.hpp) are the CPU kernels' own.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "medpsim/kernels.hpp"
#include "medpsim/pixel_ops.hpp"
#include "medpsim/random.hpp"

namespace medpsim {
namespace cuda {

// Every CUDA error becomes an exception carrying cudaGetErrorString (never an abort).
inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(status));
}
// After a launch: configuration errors show up here, execution errors at the next synchronising call.
#define MEDPSIM_CUDA_LAUNCHED(what) ::medpsim::cuda::check(cudaGetLastError(), what)

// Pinned host memory for the small tables a kernel uploads (taps, tiles, lattices): a table is copied here,
// then to the device by an asynchronous copy on the job's stream, so that enqueueing a kind never waits for
// the device. Space is handed out until the owner has synchronised the stream (recycle()), then reused.
class HostStaging {
 public:
  HostStaging() = default;
  ~HostStaging() {
    for (const Block& b : blocks_) cudaFreeHost(b.data);
  }
  HostStaging(const HostStaging&) = delete;
  HostStaging& operator=(const HostStaging&) = delete;

  void* take(size_t bytes) {
    bytes = (bytes + 255) / 256 * 256;  // every table aligned for any element type
    while (current_ < blocks_.size() && blocks_[current_].used + bytes > blocks_[current_].size) ++current_;
    if (current_ == blocks_.size()) {
      Block b{nullptr, std::max(bytes, kBlockBytes), 0};
      check(cudaHostAlloc(reinterpret_cast<void**>(&b.data), b.size, cudaHostAllocDefault), "cudaHostAlloc");
      blocks_.push_back(b);
    }
    Block& b = blocks_[current_];
    void* p = b.data + b.used;
    b.used += bytes;
    return p;
  }
  // Only after every copy from the handed-out space has completed.
  void recycle() {
    for (Block& b : blocks_) b.used = 0;
    current_ = 0;
  }

 private:
  static constexpr size_t kBlockBytes = size_t{1} << 20;
  struct Block {
    char* data;
    size_t size, used;
  };
  std::vector<Block> blocks_;
  size_t current_ = 0;
};

// One kernel invocation's images, on the device: planar, `channels` planes of w x h; its work is enqueued on
// `stream` (never synchronised by the kernel), its tables staged through `staging`.
struct Job {
  const float* in;
  float* out;
  int w, h, channels;
  cudaStream_t stream;
  HostStaging* staging;
  __host__ __device__ size_t plane() const { return static_cast<size_t>(w) * h; }
  __host__ __device__ size_t size() const { return plane() * channels; }
};

// Owning device array. Made with a Job, it is stream-ordered: allocated and freed on the job's stream
// (cudaMallocAsync / cudaFreeAsync), so a kind's scratch and tables cost no synchronisation and are freed
// only after the work enqueued before the free. Without one (the metrics), plain cudaMalloc / cudaFree.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : n_(n) {
    if (n > 0) check(cudaMalloc(reinterpret_cast<void**>(&ptr_), n * sizeof(T)), "cudaMalloc");
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host.data(), host.size()); }
  DeviceBuffer(size_t n, const Job& job) : n_(n), stream_(job.stream), ordered_(true) {
    if (n > 0) check(cudaMallocAsync(reinterpret_cast<void**>(&ptr_), n * sizeof(T), stream_), "cudaMallocAsync");
  }
  // A table made on the host, staged in pinned memory and copied on the job's stream.
  DeviceBuffer(const std::vector<T>& host, const Job& job) : DeviceBuffer(host.size(), job) {
    if (host.empty()) return;
    void* staged = job.staging->take(host.size() * sizeof(T));
    std::copy(host.begin(), host.end(), static_cast<T*>(staged));
    check(cudaMemcpyAsync(ptr_, staged, host.size() * sizeof(T), cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync to device");
  }
  ~DeviceBuffer() {
    // Errors here cannot be reported from a destructor; a sticky one shows up at the next synchronisation.
    if (!ptr_) return;
    if (ordered_) cudaFreeAsync(ptr_, stream_);
    else cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void upload(const T* host, size_t n) {
    if (n > 0) check(cudaMemcpy(ptr_, host, n * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy to device");
  }
  T* get() const { return ptr_; }
  size_t size() const { return n_; }

 private:
  T* ptr_ = nullptr;
  size_t n_ = 0;
  cudaStream_t stream_ = nullptr;
  bool ordered_ = false;
};

using CudaKernelFn = void (*)(const Job& job, const Params& params, uint64_t seed);
struct CudaKernel {
  const char* kind;
  CudaKernelFn run;
};

// Per-family tables (pointwise.cu, filters.cu, spatial.cu, fft.cu, detector.cu).
void register_pointwise(std::vector<CudaKernel>& k);
void register_filters(std::vector<CudaKernel>& k);
void register_spatial(std::vector<CudaKernel>& k);
void register_fft(std::vector<CudaKernel>& k);
void register_detector(std::vector<CudaKernel>& k);

// Device-to-device copy: the CPU kernels copy at their identity values, and so do these.
inline void copy_job(const Job& job) {
  check(cudaMemcpyAsync(job.out, job.in, job.size() * sizeof(float), cudaMemcpyDeviceToDevice, job.stream), "cudaMemcpyAsync on device");
}

constexpr int kBlock = 256;
// Blocks for n work items at kBlock threads each; kernels loop grid-stride so a cap is harmless.
inline unsigned blocks_for(size_t n) {
  const size_t b = (n + kBlock - 1) / kBlock;
  return static_cast<unsigned>(b < 1 ? 1 : (b > (1u << 30) ? (1u << 30) : b));
}

#define MEDPSIM_GRID_STRIDE(i, n) \
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += static_cast<size_t>(gridDim.x) * blockDim.x)

// Separable convolution of one plane with symmetric float taps (2r + 1), borders reflect-101, as
// src/helpers.cpp convolve_plane (Gaussian blur, the detector MTF): rows into `tmp`, then columns, float products
// added in tap order; `clamp` to [0, 1] (gaussian_blur) or not (the detector kinds' noise).
static __global__ void convolve_rows(const float* src, float* tmp, int w, int h, const float* k, int r) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(w) * h) {
    const int x = static_cast<int>(i % w);
    const float* row = src + (i - x);
    float acc = 0.0f;
    for (int t = 0; t <= 2 * r; ++t) acc += k[t] * row[detail::reflect101(x + t - r, w)];
    tmp[i] = acc;
  }
}
static __global__ void convolve_columns(const float* tmp, float* dst, int w, int h, const float* k, int r, bool clamp) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(w) * h) {
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    float acc = 0.0f;
    for (int t = 0; t <= 2 * r; ++t) acc += k[t] * tmp[static_cast<size_t>(detail::reflect101(y + t - r, h)) * w + x];
    dst[i] = clamp ? detail::clamp01(acc) : acc;
  }
}

// (ac - bd, ad + bc): the complex product as the CPU's FFT writes it.
__device__ inline double2 cmul(double2 a, double2 b) { return make_double2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }

// The butterfly stages of the CPU's radix-2 FFT (detail::fft_in_place) on n values (a power of two, already
// in bit-reversed order) by the whole block: each stage's n / 2 butterflies in parallel, each computed exactly
// as the CPU's sequential loop computes it, so the result is the same to the bit.
__device__ inline void fft_stages(double2* a, int n, const double2* twiddle) {
  for (int len = 2; len <= n; len <<= 1) {
    const int half = len / 2, step = n / len;
    for (int t = threadIdx.x; t < n / 2; t += blockDim.x) {
      const int i = (t / half) * len + t % half, k = t % half;
      const double2 u = a[i], v = cmul(a[i + half], twiddle[k * step]);
      a[i] = make_double2(u.x + v.x, u.y + v.y);
      a[i + half] = make_double2(u.x - v.x, u.y - v.y);
    }
    __syncthreads();
  }
}

// The per-sample helpers of the CPU kernels, compiled for the device too.
using detail::clamp01;
using detail::reflect101;
using detail::sample_bilinear;

}  // namespace cuda
}  // namespace medpsim
