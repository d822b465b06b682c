// Self-contained tests of the distortion kernels (no framework): each failed CHECK prints a line
// and the exit status is the number of failures.
#include <atomic>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "medpsim/kernels.hpp"
#include "medpsim/random.hpp"
#include "harness.hpp"

using namespace medpsim;

// ---------------------------------------------------------------------------------------------
// Fixtures

// The harness's textured image in [0.1, 0.9].
static Image test_image(int w, int h, int channels) { return harness::textured_image(w, h, channels, 0.1, 0.9, false); }

static Image constant_image(int w, int h, int channels, float value) {
  Image img = Image::allocate(w, h, channels);
  for (size_t i = 0; i < img.size(); ++i) img.data()[i] = value;
  return img;
}

static Image run(const std::string& kind, const Image& in, const Params& p, uint64_t seed = 1, int threads = 1) {
  Image out;
  apply(kind, in, out, p, seed, threads);
  return out;
}

static double mse(const Image& a, const Image& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a.data()[i]) - b.data()[i]) * (a.data()[i] - b.data()[i]);
  return s / a.size();
}

static bool identical(const Image& a, const Image& b) {
  if (!a.same_shape(b)) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.data()[i] != b.data()[i]) return false;
  }
  return true;
}

static double max_abs_diff(const Image& a, const Image& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a.data()[i]) - b.data()[i]));
  return m;
}

struct Case {
  std::string kind;
  bool has_identity;  // jpeg has no identity value (the caller copies)
  Params identity;
  std::vector<Params> strengths;  // increasing strength
};

// The detector-domain kinds' response parameters (default: log, the radiograph polarity, 4 nepers) and
// dose-change parameters.
static Params detector(Params p, double response = 0, double polarity = 1, double range = 4) {
  p.insert({{"response", response}, {"polarity", polarity}, {"attenuation_range", range}});
  return p;
}
static Params dosed(Params p) {
  p.insert({{"photons", 1e4}, {"electronic_noise", 2}, {"mtf_sigma", 0.8}});
  return detector(p);
}
static Params exposed(double exposure, double compensation = 0.5) {
  return dosed({{"exposure", exposure}, {"saturation", 2}, {"compensation", compensation}});
}

static std::vector<Case> cases() {
  return {
      {"lightness_shift", true, {{"delta", 0}}, {{{"delta", 0.05}}, {{"delta", 0.1}}, {{"delta", 0.2}}}},
      {"color_shift", true, {{"red", 0}, {"green", 0}, {"blue", 0}},
       {{{"red", 0.05}, {"green", 0}, {"blue", -0.05}}, {{"red", 0.1}, {"green", 0}, {"blue", -0.1}}, {{"red", 0.2}, {"green", 0.05}, {"blue", -0.2}}}},
      {"contrast", true, {{"factor", 1}}, {{{"factor", 0.8}}, {{"factor", 0.5}}, {{"factor", 0.2}}}},
      {"saturation", true, {{"factor", 1}}, {{{"factor", 0.7}}, {{"factor", 0.4}}, {{"factor", 0}}}},
      {"uniform_noise", true, {{"amplitude", 0}}, {{{"amplitude", 0.05}}, {{"amplitude", 0.1}}, {{"amplitude", 0.2}}}},
      {"gaussian_noise", true, {{"sigma", 0}}, {{{"sigma", 0.02}}, {{"sigma", 0.05}}, {{"sigma", 0.1}}}},
      {"pink_noise", true, {{"sigma", 0}}, {{{"sigma", 0.02}}, {{"sigma", 0.05}}, {{"sigma", 0.1}}}},
      {"blue_noise", true, {{"sigma", 0}}, {{{"sigma", 0.02}}, {{"sigma", 0.05}}, {{"sigma", 0.1}}}},
      {"colored_noise", true, {{"sigma", 0}, {"beta", 1.5}},
       {{{"sigma", 0.02}, {"beta", 1.5}}, {{"sigma", 0.05}, {"beta", 1.5}}, {{"sigma", 0.1}, {"beta", 1.5}}}},
      {"checkerboard", true, {{"amplitude", 0}, {"period", 4}},
       {{{"amplitude", 0.02}, {"period", 4}}, {{"amplitude", 0.05}, {"period", 4}}, {{"amplitude", 0.1}, {"period", 4}}}},
      {"gaussian_blur", true, {{"sigma", 0}}, {{{"sigma", 0.7}}, {{"sigma", 1.5}}, {{"sigma", 3}}}},
      {"bilateral", true, {{"sigma_spatial", 0}, {"sigma_range", 0.1}},
       {{{"sigma_spatial", 1}, {"sigma_range", 0.1}}, {{"sigma_spatial", 2}, {"sigma_range", 0.2}}, {{"sigma_spatial", 3}, {"sigma_range", 0.4}}}},
      {"shift", true, {{"dx", 0}, {"dy", 0}}, {{{"dx", 0.5}, {"dy", 0}}, {{"dx", 1.5}, {"dy", 0.5}}, {{"dx", 3}, {"dy", 2}}}},
      {"affine", true, {{"rotation", 0}, {"scale", 1}, {"shear", 0}, {"tx", 0}, {"ty", 0}},
       {{{"rotation", 2}, {"scale", 1}, {"shear", 0}, {"tx", 0}, {"ty", 0}},
        {{"rotation", 5}, {"scale", 1.03}, {"shear", 2}, {"tx", 0}, {"ty", 0}},
        {{"rotation", 10}, {"scale", 1.1}, {"shear", 5}, {"tx", 1}, {"ty", 0}}}},
      {"homography", true, {{"jitter", 0}}, {{{"jitter", 0.01}}, {{"jitter", 0.03}}, {{"jitter", 0.08}}}},
      {"linear_warp", true, {{"grid", 4}, {"magnitude", 0}},
       {{{"grid", 4}, {"magnitude", 0.005}}, {{"grid", 4}, {"magnitude", 0.01}}, {{"grid", 4}, {"magnitude", 0.03}}}},
      {"cubic_warp", true, {{"grid", 4}, {"magnitude", 0}},
       {{{"grid", 4}, {"magnitude", 0.005}}, {{"grid", 4}, {"magnitude", 0.01}}, {{"grid", 4}, {"magnitude", 0.03}}}},
      {"ghosting", true, {{"alpha", 0}, {"dx", 8}, {"dy", 0}},
       {{{"alpha", 0.1}, {"dx", 8}, {"dy", 0}}, {{"alpha", 0.2}, {"dx", 8}, {"dy", 0}}, {{"alpha", 0.4}, {"dx", 8}, {"dy", 0}}}},
      {"chromatic_aberration", true, {{"shift", 0}}, {{{"shift", 0.5}}, {{"shift", 1}}, {{"shift", 2}}}},
      {"jpeg", false, {}, {{{"quality", 90}}, {{"quality", 50}}, {{"quality", 10}}}},
      {"quantum_noise", true, dosed({{"dose", 1}}), {dosed({{"dose", 0.5}}), dosed({{"dose", 0.1}}), dosed({{"dose", 0.02}})}},
      {"motion_blur", true, {{"length", 0}, {"angle", 30}},
       {{{"length", 2}, {"angle", 30}}, {{"length", 5}, {"angle", 30}}, {{"length", 10}, {"angle", 30}}}},
      {"grid_lines", true, detector({{"amplitude", 0}, {"period", 4}, {"angle", 90}}),
       {detector({{"amplitude", 0.05}, {"period", 4}, {"angle", 90}}), detector({{"amplitude", 0.1}, {"period", 4}, {"angle", 0}}),
        detector({{"amplitude", 0.2}, {"period", 4}, {"angle", 90}})}},
      {"dead_pixels", true, {{"fraction", 0}, {"lines", 0}},
       {{{"fraction", 0.002}, {"lines", 0}}, {{"fraction", 0.01}, {"lines", 1}}, {{"fraction", 0.05}, {"lines", 3}}}},
      {"resolution_loss", true, {{"factor", 1}}, {{{"factor", 1.5}}, {{"factor", 3}}, {{"factor", 6}}}},
      // Half compensated: a growing shift, under-exposure's noise (the seeded middle case), over-exposure's clipping.
      {"exposure", true, exposed(1), {exposed(1.5), exposed(0.3), exposed(8)}},
      {"windowing", true, {{"center_shift", 0}, {"width_scale", 1}},
       {{{"center_shift", 0.02}, {"width_scale", 0.9}}, {{"center_shift", 0.05}, {"width_scale", 0.8}}, {{"center_shift", 0.1}, {"width_scale", 0.6}}}},
      {"scatter", true, detector({{"spr", 0}, {"sigma", 40}}),
       {detector({{"spr", 0.25}, {"sigma", 20}}), detector({{"spr", 0.5}, {"sigma", 20}}), detector({{"spr", 1}, {"sigma", 20}})}},
  };
}

