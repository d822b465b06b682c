// Sample-by-sample kinds (photometric, white noise, x-ray display-domain defects), one thread per pixel position
// handling every channel. Each operator returns the same double expression as its CPU kernel
// (src/photometric.cpp, src/noise.cpp, src/xray.cpp), which is then clamped the same way.
#include <cmath>

#include "common.cuh"

namespace medpsim {
namespace cuda {
namespace {

// Stream ids of the CPU kernels (src/noise.cpp, src/xray.cpp): the same Philox counters give the same noise.
constexpr uint32_t kUniformStream = 0x0100, kGaussianStream = 0x0200;
constexpr uint32_t kDeadPixelStream = 0x2200;

// out(c, i) = clamp01(op(c, i, in(c, i))) for pixel index i in the plane.
template <typename Op>
__global__ void point_kernel(const float* in, float* out, size_t plane, int channels, Op op) {
  MEDPSIM_GRID_STRIDE(i, plane) {
    for (int c = 0; c < channels; ++c) out[c * plane + i] = clamp01(op(c, i, in[c * plane + i]));
  }
}

template <typename Op>
void point_op(const Job& job, Op op) {
  point_kernel<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job.in, job.out, job.plane(), job.channels, op);
  MEDPSIM_CUDA_LAUNCHED("point_kernel");
}

// ----- photometric -----

struct AddPerChannel {
  double offset[3];
  __device__ double operator()(int c, size_t, float x) const { return x + offset[c]; }
};

void lightness_shift(const Job& job, const Params& p, uint64_t) {
  const double delta = p.at("delta");
  if (delta == 0.0) return copy_job(job);
  point_op(job, AddPerChannel{{delta, delta, delta}});
}

void color_shift(const Job& job, const Params& p, uint64_t) {
  const AddPerChannel op{{p.at("red"), p.at("green"), p.at("blue")}};
  if (op.offset[0] == 0.0 && op.offset[1] == 0.0 && op.offset[2] == 0.0) return copy_job(job);
  point_op(job, op);
}

// The CPU's plane_mean: each row summed left to right in double, then the row sums added in row order
// and divided by w h. The same order here (one thread per row, then one thread over the rows) gives
// the very same double.
__global__ void row_sums(const float* plane, int w, int h, double* rows) {
  MEDPSIM_GRID_STRIDE(y, static_cast<size_t>(h)) {
    double s = 0.0;
    for (int x = 0; x < w; ++x) s += plane[y * w + x];
    rows[y] = s;
  }
}
__global__ void ordered_mean(const double* rows, int w, int h, double* mean) {
  double total = 0.0;
  for (int y = 0; y < h; ++y) total += rows[y];
  *mean = total / (static_cast<double>(w) * h);
}

struct Contrast {
  const double* mean;  // per channel, on the device
  double factor;
  __device__ double operator()(int c, size_t, float x) const { return mean[c] + factor * (x - mean[c]); }
};

void contrast(const Job& job, const Params& p, uint64_t) {
  const double factor = p.at("factor");
  if (factor == 1.0) return copy_job(job);
  DeviceBuffer<double> rows(job.h, job), means(job.channels, job);
  for (int c = 0; c < job.channels; ++c) {
    row_sums<<<blocks_for(job.h), kBlock, 0, job.stream>>>(job.in + c * job.plane(), job.w, job.h, rows.get());
    MEDPSIM_CUDA_LAUNCHED("row_sums");
    ordered_mean<<<1, 1, 0, job.stream>>>(rows.get(), job.w, job.h, means.get() + c);
    MEDPSIM_CUDA_LAUNCHED("ordered_mean");
  }
  point_op(job, Contrast{means.get(), factor});
}

__global__ void saturation_kernel(const float* in, float* out, size_t plane, double factor) {
  MEDPSIM_GRID_STRIDE(i, plane) {
    const float r = in[i], g = in[plane + i], b = in[2 * plane + i];
    const double luma = 0.2126 * r + 0.7152 * g + 0.0722 * b;  // Rec. 709
    out[i] = clamp01(luma + factor * (r - luma));
    out[plane + i] = clamp01(luma + factor * (g - luma));
    out[2 * plane + i] = clamp01(luma + factor * (b - luma));
  }
}

void saturation(const Job& job, const Params& p, uint64_t) {
  const double factor = p.at("factor");
  if (factor == 1.0) return copy_job(job);
  saturation_kernel<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job.in, job.out, job.plane(), factor);
  MEDPSIM_CUDA_LAUNCHED("saturation");
}

// ----- white noise -----

struct UniformNoise {
  uint64_t seed;
  double a;
  __device__ double operator()(int c, size_t i, float x) const { return x + a * (2.0 * Rng(seed, kUniformStream + c).uniform(i) - 1.0); }
};

void uniform_noise(const Job& job, const Params& p, uint64_t seed) {
  const double a = p.at("amplitude");
  if (a == 0.0) return copy_job(job);
  point_op(job, UniformNoise{seed, a});
}

struct GaussianNoise {
  uint64_t seed;
  double sigma;
  __device__ double operator()(int c, size_t i, float x) const { return x + sigma * Rng(seed, kGaussianStream + c).gaussian(i); }
};

void gaussian_noise(const Job& job, const Params& p, uint64_t seed) {
  const double sigma = p.at("sigma");
  if (sigma == 0.0) return copy_job(job);
  point_op(job, GaussianNoise{seed, sigma});
}

struct Checkerboard {
  const double* tile;
  int period, w;
  double a;
  __device__ double operator()(int, size_t i, float x) const {
    const int px = static_cast<int>(i % w), py = static_cast<int>(i / w);
    return x + a * tile[static_cast<size_t>(py % period) * period + px % period];
  }
};

void checkerboard(const Job& job, const Params& p, uint64_t seed) {
  const double a = p.at("amplitude");
  if (a == 0.0) return copy_job(job);
  const int period = static_cast<int>(p.at("period"));
  // The tile is period^2 <= 1024 values: made on the host by the CPU kernel's code.
  const DeviceBuffer<double> d_tile(detail::checkerboard_tile(period, seed), job);
  point_op(job, Checkerboard{d_tile.get(), period, job.w, a});
}

// ----- x-ray -----

struct DeadPixels {
  const char* dead_row;
  const char* dead_col;
  uint64_t seed;
  double fraction;
  int w;
  __device__ double operator()(int, size_t i, float x) const {
    if (dead_row[i / w] || dead_col[i % w]) return 0.0;
    const Rng rng(seed, kDeadPixelStream);
    if (fraction > 0.0 && rng.uniform(i, 0) < fraction) return rng.uniform(i, 1) < 0.5f ? 0.0 : 1.0;
    return static_cast<double>(x);
  }
};

void dead_pixels(const Job& job, const Params& p, uint64_t seed) {
  const double fraction = p.at("fraction");
  const int lines = static_cast<int>(p.at("lines"));
  if (fraction == 0.0 && lines == 0) return copy_job(job);
  // At most 64 lines: drawn on the host by the CPU kernel's code.
  std::vector<char> dead_row, dead_col;
  detail::dead_lines(job.w, job.h, lines, seed, dead_row, dead_col);
  const DeviceBuffer<char> d_row(dead_row, job), d_col(dead_col, job);
  point_op(job, DeadPixels{d_row.get(), d_col.get(), seed, fraction, job.w});
}

struct Windowing {
  double centre, width;
  __device__ double operator()(int, size_t, float x) const { return (x - centre) / width + 0.5; }
};

void windowing(const Job& job, const Params& p, uint64_t) {
  const double centre = 0.5 + p.at("center_shift"), width = p.at("width_scale");
  if (centre == 0.5 && width == 1.0) return copy_job(job);
  point_op(job, Windowing{centre, width});
}

}  // namespace

void register_pointwise(std::vector<CudaKernel>& k) {
  k.push_back({"lightness_shift", lightness_shift});
  k.push_back({"color_shift", color_shift});
  k.push_back({"contrast", contrast});
  k.push_back({"saturation", saturation});
  k.push_back({"uniform_noise", uniform_noise});
  k.push_back({"gaussian_noise", gaussian_noise});
  k.push_back({"checkerboard", checkerboard});
  k.push_back({"dead_pixels", dead_pixels});
  k.push_back({"windowing", windowing});
}

}  // namespace cuda
}  // namespace medpsim
