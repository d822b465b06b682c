// Neighbourhood kinds: gaussian_blur, bilateral, motion_blur, scatter, resolution_loss, jpeg. Each follows
// its CPU kernel (src/helpers.cpp, src/blur.cpp, src/xray.cpp, src/compression.cpp) sum for sum: taps and
// tables are computed on the host by the same code, and every accumulation runs in the same order and
// precision, which is what keeps CPU and CUDA within 1e-5.
#include <algorithm>
#include <cmath>

#include "common.cuh"

namespace medpsim {
namespace cuda {
namespace {

// ----- gaussian_blur: separable convolution, rows into a float buffer, then columns -----
// As src/helpers.cpp convolve_separable (since its vectorised rewrite): float taps, float accumulators,
// taps added in order k = 0 .. 2r for each sample.

void gaussian_blur(const Job& job, const Params& p, uint64_t) {
  const double sigma = p.at("sigma");
  if (sigma == 0.0) return copy_job(job);
  const std::vector<double> taps = detail::gaussian_kernel(sigma);
  const int r = static_cast<int>(taps.size() / 2);
  const DeviceBuffer<float> k(std::vector<float>(taps.begin(), taps.end()), job);
  DeviceBuffer<float> tmp(job.plane(), job);
  for (int c = 0; c < job.channels; ++c) {
    convolve_rows<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job.in + c * job.plane(), tmp.get(), job.w, job.h, k.get(), r);
    MEDPSIM_CUDA_LAUNCHED("convolve_rows");
    convolve_columns<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(tmp.get(), job.out + c * job.plane(), job.w, job.h, k.get(), r, true);
    MEDPSIM_CUDA_LAUNCHED("convolve_columns");
  }
}

// ----- bilateral: the (2r+1)^2 window, one exp per tap, range distance over all channels (as src/blur.cpp) -----

__global__ void bilateral_kernel(Job job, const float* spatial, int r, float range) {
  const size_t plane = job.plane();
  MEDPSIM_GRID_STRIDE(centre, plane) {
    const int x = static_cast<int>(centre % job.w), y = static_cast<int>(centre / job.w);
    float acc[3] = {0.0f, 0.0f, 0.0f}, norm = 0.0f;
    for (int dy = -r; dy <= r; ++dy) {
      const size_t row = static_cast<size_t>(reflect101(y + dy, job.h)) * job.w;
      for (int dx = -r; dx <= r; ++dx) {
        const size_t q = row + reflect101(x + dx, job.w);
        float d2 = 0.0f;
        for (int c = 0; c < job.channels; ++c) {
          const float d = job.in[c * plane + q] - job.in[c * plane + centre];
          d2 += d * d;
        }
        const float weight = detail::exp_nonpositive(range * d2 + spatial[(dy + r) * (2 * r + 1) + dx + r]);
        norm += weight;
        for (int c = 0; c < job.channels; ++c) acc[c] += weight * job.in[c * plane + q];
      }
    }
    for (int c = 0; c < job.channels; ++c) job.out[c * plane + centre] = clamp01(acc[c] / norm);
  }
}

void bilateral(const Job& job, const Params& p, uint64_t) {
  const double ss = p.at("sigma_spatial"), sr = p.at("sigma_range");
  if (ss == 0.0 || sr == 0.0) return copy_job(job);
  const int r = static_cast<int>(std::ceil(2.0 * ss));
  const DeviceBuffer<float> spatial(detail::bilateral_spatial(r, ss), job);  // the CPU's exponents
  bilateral_kernel<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job, spatial.get(), r, static_cast<float>(-0.5 / (sr * sr)));
  MEDPSIM_CUDA_LAUNCHED("bilateral");
}

// ----- motion_blur: the CPU's line kernel (detail::motion_taps), taps added in its order in float -----

__global__ void motion_blur_kernel(Job job, const detail::MotionTap* taps, int count) {
  const size_t plane = job.plane();
  MEDPSIM_GRID_STRIDE(i, plane) {
    const int x = static_cast<int>(i % job.w), y = static_cast<int>(i / job.w);
    for (int c = 0; c < job.channels; ++c) {
      const float* src = job.in + c * plane;
      float acc = 0.0f;
      for (int t = 0; t < count; ++t) {
        acc += taps[t].weight * src[static_cast<size_t>(reflect101(y + taps[t].dy, job.h)) * job.w + reflect101(x + taps[t].dx, job.w)];
      }
      job.out[c * plane + i] = clamp01(acc);
    }
  }
}

void motion_blur(const Job& job, const Params& p, uint64_t) {
  const double length = p.at("length");
  if (length == 0.0) return copy_job(job);
  const DeviceBuffer<detail::MotionTap> taps(detail::motion_taps(length, p.at("angle")), job);  // made on the host by the CPU's code
  motion_blur_kernel<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job, taps.get(), static_cast<int>(taps.size()));
  MEDPSIM_CUDA_LAUNCHED("motion_blur");
}