// ---------------------------------------------------------------------------------------------
// Generic properties, every kind

static void test_registry() {
  const std::vector<Case> all = cases();
  CHECK(all_kernels().size() == all.size(), "%zu kernels registered, %zu in the catalog", all_kernels().size(), all.size());
  for (const Case& c : all) {
    const KernelInfo* info = find_kernel(c.kind);
    CHECK(info != nullptr, "kind %s not registered", c.kind.c_str());
    if (!info) continue;
    CHECK(info->params.size() == c.strengths[0].size(), "%s: parameter count", c.kind.c_str());
    for (const ParamSpec& spec : info->params) {
      CHECK(c.strengths[0].count(spec.name) == 1, "%s: unexpected parameter %s", c.kind.c_str(), spec.name.c_str());
      CHECK(spec.default_value >= spec.min && spec.default_value <= spec.max, "%s.%s default", c.kind.c_str(), spec.name.c_str());
    }
  }
  CHECK(find_kernel("no_such_kind") == nullptr, "unknown kind");
}

static void test_identity() {
  for (const Case& c : cases()) {
    if (!c.has_identity) continue;
    const bool color = find_kernel(c.kind)->needs_color;
    for (int channels : {1, 3}) {
      if (color && channels == 1) continue;
      const Image in = test_image(41, 29, channels);
      CHECK(identical(run(c.kind, in, c.identity), in), "%s: not the identity (%d channels)", c.kind.c_str(), channels);
    }
  }
}

static void test_strength_range_threads() {
  for (const Case& c : cases()) {
    const bool color = find_kernel(c.kind)->needs_color;
    for (int channels : {1, 3}) {
      if (color && channels == 1) continue;
      const Image in = test_image(53, 37, channels);
      double previous = 0.0;
      for (size_t s = 0; s < c.strengths.size(); ++s) {
        const Image out = run(c.kind, in, c.strengths[s], 5, 1);
        CHECK(out.same_shape(in), "%s: shape", c.kind.c_str());
        bool in_range = true;
        for (size_t i = 0; i < out.size(); ++i) in_range = in_range && out.data()[i] >= 0.0f && out.data()[i] <= 1.0f;
        CHECK(in_range, "%s: output outside [0, 1]", c.kind.c_str());
        const double e = mse(out, in);
        CHECK(e > previous, "%s (%d ch): MSE %.3g at strength %zu not above %.3g", c.kind.c_str(), channels, e, s, previous);
        previous = e;
        for (int threads : {2, 4, 7}) {
          CHECK(identical(run(c.kind, in, c.strengths[s], 5, threads), out), "%s: %d threads differ from 1", c.kind.c_str(), threads);
        }
      }
    }
  }
}

