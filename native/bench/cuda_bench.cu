// Throughput of every CUDA kind on batches of images, then of every CUDA metric: cuda_bench [batch] (default 32).
//   cmake -S native -B build/gpu && cmake --build build/gpu -j && build/gpu/cuda_bench
// First the ceilings, measured in the same run: a 1 GiB device-to-device copy (bytes read + written) and
// pinned host <-> device copies (each way alone, and both ways at once on two streams, as a batch moves them).
// Then, for 1024x1024 and 256x256 images (single-channel; the colour kinds use 3 channels), images/s for
//   device:     the batch already on the GPU, spread over three CudaQueues (streams), one synchronisation
//               per batch: the kernels, their stream-ordered scratch and table uploads; GB/s counts the image
//               read and written once, against the device copy ceiling;
//   gpu us:     the device's time per image alone (the batch enqueued on one stream behind a spinning kernel,
//               timed by events), and what share of the copy ceiling that time moves; host us: the host's time to enqueue one image (tables, launches);
//   1 sync:     the same with a synchronisation after every image (cuda_apply_device, the old device path);
//   pinned:     cuda_apply_chain from pinned host memory: one copy in, the kind, one copy out per image, copies
//               overlapped with kernels; % of the both-ways pinned copy ceiling for those bytes;
//   pageable:   cuda_apply_chain from ordinary host memory, through the pinned staging (the addon's path);
//   vs 1 CPU:   the device figure against one image on one CPU thread.
// Then a chain of three kinds, on the device in one batch, against the same three as separate batches.
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
#include <cstring>
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

// The catalog defaults (the parameter check fills in what is not given).
static Params defaults_of(const std::string& owner, const std::vector<ParamSpec>& specs) {
  return detail::checked_params(owner, specs, {}, false);
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
    const Params params = defaults_of(info.name, info.params);
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

// Pinned host <-> device bandwidth over `bytes`: host to device alone, device to host alone, and both at once
// (two streams), each in GB/s of bytes moved.
struct PinnedCeilings {
  double to_device, to_host, both_ways;
};
static PinnedCeilings pinned_bandwidth(size_t bytes) {
  void *h_a = nullptr, *h_b = nullptr, *d_a = nullptr, *d_b = nullptr;
  check(cudaHostAlloc(&h_a, bytes, cudaHostAllocDefault), "cudaHostAlloc");
  check(cudaHostAlloc(&h_b, bytes, cudaHostAllocDefault), "cudaHostAlloc");
  check(cudaMalloc(&d_a, bytes), "cudaMalloc");
  check(cudaMalloc(&d_b, bytes), "cudaMalloc");
  std::memset(h_a, 1, bytes);
  std::memset(h_b, 2, bytes);
  cudaStream_t s1, s2;
  check(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking), "cudaStreamCreate");
  const int reps = 5;
  auto timed = [&](bool up, bool down) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      if (up) check(cudaMemcpyAsync(d_a, h_a, bytes, cudaMemcpyHostToDevice, s1), "cudaMemcpyAsync");
      if (down) check(cudaMemcpyAsync(h_b, d_b, bytes, cudaMemcpyDeviceToHost, s2), "cudaMemcpyAsync");
    }
    check(cudaStreamSynchronize(s1), "cudaStreamSynchronize");
    check(cudaStreamSynchronize(s2), "cudaStreamSynchronize");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return (up + down) * static_cast<double>(bytes) * reps / s / 1e9;
  };
  timed(true, true);  // warm-up
  PinnedCeilings c{timed(true, false), timed(false, true), timed(true, true)};
  cudaStreamDestroy(s1);
  cudaStreamDestroy(s2);
  cudaFreeHost(h_a);
  cudaFreeHost(h_b);
  cudaFree(d_a);
  cudaFree(d_b);
  return c;
}

// Keeps a stream busy for about `ns` nanoseconds, so that work enqueued behind it waits on the device, not
// the host: the events around that work then time the device alone.
__global__ void spin(long long ns) {
  const long long start = clock64();
  const long long cycles = ns * 2;  // >= 1 GHz clocks: at least ns nanoseconds
  while (clock64() - start < cycles) {
  }
}

static double elapsed_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

