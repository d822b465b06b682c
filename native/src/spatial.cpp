// Spatial kinds, all by inverse mapping: each output pixel (x, y) reads the input at a source
// position, bilinearly, out-of-image taps reflected (BORDER_REFLECT_101).
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include "medpsim/kernels.hpp"
#include "medpsim/warp_field.hpp"
#include "medpsim/random.hpp"

namespace medpsim {
namespace detail {
namespace {

constexpr uint32_t kHomographyStream = 0x1100, kWarpStream = 0x1200;
constexpr double kDeg = M_PI / 180.0;

// A row's source positions and their bilinear taps (bilinear_position), as arrays along x; 32-bit offsets,
// which the vector gathers take (planes of up to 2^31 samples: sample_row samples larger ones one by one).
struct RowTaps {
  void resize(int n) {
    for (auto* offsets : {&top_left, &top_right, &bottom_left, &bottom_right}) offsets->resize(n);
    for (auto* values : {&sx, &sy, &fx, &fy}) values->resize(n);
    outside.resize(n);
  }
  void set(int x, const BilinearTaps& t) {
    top_left[x] = static_cast<int32_t>(t.top_left);
    top_right[x] = static_cast<int32_t>(t.top_right);
    bottom_left[x] = static_cast<int32_t>(t.bottom_left);
    bottom_right[x] = static_cast<int32_t>(t.bottom_right);
    fx[x] = t.fx;
    fy[x] = t.fy;
  }
  std::vector<double> sx, sy;
  std::vector<int32_t> top_left, top_right, bottom_left, bottom_right;
  std::vector<double> fx, fy;
  std::vector<uint8_t> outside;
  bool along_rows = false;  // every tap inside and top_left[x] = top_left[0] + x, bottom_left likewise (a shift)
};

// The taps of positions (sx, sy)[x], x < n, in a w x h plane, as bilinear_position gives them: one pass that
// vectorises, exact for positions whose four taps are inside (nearly all: bilinear_position's own fast case,
// with its pins of non-finite and far-out values as selects), then bilinear_position for the others.
MEDPSIM_VECTOR_CLONES void row_taps(RowTaps& taps, int n, int w, int h) {
  const double* __restrict sx = taps.sx.data();
  const double* __restrict sy = taps.sy.data();
  int32_t* __restrict tl = taps.top_left.data();
  int32_t* __restrict tr = taps.top_right.data();
  int32_t* __restrict bl = taps.bottom_left.data();
  int32_t* __restrict br = taps.bottom_right.data();
  double* __restrict fx = taps.fx.data();
  double* __restrict fy = taps.fy.data();
  uint8_t* __restrict outside = taps.outside.data();
  int any_outside = 0;
  for (int x = 0; x < n; ++x) {
    double px = sx[x] - sx[x] == 0.0 ? sx[x] : 0.0, py = sy[x] - sy[x] == 0.0 ? sy[x] : 0.0;
    px = px < -1e9 ? -1e9 : (px > 1e9 ? 1e9 : px);
    py = py < -1e9 ? -1e9 : (py > 1e9 ? 1e9 : py);
    const double fx0 = floor(px), fy0 = floor(py);
    const int32_t ix = static_cast<int32_t>(fx0), iy = static_cast<int32_t>(fy0);  // |value| <= 1e9
    const int in = (ix >= 0) & (ix + 1 < w) & (iy >= 0) & (iy + 1 < h);
    const uint32_t r0 = static_cast<uint32_t>(iy) * static_cast<uint32_t>(w) + static_cast<uint32_t>(ix);  // wraps only outside
    tl[x] = static_cast<int32_t>(r0);
    tr[x] = static_cast<int32_t>(r0 + 1);
    bl[x] = static_cast<int32_t>(r0 + w);
    br[x] = static_cast<int32_t>(r0 + w + 1);
    fx[x] = px - fx0;
    fy[x] = py - fy0;
    outside[x] = static_cast<uint8_t>(1 - in);
    any_outside |= 1 - in;
  }
  if (any_outside) {
    taps.along_rows = false;
    for (int x = 0; x < n; ++x) {
      if (outside[x]) taps.set(x, bilinear_position(w, h, sx[x], sy[x]));
    }
    return;
  }
  int along = 1;
  for (int x = 0; x < n; ++x) along &= (tl[x] == tl[0] + x) & (bl[x] == bl[0] + x);
  taps.along_rows = along;
}

// out[x] = bilinear_blend(plane, taps at x) along a row, unclamped, written out so that it vectorises; where the
// taps run along two source rows (RowTaps::along_rows) the same samples and operations are read without gathers.
MEDPSIM_VECTOR_CLONES void blend_samples(const float* __restrict plane, const RowTaps& taps, float* __restrict out, int n) {
  const double* __restrict fx = taps.fx.data();
  const double* __restrict fy = taps.fy.data();
  if (taps.along_rows) {
    const float* __restrict top_row = plane + taps.top_left[0];
    const float* __restrict bottom_row = plane + taps.bottom_left[0];
    for (int x = 0; x < n; ++x) {
      const double top = top_row[x] * (1.0 - fx[x]) + top_row[x + 1] * fx[x];
      const double bottom = bottom_row[x] * (1.0 - fx[x]) + bottom_row[x + 1] * fx[x];
      out[x] = static_cast<float>(top * (1.0 - fy[x]) + bottom * fy[x]);
    }
    return;
  }
  const int32_t* __restrict tl = taps.top_left.data();
  const int32_t* __restrict tr = taps.top_right.data();
  const int32_t* __restrict bl = taps.bottom_left.data();
  const int32_t* __restrict br = taps.bottom_right.data();
  for (int x = 0; x < n; ++x) {
    const double top = plane[tl[x]] * (1.0 - fx[x]) + plane[tr[x]] * fx[x];
    const double bottom = plane[bl[x]] * (1.0 - fx[x]) + plane[br[x]] * fx[x];
    out[x] = static_cast<float>(top * (1.0 - fy[x]) + bottom * fy[x]);
  }
}

// out[x] = clamp01(bilinear_blend(plane, taps at x)) along a row.
MEDPSIM_VECTOR_CLONES void blend_row(const float* __restrict plane, const RowTaps& taps, float* __restrict out, int n) {
  blend_samples(plane, taps, out, n);
  for (int x = 0; x < n; ++x) out[x] = clamp01(out[x]);
}

// Row y of out from x0 to x0 + n: every channel sampled at position(x) -> (sx, sy). The positions and taps
// first (AVX2 where the CPU has it), then each channel's segment blended at once; planes above 2^31 samples
// (beyond RowTaps' offsets) sample by sample.
template <typename Position>
void sample_row(const Image& in, Image& out, int y, int x0, int n, RowTaps& taps, Position position) {
  const int w = in.width(), h = in.height();
  if (static_cast<int64_t>(w) * h > INT32_MAX) {
    for (int x = x0; x < x0 + n; ++x) {
      double sx, sy;
      position(x, sx, sy);
      for (int c = 0; c < in.channels(); ++c) out.at(c, y, x) = clamp01(sample_bilinear(in.plane(c), w, h, sx, sy));
    }
    return;
  }
  taps.resize(n);
  double* sx = taps.sx.data();
  double* sy = taps.sy.data();
  index_loop(0, n, [&](size_t i) { position(x0 + static_cast<int>(i), sx[i], sy[i]); });
  row_taps(taps, n, w, h);
  for (int c = 0; c < in.channels(); ++c) blend_row(in.plane(c), taps, out.plane(c) + static_cast<size_t>(y) * w + x0, n);
}

// out(c, y, x) = in(c, source(x, y)) for every channel; source(x, y, sx, sy) sets the position. In column
// strips: a rotated or sheared map then reads the same few source rows for row after row of a strip, where
// whole rows would sweep across many source rows each (the same samples either way).
constexpr int kRemapStrip = 128;

template <typename Source>
void remap(const Image& in, Image& out, int threads, Source source) {
  const int w = in.width();
  parallel_for(in.height(), threads, [&](int y0, int y1) {
    RowTaps taps;
    for (int x0 = 0; x0 < w; x0 += kRemapStrip) {
      const int n = std::min(kRemapStrip, w - x0);
      for (int y = y0; y < y1; ++y) sample_row(in, out, y, x0, n, taps, [&](int x, double& sx, double& sy) { source(x, y, sx, sy); });
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

// One lattice term of a row's displacements, x by x: d[x] += (column weight x row weight) * lattice value at
// the column's tap, as WarpField::at adds it for one pixel (the terms in at's order, so the same bits).
MEDPSIM_VECTOR_CLONES void add_lattice_term(const double* __restrict column_weights, double row_weight, const double* __restrict fx_at_taps,
                                            const double* __restrict fy_at_taps, double* __restrict dx, double* __restrict dy, int n) {
  for (int x = 0; x < n; ++x) {
    const double weight = column_weights[x] * row_weight;
    dx[x] += weight * fx_at_taps[x];
    dy[x] += weight * fy_at_taps[x];
  }
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
  // Each column's lattice taps and weights once, as rows along x; a row's displacements then term by term
  // along the whole row (WarpField::at per pixel on the GPU: the same terms in the same order).
  const int lo = cubic ? 0 : 1, hi = cubic ? 4 : 3;  // linear's outer weights are 0 (see WarpField::at)
  // The lattice values at each column's taps too, per lattice row r: [(r * 4 + i) * w + x] (read along x
  // without gathers).
  std::vector<double> column_weights(4 * static_cast<size_t>(w));
  std::vector<double> fx_at_taps(static_cast<size_t>(grid) * 4 * w), fy_at_taps(fx_at_taps.size());
  for (int x = 0; x < w; ++x) {
    const WarpField::Axis column = field.axis(x, w);
    for (int i = 0; i < 4; ++i) {
      column_weights[i * static_cast<size_t>(w) + x] = column.weight[i];
      const int tap = WarpField::clamp_index(column.first - 1 + i, grid);
      for (int r = 0; r < grid; ++r) {
        fx_at_taps[(static_cast<size_t>(r) * 4 + i) * w + x] = fx[static_cast<size_t>(r) * grid + tap];
        fy_at_taps[(static_cast<size_t>(r) * 4 + i) * w + x] = fy[static_cast<size_t>(r) * grid + tap];
      }
    }
  }
  parallel_for(h, threads, [&](int y0, int y1) {
    std::vector<double> dx(w), dy(w);
    RowTaps taps;
    for (int y = y0; y < y1; ++y) {
      const WarpField::Axis row = field.axis(y, h);
      std::fill(dx.begin(), dx.end(), 0.0);
      std::fill(dy.begin(), dy.end(), 0.0);
      for (int j = lo; j < hi; ++j) {
        const size_t lattice_row = WarpField::clamp_index(row.first - 1 + j, grid);
        for (int i = lo; i < hi; ++i) {
          const size_t at = (lattice_row * 4 + i) * w;
          add_lattice_term(column_weights.data() + i * static_cast<size_t>(w), row.weight[j], fx_at_taps.data() + at, fy_at_taps.data() + at,
                           dx.data(), dy.data(), w);
        }
      }
      sample_row(in, out, y, 0, w, taps, [&](int x, double& sx, double& sy) {
        sx = x + dx[x];
        sy = y + dy[x];
      });
    }
  });
}

void linear_warp(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  warp(in, out, p, seed, threads, false);
}
void cubic_warp(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  warp(in, out, p, seed, threads, true);
}

// out[x] = clamp01((1 - alpha) src[x] + alpha ghost[x]) along a row, ghost[x] the bilinear sample (unclamped,
// as a float) at the row's taps.
MEDPSIM_VECTOR_CLONES void ghost_row(const float* __restrict plane, const RowTaps& taps, const float* __restrict src, double alpha,
                                     float* __restrict out, int n) {
  blend_samples(plane, taps, out, n);
  for (int x = 0; x < n; ++x) out[x] = clamp01((1.0 - alpha) * src[x] + alpha * static_cast<double>(out[x]));
}

void ghosting(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double alpha = p.at("alpha"), dx = p.at("dx"), dy = p.at("dy");
  if (alpha == 0.0) return copy_image(in, out);
  const int w = in.width(), h = in.height();
  if (static_cast<int64_t>(w) * h > INT32_MAX) {  // beyond RowTaps' offsets: sample by sample
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
    return;
  }
  parallel_for(h, threads, [&](int y0, int y1) {
    RowTaps taps;
    taps.resize(w);
    for (int y = y0; y < y1; ++y) {
      for (int x = 0; x < w; ++x) {
        taps.sx[x] = x - dx;
        taps.sy[x] = y - dy;
      }
      row_taps(taps, w, w, h);
      for (int c = 0; c < in.channels(); ++c) {
        const size_t row = static_cast<size_t>(y) * w;
        ghost_row(in.plane(c), taps, in.plane(c) + row, alpha, out.plane(c) + row, w);
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
  std::copy(in.plane(1), in.plane(1) + in.plane_size(), out.plane(1));
  if (static_cast<int64_t>(w) * h > INT32_MAX) {  // beyond RowTaps' offsets: sample by sample
    parallel_for(h, threads, [&](int y0, int y1) {
      for (int c : {0, 2}) {
        for (int y = y0; y < y1; ++y) {
          for (int x = 0; x < w; ++x) {
            out.at(c, y, x) = clamp01(sample_bilinear(in.plane(c), w, h, cx + (x - cx) * factor[c], cy + (y - cy) * factor[c]));
          }
        }
      }
    });
    return;
  }
  parallel_for(h, threads, [&](int y0, int y1) {
    RowTaps taps;
    taps.resize(w);
    for (int c : {0, 2}) {
      for (int y = y0; y < y1; ++y) {
        for (int x = 0; x < w; ++x) {
          taps.sx[x] = cx + (x - cx) * factor[c];
          taps.sy[x] = cy + (y - cy) * factor[c];
        }
        row_taps(taps, w, w, h);
        blend_row(in.plane(c), taps, out.plane(c) + static_cast<size_t>(y) * w, w);
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