// Callers may hand a kernel an output that already holds something (the addon's `out` arrays, reused between
// calls): every kind writes every sample, so what was there never shows through. Filled with NaN, 2 and -1 in turn.
static void test_output_overwritten() {
  for (const Case& c : cases()) {
    const bool color = find_kernel(c.kind)->needs_color;
    for (int channels : {1, 3}) {
      if (color && channels == 1) continue;
      const Image in = test_image(45, 31, channels);
      for (size_t s = 0; s < c.strengths.size(); ++s) {
        const Image fresh = run(c.kind, in, c.strengths[s], 9, 1);
        for (float fill : {std::nanf(""), 2.0f, -1.0f}) {
          for (int threads : {1, 3}) {
            Image out = Image::allocate(in.width(), in.height(), channels);
            std::fill(out.data(), out.data() + out.size(), fill);
            apply(c.kind, in, out, c.strengths[s], 9, threads);
            CHECK(identical(out, fresh), "%s (%d ch, strength %zu, %d threads): a prefilled output shows through (%g)", c.kind.c_str(),
                  channels, s, threads, fill);
          }
        }
      }
    }
  }
}

static void test_determinism() {
  const Image in = test_image(48, 40, 3);
  for (const Case& c : cases()) {
    const KernelInfo* info = find_kernel(c.kind);
    const Image a = run(c.kind, in, c.strengths[1], 123);
    CHECK(identical(a, run(c.kind, in, c.strengths[1], 123)), "%s: same seed differs", c.kind.c_str());
    const bool differs = !identical(a, run(c.kind, in, c.strengths[1], 124));
    if (info->random) {
      CHECK(differs, "%s: another seed gives the same output", c.kind.c_str());
    } else {
      CHECK(!differs, "%s: deterministic kind depends on the seed", c.kind.c_str());
    }
  }
}

static void test_validation() {
  const Image rgb = test_image(16, 16, 3), grey = test_image(16, 16, 1);
  const auto throws_with = harness::throws_with<std::invalid_argument>;
  for (const Case& c : cases()) {
    const KernelInfo* info = find_kernel(c.kind);
    for (const ParamSpec& spec : info->params) {
      Params p = c.strengths[0];
      p[spec.name] = spec.max + 1.0;
      CHECK(throws_with([&] { run(c.kind, rgb, p); }, spec.name), "%s.%s above range", c.kind.c_str(), spec.name.c_str());
      p[spec.name] = spec.min - 1.0;
      CHECK(throws_with([&] { run(c.kind, rgb, p); }, spec.name), "%s.%s below range", c.kind.c_str(), spec.name.c_str());
      p[spec.name] = std::nan("");
      CHECK(throws_with([&] { run(c.kind, rgb, p); }, spec.name), "%s.%s NaN", c.kind.c_str(), spec.name.c_str());
      p.erase(spec.name);
      CHECK(throws_with([&] { run(c.kind, rgb, p); }, spec.name), "%s.%s missing", c.kind.c_str(), spec.name.c_str());
      if (spec.integer) {
        p = c.strengths[0];
        p[spec.name] = spec.min + 0.5;
        CHECK(throws_with([&] { run(c.kind, rgb, p); }, spec.name), "%s.%s non-integer", c.kind.c_str(), spec.name.c_str());
      }
    }
    Params extra = c.strengths[0];
    extra["bogus"] = 1.0;
    CHECK(throws_with([&] { run(c.kind, rgb, extra); }, "bogus"), "%s: unknown parameter accepted", c.kind.c_str());
    if (info->needs_color) {
      CHECK(throws_with([&] { run(c.kind, grey, c.strengths[0]); }, "3-channel"), "%s: 1 channel accepted", c.kind.c_str());
    }
  }
  CHECK(throws_with([&] { run("grid_lines", rgb, detector({{"amplitude", 0.1}, {"period", 4}, {"angle", 45}})); }, "angle"), "grid_lines angle 45");
  CHECK(throws_with([&] { run("scatter", rgb, detector({{"spr", 0.5}, {"sigma", 4}}, 0, 0)); }, "polarity"), "polarity 0");
  CHECK(throws_with([&] { run("no_such_kind", rgb, {}); }, "no_such_kind"), "unknown kind");
  Image wrong = Image::allocate(8, 8, 3);
  CHECK(throws_with([&] { apply("lightness_shift", rgb, wrong, {{"delta", 0.1}}, 1, 1); }, "shape"), "output shape");
}

// ---------------------------------------------------------------------------------------------
// References

static int reflect(int i, int n) {  // written independently of the library: mirror until inside
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

static double bilinear_ref(const Image& img, int c, double x, double y) {
  const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  const double fx = x - x0, fy = y - y0;
  auto at = [&](int xx, int yy) { return static_cast<double>(img.at(c, reflect(yy, img.height()), reflect(xx, img.width()))); };
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

// motion_blur against its definition written out here: the mean of n = max(2, ceil(L) + 1) bilinear samples
// (reflect-101 taps) evenly spaced along the segment of length L at the angle, centred on the pixel.
static void test_motion_blur_reference() {
  const Image in = test_image(37, 29, 3);
  for (const auto& [length, angle] : std::vector<std::pair<double, double>>{{1.5, 0}, {7, 30}, {10.25, 90}, {15, 137}, {40, 180}}) {
    const Image out = run("motion_blur", in, {{"length", length}, {"angle", angle}}, 1, 3);
    const int n = std::max(2, static_cast<int>(std::ceil(length)) + 1);
    const double ux = std::cos(angle * M_PI / 180), uy = -std::sin(angle * M_PI / 180);
    double worst = 0;
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < in.height(); ++y) {
        for (int x = 0; x < in.width(); ++x) {
          double sum = 0;
          for (int k = 0; k < n; ++k) {
            const double t = length * (static_cast<double>(k) / (n - 1) - 0.5);
            sum += bilinear_ref(in, c, x + t * ux, y + t * uy);
          }
          worst = std::max(worst, std::fabs(out.at(c, y, x) - sum / n));
        }
      }
    }
    CHECK(worst < 2e-6, "motion_blur length %g angle %g: off by %.3g", length, angle, worst);
  }
}