static int bench(int argc, char** argv) {
  const int batch = argc > 1 ? std::max(3, std::atoi(argv[1])) : 32;
  std::string reason;
  const int devices = cuda_probe(reason);
  if (devices == 0) {
    std::printf("SKIPPED: %s\n", reason.c_str());
    return 0;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("device: %s, batch %d\n", prop.name, batch);
  const double ceiling = copy_bandwidth();
  std::printf("copy ceiling: %.0f GB/s (device-to-device cudaMemcpy of 1 GiB, bytes read + written)\n", ceiling);
  const PinnedCeilings pinned = pinned_bandwidth(size_t{256} << 20);
  std::printf("pinned copies (256 MiB): host to device %.1f GB/s, device to host %.1f GB/s, both ways at once %.1f GB/s\n",
              pinned.to_device, pinned.to_host, pinned.both_ways);
  std::printf("%-22s %5s %11s %8s %5s %8s %5s %8s %10s %10s %5s %10s %9s\n", "kind", "side", "device im/s", "GB/s", "%", "gpu us", "%", "host us",
              "1 sync", "pinned", "%", "pageable", "vs 1 CPU");

  // Host images of the largest size (1024^2, 3 channels), pinned and pageable, one per batch slot.
  const size_t most = size_t{1024} * 1024 * 3;
  std::vector<float*> pinned_in(batch), pinned_out(batch);
  std::vector<std::vector<float>> pageable_in(batch), pageable_out(batch);
  for (int b = 0; b < batch; ++b) {
    pinned_in[b] = cuda_host_alloc(most);
    pinned_out[b] = cuda_host_alloc(most);
    pageable_in[b].resize(most);
    pageable_out[b].resize(most);
  }
  float *d_in = nullptr, *d_out = nullptr;
  check(cudaMalloc(&d_in, most * batch * sizeof(float)), "cudaMalloc");
  check(cudaMalloc(&d_out, most * batch * sizeof(float)), "cudaMalloc");
  CudaQueue queues[3];

  for (int side : {1024, 256}) {
    for (const KernelInfo& info : all_kernels()) {
      if (!cuda_has_kernel(info.kind)) continue;
      const int channels = info.needs_color ? 3 : 1;
      const size_t n = static_cast<size_t>(side) * side * channels;
      const Params params = defaults_of(info.kind, info.params);

      // One random texture, copied to every slot of every batch.
      Image host = Image::allocate(side, side, channels);
      const Rng rng(5, 1);
      for (size_t i = 0; i < n; ++i) host.data()[i] = 0.1f + 0.8f * rng.uniform(i);
      for (int b = 0; b < batch; ++b) {
        check(cudaMemcpy(d_in + n * b, host.data(), n * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");
        std::copy(host.data(), host.data() + n, pinned_in[b]);
        std::copy(host.data(), host.data() + n, pageable_in[b].data());
      }

      auto device_batch = [&] {
        for (int b = 0; b < batch; ++b) queues[b % 3].enqueue(info.kind, d_in + n * b, d_out + n * b, side, side, channels, params, b + 1);
        for (CudaQueue& q : queues) q.synchronize();
      };
      device_batch();  // warm-up: pool memory, staging, first launches
      auto t0 = std::chrono::steady_clock::now();
      device_batch();
      const double device_s = elapsed_since(t0);

      t0 = std::chrono::steady_clock::now();
      for (int b = 0; b < batch; ++b) cuda_apply_device(info.kind, d_in + n * b, d_out + n * b, side, side, channels, params, b + 1);
      const double sync_s = elapsed_since(t0);

      // The device's own time per image: the batch on one queue, enqueued behind a spin, timed by events
      // (against the wall-clock figure, it says whether the host's enqueueing or the device bounds a kind).
      cudaStream_t stream = static_cast<cudaStream_t>(queues[0].stream());
      cudaEvent_t begin, end;
      check(cudaEventCreate(&begin), "cudaEventCreate");
      check(cudaEventCreate(&end), "cudaEventCreate");
      spin<<<1, 1, 0, stream>>>(50000000LL);  // 50 ms: longer than enqueueing any batch here
      check(cudaEventRecord(begin, stream), "cudaEventRecord");
      const auto enqueue_t0 = std::chrono::steady_clock::now();
      for (int b = 0; b < batch; ++b) queues[0].enqueue(info.kind, d_in + n * b, d_out + n * b, side, side, channels, params, b + 1);
      const double enqueue_s = elapsed_since(enqueue_t0);
      check(cudaEventRecord(end, stream), "cudaEventRecord");
      queues[0].synchronize();
      float kernels_ms = 0.0f;
      check(cudaEventElapsedTime(&kernels_ms, begin, end), "cudaEventElapsedTime");
      cudaEventDestroy(begin);
      cudaEventDestroy(end);
      if (enqueue_s > 0.05) std::fprintf(stderr, "%s: enqueueing outlasted the spin; its kernel time is not the device's alone\n", info.kind.c_str());

      std::vector<CudaItem> pinned_items, pageable_items;
      for (int b = 0; b < batch; ++b) {
        pinned_items.push_back({pinned_in[b], pinned_out[b], side, side, channels, static_cast<uint64_t>(b + 1)});
        pageable_items.push_back({pageable_in[b].data(), pageable_out[b].data(), side, side, channels, static_cast<uint64_t>(b + 1)});
      }
      const std::vector<CudaStep> steps = {{info.kind, params}};
      cuda_apply_chain(steps, pinned_items);  // warm-up
      t0 = std::chrono::steady_clock::now();
      cuda_apply_chain(steps, pinned_items);
      const double pinned_s = elapsed_since(t0);
      cuda_apply_chain(steps, pageable_items);  // warm-up (the staging buffers)
      t0 = std::chrono::steady_clock::now();
      cuda_apply_chain(steps, pageable_items);
      const double pageable_s = elapsed_since(t0);

      // The batch's results are the device path's (the same seeds): a fast wrong answer cannot pass unseen.
      Image reference = Image::allocate(side, side, channels);
      check(cudaMemcpy(reference.data(), d_out + n * (batch - 1), n * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy");
      if (!std::equal(reference.data(), reference.data() + n, pinned_out[batch - 1]) ||
          !std::equal(reference.data(), reference.data() + n, pageable_out[batch - 1].data())) {
        std::fprintf(stderr, "%s: the host paths' result differs from the device path's\n", info.kind.c_str());
        return 1;
      }

      // One image on one CPU thread, for scale.
      Image cpu_out;
      t0 = std::chrono::steady_clock::now();
      info.apply(host, cpu_out, params, 1, 1);
      const double cpu_s = elapsed_since(t0);

      const double bytes = 2.0 * n * sizeof(float);  // read + write of one image (and in + out for the host paths)
      const double device_ips = batch / device_s, pinned_ips = batch / pinned_s;
      const double gpu_s = 1e-3 * kernels_ms / batch;
      std::printf("%-22s %5d %11.0f %8.0f %4.0f%% %8.1f %4.0f%% %8.1f %10.0f %10.0f %4.0f%% %10.0f %8.0fx\n", info.kind.c_str(), side, device_ips,
                  device_ips * bytes / 1e9, 100.0 * device_ips * bytes / 1e9 / ceiling, 1e6 * gpu_s, 100.0 * bytes / gpu_s / 1e9 / ceiling,
                  1e6 * enqueue_s / batch,
                  batch / sync_s, pinned_ips, 100.0 * pinned_ips * bytes / 1e9 / pinned.both_ways, batch / pageable_s, device_ips * cpu_s);
      std::fflush(stdout);
    }
  }

  // A chain on the device against its steps run one batch after another (each with its own copies).
  const char* chain_kinds[] = {"gaussian_blur", "quantum_noise", "jpeg"};
  std::vector<CudaStep> chain;
  for (const char* kind : chain_kinds) chain.push_back({kind, defaults_of(kind, find_kernel(kind)->params)});
  std::vector<CudaItem> items;
  for (int b = 0; b < batch; ++b) items.push_back({pinned_in[b], pinned_out[b], 1024, 1024, 1, static_cast<uint64_t>(b + 1)});
  cuda_apply_chain(chain, items);
  auto t0 = std::chrono::steady_clock::now();
  cuda_apply_chain(chain, items);
  const double chain_s = elapsed_since(t0);
  t0 = std::chrono::steady_clock::now();
  for (const CudaStep& step : chain) cuda_apply_chain({step}, items);
  const double steps_s = elapsed_since(t0);
  std::printf("\nchain gaussian_blur -> quantum_noise -> jpeg, 1024x1024, pinned: %.0f im/s as one chain, %.0f im/s as three batches\n",
              batch / chain_s, batch / steps_s);

  for (int b = 0; b < batch; ++b) {
    cuda_host_free(pinned_in[b]);
    cuda_host_free(pinned_out[b]);
  }
  check(cudaFree(d_in), "cudaFree");
  check(cudaFree(d_out), "cudaFree");
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
