// X-ray acquisition and display defects.
#include <cmath>

#include "medpsim/kernels.hpp"
#include "medpsim/random.hpp"

namespace medpsim {
namespace detail {
namespace {

constexpr uint32_t kQuantumStream = 0x2100, kDeadPixelStream = 0x2200, kDeadLineStream = 0x2300;

// y = f(x) sample by sample, row-parallel.
template <typename F>
void point_op(const Image& in, Image& out, int threads, F f) {
  const int w = in.width();
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    parallel_for(in.height(), threads, [&](int y0, int y1) {
      for (size_t i = static_cast<size_t>(y0) * w; i < static_cast<size_t>(y1) * w; ++i) dst[i] = clamp01(f(c, i, src[i]));
    });
  }
}

// No identity value: the caller copies at severity 0 instead of calling it.
void quantum_noise(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  const double photons = p.at("photons"), electronic = p.at("electronic_sigma");
  point_op(in, out, threads, [&](int c, size_t i, float x) {
    const Rng rng(seed, kQuantumStream + c);
    const double counts = poisson(rng, i, std::max(0.0f, x) * photons);
    return counts / photons + (electronic > 0.0 ? electronic * rng.gaussian(i, 2) : 0.0);
  });
}

// Line kernel of `length` px at `angle` (0 = horizontal, counter-clockwise on screen), as the mean
// of bilinear samples spaced at most 1 px apart along the segment centred on the pixel.
void motion_blur(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double length = p.at("length"), angle = p.at("angle") * M_PI / 180.0;
  if (length == 0.0) return copy_image(in, out);
  const int n = std::max(2, static_cast<int>(std::ceil(length)) + 1);
  const double ux = std::cos(angle), uy = -std::sin(angle);
  const int w = in.width(), h = in.height();
  parallel_for(h, threads, [&](int y0, int y1) {
    for (int c = 0; c < in.channels(); ++c) {
      for (int y = y0; y < y1; ++y) {
        for (int x = 0; x < w; ++x) {
          double acc = 0.0;
          for (int k = 0; k < n; ++k) {
            const double t = length * (static_cast<double>(k) / (n - 1) - 0.5);
            acc += sample_bilinear(in.plane(c), w, h, x + t * ux, y + t * uy);
          }
          out.at(c, y, x) = clamp01(acc / n);
        }
      }
    }
  });
}

// g = (1 + cos(2 pi t / period)) / 2 in [0, 1], t = y for horizontal lines (angle 0), x for
// vertical ones (angle 90).
void grid_lines(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double amplitude = p.at("amplitude"), period = p.at("period");
  if (amplitude == 0.0) return copy_image(in, out);
  const bool vertical = p.at("angle") == 90.0;
  const int w = in.width();
  // The profile depends on the column (or row) only: one cosine per line, not per pixel.
  std::vector<double> attenuation(vertical ? w : in.height());
  for (size_t t = 0; t < attenuation.size(); ++t) {
    const double g = 0.5 * (1.0 + std::cos(2.0 * M_PI * static_cast<double>(t) / period));
    attenuation[t] = 1.0 - amplitude * g;
  }
  point_op(in, out, threads, [&](int, size_t i, float x) { return x * attenuation[vertical ? i % w : i / w]; });
}

// Stuck pixels are decided per pixel position (same in every channel: it is the detector element
// that is dead): U < fraction, then stuck at 0 or 1 by a second draw. Dead lines: line l is a row
// or a column by one draw, its position by another; set to 0.
void dead_pixels(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  const double fraction = p.at("fraction");
  const int lines = static_cast<int>(p.at("lines"));
  if (fraction == 0.0 && lines == 0) return copy_image(in, out);
  const int w = in.width(), h = in.height();
  std::vector<char> dead_row, dead_col;
  dead_lines(w, h, lines, seed, dead_row, dead_col);
  const Rng rng(seed, kDeadPixelStream);
  point_op(in, out, threads, [&](int, size_t i, float x) {
    if (dead_row[i / w] || dead_col[i % w]) return 0.0;
    if (fraction > 0.0 && rng.uniform(i, 0) < fraction) return rng.uniform(i, 1) < 0.5f ? 0.0 : 1.0;
    return static_cast<double>(x);
  });
}

// Area resampling of one axis from n to m samples (m <= n): output j averages the input over
// [j n / m, (j + 1) n / m), partial pixels weighted by their overlap (like OpenCV INTER_AREA).
struct AreaTap {
  int index;
  double weight;
};
std::vector<std::vector<AreaTap>> area_taps(int n, int m) {
  std::vector<std::vector<AreaTap>> taps(m);
  const double scale = static_cast<double>(n) / m;
  for (int j = 0; j < m; ++j) {
    const double a = j * scale, b = (j + 1) * scale;
    for (int k = static_cast<int>(std::floor(a)); k < std::min(n, static_cast<int>(std::ceil(b))); ++k) {
      const double overlap = std::min(b, k + 1.0) - std::max(a, static_cast<double>(k));
      if (overlap > 0.0) taps[j].push_back({k, overlap / scale});
    }
  }
  return taps;
}

void resolution_loss(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double factor = p.at("factor");
  if (factor == 1.0) return copy_image(in, out);
  const int w = in.width(), h = in.height();
  const int sw = std::max(1, static_cast<int>(std::lround(w / factor)));
  const int sh = std::max(1, static_cast<int>(std::lround(h / factor)));
  const auto tx = area_taps(w, sw), ty = area_taps(h, sh);
  Buffer<double> small(static_cast<size_t>(sw) * sh), tmp(static_cast<size_t>(sw) * h);
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    parallel_for(h, threads, [&](int y0, int y1) {  // rows: w -> sw
      for (int y = y0; y < y1; ++y) {
        for (int j = 0; j < sw; ++j) {
          double s = 0.0;
          for (const AreaTap& t : tx[j]) s += t.weight * src[static_cast<size_t>(y) * w + t.index];
          tmp[static_cast<size_t>(y) * sw + j] = s;
        }
      }
    });
    parallel_for(sh, threads, [&](int i0, int i1) {  // columns: h -> sh
      for (int i = i0; i < i1; ++i) {
        for (int j = 0; j < sw; ++j) {
          double s = 0.0;
          for (const AreaTap& t : ty[i]) s += t.weight * tmp[static_cast<size_t>(t.index) * sw + j];
          small[static_cast<size_t>(i) * sw + j] = s;
        }
      }
    });
    // Bilinear upsampling with half-pixel centres, coordinates clamped to the small image (as
    // OpenCV resize does).
    auto coord = [](int pos, int n, int m, int& i0, int& i1, double& t) {
      const double s = std::max(0.0, std::min(m - 1.0, (pos + 0.5) * m / n - 0.5));
      i0 = static_cast<int>(std::floor(s));
      i1 = std::min(m - 1, i0 + 1);
      t = s - i0;
    };
    float* dst = out.plane(c);
    parallel_for(h, threads, [&](int y0, int y1) {
      for (int y = y0; y < y1; ++y) {
        int r0, r1;
        double ty_;
        coord(y, h, sh, r0, r1, ty_);
        for (int x = 0; x < w; ++x) {
          int c0, c1;
          double tx_;
          coord(x, w, sw, c0, c1, tx_);
          const double top = small[static_cast<size_t>(r0) * sw + c0] * (1 - tx_) + small[static_cast<size_t>(r0) * sw + c1] * tx_;
          const double bottom = small[static_cast<size_t>(r1) * sw + c0] * (1 - tx_) + small[static_cast<size_t>(r1) * sw + c1] * tx_;
          dst[static_cast<size_t>(y) * w + x] = clamp01(top * (1 - ty_) + bottom * ty_);
        }
      }
    });
  }
}

void exposure(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double gain = p.at("gain"), gamma = p.at("gamma");
  if (gain == 1.0 && gamma == 1.0) return copy_image(in, out);
  const float g = static_cast<float>(gamma);
  // Its own loop, everything captured by value: then the compiler vectorises exposure_curve.
  const int w = in.width();
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    parallel_for(in.height(), threads, [src, dst, w, gain, g](int y0, int y1) {
      for (size_t i = static_cast<size_t>(y0) * w; i < static_cast<size_t>(y1) * w; ++i) dst[i] = exposure_curve(clamp01(gain * src[i]), g);
    });
  }
}

