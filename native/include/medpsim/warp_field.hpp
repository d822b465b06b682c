// The displacement field of linear_warp and cubic_warp: one implementation, compiled for the CPU
// kernel and (under nvcc) for the CUDA one, so both sample the same positions.
#pragma once

#include <cmath>
#include <cstddef>

#include "medpsim/pixel_ops.hpp"  // MEDPSIM_HD

namespace medpsim {
namespace detail {

// Catmull-Rom weights for fractional offset t in [0, 1) of the taps at -1, 0, 1, 2.
MEDPSIM_HD inline void catmull_rom_weights(double t, double w[4]) {
  const double t2 = t * t, t3 = t2 * t;
  w[0] = 0.5 * (-t3 + 2 * t2 - t);
  w[1] = 0.5 * (3 * t3 - 5 * t2 + 2);
  w[2] = 0.5 * (-3 * t3 + 4 * t2 + t);
  w[3] = 0.5 * (t3 - t2);
}

// A grid x grid lattice of displacements (warp_lattice) interpolated bilinearly or with Catmull-Rom
// (end taps clamped): output (x, y) samples the input at (x, y) + field(x, y).
struct WarpField {
  const double* fx;
  const double* fy;
  int grid, w, h;
  bool cubic;

  // One axis at one position: the first lattice tap and the 4 weights (linear uses the middle two).
  struct Axis {
    int first;
    double weight[4];
  };
  MEDPSIM_HD Axis axis(int pos, int size) const {
    Axis a;
    const double g = size > 1 ? static_cast<double>(pos) * (grid - 1) / (size - 1) : 0.0;
    const int below = static_cast<int>(floor(g));
    a.first = below < grid - 2 ? below : grid - 2;
    const double t = g - a.first;
    if (cubic) {
      catmull_rom_weights(t, a.weight);
    } else {
      a.weight[0] = a.weight[3] = 0.0;
      a.weight[1] = 1.0 - t;
      a.weight[2] = t;
    }
    return a;
  }

  MEDPSIM_HD static int clamp_index(int i, int n) { return i < 0 ? 0 : (i > n - 1 ? n - 1 : i); }

  // The source position of (x, y) from its column's and row's axes (the CPU computes each column's once).
  // Linear weights are 0 at the outer taps: their terms (+-0) would not change the sums, so they are left out.
  MEDPSIM_HD void at(const Axis& ax, const Axis& ay, int x, int y, double& sx, double& sy) const {
    double dx = 0.0, dy = 0.0;
    const int lo = cubic ? 0 : 1, hi = cubic ? 4 : 3;
    for (int j = lo; j < hi; ++j) {
      const int gy = clamp_index(ay.first - 1 + j, grid);
      for (int i = lo; i < hi; ++i) {
        const int gx = clamp_index(ax.first - 1 + i, grid);
        const double weight = ax.weight[i] * ay.weight[j];
        dx += weight * fx[static_cast<size_t>(gy) * grid + gx];
        dy += weight * fy[static_cast<size_t>(gy) * grid + gx];
      }
    }
    sx = x + dx;
    sy = y + dy;
  }

  MEDPSIM_HD void operator()(int x, int y, double& sx, double& sy) const { at(axis(x, w), axis(y, h), x, y, sx, sy); }
};

}  // namespace detail
}  // namespace medpsim