// bilateral against its definition in double with std::exp: sum_q w(q) x(q) / sum_q w(q) over the square
// window of radius ceil(2 ss), w = exp(-(dx^2 + dy^2) / (2 ss^2) - |x(q) - x(p)|^2 / (2 sr^2)), the range
// distance over all channels, taps reflect-101.
static void test_bilateral_reference() {
  for (int channels : {1, 3}) {
    const Image in = test_image(31, 23, channels);
    for (const auto& [ss, sr] : std::vector<std::pair<double, double>>{{0.8, 0.05}, {2.5, 0.1}, {6, 0.4}}) {
      const Image out = run("bilateral", in, {{"sigma_spatial", ss}, {"sigma_range", sr}}, 1, 2);
      const int r = static_cast<int>(std::ceil(2 * ss));
      double worst = 0;
      for (int y = 0; y < in.height(); ++y) {
        for (int x = 0; x < in.width(); ++x) {
          double acc[3] = {0, 0, 0}, norm = 0;
          for (int dy = -r; dy <= r; ++dy) {
            for (int dx = -r; dx <= r; ++dx) {
              const int qy = reflect(y + dy, in.height()), qx = reflect(x + dx, in.width());
              double d2 = 0;
              for (int c = 0; c < channels; ++c) d2 += std::pow(static_cast<double>(in.at(c, qy, qx)) - in.at(c, y, x), 2);
              const double weight = std::exp(-(dx * dx + dy * dy) / (2 * ss * ss) - d2 / (2 * sr * sr));
              norm += weight;
              for (int c = 0; c < channels; ++c) acc[c] += weight * in.at(c, qy, qx);
            }
          }
          for (int c = 0; c < channels; ++c) worst = std::max(worst, std::fabs(out.at(c, y, x) - acc[c] / norm));
        }
      }
      CHECK(worst < 5e-6, "bilateral (%d ch, ss %g, sr %g): off by %.3g", channels, ss, sr, worst);
    }
  }
}

static void test_gaussian_blur_reference() {
  for (double sigma : {0.6, 1.3, 4.0, 9.0}) {
    const Image in = test_image(23, 17, 3);
    const Image out = run("gaussian_blur", in, {{"sigma", sigma}}, 1, 3);
    const int r = static_cast<int>(std::ceil(3 * sigma));
    double norm = 0.0;
    for (int dy = -r; dy <= r; ++dy) {
      for (int dx = -r; dx <= r; ++dx) norm += std::exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
    }
    double worst = 0.0;
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < in.height(); ++y) {
        for (int x = 0; x < in.width(); ++x) {
          double acc = 0.0;
          for (int dy = -r; dy <= r; ++dy) {
            for (int dx = -r; dx <= r; ++dx) {
              acc += std::exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)) * in.at(c, reflect(y + dy, in.height()), reflect(x + dx, in.width()));
            }
          }
          worst = std::max(worst, std::fabs(acc / norm - out.at(c, y, x)));
        }
      }
    }
    CHECK(worst <= 1e-5, "gaussian_blur sigma %.1f: max error %.3g against direct 2-D convolution", sigma, worst);
  }
}

static void test_affine_reference() {
  const Image in = test_image(45, 31, 1);
  const double rot = 17.0, scale = 1.2, shear = -8.0, tx = 3.5, ty = -2.25;
  const Image out = run("affine", in, {{"rotation", rot}, {"scale", scale}, {"shear", shear}, {"tx", tx}, {"ty", ty}}, 1, 4);
  // Forward 3x3 = T(c + t) * scale * R(ccw on screen) * Shear * T(-c); invert it with cofactors.
  const double r = rot * M_PI / 180, s = std::tan(shear * M_PI / 180);
  const double cx = 22.0, cy = 15.0;
  const double l00 = scale * std::cos(r), l01 = scale * (std::cos(r) * s + std::sin(r));
  const double l10 = -scale * std::sin(r), l11 = scale * (-std::sin(r) * s + std::cos(r));
  const double m[3][3] = {{l00, l01, cx + tx - l00 * cx - l01 * cy}, {l10, l11, cy + ty - l10 * cx - l11 * cy}, {0, 0, 1}};
  const double det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  double worst = 0.0;
  for (int y = 0; y < in.height(); ++y) {
    for (int x = 0; x < in.width(); ++x) {
      const double u = x - m[0][2], v = y - m[1][2];
      const double sx = (m[1][1] * u - m[0][1] * v) / det, sy = (-m[1][0] * u + m[0][0] * v) / det;
      worst = std::max(worst, std::fabs(bilinear_ref(in, 0, sx, sy) - out.at(0, y, x)));
    }
  }
  CHECK(worst <= 1e-5, "affine: max error %.3g against the per-pixel reference", worst);
  // A positive rotation is counter-clockwise on screen: a point right of the centre moves up.
  const double px = cx + 10, py = cy;
  const double fy = m[1][0] * px + m[1][1] * py + m[1][2];
  CHECK(fy < cy, "affine: rotation direction");
}

