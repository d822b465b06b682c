// Throughput of every CUDA kind on batches of images, then of every CUDA metric: cuda_bench [batch] (default 32).
//   cmake -S native -B build/gpu && cmake --build build/gpu -j && build/gpu/cuda_bench
// For 1024x1024 and 256x256 images (single-channel; the colour kinds use 3 channels), prints images/s and
// effective bandwidth (bytes read + written by the kind's input and output images, over the time) for
//   device:     the batch already on the GPU (cuda_apply_device): the kernels, their scratch
//               allocations and table uploads, and one synchronisation per image;
//   end-to-end: cuda_apply from host memory, as the addon runs a step (adds the copies both ways).
// Parameters are the catalog defaults. The seed varies per image.
// Then every CUDA metric on 1024x1024 single-channel pairs (value only, default parameters), in pairs/s and
// megapixels/s (of one image of the pair) for
//   device:     the pair already on the GPU (cuda_metric_device): the kernels, their scratch allocations,
//               the small copies of partial sums (and fsim's medians) back to the host;
//   end-to-end: cuda_metric from host memory, as MetricInfo::compute runs it (adds the copies of the pair).
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "medpsim/cuda.hpp"
#include "medpsim/kernels.hpp"
#include "medpsim/metrics.hpp"
#include "medpsim/random.hpp"

using namespace medpsim;

static void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(status));
    std::exit(1);
  }
}

