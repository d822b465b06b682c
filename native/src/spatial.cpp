// Spatial kinds, all by inverse mapping: each output pixel (x, y) reads the input at a source
// position, bilinearly, out-of-image taps reflected (BORDER_REFLECT_101).
#include <cmath>

#include "medpsim/kernels.hpp"
#include "medpsim/warp_field.hpp"
#include "medpsim/random.hpp"

namespace medpsim {
namespace detail {
namespace {

constexpr uint32_t kHomographyStream = 0x1100, kWarpStream = 0x1200;
constexpr double kDeg = M_PI / 180.0;

// out(c, y, x) = in(c, source(x, y)) for every channel; source(x, y, sx, sy) sets the position.
template <typename Source>
void remap(const Image& in, Image& out, int threads, Source source) {
  const int w = in.width(), h = in.height();
  parallel_for(h, threads, [&](int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      for (int x = 0; x < w; ++x) {
        double sx, sy;
        source(x, y, sx, sy);
        for (int c = 0; c < in.channels(); ++c) out.at(c, y, x) = clamp01(sample_bilinear(in.plane(c), w, h, sx, sy));
      }
    }
  });
}

void shift(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double dx = p.at("dx"), dy = p.at("dy");
  if (dx == 0.0 && dy == 0.0) return copy_image(in, out);
  remap(in, out, threads, [&](int x, int y, double& sx, double& sy) {
    sx = x - dx;
    sy = y - dy;
  });
}

// Forward map about the centre c: p' = c + A (p - c) + t with A = scale * R(rotation) * S(shear),
// R counter-clockwise on screen (y down), S = [[1, tan(shear)], [0, 1]]. We sample at the inverse.
void affine(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double rot = p.at("rotation") * kDeg, scale = p.at("scale"), shear = p.at("shear") * kDeg;
  const double tx = p.at("tx"), ty = p.at("ty");
  if (rot == 0.0 && scale == 1.0 && shear == 0.0 && tx == 0.0 && ty == 0.0) return copy_image(in, out);
  const double cr = std::cos(rot), sr = std::sin(rot), sh = std::tan(shear);
  // A = scale * [[cr, sr], [-sr, cr]] * [[1, sh], [0, 1]]
  const double a = scale * cr, b = scale * (cr * sh + sr), c = -scale * sr, d = scale * (-sr * sh + cr);
  const double det = a * d - b * c;
  const double ia = d / det, ib = -b / det, ic = -c / det, id = a / det;
  const double cx = 0.5 * (in.width() - 1), cy = 0.5 * (in.height() - 1);
  remap(in, out, threads, [&](int x, int y, double& sx, double& sy) {
    const double u = x - cx - tx, v = y - cy - ty;
    sx = cx + ia * u + ib * v;
    sy = cy + ic * u + id * v;
  });
}

void homography(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  const double jitter = p.at("jitter");
  if (jitter == 0.0) return copy_image(in, out);
  double hm[9];
  homography_matrix(in.width(), in.height(), jitter, seed, hm);
  remap(in, out, threads, [&](int x, int y, double& sx, double& sy) {
    const double q = hm[6] * x + hm[7] * y + hm[8];
    sx = (hm[0] * x + hm[1] * y + hm[2]) / q;
    sy = (hm[3] * x + hm[4] * y + hm[5]) / q;
  });
}

// Random displacement field from a grid x grid lattice spanning the image (control point (i, j)
// at x = i (w - 1) / (grid - 1)), each point moved by U(-1, 1) * magnitude * shorter side in x
// and y; interpolated bilinearly or with Catmull-Rom (end taps clamped). Output (x, y) samples
// the input at (x, y) + field(x, y).
void warp(const Image& in, Image& out, const Params& p, uint64_t seed, int threads, bool cubic) {
  const double magnitude = p.at("magnitude");
  if (magnitude == 0.0) return copy_image(in, out);
  const int grid = static_cast<int>(p.at("grid"));
  const int w = in.width(), h = in.height();
  std::vector<double> fx, fy;
  warp_lattice(w, h, grid, magnitude, seed, fx, fy);
  const WarpField field{fx.data(), fy.data(), grid, w, h, cubic};
  // Each column's lattice taps once, each row's once per row (the same weights the GPU computes per pixel).
  std::vector<WarpField::Axis> columns(w);
  for (int x = 0; x < w; ++x) columns[x] = field.axis(x, w);
  parallel_for(h, threads, [&](int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      const WarpField::Axis row = field.axis(y, h);
      for (int x = 0; x < w; ++x) {
        double sx, sy;
        field.at(columns[x], row, x, y, sx, sy);
        for (int c = 0; c < in.channels(); ++c) out.at(c, y, x) = clamp01(sample_bilinear(in.plane(c), w, h, sx, sy));
      }
    }
  });
}

void linear_warp(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  warp(in, out, p, seed, threads, false);
}
void cubic_warp(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  warp(in, out, p, seed, threads, true);
}

void ghosting(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double alpha = p.at("alpha"), dx = p.at("dx"), dy = p.at("dy");
  if (alpha == 0.0) return copy_image(in, out);
  const int w = in.width(), h = in.height();
  parallel_for(h, threads, [&](int y0, int y1) {
    for (int c = 0; c < in.channels(); ++c) {
      for (int y = y0; y < y1; ++y) {
        for (int x = 0; x < w; ++x) {
          const double ghost = sample_bilinear(in.plane(c), w, h, x - dx, y - dy);
          out.at(c, y, x) = clamp01((1.0 - alpha) * in.at(c, y, x) + alpha * ghost);
        }
      }
    }
  });
}

// Lateral chromatic aberration: red magnified and blue shrunk about the centre so that at the
// image edge (half the longer side from the centre) red moves out and blue in by `shift` px;
// green is the reference and is copied.
void chromatic_aberration(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double shift_px = p.at("shift");
  if (shift_px == 0.0) return copy_image(in, out);
  const int w = in.width(), h = in.height();
  const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  const double k = shift_px / (0.5 * std::max(w, h));
  const double factor[3] = {1.0 - k, 1.0, 1.0 + k};  // source radius / output radius
  parallel_for(h, threads, [&](int y0, int y1) {
    for (int c = 0; c < 3; ++c) {
      for (int y = y0; y < y1; ++y) {
        for (int x = 0; x < w; ++x) {
          out.at(c, y, x) = c == 1 ? in.at(c, y, x)
                                   : clamp01(sample_bilinear(in.plane(c), w, h, cx + (x - cx) * factor[c], cy + (y - cy) * factor[c]));
        }
      }
    }
  });
}

}  // namespace

