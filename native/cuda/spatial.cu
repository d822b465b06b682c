// Spatial kinds by inverse mapping, as src/spatial.cpp: each output pixel samples the input bilinearly
// (reflect-101) at a source position. Matrices, random lattices and trigonometry are computed on the
// host by the CPU kernel's code, so the device only repeats its per-pixel arithmetic.
#include <algorithm>
#include <cmath>

#include "common.cuh"
#include "medpsim/warp_field.hpp"

namespace medpsim {
namespace cuda {
namespace {

constexpr double kDeg = M_PI / 180.0;

// out(c, y, x) = clamp01(in(c, source(x, y))) for every channel.
template <typename Source>
__global__ void remap_kernel(Job job, Source source) {
  const size_t plane = job.plane();
  MEDPSIM_GRID_STRIDE(i, plane) {
    const int x = static_cast<int>(i % job.w), y = static_cast<int>(i / job.w);
    double sx, sy;
    source(x, y, sx, sy);
    for (int c = 0; c < job.channels; ++c) job.out[c * plane + i] = clamp01(sample_bilinear(job.in + c * plane, job.w, job.h, sx, sy));
  }
}

template <typename Source>
void remap(const Job& job, Source source) {
  remap_kernel<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job, source);
  MEDPSIM_CUDA_LAUNCHED("remap");
}

struct Shift {
  double dx, dy;
  __device__ void operator()(int x, int y, double& sx, double& sy) const {
    sx = x - dx;
    sy = y - dy;
  }
};

void shift(const Job& job, const Params& p, uint64_t) {
  const double dx = p.at("dx"), dy = p.at("dy");
  if (dx == 0.0 && dy == 0.0) return copy_job(job);
  remap(job, Shift{dx, dy});
}

struct Affine {
  double ia, ib, ic, id, cx, cy, tx, ty;
  __device__ void operator()(int x, int y, double& sx, double& sy) const {
    const double u = x - cx - tx, v = y - cy - ty;
    sx = cx + ia * u + ib * v;
    sy = cy + ic * u + id * v;
  }
};

void affine(const Job& job, const Params& p, uint64_t) {
  const double rot = p.at("rotation") * kDeg, scale = p.at("scale"), shear = p.at("shear") * kDeg;
  const double tx = p.at("tx"), ty = p.at("ty");
  if (rot == 0.0 && scale == 1.0 && shear == 0.0 && tx == 0.0 && ty == 0.0) return copy_job(job);
  const double cr = std::cos(rot), sr = std::sin(rot), sh = std::tan(shear);
  const double a = scale * cr, b = scale * (cr * sh + sr), c = -scale * sr, d = scale * (-sr * sh + cr);
  const double det = a * d - b * c;
  remap(job, Affine{d / det, -b / det, -c / det, a / det, 0.5 * (job.w - 1), 0.5 * (job.h - 1), tx, ty});
}

struct Homography {
  double hm[9];
  __device__ void operator()(int x, int y, double& sx, double& sy) const {
    const double q = hm[6] * x + hm[7] * y + hm[8];
    sx = (hm[0] * x + hm[1] * y + hm[2]) / q;
    sy = (hm[3] * x + hm[4] * y + hm[5]) / q;
  }
};

void homography(const Job& job, const Params& p, uint64_t seed) {
  const double jitter = p.at("jitter");
  if (jitter == 0.0) return copy_job(job);
  Homography source;
  detail::homography_matrix(job.w, job.h, jitter, seed, source.hm);
  remap(job, source);
}

void warp(const Job& job, const Params& p, uint64_t seed, bool cubic) {
  const double magnitude = p.at("magnitude");
  if (magnitude == 0.0) return copy_job(job);
  const int grid = static_cast<int>(p.at("grid"));
  std::vector<double> fx, fy;
  detail::warp_lattice(job.w, job.h, grid, magnitude, seed, fx, fy);  // the CPU kernel's lattice
  const DeviceBuffer<double> d_fx(fx, job), d_fy(fy, job);
  remap(job, detail::WarpField{d_fx.get(), d_fy.get(), grid, job.w, job.h, cubic});  // the CPU's field
}

void linear_warp(const Job& job, const Params& p, uint64_t seed) { warp(job, p, seed, false); }
void cubic_warp(const Job& job, const Params& p, uint64_t seed) { warp(job, p, seed, true); }

__global__ void ghosting_kernel(Job job, double alpha, double dx, double dy) {
  const size_t plane = job.plane();
  MEDPSIM_GRID_STRIDE(i, plane) {
    const int x = static_cast<int>(i % job.w), y = static_cast<int>(i / job.w);
    for (int c = 0; c < job.channels; ++c) {
      const double ghost = sample_bilinear(job.in + c * plane, job.w, job.h, x - dx, y - dy);
      job.out[c * plane + i] = clamp01((1.0 - alpha) * job.in[c * plane + i] + alpha * ghost);
    }
  }
}

void ghosting(const Job& job, const Params& p, uint64_t) {
  const double alpha = p.at("alpha");
  if (alpha == 0.0) return copy_job(job);
  ghosting_kernel<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job, alpha, p.at("dx"), p.at("dy"));
  MEDPSIM_CUDA_LAUNCHED("ghosting");
}

// Red magnified and blue shrunk about the centre; green copied.
__global__ void chromatic_kernel(Job job, double cx, double cy, double red, double blue) {
  const size_t plane = job.plane();
  MEDPSIM_GRID_STRIDE(i, plane) {
    const int x = static_cast<int>(i % job.w), y = static_cast<int>(i / job.w);
    job.out[i] = clamp01(sample_bilinear(job.in, job.w, job.h, cx + (x - cx) * red, cy + (y - cy) * red));
    job.out[plane + i] = job.in[plane + i];
    job.out[2 * plane + i] = clamp01(sample_bilinear(job.in + 2 * plane, job.w, job.h, cx + (x - cx) * blue, cy + (y - cy) * blue));
  }
}

void chromatic_aberration(const Job& job, const Params& p, uint64_t) {
  const double shift_px = p.at("shift");
  if (shift_px == 0.0) return copy_job(job);
  const double k = shift_px / (0.5 * std::max(job.w, job.h));
  chromatic_kernel<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job, 0.5 * (job.w - 1), 0.5 * (job.h - 1), 1.0 - k, 1.0 + k);
  MEDPSIM_CUDA_LAUNCHED("chromatic_aberration");
}

}  // namespace

void register_spatial(std::vector<CudaKernel>& k) {
  k.push_back({"shift", shift});
  k.push_back({"affine", affine});
  k.push_back({"homography", homography});
  k.push_back({"linear_warp", linear_warp});
  k.push_back({"cubic_warp", cubic_warp});
  k.push_back({"ghosting", ghosting});
  k.push_back({"chromatic_aberration", chromatic_aberration});
}

}  // namespace cuda
}  // namespace medpsim
