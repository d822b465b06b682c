// cuda_metric: the table of CUDA metrics by name, the host <-> device copies, and the reductions and map
// helpers the metric files share.
#include <algorithm>
#include <stdexcept>

#include "medpsim/cuda.hpp"
#include "medpsim/metrics.hpp"
#include "metrics.cuh"

namespace medpsim {
namespace cuda {
namespace {

constexpr unsigned kSumBlocks = 1024;  // the most partial sums per array

__global__ void block_sums(const double* values, size_t n, double* partial) {
  __shared__ double shared[kBlock];
  double sum = 0.0;
  MEDPSIM_GRID_STRIDE(i, n) sum += values[i];
  shared[threadIdx.x] = sum;
  __syncthreads();
  for (unsigned half = kBlock / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = shared[0];
}

__global__ void repeat_kernel(const double* coarse, int cw, int ch, int factor, float* map, int w, int h) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(w) * h) {
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    map[i] = static_cast<float>(coarse[static_cast<size_t>(min(y / factor, ch - 1)) * cw + min(x / factor, cw - 1)]);
  }
}

__global__ void count_differences(const float* a, const float* b, size_t n, unsigned* count) {
  MEDPSIM_GRID_STRIDE(i, n) {
    if (a[i] != b[i]) atomicAdd(count, 1u);  // only whether it is 0 matters, so the order does not
  }
}

const std::vector<CudaMetric>& table() {
  static const std::vector<CudaMetric> metrics = [] {
    std::vector<CudaMetric> m;
    register_metrics_structural(m);
    register_metrics_hvs(m);
    register_metrics_phase(m);
    return m;
  }();
  return metrics;
}

const CudaMetric* find(const std::string& name) {
  for (const auto& m : table()) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

}  // namespace

std::vector<double> device_sums(std::initializer_list<const double*> arrays, size_t n) {
  const unsigned blocks = std::min(blocks_for(n), kSumBlocks);
  DeviceBuffer<double> partial(arrays.size() * blocks);
  size_t k = 0;
  for (const double* values : arrays) {
    block_sums<<<blocks, kBlock>>>(values, n, partial.get() + k * blocks);
    MEDPSIM_CUDA_LAUNCHED("block_sums");
    ++k;
  }
  std::vector<double> host(partial.size());
  check(cudaMemcpy(host.data(), partial.get(), host.size() * sizeof(double), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  std::vector<double> sums(arrays.size(), 0.0);
  for (k = 0; k < sums.size(); ++k) {
    for (unsigned b = 0; b < blocks; ++b) sums[k] += host[k * blocks + b];
  }
  return sums;
}

void repeat_to_map(const double* coarse, int cw, int ch, int factor, float* map, int w, int h) {
  repeat_kernel<<<blocks_for(static_cast<size_t>(w) * h), kBlock>>>(coarse, cw, ch, factor, map, w, h);
  MEDPSIM_CUDA_LAUNCHED("repeat_to_map");
}

bool device_equal(const float* a, const float* b, size_t n) {
  DeviceBuffer<unsigned> count(1);
  check(cudaMemset(count.get(), 0, sizeof(unsigned)), "cudaMemset");
  count_differences<<<blocks_for(n), kBlock>>>(a, b, n, count.get());
  MEDPSIM_CUDA_LAUNCHED("count_differences");
  unsigned host = 0;
  check(cudaMemcpy(&host, count.get(), sizeof(unsigned), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  return host == 0;
}

}  // namespace cuda

const std::vector<std::string>& cuda_metrics() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const MetricInfo& info : all_metrics()) {
      if (cuda::find(info.name)) list.push_back(info.name);
    }
    return list;
  }();
  return names;
}

bool cuda_has_metric(const std::string& name) { return cuda::find(name) != nullptr; }

double cuda_metric_device(const std::string& name, const float* d_a, const float* d_b, int width, int height, int channels,
                          const Params& params, double data_range, float* d_map) {
  const cuda::CudaMetric* metric = cuda::find(name);
  if (!metric) throw std::invalid_argument("no CUDA implementation of metric '" + name + "'");
  detail::require_metric_size(name, width, height, params);
  const cuda::MetricJob job{d_a, d_b, width, height, channels, data_range, d_map};
  const double value = metric->run(job, params);
  cuda::check(cudaDeviceSynchronize(), name.c_str());
  return value;
}

double cuda_metric(const std::string& name, const Image& a, const Image& b, const Params& params, double data_range, Image* map) {
  if (!cuda::find(name)) throw std::invalid_argument("no CUDA implementation of metric '" + name + "'");
  if (!a.same_shape(b)) throw std::invalid_argument(name + ": images differ in shape");
  if (map && (map->width() != a.width() || map->height() != a.height() || map->channels() != 1))
    throw std::invalid_argument(name + ": the map must be one plane at the images' size");
  detail::require_metric_size(name, a.width(), a.height(), params);  // before any CUDA call
  cuda::DeviceBuffer<float> d_a(a.size()), d_b(b.size()), d_map(map ? map->size() : 0);
  d_a.upload(a.data(), a.size());
  d_b.upload(b.data(), b.size());
  const double value =
      cuda_metric_device(name, d_a.get(), d_b.get(), a.width(), a.height(), a.channels(), params, data_range, map ? d_map.get() : nullptr);
  if (map) cuda::check(cudaMemcpy(map->data(), d_map.get(), map->size() * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  return value;
}

}  // namespace medpsim
