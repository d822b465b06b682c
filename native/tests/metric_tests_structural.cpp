// mse, psnr, ssim, ms_ssim and gmsd against scikit-image and independent numpy/scipy implementations
// (fixtures/structural_expected.inc, made by fixtures/make_structural.py), map samples and the size rules.
// The functions are called directly (not through the metric table), on 1-channel images.
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "harness.hpp"
#include "medpsim/metrics.hpp"
#include "metric_images.hpp"

using medpsim::Image;

namespace {

struct StructuralCase {
  const char* metric;
  const char* distortion;
  int width, height, bits, scales;
  double expected;
};

struct StructuralMapSample {
  const char* metric;
  const char* distortion;
  int width, height, bits, x, y;
  double expected;
};

#include "fixtures/structural_expected.inc"

const medpsim::detail::MetricFunctions& functions() {
  static const medpsim::detail::MetricFunctions table = [] {
    medpsim::detail::MetricFunctions f;
    medpsim::detail::register_structural_metrics(f);
    return f;
  }();
  return table;
}

double run(const std::string& metric, const Image& a, const Image& b, int scales, double data_range, Image* map = nullptr,
           int threads = 1) {
  const medpsim::Params params = metric == "ms_ssim" ? medpsim::Params{{"scales", scales}} : medpsim::Params{};
  return functions().at(metric)(a, b, params, data_range, map, threads);
}

// The tolerances. The engine and the references both work in double on the same float32 samples and
// differ only in the order of additions (skimage's filtering is matched tap for tap; numpy's means
// sum pairwise), which moves values by ~1e-15: the bounds below leave a wide margin yet would catch any
// change of definition (a window, a constant, a border rule moves these values by 1e-4 or more).
double tolerance(const std::string& metric, double expected) {
  if (metric == "mse") return 1e-10 * expected;  // relative
  if (metric == "psnr") return 1e-9;             // dB
  return 1e-10;                                  // ssim, ms_ssim, gmsd: absolute, on values in [0, 1]
}

void test_fixtures() {
  for (const StructuralCase& c : kStructuralCases) {
    const Image a = metric_images::make("reference", c.width, c.height, 1, c.bits);
    const Image b = metric_images::make(c.distortion, c.width, c.height, 1, c.bits);
    const double got = run(c.metric, a, b, c.scales, metric_images::data_range(c.bits));
    const std::string what = std::string(c.metric) + " " + c.distortion + " " + std::to_string(c.width) + "x" +
                             std::to_string(c.height) + " " + std::to_string(c.bits) + "-bit" +
                             (c.scales ? " scales " + std::to_string(c.scales) : "");
    CHECK_NEAR(got, c.expected, tolerance(c.metric, c.expected), what.c_str());
  }
}

// Map samples: float32 maps, so within float rounding (6e-8 relative) of the double references.
void test_maps() {
  for (const StructuralMapSample& s : kStructuralMapSamples) {
    const Image a = metric_images::make("reference", s.width, s.height, 1, s.bits);
    const Image b = metric_images::make(s.distortion, s.width, s.height, 1, s.bits);
    Image map = Image::allocate(s.width, s.height, 1);
    run(s.metric, a, b, 0, metric_images::data_range(s.bits), &map);
    const std::string what = std::string(s.metric) + " map at " + std::to_string(s.x) + "," + std::to_string(s.y);
    CHECK_NEAR(map.at(0, s.y, s.x), s.expected, 1e-7, what.c_str());
  }
  // ms_ssim's map is the finest scale's SSIM map; mse's and psnr's the squared error (mean = the value).
  const Image a = metric_images::make("reference", 181, 167, 1, 8);
  const Image b = metric_images::make("noise", 181, 167, 1, 8);
  Image ssim_map = Image::allocate(181, 167, 1), ms_map = ssim_map, mse_map = ssim_map, psnr_map = ssim_map;
  run("ssim", a, b, 0, 1.0, &ssim_map);
  run("ms_ssim", a, b, 5, 1.0, &ms_map);
  CHECK(std::memcmp(ssim_map.data(), ms_map.data(), ssim_map.size() * sizeof(float)) == 0, "ms_ssim map = ssim map");
  const double mse = run("mse", a, b, 0, 1.0, &mse_map);
  run("psnr", a, b, 0, 1.0, &psnr_map);
  CHECK(std::memcmp(mse_map.data(), psnr_map.data(), mse_map.size() * sizeof(float)) == 0, "psnr map = mse map");
  double sum = 0.0;
  for (size_t i = 0; i < mse_map.size(); ++i) sum += mse_map.data()[i];
  CHECK_NEAR(sum / mse_map.size(), mse, 1e-7 * mse, "mean of the mse map");
}

void test_min_sides() {
  const auto image = [](int w, int h) { return metric_images::make("noise", w, h, 1, 8); };
  const auto refused = [&](const std::string& metric, int w, int h, int scales, const std::string& needle) {
    const Image a = image(w, h);
    return harness::throws_with<std::invalid_argument>([&] { run(metric, a, a, scales, 1.0); }, needle);
  };
  CHECK(refused("ssim", 10, 10, 0, "ssim: images are 10x10; needs at least 11 x 11 (at least 11 x 11 (one whole window)"),
        "ssim 10x10 refused");
  CHECK(refused("ssim", 40, 10, 0, "ssim: images are 40x10; needs at least 11 x 11"), "ssim 40x10 refused");
  CHECK_NEAR(run("ssim", image(11, 11), image(11, 11), 0, 1.0), 1.0, 1e-12, "ssim 11x11 of identical images");
  // ceil(n / 2^(scales - 1)) >= 11: n = 10 * 2^(scales - 1) + 1.
  const int smallest[6] = {0, 11, 21, 41, 81, 161};
  for (int scales = 1; scales <= 5; ++scales) {
    const int n = smallest[scales];
    const std::string size = std::to_string(n - 1) + "x" + std::to_string(n);
    CHECK(refused("ms_ssim", n - 1, n, scales,
                  "ms_ssim: images are " + size + "; needs at least " + std::to_string(n) + " x " + std::to_string(n) +
                      " (the coarsest scale must hold one 11 x 11 window"),
          "ms_ssim %s at %d scales refused", size.c_str(), scales);
    const Image a = image(n, n), b = metric_images::make("blur", n, n, 1, 8);
    const double value = run("ms_ssim", a, b, scales, 1.0);
    CHECK(value > 0.0 && value < 1.0, "ms_ssim %dx%d at %d scales: %g", n, n, scales, value);
  }
  CHECK(refused("ms_ssim", 160, 160, 5, "ms_ssim: images are 160x160; needs at least 161 x 161"), "ms_ssim 160x160");
  CHECK(refused("gmsd", 1, 5, 0, "gmsd: images are 1x5; needs at least 2 x 2 (at least 2 x 2)"), "gmsd 1x5 refused");
  // 2 x 2: a single GMS sample, whose standard deviation is 0 (as MATLAB's std2).
  CHECK(run("gmsd", image(2, 2), metric_images::make("contrast", 2, 2, 1, 8), 0, 1.0) == 0.0, "gmsd of 2x2");
  CHECK(std::isfinite(run("mse", image(1, 1), image(1, 1), 0, 1.0)), "mse of 1x1");
}

void test_identical() {
  const Image a = metric_images::make("reference", 64, 48, 1, 12);
  const double range = metric_images::data_range(12);
  const double psnr = run("psnr", a, a, 0, range);
  CHECK(std::isinf(psnr) && psnr > 0, "psnr of identical images: %g", psnr);
  CHECK(run("mse", a, a, 0, range) == 0.0, "mse of identical images");
  CHECK(run("ssim", a, a, 0, range) == 1.0, "ssim of identical images");
  CHECK(run("ms_ssim", a, a, 2, range) == 1.0, "ms_ssim of identical images");
  CHECK(run("gmsd", a, a, 0, range) == 0.0, "gmsd of identical images");
}

// MSE and PSNR pool every sample of a 3-channel pair; one scale of MS-SSIM is SSIM; threads change nothing.
void test_pooling_and_threads() {
  const Image a = metric_images::make("reference", 53, 47, 3, 8);
  const Image b = metric_images::make("noise", 53, 47, 3, 8);
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a.data()[i]) - b.data()[i];
    sum += d * d;
  }
  const double mse = run("mse", a, b, 0, 1.0);
  CHECK_NEAR(mse, sum / a.size(), 1e-12 * mse, "pooled mse");
  CHECK_NEAR(run("psnr", a, b, 0, 1.0), 10 * std::log10(1.0 / mse), 1e-12, "pooled psnr");

  const Image g = metric_images::make("reference", 300, 211, 1, 16);
  const Image h = metric_images::make("blur", 300, 211, 1, 16);
  CHECK(run("ms_ssim", g, h, 1, 1.0) == std::max(0.0, run("ssim", g, h, 0, 1.0)), "ms_ssim at 1 scale = ssim");
  for (const char* metric : {"mse", "ssim", "ms_ssim", "gmsd"}) {
    Image m1 = Image::allocate(300, 211, 1), m5 = m1;
    const double v1 = run(metric, g, h, 5, 1.0, &m1, 1), v5 = run(metric, g, h, 5, 1.0, &m5, 5);
    CHECK(v1 == v5, "%s: 1 thread %.17g vs 5 threads %.17g", metric, v1, v5);
    CHECK(std::memcmp(m1.data(), m5.data(), m1.size() * sizeof(float)) == 0, "%s: maps differ with threads", metric);
  }
}

}  // namespace

std::vector<harness::Test> structural_metric_tests() {
  return {
      {"structural fixtures", test_fixtures},
      {"structural maps", test_maps},
      {"structural min sides", test_min_sides},
      {"structural identical", test_identical},
      {"structural pooling, threads", test_pooling_and_threads},
  };
}