static void test_homography_reference() {
  // The solver maps the given points exactly.
  const double from[4][2] = {{0, 0}, {10, 1}, {11, 9}, {-1, 8}}, to[4][2] = {{1, 2}, {9, 0}, {12, 12}, {0, 7}};
  double h[9];
  detail::solve_homography(from, to, h);
  for (int i = 0; i < 4; ++i) {
    const double q = h[6] * from[i][0] + h[7] * from[i][1] + h[8];
    CHECK_NEAR((h[0] * from[i][0] + h[1] * from[i][1] + h[2]) / q, to[i][0], 1e-9, "homography solve x");
    CHECK_NEAR((h[3] * from[i][0] + h[4] * from[i][1] + h[5]) / q, to[i][1], 1e-9, "homography solve y");
  }
  const Image in = test_image(40, 33, 3);
  const double jitter = 0.1;
  const Image out = run("homography", in, {{"jitter", jitter}}, 77, 3);
  detail::homography_matrix(40, 33, jitter, 77, h);
  double worst = 0.0;
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < in.height(); ++y) {
      for (int x = 0; x < in.width(); ++x) {
        const double q = h[6] * x + h[7] * y + h[8];
        const double ref = bilinear_ref(in, c, (h[0] * x + h[1] * y + h[2]) / q, (h[3] * x + h[4] * y + h[5]) / q);
        worst = std::max(worst, std::fabs(ref - out.at(c, y, x)));
      }
    }
  }
  CHECK(worst <= 1e-5, "homography: max error %.3g against the per-pixel reference", worst);
  // Corners at the outer pixel edges move by at most jitter * size: the inverse map sends the
  // image corners within that distance.
  const double corners[4][2] = {{-0.5, -0.5}, {39.5, -0.5}, {39.5, 32.5}, {-0.5, 32.5}};
  for (const auto& p : corners) {
    const double q = h[6] * p[0] + h[7] * p[1] + h[8];
    const double sx = (h[0] * p[0] + h[1] * p[1] + h[2]) / q, sy = (h[3] * p[0] + h[4] * p[1] + h[5]) / q;
    CHECK(std::fabs(sx - p[0]) < 3 * jitter * 40 && std::fabs(sy - p[1]) < 3 * jitter * 33, "homography corner moved too far");
  }
}

// Naive separable DFT (O(n^3) for n x n), independent of the library FFT.
static std::vector<std::complex<double>> dft2(const std::vector<double>& field, int n) {
  std::vector<std::complex<double>> tw(n), rows(static_cast<size_t>(n) * n), out(static_cast<size_t>(n) * n);
  for (int k = 0; k < n; ++k) tw[k] = std::polar(1.0, -2 * M_PI * k / n);
  for (int y = 0; y < n; ++y) {
    for (int k = 0; k < n; ++k) {
      std::complex<double> s = 0;
      for (int x = 0; x < n; ++x) s += field[static_cast<size_t>(y) * n + x] * tw[(static_cast<size_t>(k) * x) % n];
      rows[static_cast<size_t>(y) * n + k] = s;
    }
  }
  for (int kx = 0; kx < n; ++kx) {
    for (int ky = 0; ky < n; ++ky) {
      std::complex<double> s = 0;
      for (int y = 0; y < n; ++y) s += rows[static_cast<size_t>(y) * n + kx] * tw[(static_cast<size_t>(ky) * y) % n];
      out[static_cast<size_t>(ky) * n + kx] = s;
    }
  }
  return out;
}

static void test_fft() {
  for (int n : {1, 2, 8, 64}) {
    std::vector<std::complex<double>> a(n), ref(n);
    for (int i = 0; i < n; ++i) a[i] = {std::sin(i * 0.7) + 0.1 * i, std::cos(i * 1.9)};
    for (int k = 0; k < n; ++k) {
      for (int i = 0; i < n; ++i) ref[k] += a[i] * std::polar(1.0, -2 * M_PI * k * i / n);
    }
    std::vector<std::complex<double>> b = a;
    detail::fft(b, false);
    double worst = 0.0;
    for (int k = 0; k < n; ++k) worst = std::max(worst, std::abs(b[k] - ref[k]));
    CHECK(worst < 1e-9, "fft n=%d: error %.3g", n, worst);
    detail::fft(b, true);
    worst = 0.0;
    for (int i = 0; i < n; ++i) worst = std::max(worst, std::abs(b[i] / static_cast<double>(n) - a[i]));
    CHECK(worst < 1e-9, "inverse fft n=%d: error %.3g", n, worst);
  }
}

static void test_noise_spectra() {
  const int n = 256;
  const Image flat = constant_image(n, n, 1, 0.5f);
  for (double beta : {-2.0, -1.0, 0.0, 1.0, 2.0}) {
    // Radially averaged power over integer radius bins, accumulated over seeds.
    std::vector<double> power(n, 0.0), count(n, 0.0);
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      const Image out = run("colored_noise", flat, {{"sigma", 0.1}, {"beta", beta}}, seed, 4);
      std::vector<double> field(static_cast<size_t>(n) * n);
      double sum = 0.0, sq = 0.0;
      for (size_t i = 0; i < field.size(); ++i) {
        field[i] = out.data()[i] - 0.5;
        sum += field[i];
        sq += field[i] * field[i];
      }
      CHECK_NEAR(sum / field.size(), 0.0, 1e-6, "colored_noise mean");
      CHECK_NEAR(std::sqrt(sq / field.size()), 0.1, 1e-5, "colored_noise std");
      const auto spectrum = dft2(field, n);
      for (int ky = 0; ky < n; ++ky) {
        for (int kx = 0; kx < n; ++kx) {
          const int fx = std::min(kx, n - kx), fy = std::min(ky, n - ky);
          const int r = static_cast<int>(std::lround(std::sqrt(fx * fx + fy * fy)));
          if (r < n) {
            power[r] += std::norm(spectrum[static_cast<size_t>(ky) * n + kx]);
            count[r] += 1;
          }
        }
      }
    }
    // Least-squares slope of log power against log frequency over 0.05..0.25 cycles/pixel.
    double sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
    for (int r = 13; r <= 64; ++r) {
      const double lx = std::log(static_cast<double>(r) / n), ly = std::log(power[r] / count[r]);
      sx += lx;
      sy += ly;
      sxx += lx * lx;
      sxy += lx * ly;
      m += 1;
    }
    const double slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
    std::printf("  colored_noise beta %+.0f: spectral slope %+.3f\n", beta, slope);
    CHECK_NEAR(slope, -beta, 0.15, "colored_noise spectral slope");
  }
}

