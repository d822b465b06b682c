// The table of CUDA kernels by kind, device probing, CudaQueue (a stream and its staging) and cuda_apply.
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

// ----- CudaQueue -----

struct CudaQueue::State {
  cudaStream_t stream = nullptr;
  cuda::HostStaging staging;
};

namespace {
// Stream-ordered allocations come from the device's default pool; by default it hands memory back to the
// driver at every synchronisation, which would make each kind's scratch a real cudaMalloc again. Keep it.
void keep_pool_memory() {
  static const bool done = [] {
    int device = 0;
    cuda::check(cudaGetDevice(&device), "cudaGetDevice");
    cudaMemPool_t pool;
    cuda::check(cudaDeviceGetDefaultMemPool(&pool, device), "cudaDeviceGetDefaultMemPool");
    uint64_t keep = UINT64_MAX;
    cuda::check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep), "cudaMemPoolSetAttribute");
    return true;
  }();
  (void)done;
}
}  // namespace

CudaQueue::CudaQueue() : state_(new State) {
  try {
    keep_pool_memory();
    // Non-blocking: the metrics' work on the legacy default stream does not serialise with the queues.
    cuda::check(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  } catch (...) {
    delete state_;
    throw;
  }
}

CudaQueue::~CudaQueue() {
  cudaStreamSynchronize(state_->stream);  // staging must outlive the copies from it; errors cannot be reported here
  cudaStreamDestroy(state_->stream);
  delete state_;
}

void CudaQueue::enqueue(const std::string& kind, const float* d_in, float* d_out, int width, int height, int channels,
                        const Params& params, uint64_t seed) {
  const cuda::CudaKernel* kernel = find(kind);
  if (!kernel) throw std::invalid_argument("no CUDA kernel for " + kind + " yet");
  const cuda::Job job{d_in, d_out, width, height, channels, state_->stream, &state_->staging};
  kernel->run(job, params, seed);
}

void CudaQueue::synchronize() {
  cuda::check(cudaStreamSynchronize(state_->stream), "cudaStreamSynchronize");
  state_->staging.recycle();
}

void* CudaQueue::stream() const { return state_->stream; }

void cuda_apply_device(const std::string& kind, const float* d_in, float* d_out, int width, int height, int channels,
                       const Params& params, uint64_t seed) {
  thread_local CudaQueue* queue = new CudaQueue;  // never destroyed: not after the runtime at exit
  queue->enqueue(kind, d_in, d_out, width, height, channels, params, seed);
  queue->synchronize();
}

void cuda_apply(const std::string& kind, const Image& in, Image& out, const Params& params, uint64_t seed) {
  if (!out.same_shape(in)) throw std::invalid_argument(kind + ": output image shape differs from the input");
  cuda_apply_chain({{kind, params}}, {{in.data(), out.data(), in.width(), in.height(), in.channels(), seed}}, 1);
}

}  // namespace medpsim
