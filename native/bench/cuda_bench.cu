// Throughput of every CUDA kind on batches of images: cuda_bench [batch] (default 32).
//   cmake -S native -B build/gpu && cmake --build build/gpu -j && build/gpu/cuda_bench
// For 1024x1024 and 256x256 images (single-channel; the colour kinds use 3 channels), prints images/s and
// effective bandwidth (bytes read + written by the kind's input and output images, over the time) for
//   device:     the batch already on the GPU (cuda_apply_device): the kernels, their scratch
//               allocations and table uploads, and one synchronisation per image;
//   end-to-end: cuda_apply from host memory, as the addon runs a step (adds the copies both ways).
// Parameters are the catalog defaults. The seed varies per image.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "medpsim/cuda.hpp"
#include "medpsim/kernels.hpp"
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