// Corners at the outer pixel edges (so a 1-pixel-wide image is not degenerate), each moved by
// U(-jitter, jitter) * width in x and * height in y; the matrix maps moved corners back to the
// originals, i.e. output position -> input position.
void homography_matrix(int width, int height, double jitter, uint64_t seed, double h[9]) {
  const double corners[4][2] = {{-0.5, -0.5}, {width - 0.5, -0.5}, {width - 0.5, height - 0.5}, {-0.5, height - 0.5}};
  double moved[4][2];
  const Rng rng(seed, kHomographyStream);
  for (int i = 0; i < 4; ++i) {
    moved[i][0] = corners[i][0] + jitter * width * (2.0 * rng.uniform(i, 0) - 1.0);
    moved[i][1] = corners[i][1] + jitter * height * (2.0 * rng.uniform(i, 1) - 1.0);
  }
  solve_homography(moved, corners, h);
}

// Each lattice point moved by U(-1, 1) * magnitude * shorter side in x and in y.
void warp_lattice(int w, int h, int grid, double magnitude, uint64_t seed, std::vector<double>& fx, std::vector<double>& fy) {
  const double amplitude = magnitude * std::min(w, h);
  const Rng rng(seed, kWarpStream);
  fx.assign(static_cast<size_t>(grid) * grid, 0.0);
  fy.assign(fx.size(), 0.0);
  for (size_t i = 0; i < fx.size(); ++i) {
    fx[i] = amplitude * (2.0 * rng.uniform(i, 0) - 1.0);
    fy[i] = amplitude * (2.0 * rng.uniform(i, 1) - 1.0);
  }
}

void register_spatial(KernelFunctions& k) {
  k["shift"] = shift;
  k["affine"] = affine;
  k["homography"] = homography;
  k["linear_warp"] = linear_warp;
  k["cubic_warp"] = cubic_warp;
  k["ghosting"] = ghosting;
  k["chromatic_aberration"] = chromatic_aberration;
}

}  // namespace detail
}  // namespace medpsim