static void test_white_noise_statistics() {
  const Image flat = constant_image(256, 256, 1, 0.5f);
  auto stats = [](const Image& out, double& mean, double& sd) {
    double s = 0, q = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const double v = out.data()[i] - 0.5;
      s += v;
      q += v * v;
    }
    mean = s / out.size();
    sd = std::sqrt(q / out.size() - mean * mean);
  };
  double mean, sd;
  stats(run("uniform_noise", flat, {{"amplitude", 0.2}}, 3), mean, sd);
  CHECK_NEAR(mean, 0.0, 0.002, "uniform_noise mean");
  CHECK_NEAR(sd, 0.2 / std::sqrt(3.0), 0.002, "uniform_noise std");
  stats(run("gaussian_noise", flat, {{"sigma", 0.1}}, 3), mean, sd);
  CHECK_NEAR(mean, 0.0, 0.002, "gaussian_noise mean");
  CHECK_NEAR(sd, 0.1, 0.002, "gaussian_noise std");
}

// The detector domain (medpsim/detector.hpp): the response round trip, Poisson counts, and the dose
// change's display-value variance on flat regions (white noise, no electronic noise): var(v) =
// (1 - f) / (f N0 M^2 T) under the log response, T = exp(-M v) (the full theory, with the MTF and the noise
// power spectrum, is in test/unit/xray-detector.test.ts).
static void test_detector_domain() {
  for (const bool log : {true, false}) {
    for (const bool inverted : {false, true}) {
      const detail::DetectorResponse r{log, inverted, 4.0f};
      double worst = 0.0;
      for (int i = 0; i <= 1000; ++i) {
        const float v = static_cast<float>(i) / 1000.0f;
        worst = std::max(worst, std::fabs(static_cast<double>(detail::to_display(r, detail::to_signal(r, v))) - v));
      }
      CHECK(worst < 2e-6, "response (log %d, inverted %d) round trip off by %.3g", log, inverted, worst);
    }
  }
  // ln and ln k! against the standard library.
  double log_error = 0, factorial_error = 0;
  for (double x = 1e-300; x < 1e300; x *= 1.37) log_error = std::max(log_error, std::fabs(detail::log_positive(x) - std::log(x)) / std::max(1.0, std::fabs(std::log(x))));
  for (int k = 0; k < 100000; k += (k < 50 ? 1 : 997)) factorial_error = std::max(factorial_error, std::fabs(detail::log_factorial(k) - std::lgamma(k + 1.0)) / std::max(1.0, std::lgamma(k + 1.0)));
  double exp_error = 0;
  for (double x = 0; x > -700; x -= 0.0137) exp_error = std::max(exp_error, std::fabs(detail::exp_nonpositive_double(x) - std::exp(x)) / std::exp(x));
  CHECK(detail::exp_nonpositive_double(0.0) == 1.0, "exp_nonpositive_double(0)");
  std::printf("  exp_nonpositive_double: max relative error %.2g\n", exp_error);
  CHECK(exp_error < 1e-15, "exp_nonpositive_double error %.3g", exp_error);
  std::printf("  log_positive: max error %.2g; log_factorial: max relative error %.2g\n", log_error, factorial_error);
  CHECK(log_error < 1e-15, "log_positive error %.3g", log_error);
  CHECK(factorial_error < 1e-13, "log_factorial error %.3g", factorial_error);
  // Poisson counts: mean, variance and skewness 1 / sqrt(lambda) (a rounded normal would have none) on both
  // sides of the inversion / PTRS switch-over, and the whole distribution at 40 by chi-square.
  const Rng rng(77, 0x99);
  for (double lambda : {3.0, 9.9, 10.0, 25.0, 400.0, 5000.0}) {
    const int n = 1 << 20;
    double s1 = 0, s2 = 0, s3 = 0;
    for (int i = 0; i < n; ++i) {
      const double k = detail::poisson_count(rng, i, lambda) - lambda;
      s1 += k;
      s2 += k * k;
      s3 += k * k * k;
    }
    const double mean = s1 / n, var = s2 / n - mean * mean, skew = (s3 / n - 3 * mean * var - mean * mean * mean) / std::pow(var, 1.5);
    CHECK(std::fabs(mean) < 4 * std::sqrt(lambda / n), "poisson mean off by %.4g at %g", mean, lambda);
    CHECK(std::fabs(var / lambda - 1.0) < 0.01, "poisson variance %.6g at %g", var, lambda);
    CHECK(std::fabs(skew - 1 / std::sqrt(lambda)) < 5 * std::sqrt(6.0 / n), "poisson skewness %.4f at %g, expected %.4f", skew, lambda, 1 / std::sqrt(lambda));
  }
  {
    const double lambda = 40;
    const int n = 1 << 20;
    std::vector<double> counts(121, 0.0);
    for (int i = 0; i < n; ++i) counts[std::min(120, static_cast<int>(detail::poisson_count(rng, i, lambda)))] += 1;
    double chi2 = 0, tail = 0;
    int cells = 0;
    for (int k = 0; k < 120; ++k) {
      const double expected = n * std::exp(-lambda + k * std::log(lambda) - std::lgamma(k + 1.0));
      if (expected < 5) {
        tail += counts[k];
        continue;
      }
      chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
      ++cells;
    }
    // 55 cells with an expected count of 5 or more (k = 15 .. 69; the seed is fixed): the 99.9% point of
    // chi-square with 54 degrees of freedom is 91.9 (scipy.stats.chi2.ppf(0.999, 54)).
    std::printf("  poisson 40: chi-square %.1f over %d cells\n", chi2, cells);
    CHECK(cells == 55 && chi2 < 91.9, "poisson(40) chi-square %.1f over %d cells", chi2, cells);
  }
  for (const double v : {0.2, 0.6}) {
    const Image flat = constant_image(256, 256, 1, static_cast<float>(v));
    const double f = 0.2, photons = 20000, m = 4;  // relative noise a few per cent: first order holds
    const Image out = run("quantum_noise", flat, detector({{"dose", f}, {"photons", photons}, {"electronic_noise", 0}, {"mtf_sigma", 0}}), 9);
    double s = 0, q = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      s += out.data()[i];
      q += static_cast<double>(out.data()[i]) * out.data()[i];
    }
    const double mean = s / out.size(), var = q / out.size() - mean * mean;
    const double expected = (1 - f) / (f * photons * m * m * std::exp(-m * v));
    CHECK(std::fabs(var / expected - 1.0) < 0.03, "quantum_noise variance %.4g, expected %.4g at v = %g", var, expected, v);
    // The mean moves by the log's curvature, M var / 2 (E[-ln(T + n)] = -ln T + var(n) / (2 T^2)), as a real
    // reduced-dose image's does.
    CHECK(std::fabs(mean - (v + m * expected / 2)) < 3e-4, "quantum_noise mean %.6g at v = %g", mean, v);
  }
}