void windowing(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double centre = 0.5 + p.at("center_shift"), width = p.at("width_scale");
  if (centre == 0.5 && width == 1.0) return copy_image(in, out);
  point_op(in, out, threads, [&](int, size_t, float x) { return (x - centre) / width + 0.5; });
}

// Scatter veil with a kernel far wider than Gaussian blur's direct convolution can afford
// (sigma up to 500 px): three box passes per axis approximate the Gaussian at O(1) per pixel.
void scatter(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double fraction = p.at("fraction"), sigma = p.at("sigma");
  if (fraction == 0.0 || sigma == 0.0) return copy_image(in, out);
  Image veil = Image::allocate(in.width(), in.height(), in.channels());
  box_blur3(in, veil, sigma, threads);
  point_op(in, out, threads, [&](int c, size_t i, float x) { return (1.0 - fraction) * x + fraction * veil.plane(c)[i]; });
}

}  // namespace

// Line l is a row or a column by one draw, its position by another.
void dead_lines(int w, int h, int lines, uint64_t seed, std::vector<char>& dead_row, std::vector<char>& dead_col) {
  dead_row.assign(h, 0);
  dead_col.assign(w, 0);
  const Rng line_rng(seed, kDeadLineStream);
  for (int l = 0; l < lines; ++l) {
    if (line_rng.uniform(l, 0) < 0.5f) {
      dead_row[std::min(h - 1, static_cast<int>(line_rng.uniform(l, 1) * h))] = 1;
    } else {
      dead_col[std::min(w - 1, static_cast<int>(line_rng.uniform(l, 1) * w))] = 1;
    }
  }
}

void register_xray(KernelFunctions& k) {
  k["quantum_noise"] = quantum_noise;
  k["motion_blur"] = motion_blur;
  k["grid_lines"] = grid_lines;
  k["dead_pixels"] = dead_pixels;
  k["resolution_loss"] = resolution_loss;
  k["exposure"] = exposure;
  k["windowing"] = windowing;
  k["scatter"] = scatter;
}

}  // namespace detail
}  // namespace medpsim