// ----- scatter: the detector signal, three box passes per axis (running sums, one thread per line), then a blend -----

// One box pass over `lines` lines of n samples (line l starts at l * line_step, samples `stride` apart),
// in place; `scratch` holds n doubles per line, the copy the CPU's box_line reads from.
__global__ void box_lines(float* p, int lines, int n, size_t line_step, size_t stride, int r, double* scratch) {
  MEDPSIM_GRID_STRIDE(l, static_cast<size_t>(lines)) {
    float* v = p + l * line_step;
    double* line = scratch + l * n;
    for (int i = 0; i < n; ++i) line[i] = v[i * stride];
    double sum = 0.0;
    for (int k = -r; k <= r; ++k) sum += line[reflect101(k, n)];
    const double norm = 1.0 / (2 * r + 1);
    for (int i = 0; i < n; ++i) {
      v[i * stride] = static_cast<float>(sum * norm);
      sum += line[reflect101(static_cast<int64_t>(i) + r + 1, n)] - line[reflect101(static_cast<int64_t>(i) - r, n)];
    }
  }
}

__global__ void to_signal_kernel(const float* in, float* signal, size_t n, detail::DetectorResponse r) {
  MEDPSIM_GRID_STRIDE(i, n) signal[i] = detail::to_signal(r, in[i]);
}

__global__ void scatter_blend(const float* signal, const float* veil, float* out, size_t n, detail::DetectorResponse r, float spr, float keep) {
  MEDPSIM_GRID_STRIDE(i, n) out[i] = detail::to_display(r, detail::scattered_signal(signal[i], veil[i], spr, keep));
}

void scatter(const Job& job, const Params& p, uint64_t) {
  const double spr = p.at("spr"), sigma = p.at("sigma");
  if (spr == 0.0 || sigma == 0.0) return copy_job(job);
  const detail::DetectorResponse r = detail::detector_response(p);
  const std::vector<int> radii = detail::box_radii(sigma, 3);  // the CPU's box widths (src/helpers.cpp)
  DeviceBuffer<float> signal(job.size(), job), veil(job.size(), job);
  to_signal_kernel<<<blocks_for(job.size()), kBlock, 0, job.stream>>>(job.in, signal.get(), job.size(), r);
  MEDPSIM_CUDA_LAUNCHED("to_signal");
  check(cudaMemcpyAsync(veil.get(), signal.get(), job.size() * sizeof(float), cudaMemcpyDeviceToDevice, job.stream), "cudaMemcpyAsync on device");
  DeviceBuffer<double> scratch(job.plane(), job);  // n doubles per line, w x h either way
  for (int c = 0; c < job.channels; ++c) {
    float* plane = veil.get() + c * job.plane();
    for (int radius : radii) {
      box_lines<<<blocks_for(job.h), kBlock, 0, job.stream>>>(plane, job.h, job.w, job.w, 1, radius, scratch.get());
      MEDPSIM_CUDA_LAUNCHED("box_lines (rows)");
    }
    for (int radius : radii) {
      box_lines<<<blocks_for(job.w), kBlock, 0, job.stream>>>(plane, job.w, job.h, 1, job.w, radius, scratch.get());
      MEDPSIM_CUDA_LAUNCHED("box_lines (columns)");
    }
  }
  // The CPU's float spr and 1 / (1 + spr).
  scatter_blend<<<blocks_for(job.size()), kBlock, 0, job.stream>>>(signal.get(), veil.get(), job.out, job.size(), r, static_cast<float>(spr),
                                                    static_cast<float>(1.0 / (1.0 + spr)));
  MEDPSIM_CUDA_LAUNCHED("scatter_blend");
}

// ----- resolution_loss: area downsampling (taps from the host), bilinear upsampling -----

// The CPU's area_taps, flattened: output j uses taps [start[j], start[j + 1]).
struct AreaTaps {
  std::vector<int> start, index;
  std::vector<double> weight;
};
AreaTaps area_taps(int n, int m) {
  AreaTaps taps;
  const double scale = static_cast<double>(n) / m;
  for (int j = 0; j < m; ++j) {
    taps.start.push_back(static_cast<int>(taps.index.size()));
    const double a = j * scale, b = (j + 1) * scale;
    for (int k = static_cast<int>(std::floor(a)); k < std::min(n, static_cast<int>(std::ceil(b))); ++k) {
      const double overlap = std::min(b, k + 1.0) - std::max(a, static_cast<double>(k));
      if (overlap > 0.0) {
        taps.index.push_back(k);
        taps.weight.push_back(overlap / scale);
      }
    }
  }
  taps.start.push_back(static_cast<int>(taps.index.size()));
  return taps;
}