static void test_jpeg() {
  for (int channels : {1, 3}) {
    // On 8-bit levels, like any image a real JPEG encoder gets.
    Image in = test_image(64, 48, channels);
    for (size_t i = 0; i < in.size(); ++i) in.data()[i] = static_cast<float>(std::round(in.data()[i] * 255.0) / 255.0);
    const Image q100 = run("jpeg", in, {{"quality", 100}});
    const double worst = max_abs_diff(q100, in);
    std::printf("  jpeg quality 100, %d channel(s): max change %.2f / 255\n", channels, worst * 255);
    CHECK(worst <= 2.0 / 255 + 1e-6, "jpeg q100 changed a pixel by %.3f/255", worst * 255);
    bool levels = true;  // outputs are 8-bit levels
    for (size_t i = 0; i < q100.size(); ++i) levels = levels && std::fabs(q100.data()[i] * 255 - std::round(q100.data()[i] * 255)) < 1e-4;
    CHECK(levels, "jpeg output not on 8-bit levels");
    double previous = 0.0;
    for (int q : {95, 75, 50, 25, 10, 1}) {
      const double e = mse(run("jpeg", in, {{"quality", static_cast<double>(q)}}), in);
      CHECK(e > previous, "jpeg quality %d: MSE %.3g not above %.3g", q, e, previous);
      previous = e;
    }
  }
}

