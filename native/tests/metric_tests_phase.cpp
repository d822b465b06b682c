// The phase family (fsim) against an independent numpy transcription of the authors' FeatureSIM.m
// (fixtures/make_fsim.py), hand-worked cases, and the arbitrary-size DFT it is built on. The function is
// called directly (1-channel images), not through the metric table.
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <string>
#include <vector>

#include "harness.hpp"
#include "medpsim/metrics.hpp"
#include "metric_images.hpp"

namespace medpsim::detail {
// Defined in metrics_phase.cpp: in place, any size, inverse unnormalised.
void dft(std::complex<double>* a, int n, bool inverse);
void dft2(std::complex<double>* a, int rows, int cols, bool inverse, int threads);
}  // namespace medpsim::detail

using medpsim::Image;
using Complex = std::complex<double>;

namespace {

medpsim::MetricFn fsim_function() {
  medpsim::detail::MetricFunctions functions;
  medpsim::detail::register_phase_metrics(functions);
  return functions.at("fsim");
}

double fsim(const Image& a, const Image& b, double data_range, Image* map = nullptr, int threads = 0) {
  return fsim_function()(a, b, {}, data_range, map, threads);
}

double map_mean(const Image& map) {
  double sum = 0.0;
  for (size_t i = 0; i < map.size(); ++i) sum += map.data()[i];
  return sum / static_cast<double>(map.size());
}

struct Expected {
  const char* metric;  // "fsim" (the value) or "fsim.map_mean" (the map's mean over the input pixels)
  const char* distortion;
  int w, h, bits;
  double value;
};

const Expected kExpected[] = {
#include "fixtures/fsim_expected.inc"
};

// Tolerances: the value differs from numpy's only by rounding (numpy's pocketfft vs our radix-2/Bluestein
// transforms, Parseval vs real(ifft2) for the noise terms, summation orders); PC is a smooth function of the
// responses except at the max(Energy - T, 0) threshold and the median's pick, both continuous in them. The
// largest difference seen is 2e-15; 1e-9 leaves room for other compilers and libms. The map is float32,
// so its mean is checked to 1e-6.
void test_fixtures() {
  double worst_value = 0.0, worst_map = 0.0;
  std::string last;  // the case computed last: the rows come in pairs (value, map mean) per case
  double value = 0.0, mean = 0.0;
  for (const Expected& e : kExpected) {
    const std::string what = std::string(e.distortion) + " " + std::to_string(e.w) + "x" + std::to_string(e.h) + " " +
                             std::to_string(e.bits) + "-bit";
    if (what != last) {
      const Image a = metric_images::make("reference", e.w, e.h, 1, e.bits);
      const Image b = metric_images::make(e.distortion, e.w, e.h, 1, e.bits);
      Image map = Image::allocate(e.w, e.h, 1);
      value = fsim(a, b, metric_images::data_range(e.bits), &map);
      mean = map_mean(map);
      last = what;
    }
    if (std::string(e.metric) == "fsim") {
      CHECK_NEAR(value, e.value, 1e-9, ("fsim " + what).c_str());
      worst_value = std::max(worst_value, std::fabs(value - e.value));
    } else {
      CHECK_NEAR(mean, e.value, 1e-6, ("fsim map mean " + what).c_str());
      worst_map = std::max(worst_map, std::fabs(mean - e.value));
    }
  }
  std::printf("  fsim vs numpy: largest difference %.3g (value), %.3g (map mean)\n", worst_value, worst_map);
}

// The DFT against the direct sum (angles reduced exactly: jk mod n), for power-of-two, odd, prime and
// composite sizes, and the inverse.
void test_dft() {
  for (int n : {1, 2, 3, 5, 8, 12, 97, 100, 127, 128, 250}) {
    std::vector<Complex> x(n), direct(n);
    for (int j = 0; j < n; ++j) x[j] = {std::sin(0.37 * j + 0.1) + 0.01 * j, std::cos(1.3 * j * j) - 0.2};
    double norm = 0.0;
    for (int k = 0; k < n; ++k) {
      Complex sum = 0.0;
      for (int j = 0; j < n; ++j) {
        const double angle = -2.0 * M_PI * static_cast<double>(static_cast<int64_t>(j) * k % n) / n;
        sum += x[j] * Complex(std::cos(angle), std::sin(angle));
      }
      direct[k] = sum;
      norm = std::max(norm, std::abs(sum));
    }
    std::vector<Complex> y = x;
    medpsim::detail::dft(y.data(), n, false);
    double err = 0.0;
    for (int k = 0; k < n; ++k) err = std::max(err, std::abs(y[k] - direct[k]));
    CHECK(err <= 1e-13 * (norm + 1.0), "dft n = %d: max error %.3g (largest |X| %.3g)", n, err, norm);
    medpsim::detail::dft(y.data(), n, true);
    double back = 0.0;
    for (int j = 0; j < n; ++j) back = std::max(back, std::abs(y[j] / static_cast<double>(n) - x[j]));
    CHECK(back <= 1e-14 * (norm + 1.0), "inverse dft n = %d: max error %.3g", n, back);
  }
  // 2-D: rows x cols against the direct double sum; several threads give the same bits as one.
  for (const auto& size : {std::pair<int, int>{9, 8}, {13, 16}, {1, 7}}) {
    const int rows = size.first, cols = size.second;
    std::vector<Complex> x(static_cast<size_t>(rows) * cols);
    for (size_t i = 0; i < x.size(); ++i) x[i] = {std::sin(0.7 * i), 0.3 * std::cos(0.11 * i * i)};
    std::vector<Complex> y = x, y4 = x;
    medpsim::detail::dft2(y.data(), rows, cols, false, 1);
    medpsim::detail::dft2(y4.data(), rows, cols, false, 4);
    double err = 0.0;
    for (int u = 0; u < rows; ++u) {
      for (int v = 0; v < cols; ++v) {
        Complex sum = 0.0;
        for (int r = 0; r < rows; ++r) {
          for (int c = 0; c < cols; ++c) {
            const double angle = -2.0 * M_PI * (static_cast<double>(r * u % rows) / rows + static_cast<double>(c * v % cols) / cols);
            sum += x[static_cast<size_t>(r) * cols + c] * Complex(std::cos(angle), std::sin(angle));
          }
        }
        err = std::max(err, std::abs(y[static_cast<size_t>(u) * cols + v] - sum));
      }
    }
    CHECK(err <= 1e-12, "dft2 %dx%d: max error %.3g", rows, cols, err);
    CHECK(y == y4, "dft2 %dx%d: 1 and 4 threads differ", rows, cols);
  }
}

void test_min_side() {
  const Image a = metric_images::make("reference", 7, 20, 1, 8);
  CHECK(harness::throws_with<std::invalid_argument>([&] { fsim(a, a, 1.0); },
                                                     "fsim: images are 7x20; needs at least 8 x 8 (at least 8 x 8 after the downsampling)"),
        "7 x 20");
  const Image b = metric_images::make("reference", 30, 7, 1, 8);
  CHECK(harness::throws_with<std::invalid_argument>([&] { fsim(b, b, 1.0); }, "fsim: images are 30x7"), "30 x 7");
  const Image c = metric_images::make("reference", 8, 8, 1, 8), d = metric_images::make("noise", 8, 8, 1, 8);
  const double value = fsim(c, d, 1.0);
  CHECK(std::isfinite(value) && value > 0 && value < 1, "8 x 8 works: %g", value);
}

// Identical images: exactly 1 (S_PC = S_G = 1 bit for bit) with a map of ones, also downsampled (F = 2, 3).
// FSIM is symmetric, also bit for bit.
void test_identity_and_symmetry() {
  for (const auto& size : {std::pair<int, int>{8, 8}, {9, 8}, {97, 83}, {400, 390}, {700, 650}}) {
    const Image a = metric_images::make("reference", size.first, size.second, 1, 12);
    Image map = Image::allocate(size.first, size.second, 1);
    const double value = fsim(a, a, metric_images::data_range(12), &map);
    CHECK_NEAR(value, 1.0, 1e-12, ("identical " + std::to_string(size.first) + "x" + std::to_string(size.second)).c_str());
    bool ones = true;
    for (size_t i = 0; i < map.size(); ++i) ones = ones && map.data()[i] == 1.0f;
    CHECK(ones, "identical %dx%d: map of ones", size.first, size.second);
  }
  const Image a = metric_images::make("reference", 97, 83, 1, 8), b = metric_images::make("blur", 97, 83, 1, 8);
  CHECK(fsim(a, b, 1.0) == fsim(b, a, 1.0), "symmetric");
}

// Flat images by hand. Phase congruency is 0 everywhere (every filter response is exactly 0), so
// S_PC = 1, sum(PC_m) = 0 and FSIM is the mean of S_G. With zero padding the Scharr gradient of a flat
// image of level v is 0 inside, v on the edges and v * 13 sqrt(2) / 16 at the corners.
void test_flat() {
  const int w = 16, h = 12;
  const double va = 100, vb = 180;  // 0..255 levels
  Image a = Image::allocate(w, h, 1), b = Image::allocate(w, h, 1);
  for (size_t i = 0; i < a.size(); ++i) {
    a.data()[i] = static_cast<float>(va / 255);
    b.data()[i] = static_cast<float>(vb / 255);
  }
  Image map = Image::allocate(w, h, 1);
  CHECK_NEAR(fsim(a, a, 1.0, &map), 1.0, 1e-12, "flat vs itself");
  CHECK_NEAR(map_mean(map), 1.0, 0.0, "flat vs itself: map");
  // The levels as the metric sees them (float samples times 255).
  const double la = static_cast<float>(va / 255) * 255.0, lb = static_cast<float>(vb / 255) * 255.0;
  const auto s_g = [](double g1, double g2) { return (2 * g1 * g2 + 160) / (g1 * g1 + g2 * g2 + 160); };
  const double corner = 13 * std::sqrt(2.0) / 16;
  const double edge_sim = s_g(la, lb), corner_sim = s_g(la * corner, lb * corner);
  const double expected = ((w - 2) * (h - 2) + (2 * (w - 2) + 2 * (h - 2)) * edge_sim + 4 * corner_sim) / (w * h);
  CHECK_NEAR(fsim(a, b, 1.0, &map), expected, 1e-12, "flat 100 vs flat 180");
  CHECK_NEAR(map.at(0, 5, 7), 1.0, 0.0, "flat pair: interior map");
  CHECK_NEAR(map.at(0, 0, 7), edge_sim, 1e-7, "flat pair: edge map");
  CHECK_NEAR(map.at(0, h - 1, w - 1), corner_sim, 1e-7, "flat pair: corner map");
}

// 1 thread or 4: the same value and map, bit for bit (odd size; downsampled).
void test_threads() {
  for (const auto& size : {std::pair<int, int>{97, 83}, {400, 390}}) {
    const Image a = metric_images::make("reference", size.first, size.second, 1, 16);
    const Image b = metric_images::make("noise", size.first, size.second, 1, 16);
    Image m1 = Image::allocate(size.first, size.second, 1), m4 = m1;
    const double v1 = fsim(a, b, 1.0, &m1, 1), v4 = fsim(a, b, 1.0, &m4, 4);
    CHECK(v1 == v4, "%dx%d: 1 thread %.17g vs 4 threads %.17g", size.first, size.second, v1, v4);
    bool same = true;
    for (size_t i = 0; i < m1.size(); ++i) same = same && m1.data()[i] == m4.data()[i];
    CHECK(same, "%dx%d: maps differ between 1 and 4 threads", size.first, size.second);
  }
}

}  // namespace

std::vector<harness::Test> phase_metric_tests() {
  return {
      {"phase fsim vs numpy", test_fixtures},
      {"phase dft any size", test_dft},
      {"phase fsim min side", test_min_side},
      {"phase fsim identity", test_identity_and_symmetry},
      {"phase fsim flat", test_flat},
      {"phase fsim threads", test_threads},
  };
}