// The card's practical memory bandwidth, the ceiling for the GB/s columns.
static double copy_bandwidth() {
  const size_t bytes = size_t{1} << 30;
  void *a = nullptr, *b = nullptr;
  check(cudaMalloc(&a, bytes), "cudaMalloc");
  check(cudaMalloc(&b, bytes), "cudaMalloc");
  check(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy");  // warm-up
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  const int reps = 10;
  check(cudaEventRecord(start), "cudaEventRecord");
  for (int i = 0; i < reps; ++i) check(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy");
  check(cudaEventRecord(stop), "cudaEventRecord");
  check(cudaEventSynchronize(stop), "cudaEventSynchronize");
  float ms = 0.0f;
  check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  check(cudaFree(a), "cudaFree");
  check(cudaFree(b), "cudaFree");
  return 2.0 * bytes * reps / (ms * 1e-3) / 1e9;
}

// Seconds per call of f, over `reps` calls after one warm-up call (tables, caches, first launches).
template <typename F>
static double seconds_per_call(int reps, F f) {
  f();
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

static void bench_metrics(int batch) {
  const int side = 1024;
  const size_t n = static_cast<size_t>(side) * side;
  // A textured reference and a noisy copy, in [0.1, 0.9].
  Image a = Image::allocate(side, side, 1), b = Image::allocate(side, side, 1);
  const Rng rng(5, 1), noise(6, 1);
  for (size_t i = 0; i < n; ++i) {
    a.data()[i] = 0.1f + 0.8f * rng.uniform(i);
    b.data()[i] = std::min(0.9f, std::max(0.1f, a.data()[i] + 0.05f * (noise.uniform(i) - 0.5f)));
  }
  float *d_a = nullptr, *d_b = nullptr;
  check(cudaMalloc(&d_a, n * sizeof(float)), "cudaMalloc");
  check(cudaMalloc(&d_b, n * sizeof(float)), "cudaMalloc");
  check(cudaMemcpy(d_a, a.data(), n * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");
  check(cudaMemcpy(d_b, b.data(), n * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");
  std::printf("\nmetrics, %dx%d single-channel pairs, value only\n", side, side);
  std::printf("%-10s %12s %10s %12s %10s %10s\n", "metric", "device pr/s", "MP/s", "e2e pr/s", "MP/s", "vs 1 CPU");
  for (const MetricInfo& info : all_metrics()) {
    if (!cuda_has_metric(info.name)) continue;
    Params params;
    for (const ParamSpec& spec : info.params) params[spec.name] = spec.default_value;
    const double device_s = seconds_per_call(batch, [&] { cuda_metric_device(info.name, d_a, d_b, side, side, 1, params, 1.0, nullptr); });
    const double e2e_s = seconds_per_call(std::max(1, batch / 4), [&] { cuda_metric(info.name, a, b, params, 1.0, nullptr); });
    // One pair on one CPU thread, for scale.
    MetricOptions one;
    one.threads = 1;
    const auto t0 = std::chrono::steady_clock::now();
    info.compute(a, b, params, one);
    const double cpu_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%-10s %12.1f %10.1f %12.1f %10.1f %9.0fx\n", info.name.c_str(), 1.0 / device_s, n / device_s / 1e6, 1.0 / e2e_s,
                n / e2e_s / 1e6, cpu_s / device_s);
    std::fflush(stdout);
  }
  check(cudaFree(d_a), "cudaFree");
  check(cudaFree(d_b), "cudaFree");
}

static int bench(int argc, char** argv) {
  const int batch = argc > 1 ? std::atoi(argv[1]) : 32;
  std::string reason;
  const int devices = cuda_probe(reason);
  if (devices == 0) {
    std::printf("SKIPPED: %s\n", reason.c_str());
    return 0;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("device: %s, batch %d\n", prop.name, batch);
  std::printf("copy ceiling: %.0f GB/s (device-to-device cudaMemcpy of 1 GiB, bytes read + written)\n", copy_bandwidth());
  std::printf("%-22s %5s %12s %10s %12s %10s %10s\n", "kind", "side", "device im/s", "GB/s", "e2e im/s", "GB/s", "vs 1 CPU");

  for (int side : {1024, 256}) {
    for (const KernelInfo& info : all_kernels()) {
      if (!cuda_has_kernel(info.kind)) continue;
      const int channels = info.needs_color ? 3 : 1;
      const size_t n = static_cast<size_t>(side) * side * channels;
      Params params;
      for (const ParamSpec& spec : info.params) params[spec.name] = spec.default_value;

      // One host image (random texture), copied to every slot of the device batch.
      Image host = Image::allocate(side, side, channels);
      const Rng rng(5, 1);
      for (size_t i = 0; i < n; ++i) host.data()[i] = 0.1f + 0.8f * rng.uniform(i);
      float *d_in = nullptr, *d_out = nullptr;
      check(cudaMalloc(&d_in, n * batch * sizeof(float)), "cudaMalloc");
      check(cudaMalloc(&d_out, n * batch * sizeof(float)), "cudaMalloc");
      for (int b = 0; b < batch; ++b) check(cudaMemcpy(d_in + n * b, host.data(), n * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");

      cuda_apply_device(info.kind, d_in, d_out, side, side, channels, params, 0);  // warm-up (tables, first launch)
      auto t0 = std::chrono::steady_clock::now();
      for (int b = 0; b < batch; ++b) cuda_apply_device(info.kind, d_in + n * b, d_out + n * b, side, side, channels, params, b + 1);
      const double device_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

      Image out = Image::allocate(side, side, channels);
      const int e2e_batch = std::max(1, batch / 4);
      t0 = std::chrono::steady_clock::now();
      for (int b = 0; b < e2e_batch; ++b) cuda_apply(info.kind, host, out, params, b + 1);
      const double e2e_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

      // One image on one CPU thread, for scale.
      Image cpu_out;
      t0 = std::chrono::steady_clock::now();
      info.apply(host, cpu_out, params, 1, 1);
      const double cpu_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

      const double bytes = 2.0 * n * sizeof(float);  // read + write of one image
      const double device_ips = batch / device_s, e2e_ips = e2e_batch / e2e_s;
      std::printf("%-22s %5d %12.1f %10.1f %12.1f %10.1f %9.0fx\n", info.kind.c_str(), side, device_ips, device_ips * bytes / 1e9, e2e_ips,
                  e2e_ips * bytes / 1e9, device_ips * cpu_s);
      std::fflush(stdout);
      check(cudaFree(d_in), "cudaFree");
      check(cudaFree(d_out), "cudaFree");
    }
  }
  bench_metrics(batch);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return bench(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cuda_bench: %s\n", e.what());
    return 1;
  }
}
