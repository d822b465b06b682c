// cuda_apply_chain: a batch of images through a chain of kinds on the device. Each image is copied in once
// and out once; the steps run between those copies, ping-ponging between two device buffers. Images go
// round-robin over a few lanes (a CudaQueue each, with its own pinned staging and device buffers), so that one
// lane's copies overlap another's kernels; the host waits for a lane only when that lane is needed again.
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include "common.cuh"
#include "medpsim/cuda.hpp"

namespace medpsim {
namespace {

// Three: one image coming in, one in the kernels, one going out.
constexpr int kLanes = 3;

bool is_pinned(const void* p) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, p) != cudaSuccess) {
    cudaGetLastError();  // pageable memory of an old driver: an error that says only "not CUDA's"
    return false;
  }
  return attributes.type == cudaMemoryTypeHost;
}

// Memcpy on the engine's worker threads: one core copies ~10 GB/s, well under what a PCIe link moves.
void parallel_copy(float* dst, const float* src, size_t n, int threads) {
  constexpr size_t kChunk = size_t{1} << 16;  // 256 KiB per chunk (a 1024^2 image: 16); less is not worth a thread
  const int chunks = static_cast<int>((n + kChunk - 1) / kChunk);
  detail::parallel_for(chunks, threads, [&](int begin, int end) {
    const size_t from = static_cast<size_t>(begin) * kChunk, to = std::min(n, static_cast<size_t>(end) * kChunk);
    std::memcpy(dst + from, src + from, (to - from) * sizeof(float));
  });
}

// Growable pinned host and device buffers of floats; grown only while their lane is idle.
struct PinnedFloats {
  float* data = nullptr;
  size_t capacity = 0;
  void reserve(size_t n) {
    if (n <= capacity) return;
    if (data) cuda::check(cudaFreeHost(data), "cudaFreeHost");
    data = nullptr;
    cuda::check(cudaHostAlloc(reinterpret_cast<void**>(&data), n * sizeof(float), cudaHostAllocDefault), "cudaHostAlloc");
    capacity = n;
  }
};
struct DeviceFloats {
  float* data = nullptr;
  size_t capacity = 0;
  void reserve(size_t n, cudaStream_t stream) {
    if (n <= capacity) return;
    if (data) cuda::check(cudaFreeAsync(data, stream), "cudaFreeAsync");
    data = nullptr;
    cuda::check(cudaMallocAsync(reinterpret_cast<void**>(&data), n * sizeof(float), stream), "cudaMallocAsync");
    capacity = n;
  }
};

struct Lane {
  CudaQueue queue;
  PinnedFloats host_in, host_out;
  DeviceFloats a, b;
  // The item whose result is on its way into host_out (null: none, or copied straight into the item's memory).
  const CudaItem* staged_out = nullptr;
  bool busy = false;

  cudaStream_t stream() const { return static_cast<cudaStream_t>(queue.stream()); }

  // Waits for the lane's image, then hands a staged result to its item.
  void finish(int threads) {
    if (!busy) return;
    busy = false;
    const CudaItem* item = staged_out;
    staged_out = nullptr;
    queue.synchronize();
    if (item) parallel_copy(item->out, host_out.data, static_cast<size_t>(item->width) * item->height * item->channels, threads);
  }

  void start(const std::vector<CudaStep>& steps, const CudaItem& item, int threads) {
    const size_t n = static_cast<size_t>(item.width) * item.height * item.channels;
    a.reserve(n, stream());
    b.reserve(n, stream());
    const float* source = item.in;
    if (!is_pinned(item.in)) {
      host_in.reserve(n);
      parallel_copy(host_in.data, item.in, n, threads);
      source = host_in.data;
    }
    float* target = item.out;
    if (!is_pinned(item.out)) {
      host_out.reserve(n);
      target = host_out.data;
      staged_out = &item;
    }
    busy = true;
    cuda::check(cudaMemcpyAsync(a.data, source, n * sizeof(float), cudaMemcpyHostToDevice, stream()), "cudaMemcpyAsync to device");
    float *current = a.data, *next = b.data;
    for (const CudaStep& step : steps) {
      queue.enqueue(step.kind, current, next, item.width, item.height, item.channels, step.params, item.seed);
      std::swap(current, next);
    }
    cuda::check(cudaMemcpyAsync(target, current, n * sizeof(float), cudaMemcpyDeviceToHost, stream()), "cudaMemcpyAsync to host");
  }
};

// One set of lanes per process (pinned buffers are costly to make), one batch at a time.
struct Lanes {
  std::mutex mutex;
  std::unique_ptr<Lane> lanes[kLanes];
};
Lanes& process_lanes() {
  static Lanes* lanes = new Lanes;  // never destroyed: not after the CUDA runtime at exit
  return *lanes;
}

}  // namespace

void cuda_apply_chain(const std::vector<CudaStep>& steps, const std::vector<CudaItem>& items, int threads) {
  if (items.empty()) return;
  for (const CudaStep& step : steps) {
    if (!cuda_has_kernel(step.kind)) throw std::invalid_argument("no CUDA kernel for " + step.kind + " yet");
  }
  Lanes& set = process_lanes();
  std::lock_guard<std::mutex> lock(set.mutex);
  for (auto& lane : set.lanes) {
    if (!lane) lane = std::make_unique<Lane>();
  }
  try {
    for (size_t i = 0; i < items.size(); ++i) {
      Lane& lane = *set.lanes[i % kLanes];
      lane.finish(threads);
      lane.start(steps, items[i], threads);
    }
    for (auto& lane : set.lanes) lane->finish(threads);
  } catch (...) {
    // Nothing may still be copying from or into the items when the caller gets the error back.
    for (auto& lane : set.lanes) {
      try {
        lane->queue.synchronize();
      } catch (...) {  // the first error is the one to report
      }
      lane->busy = false;
      lane->staged_out = nullptr;
    }
    throw;
  }
}

float* cuda_host_alloc(size_t samples) {
  float* p = nullptr;
  cuda::check(cudaHostAlloc(reinterpret_cast<void**>(&p), std::max<size_t>(1, samples) * sizeof(float), cudaHostAllocDefault),
              "cudaHostAlloc");
  return p;
}

void cuda_host_free(float* samples) {
  if (samples) cudaFreeHost(samples);
}

}  // namespace medpsim
