// X-ray acquisition and display defects. quantum_noise, scatter, grid_lines and exposure act on the detector
// signal (medpsim/detector.hpp), the others on display values.
#include <algorithm>
#include <cmath>
#include <map>

#include "medpsim/detector.hpp"
#include "medpsim/kernels.hpp"
#include "medpsim/random.hpp"

namespace medpsim {
namespace detail {
namespace {

constexpr uint32_t kDeadPixelStream = 0x2200, kDeadLineStream = 0x2300;

// y = clamp01(f(x)) sample by sample, row-parallel (clamped_map: f takes a double or a Double4).
template <typename F>
void point_op(const Image& in, Image& out, int threads, F f) {
  const size_t w = in.width();
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    parallel_for(in.height(), threads, [&](int y0, int y1) { clamped_map(src + y0 * w, dst + y0 * w, (y1 - y0) * w, f); });
  }
}

// f(i) for every sample index of a w x h plane, row-parallel, as a plain loop (which the compiler vectorises
// when f is simple, for AVX2 where the CPU has it).
template <typename F>
void plane_loop(int w, int h, int threads, F f) {
  parallel_for(h, threads, [&](int y0, int y1) { index_loop(static_cast<size_t>(y0) * w, static_cast<size_t>(y1) * w, f); });
}

// poisson_count's first PTRS try for kLanes pixels side by side, from the first two words of each pixel's block
// (words[k][j]: word k of pixel j's): count[j] and accepted[j] = 1 where that try is accepted by the quick test
// (about three in four at lambda >= 10), through poisson_count's own ptrs_* steps; the others (and lambda < 10)
// are left to poisson_count itself. One pixel alone waits on its sqrt and divisions in turn; eight in lanes
// overlap them.
constexpr int kPoissonLanes = Rng::kLanes;
MEDPSIM_VECTOR_CLONES void poisson_first_tries(const double* __restrict lambda, const uint32_t (*words)[kPoissonLanes], double* __restrict count,
                                               int* __restrict accepted) {
  for (int j = 0; j < kPoissonLanes; ++j) {
    const PtrsConstants c = ptrs_constants(lambda[j]);
    const PtrsTry first = ptrs_try(c, lambda[j], words[0][j], words[1][j]);
    count[j] = first.k;
    accepted[j] = (lambda[j] >= 10.0) & ptrs_quick_accept(c, first);
  }
}

// The dose reduction of one channel plane in place (`signal` holds T): Poisson quanta, shaped by the
// detector's MTF, plus electronic noise (medpsim/detector.hpp). The quanta kPoissonLanes pixels at a time:
// their blocks together, their first tries in lanes, the rest by added_quanta (the same values).
void reduce_dose(float* signal, int w, int h, const DoseChange& dose, uint64_t seed, int c, int threads) {
  const Rng quanta(seed, kQuantumStream + c), electronic(seed, kElectronicStream + c);
  Buffer<float> noise(static_cast<size_t>(w) * h);
  parallel_for(h, threads, [&](int y0, int y1) {
    const size_t begin = static_cast<size_t>(y0) * w, end = static_cast<size_t>(y1) * w;
    size_t i = begin;
    for (; i + kPoissonLanes <= end; i += kPoissonLanes) {
      double mean[kPoissonLanes], count[kPoissonLanes];
      int accepted[kPoissonLanes];
      uint32_t words[4][kPoissonLanes];
      for (int j = 0; j < kPoissonLanes; ++j) mean[j] = added_quanta_mean(signal[i + j], dose.photons, dose.fraction);
      quanta.blocks(i, 0, words);  // pixel i's block is group i, draw 0
      poisson_first_tries(mean, words, count, accepted);
      for (int j = 0; j < kPoissonLanes; ++j) {
        noise[i + j] = accepted[j] ? static_cast<float>(count[j] - mean[j]) : added_quanta(quanta, i + j, signal[i + j], dose.photons, dose.fraction);
      }
    }
    for (; i < end; ++i) noise[i] = added_quanta(quanta, i, signal[i], dose.photons, dose.fraction);
  });
  if (dose.taps.size() > 1) convolve_plane(noise.data(), noise.data(), w, h, dose.taps, dose.taps, false, threads);
  parallel_for(h, threads, [&](int y0, int y1) {
    const size_t begin = static_cast<size_t>(y0) * w, end = static_cast<size_t>(y1) * w;
    float normals[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // electronic.gaussian(i) of i's group of four
    for (size_t i = begin; i < end; ++i) {
      if (dose.electronic > 0.0 && (i == begin || (i & 3) == 0)) electronic.group_gaussians(i >> 2, 0, normals);
      signal[i] = reduced_dose_signal(signal[i], noise[i], normals[i & 3], dose.photons, dose.fraction, dose.electronic);
    }
  });
}

// The dose-changing kinds, channel by channel: the detector signal, a dose change (when `dose` is given),
// then `finish` on the signal and back to display values.
template <typename F>
void dose_pipeline(const Image& in, Image& out, const DetectorResponse& response, const DoseChange* dose, uint64_t seed, int threads, F finish) {
  const int w = in.width(), h = in.height();
  Buffer<float> signal(dose ? in.plane_size() : 0);
  with_response(response, [&](auto r) {
    for (int c = 0; c < in.channels(); ++c) {
      const float* src = in.plane(c);
      float* dst = out.plane(c);
      if (!dose) {  // one pass, no buffer
        plane_loop(w, h, threads, [=](size_t i) { dst[i] = r.display(finish(r.signal(src[i]))); });
        continue;
      }
      float* t = signal.data();
      plane_loop(w, h, threads, [=](size_t i) { t[i] = r.signal(src[i]); });
      reduce_dose(t, w, h, *dose, seed, c, threads);
      plane_loop(w, h, threads, [=](size_t i) { dst[i] = r.display(finish(t[i])); });
    }
  });
}

// Reduced dose: the image as it would have been acquired with `dose` of its dose (1: a copy).
void quantum_noise(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  const DoseChange dose = dose_change(p, p.at("dose"));
  if (dose.fraction == 1.0) return copy_image(in, out);
  dose_pipeline(in, out, detector_response(p), &dose, seed, threads, [](float t) { return t; });
}

// Motion during exposure: the line kernel of motion_taps, as a direct convolution. For each output row, the
// source rows its taps read are padded (reflect-101) once, then weighted_taps_row adds every tap.
void motion_blur(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double length = p.at("length");
  if (length == 0.0) return copy_image(in, out);
  const std::vector<MotionTap> taps = motion_taps(length, p.at("angle"));
  int margin = 0;
  std::vector<int> rows;  // the distinct tap rows (dy), ascending as the taps are
  for (const MotionTap& t : taps) {
    margin = std::max(margin, std::abs(t.dx));
    if (rows.empty() || rows.back() != t.dy) rows.push_back(t.dy);
  }
  std::vector<float> weights;
  for (const MotionTap& t : taps) weights.push_back(t.weight);
  const int w = in.width(), h = in.height(), stride = w + 2 * margin;
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    parallel_for(h, threads, [&](int y0, int y1) {
      std::vector<float> padded(rows.size() * stride);
      std::vector<const float*> sources(taps.size());
      for (int y = y0; y < y1; ++y) {
        size_t t = 0;
        for (size_t r = 0; r < rows.size(); ++r) {
          const float* row = src + static_cast<size_t>(reflect101(y + rows[r], h)) * w;
          float* pad = padded.data() + r * stride;
          for (int i = 0; i < margin; ++i) {
            pad[i] = row[reflect101(i - margin, w)];
            pad[margin + w + i] = row[reflect101(w + i, w)];
          }
          std::copy(row, row + w, pad + margin);
          for (; t < taps.size() && taps[t].dy == rows[r]; ++t) sources[t] = pad + margin + taps[t].dx;
        }
        weighted_taps_row(sources.data(), weights.data(), taps.size(), dst + static_cast<size_t>(y) * w, w, true);
      }
    });
  }
}

// The grid's shadow multiplies the detector signal by grid_profile (one factor per column for vertical
// lines, per row for horizontal ones): the lines are as visible in the mediastinum as in the lungs. In
// display values that is one affine map per line (grid_line_maps), exact, with no exp or ln per sample.
void grid_lines(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double amplitude = p.at("amplitude");
  if (amplitude == 0.0) return copy_image(in, out);
  const bool vertical = p.at("angle") == 90.0;
  const int w = in.width(), h = in.height();
  const std::vector<LineMap> maps = grid_line_maps(detector_response(p), vertical ? w : h, amplitude, p.at("period"));
  for (int c = 0; c < in.channels(); ++c) {
    const float* src = in.plane(c);
    float* dst = out.plane(c);
    parallel_for(h, threads, [&](int y0, int y1) {
      for (int y = y0; y < y1; ++y) {
        const size_t row = static_cast<size_t>(y) * w;
        if (vertical) {
          for (int x = 0; x < w; ++x) dst[row + x] = map_line(maps[x], src[row + x]);
        } else {
          for (int x = 0; x < w; ++x) dst[row + x] = map_line(maps[y], src[row + x]);
        }
      }
    });
  }
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
  // Pixel i is dead when its row or column is, or when uniform(i, 0) < fraction (then black or white by
  // uniform(i, 1)), in every channel alike: each row's first draws once (in batches of Philox blocks), for
  // all channels.
  parallel_for(h, threads, [&](int y0, int y1) {
    std::vector<float> first_draw(w);
    for (int y = y0; y < y1; ++y) {
      const size_t row = static_cast<size_t>(y) * w;
      if (fraction > 0.0) {
        draw_span(rng, row, row + w, [](const Rng& r, uint64_t group, float* u) { r.uniforms(group, 0, u); },
                  [](const Rng& r, size_t i) { return r.uniform(i, 0); }, [&](size_t i, float u) { first_draw[i - row] = u; });
      }
      for (int c = 0; c < in.channels(); ++c) {
        const float* src = in.plane(c) + row;
        float* dst = out.plane(c) + row;
        for (int x = 0; x < w; ++x) {
          double v = src[x];
          if (dead_row[y] || dead_col[x]) v = 0.0;
          else if (fraction > 0.0 && first_draw[x] < fraction) v = rng.uniform(row + x, 1) < 0.5f ? 0.0 : 1.0;
          dst[x] = clamp01(v);
        }
      }
    }
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

// Output position pos of n maps to the two samples i0, i1 of m and the weight t of i1.
struct Lerp {
  int i0, i1;
  double t;
};
std::vector<Lerp> lerps(int n, int m) {
  std::vector<Lerp> out(n);
  for (int pos = 0; pos < n; ++pos) {
    const double s = std::max(0.0, std::min(m - 1.0, (pos + 0.5) * m / n - 0.5));
    const int i0 = static_cast<int>(std::floor(s));
    out[pos] = {i0, std::min(m - 1, i0 + 1), s - i0};
  }
  return out;
}

// One output row of the vertical lerp: clamp01(top (1 - t) + bottom t), in double.
MEDPSIM_VECTOR_CLONES void lerp_rows(const double* __restrict top, const double* __restrict bottom, double t, float* __restrict out, int n) {
  for (int x = 0; x < n; ++x) out[x] = clamp01(top[x] * (1 - t) + bottom[x] * t);
}

void resolution_loss(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double factor = p.at("factor");
  if (factor == 1.0) return copy_image(in, out);
  const int w = in.width(), h = in.height();
  const int sw = std::max(1, static_cast<int>(std::lround(w / factor)));
  const int sh = std::max(1, static_cast<int>(std::lround(h / factor)));
  const auto tx = area_taps(w, sw), ty = area_taps(h, sh);
  // Bilinear upsampling with half-pixel centres, coordinates clamped to the small image (as OpenCV resize
  // does): each small row widened to w once (every output row between two small rows reads the same two),
  // then each output row a lerp of two widened rows.
  const std::vector<Lerp> columns = lerps(w, sw), rows = lerps(h, sh);
  Buffer<double> small(static_cast<size_t>(sw) * sh), tmp(static_cast<size_t>(sw) * h), wide(static_cast<size_t>(w) * sh);
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
    parallel_for(sh, threads, [&](int i0, int i1) {  // columns: h -> sh, tap by tap along whole rows (same order per sample)
      for (int i = i0; i < i1; ++i) {
        double* row = small.data() + static_cast<size_t>(i) * sw;
        std::fill(row, row + sw, 0.0);
        for (const AreaTap& t : ty[i]) {
          const double* from = tmp.data() + static_cast<size_t>(t.index) * sw;
          for (int j = 0; j < sw; ++j) row[j] += t.weight * from[j];
        }
        double* widened = wide.data() + static_cast<size_t>(i) * w;  // sw -> w
        for (int x = 0; x < w; ++x) {
          const Lerp& k = columns[x];
          widened[x] = row[k.i0] * (1 - k.t) + row[k.i1] * k.t;
        }
      }
    });
    float* dst = out.plane(c);
    parallel_for(h, threads, [&](int y0, int y1) {  // rows: sh -> h
      for (int y = y0; y < y1; ++y) {
        const Lerp& r = rows[y];
        lerp_rows(wide.data() + static_cast<size_t>(r.i0) * w, wide.data() + static_cast<size_t>(r.i1) * w, r.t, dst + static_cast<size_t>(y) * w, w);
      }
    });
  }
}

// Exposure error: the detector gets `exposure` times the correct exposure. Under-exposure is a dose
// reduction (noise); the detector saturates at `saturation` times the correct unattenuated signal (over-
// exposure burns out the lungs); then the system's auto-ranging divides by exposure^compensation (log: a
// shift, so the correctly exposed parts look as before; compensation 0 is film-like).
void exposure(const Image& in, Image& out, const Params& p, uint64_t seed, int threads) {
  const double factor = p.at("exposure");
  if (factor == 1.0) return copy_image(in, out);
  const float gain = static_cast<float>(factor), saturation = static_cast<float>(p.at("saturation"));
  const float ranging = exposure_ranging(factor, p.at("compensation"));
  const DoseChange dose = dose_change(p, factor);
  dose_pipeline(in, out, detector_response(p), factor < 1.0 ? &dose : nullptr, seed, threads,
                [=](float t) { return exposed_signal(t, gain, saturation, ranging); });
}

void windowing(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double centre = 0.5 + p.at("center_shift"), width = p.at("width_scale");
  if (centre == 0.5 && width == 1.0) return copy_image(in, out);
  point_op(in, out, threads, [centre, width](auto x) { return (x - centre) / width + 0.5; });
}

// Scatter: the detector gets primary T plus scatter S = spr blur(T, sigma) (spr the mean scatter-to-primary
// ratio; three box passes per axis approximate the broad Gaussian at O(1) per pixel), and the exposure
// control keeps the mean signal: T' = (T + S) / (1 + spr). Contrast falls most where the primary is weak.
void scatter(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const double spr = p.at("spr"), sigma = p.at("sigma");
  if (spr == 0.0 || sigma == 0.0) return copy_image(in, out);
  const float ratio = static_cast<float>(spr), keep = static_cast<float>(1.0 / (1.0 + spr));
  Image signal = Image::allocate(in.width(), in.height(), in.channels());
  Image veil = Image::allocate(in.width(), in.height(), in.channels());
  const float* src = in.data();
  float* t = signal.data();
  const float* blurred = veil.data();
  float* dst = out.data();
  const int w = in.width(), rows = in.height() * in.channels();
  with_response(detector_response(p), [&](auto r) {
    plane_loop(w, rows, threads, [=](size_t i) { t[i] = r.signal(src[i]); });
    box_blur3(signal, veil, sigma, threads);
    plane_loop(w, rows, threads, [=](size_t i) { dst[i] = r.display(scattered_signal(t[i], blurred[i], ratio, keep)); });
  });
}

}  // namespace

DetectorResponse detector_response(const Params& p) {
  return {p.at("response") == 0.0, p.at("polarity") < 0.0, static_cast<float>(p.at("attenuation_range"))};
}

DoseChange dose_change(const Params& p, double fraction) {
  return {fraction, p.at("photons"), p.at("electronic_noise"), mtf_taps(p.at("mtf_sigma"))};
}

std::vector<float> mtf_taps(double sigma) {
  if (sigma == 0.0) return {1.0f};
  const std::vector<double> g = gaussian_kernel(sigma);
  double energy = 0.0;
  for (double t : g) energy += t * t;
  std::vector<float> taps;
  for (double t : g) taps.push_back(static_cast<float>(t / std::sqrt(energy)));
  return taps;
}

std::vector<float> grid_profile(int n, double amplitude, double period) {
  std::vector<float> factor(n);
  for (int t = 0; t < n; ++t) {
    const double g = 0.5 * (1.0 + std::cos(2.0 * M_PI * t / period));
    factor[t] = static_cast<float>((1.0 - amplitude * g) / (1.0 - 0.5 * amplitude));
  }
  return factor;
}

std::vector<MotionTap> motion_taps(double length, double angle_degrees) {
  const int n = std::max(2, static_cast<int>(std::ceil(length)) + 1);
  const double angle = angle_degrees * M_PI / 180.0, ux = std::cos(angle), uy = -std::sin(angle);
  std::map<std::pair<int, int>, double> merged;  // (dy, dx) -> weight: rows ascending, then columns
  for (int k = 0; k < n; ++k) {
    const double t = length * (static_cast<double>(k) / (n - 1) - 0.5);
    const double px = t * ux, py = t * uy, fx0 = std::floor(px), fy0 = std::floor(py);
    const double fx = px - fx0, fy = py - fy0;
    const int x0 = static_cast<int>(fx0), y0 = static_cast<int>(fy0);
    merged[{y0, x0}] += (1 - fx) * (1 - fy) / n;
    merged[{y0, x0 + 1}] += fx * (1 - fy) / n;
    merged[{y0 + 1, x0}] += (1 - fx) * fy / n;
    merged[{y0 + 1, x0 + 1}] += fx * fy / n;
  }
  std::vector<MotionTap> taps;
  for (const auto& [offset, weight] : merged) {
    if (weight != 0.0) taps.push_back({offset.second, offset.first, static_cast<float>(weight)});
  }
  return taps;
}

std::vector<LineMap> grid_line_maps(const DetectorResponse& r, int n, double amplitude, double period) {
  const std::vector<float> factor = grid_profile(n, amplitude, period);
  std::vector<LineMap> maps(n);
  for (int t = 0; t < n; ++t) {
    const double f = factor[t];
    if (r.log) {
      const double shift = -std::log(f) / r.range;  // u' = u + shift
      maps[t] = {static_cast<float>(r.inverted ? -shift : shift), 1.0f};
    } else {
      // T = 1 - u; polarity +1: v' = 1 - f (1 - v); polarity -1 (T = v): v' = f v.
      maps[t] = r.inverted ? LineMap{0.0f, static_cast<float>(f)} : LineMap{static_cast<float>(1.0 - f), static_cast<float>(f)};
    }
  }
  return maps;
}

float exposure_ranging(double exposure, double compensation) { return static_cast<float>(std::pow(exposure, -compensation)); }

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