static void test_philox_known_answers() {
  // Random123 known-answer vectors for philox4x32-10.
  const Philox4 a = philox4x32_10(Philox4{{0, 0, 0, 0}}, 0, 0);
  CHECK(a.v[0] == 0x6627e8d5u && a.v[1] == 0xe169c58du && a.v[2] == 0xbc57ac4cu && a.v[3] == 0x9b00dbd8u, "philox zero vector");
  const Philox4 b = philox4x32_10(Philox4{{~0u, ~0u, ~0u, ~0u}}, ~0u, ~0u);
  CHECK(b.v[0] == 0x408f276du && b.v[1] == 0x41c83b0eu && b.v[2] == 0xa20bc7c6u && b.v[3] == 0x6d5451fdu, "philox ones vector");
  const Philox4 c = philox4x32_10(Philox4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  CHECK(c.v[0] == 0xd16cfe09u && c.v[1] == 0x94fdccebu && c.v[2] == 0x5001e420u && c.v[3] == 0x24126ea1u, "philox pi vector");
}

// Draws come in groups of four (one Philox block): the bulk calls equal the per-element ones bit for bit,
// and the cosine and sine normals of a Box-Muller pair are uncorrelated standard normals.
static void test_grouped_draws() {
  const Rng rng(0x0123456789abcdefULL, 0x0200);
  bool same = true;
  // Every group from 0 on, and groups across the 2^32 boundary (the counter's high word).
  for (uint64_t first : {uint64_t{0}, uint64_t{77}, (uint64_t{1} << 32) - 3}) {
    for (uint64_t run = first; run < first + (first == 0 ? 4096 : Rng::kLanes); run += Rng::kLanes) {
      float u[4 * Rng::kLanes], g[4 * Rng::kLanes];
      rng.uniforms(run, 3, u);
      rng.gaussians(run, 3, g);
      for (int i = 0; i < 4 * Rng::kLanes; ++i) same = same && u[i] == rng.uniform(4 * run + i, 3) && g[i] == rng.gaussian(4 * run + i, 3);
    }
  }
  CHECK(same, "uniforms/gaussians differ from uniform/gaussian");
  // The arithmetic-only log and sincos against the library functions, over every 24-bit uniform step.
  double log_error = 0, trig_error = 0;
  for (uint32_t k = 0; k < (1u << 24); k += 7) {
    const float u = bits_to_open_unit(k << 8);
    log_error = std::max(log_error, std::fabs(log_unit(u) - std::log(static_cast<double>(u))) / std::max(1e-3, -std::log(static_cast<double>(u))));
    float sine, cosine;
    sincos_turns(u, sine, cosine);
    const double angle = 2 * M_PI * static_cast<double>(u);
    trig_error = std::max({trig_error, std::fabs(sine - std::sin(angle)), std::fabs(cosine - std::cos(angle))});
  }
  std::printf("  log_unit: max relative error %.2g; sincos_turns: max error %.2g\n", log_error, trig_error);
  CHECK(log_error < 5e-7, "log_unit error %.3g", log_error);
  CHECK(trig_error < 5e-7, "sincos_turns error %.3g", trig_error);
  // exp_nonpositive against std::exp over the detector response's range (-12 .. 0) and beyond.
  double exp_error = 0;
  CHECK(detail::exp_nonpositive(0.0f) == 1.0f && detail::exp_nonpositive(-200.0f) == 0.0f, "exp_nonpositive ends");
  for (int i = 0; i <= 400000; ++i) {
    const float x = -30.0f * static_cast<float>(i) / 400000.0f;
    const double exact = std::exp(static_cast<double>(x));
    exp_error = std::max(exp_error, std::fabs(detail::exp_nonpositive(x) - exact) / exact);
  }
  std::printf("  exp_nonpositive: max relative error %.2g\n", exp_error);
  CHECK(exp_error < 5e-7, "exp_nonpositive error %.3g", exp_error);
  const int n = 1 << 18;
  double sum = 0, squares = 0, twin_product = 0, next_product = 0, fourth = 0;
  for (int i = 0; i < n; i += 2) {
    const double a = rng.gaussian(i), b = rng.gaussian(i + 1), c = rng.gaussian(i + 2);
    sum += a + b;
    squares += a * a + b * b;
    fourth += a * a * a * a + b * b * b * b;
    twin_product += a * b;  // the two normals of one pair
    next_product += b * c;  // across pairs
  }
  CHECK_NEAR(sum / n, 0.0, 0.01, "gaussian mean");
  CHECK_NEAR(squares / n, 1.0, 0.01, "gaussian variance");
  CHECK_NEAR(fourth / n, 3.0, 0.05, "gaussian fourth moment");
  CHECK_NEAR(twin_product / (n / 2), 0.0, 0.01, "correlation of a Box-Muller pair");
  CHECK_NEAR(next_product / (n / 2), 0.0, 0.01, "correlation across pairs");
}

// The persistent worker pool behind parallel_for: every index once for any chunk count (more chunks than
// cores too), a parallel_for inside a chunk, several callers at once, and an exception in any chunk reaching
// the caller after the other chunks are done.
static void test_worker_pool() {
  for (int threads : {1, 2, 3, 7, 64}) {
    std::vector<int> hits(1000, 0);
    detail::parallel_for(1000, threads, [&](int a, int b) {
      for (int i = a; i < b; ++i) ++hits[i];
    });
    CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }), "%d chunks: an index not hit exactly once", threads);
  }
  std::vector<std::atomic<int>> nested(64 * 64);
  detail::parallel_for(64, 4, [&](int a, int b) {
    for (int i = a; i < b; ++i) {
      detail::parallel_for(64, 3, [&](int c, int d) {
        for (int j = c; j < d; ++j) nested[i * 64 + j].fetch_add(1);
      });
    }
  });
  CHECK(std::all_of(nested.begin(), nested.end(), [](const std::atomic<int>& h) { return h.load() == 1; }), "nested parallel_for");
  std::vector<std::thread> callers;
  std::vector<long> sums(6, 0);
  for (int k = 0; k < 6; ++k) {
    callers.emplace_back([&, k] {
      for (int repeat = 0; repeat < 200; ++repeat) {
        std::vector<long> part(5, 0);
        detail::parallel_for(5000, 5, [&](int a, int b) {
          long local = 0;
          for (int i = a; i < b; ++i) local += i;
          part[a * 5 / 5000] = local;
        });
        sums[k] += std::accumulate(part.begin(), part.end(), 0L);
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  for (long sum : sums) CHECK(sum == 200L * (4999L * 5000 / 2), "concurrent callers: sum %ld", sum);
  for (int thrower : {0, 3}) {
    std::atomic<int> finished{0};
    bool caught = false;
    try {
      detail::parallel_for(8, 8, [&](int a, int) {
        if (a == thrower) throw std::runtime_error("chunk failed");
        finished.fetch_add(1);
      });
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "chunk failed";
    }
    CHECK(caught && finished.load() == 7, "exception from chunk %d: caught %d, %d others finished", thrower, caught, finished.load());
  }
}

// Large buffers are recycled (same block for the same rounded size), small ones are not pooled, and the
// pool never holds more than its bound.
static void test_buffer_pool() {
  const size_t before = detail::pool_cached_bytes();
  void* block = detail::pool_acquire(3 << 20);
  std::memset(block, 1, 3 << 20);
  detail::pool_release(block, 3 << 20);
  CHECK(detail::pool_cached_bytes() == before + (3 << 20), "released block not cached");
  void* again = detail::pool_acquire((3 << 20) - 100);  // rounds to the same size
  CHECK(again == block, "block of the same rounded size not reused");
  detail::pool_release(again, (3 << 20) - 100);
  {
    detail::Buffer<double> small(16);  // below the pooled size
    CHECK(small.size() == 16 && small[15] == 0.0, "small buffer");
  }
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i) blocks.push_back(detail::pool_acquire(size_t{8} << 20));
  for (void* b : blocks) detail::pool_release(b, size_t{8} << 20);
  CHECK(detail::pool_cached_bytes() <= detail::kPoolCapacityBytes, "pool holds %zu bytes", detail::pool_cached_bytes());
  Image image = Image::allocate(1024, 1024, 3);  // image storage comes from the pool too
  CHECK(image.size() == 3u << 20 && image.data()[image.size() - 1] == 0.0f, "pooled image not zeroed");
}

static void test_small_images() {
  // 1x1, 1xN and tiny images must not crash and stay in range for every kind.
  for (const Case& c : cases()) {
    for (auto dims : {std::pair<int, int>{1, 1}, {1, 9}, {7, 1}, {3, 2}}) {
      const Image in = test_image(dims.first, dims.second, 3);
      for (const Params& p : c.strengths) {
        const Image out = run(c.kind, in, p, 2, 2);
        bool ok = out.same_shape(in);
        for (size_t i = 0; i < out.size(); ++i) ok = ok && out.data()[i] >= 0.0f && out.data()[i] <= 1.0f;
        CHECK(ok, "%s on %dx%d", c.kind.c_str(), dims.first, dims.second);
      }
    }
  }
}

int main() {
  return harness::run_tests({
      {"philox known answers", test_philox_known_answers},
      {"grouped draws", test_grouped_draws},
      {"buffer pool", test_buffer_pool},
      {"worker pool", test_worker_pool},
      {"registry", test_registry},
      {"identity", test_identity},
      {"strength, range, threads", test_strength_range_threads},
      {"determinism", test_determinism},
      {"output overwritten", test_output_overwritten},
      {"validation", test_validation},
      {"small images", test_small_images},
      {"fft", test_fft},
      {"gaussian blur reference", test_gaussian_blur_reference},
      {"motion blur reference", test_motion_blur_reference},
      {"bilateral reference", test_bilateral_reference},
      {"affine reference", test_affine_reference},
      {"homography reference", test_homography_reference},
      {"white noise statistics", test_white_noise_statistics},
      {"noise spectra", test_noise_spectra},
      {"jpeg", test_jpeg},
      {"detector domain", test_detector_domain},
  });
}