struct DeviceTaps {
  DeviceBuffer<int> start, index;
  DeviceBuffer<double> weight;
  DeviceTaps(const AreaTaps& t, const Job& job) : start(t.start, job), index(t.index, job), weight(t.weight, job) {}
};

__global__ void area_rows(const float* src, double* tmp, int w, int h, int sw, const int* start, const int* index, const double* weight) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(sw) * h) {
    const int j = static_cast<int>(i % sw), y = static_cast<int>(i / sw);
    double s = 0.0;
    for (int t = start[j]; t < start[j + 1]; ++t) s += weight[t] * src[static_cast<size_t>(y) * w + index[t]];
    tmp[i] = s;
  }
}

__global__ void area_columns(const double* tmp, double* small, int sw, int sh, const int* start, const int* index, const double* weight) {
  MEDPSIM_GRID_STRIDE(o, static_cast<size_t>(sw) * sh) {
    const int j = static_cast<int>(o % sw), i = static_cast<int>(o / sw);
    double s = 0.0;
    for (int t = start[i]; t < start[i + 1]; ++t) s += weight[t] * tmp[static_cast<size_t>(index[t]) * sw + j];
    small[o] = s;
  }
}

// Half-pixel centres, clamped to the small image (the CPU's `coord`).
__device__ void up_coord(int pos, int n, int m, int& i0, int& i1, double& t) {
  const double s = fmax(0.0, fmin(m - 1.0, (pos + 0.5) * m / n - 0.5));
  i0 = static_cast<int>(floor(s));
  i1 = min(m - 1, i0 + 1);
  t = s - i0;
}

__global__ void upsample(const double* small, float* dst, int w, int h, int sw, int sh) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(w) * h) {
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    int r0, r1, c0, c1;
    double ty, tx;
    up_coord(y, h, sh, r0, r1, ty);
    up_coord(x, w, sw, c0, c1, tx);
    const double top = small[static_cast<size_t>(r0) * sw + c0] * (1 - tx) + small[static_cast<size_t>(r0) * sw + c1] * tx;
    const double bottom = small[static_cast<size_t>(r1) * sw + c0] * (1 - tx) + small[static_cast<size_t>(r1) * sw + c1] * tx;
    dst[i] = clamp01(top * (1 - ty) + bottom * ty);
  }
}

void resolution_loss(const Job& job, const Params& p, uint64_t) {
  const double factor = p.at("factor");
  if (factor == 1.0) return copy_job(job);
  const int w = job.w, h = job.h;
  const int sw = std::max(1, static_cast<int>(std::lround(w / factor)));
  const int sh = std::max(1, static_cast<int>(std::lround(h / factor)));
  const DeviceTaps tx(area_taps(w, sw), job), ty(area_taps(h, sh), job);
  DeviceBuffer<double> tmp(static_cast<size_t>(sw) * h, job), small(static_cast<size_t>(sw) * sh, job);
  for (int c = 0; c < job.channels; ++c) {
    area_rows<<<blocks_for(tmp.size()), kBlock, 0, job.stream>>>(job.in + c * job.plane(), tmp.get(), w, h, sw, tx.start.get(), tx.index.get(),
                                                  tx.weight.get());
    MEDPSIM_CUDA_LAUNCHED("area_rows");
    area_columns<<<blocks_for(small.size()), kBlock, 0, job.stream>>>(tmp.get(), small.get(), sw, sh, ty.start.get(), ty.index.get(), ty.weight.get());
    MEDPSIM_CUDA_LAUNCHED("area_columns");
    upsample<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(small.get(), job.out + c * job.plane(), w, h, sw, sh);
    MEDPSIM_CUDA_LAUNCHED("upsample");
  }
}

// ----- jpeg: one 64-thread block per 8x8 block and component -----

// Passed by value (1.5 KB of kernel parameters): the DCT matrix (computed with the host's std::cos, so
// identical to the CPU's) and the two quantisation tables.
struct JpegTables {
  double t[8][8];
  double q[2][64];
};

// Both made by the CPU kernel's code (src/compression.cpp).
JpegTables jpeg_tables(int quality) {
  JpegTables tables;
  detail::jpeg_quant_tables(quality, tables.q[0], tables.q[1]);
  detail::dct8_matrix(tables.t);
  return tables;
}

// 8-bit levels (JFIF YCbCr for colour), level-shifted by 128, into `comp` (channels planes of doubles).
__global__ void jpeg_components(Job job, double* comp) {
  const size_t plane = job.plane();
  MEDPSIM_GRID_STRIDE(i, plane) {
    if (job.channels == 1) {
      comp[i] = round(255.0 * clamp01(job.in[i])) - 128.0;
    } else {
      const double r = round(255.0 * clamp01(job.in[i])), g = round(255.0 * clamp01(job.in[plane + i]));
      const double b = round(255.0 * clamp01(job.in[2 * plane + i]));
      comp[i] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
      comp[plane + i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
      comp[2 * plane + i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
    }
  }
}

// Forward DCT, quantise, dequantise, inverse DCT of block (blockIdx.x, blockIdx.y) of component
// blockIdx.z, in place. Thread (row, col) computes one entry of each of the four matrix products with
// the CPU's summation order. Edge blocks read replicated samples from inside their own block, so the
// in-place update cannot race with a neighbour.
__global__ void jpeg_blocks(double* comp, int w, int h, JpegTables tables) {
  __shared__ double block[64], tmp[64], coef[64];
  const int row = threadIdx.x / 8, col = threadIdx.x % 8;
  const int bx = blockIdx.x, by = blockIdx.y, c = blockIdx.z;
  double* plane = comp + static_cast<size_t>(c) * w * h;
  const double* q = tables.q[c == 0 ? 0 : 1];
  block[threadIdx.x] = plane[static_cast<size_t>(min(by * 8 + row, h - 1)) * w + min(bx * 8 + col, w - 1)];
  __syncthreads();
  double s = 0.0;  // tmp = T * block
  for (int y = 0; y < 8; ++y) s += tables.t[row][y] * block[y * 8 + col];
  tmp[threadIdx.x] = s;
  __syncthreads();
  s = 0.0;  // coef = tmp * T^T, quantised
  for (int x = 0; x < 8; ++x) s += tmp[row * 8 + x] * tables.t[col][x];
  coef[threadIdx.x] = round(s / q[threadIdx.x]) * q[threadIdx.x];
  __syncthreads();
  s = 0.0;  // tmp = T^T * coef
  for (int u = 0; u < 8; ++u) s += tables.t[u][row] * coef[u * 8 + col];
  tmp[threadIdx.x] = s;
  __syncthreads();
  s = 0.0;  // block = tmp * T
  for (int v = 0; v < 8; ++v) s += tmp[row * 8 + v] * tables.t[v][col];
  if (by * 8 + row < h && bx * 8 + col < w) plane[static_cast<size_t>(by * 8 + row) * w + bx * 8 + col] = s;
}

__device__ float to_level(double v) { return static_cast<float>(fmax(0.0, fmin(255.0, round(v))) / 255.0); }

__global__ void jpeg_output(Job job, const double* comp) {
  const size_t plane = job.plane();
  MEDPSIM_GRID_STRIDE(i, plane) {
    const double y = comp[i] + 128.0;
    if (job.channels == 1) {
      job.out[i] = to_level(y);
    } else {
      const double cb = comp[plane + i], cr = comp[2 * plane + i];
      job.out[i] = to_level(y + 1.402 * cr);
      job.out[plane + i] = to_level(y - 0.344136 * cb - 0.714136 * cr);
      job.out[2 * plane + i] = to_level(y + 1.772 * cb);
    }
  }
}

void jpeg(const Job& job, const Params& p, uint64_t) {
  const JpegTables tables = jpeg_tables(static_cast<int>(p.at("quality")));
  DeviceBuffer<double> comp(job.size(), job);
  jpeg_components<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job, comp.get());
  MEDPSIM_CUDA_LAUNCHED("jpeg_components");
  const dim3 grid((job.w + 7) / 8, (job.h + 7) / 8, job.channels);
  jpeg_blocks<<<grid, 64, 0, job.stream>>>(comp.get(), job.w, job.h, tables);
  MEDPSIM_CUDA_LAUNCHED("jpeg_blocks");
  jpeg_output<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job, comp.get());
  MEDPSIM_CUDA_LAUNCHED("jpeg_output");
}

}  // namespace

void register_filters(std::vector<CudaKernel>& k) {
  k.push_back({"gaussian_blur", gaussian_blur});
  k.push_back({"bilateral", bilateral});
  k.push_back({"motion_blur", motion_blur});
  k.push_back({"scatter", scatter});
  k.push_back({"resolution_loss", resolution_loss});
  k.push_back({"jpeg", jpeg});
}

}  // namespace cuda
}  // namespace medpsim
