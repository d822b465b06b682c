// The hvs metrics (haarpsi, vif) against the independent NumPy/SciPy implementation of
// native/tests/fixtures/make_hvs.py, their size limits, identities, hand-worked cases and thread invariance.
// The functions are called directly on 1-channel images (the dispatch's checks are tested in metric_tests.cpp).
#include <algorithm>
#include <cmath>
#include <string>

#include "harness.hpp"
#include "medpsim/metrics.hpp"
#include "metric_images.hpp"

using medpsim::Image;

namespace {

struct Row {
  const char* metric;  // "haarpsi", "vif", or "<metric> map" for the mean of its map
  const char* distortion;
  int width, height, bits;
  double value;
};

const Row kRows[] = {
#include "fixtures/hvs_expected.inc"
};

medpsim::MetricFn metric(const std::string& name) {
  medpsim::detail::MetricFunctions functions;
  medpsim::detail::register_hvs_metrics(functions);
  return functions.at(name);
}

double run(const std::string& name, const Image& a, const Image& b, double data_range = 1.0, Image* map = nullptr,
           int threads = 1) {
  return metric(name)(a, b, {}, data_range, map, threads);
}

Image flat(int w, int h, float value) {
  Image image = Image::allocate(w, h, 1);
  std::fill(image.data(), image.data() + image.size(), value);
  return image;
}

double mean(const Image& image) {
  double sum = 0.0;
  for (size_t i = 0; i < image.size(); ++i) sum += image.data()[i];
  return sum / static_cast<double>(image.size());
}

// Both sides compute in double on the same float32 samples and differ only in summation order and the
// separable filtering (relative 1e-15 per sum); HaarPSI's logit amplifies that about 30 times. 1e-10 leaves
// ample room while catching any real difference (a one-sample shift in a filter moves values by > 1e-4).
// Maps are float32, so their means agree to about 1e-7.
constexpr double kValueTolerance = 1e-10, kMapTolerance = 1e-6;

void test_fixtures() {
  double worst[2] = {0.0, 0.0};
  for (const Row& row : kRows) {
    const std::string name = row.metric;
    const bool is_map = name.size() > 4 && name.compare(name.size() - 4, 4, " map") == 0;
    const std::string base = is_map ? name.substr(0, name.size() - 4) : name;
    const Image a = metric_images::make("reference", row.width, row.height, 1, row.bits);
    const Image b = metric_images::make(row.distortion, row.width, row.height, 1, row.bits);
    Image map = Image::allocate(row.width, row.height, 1);
    const double value = run(base, a, b, metric_images::data_range(row.bits), &map, 2);
    const double got = is_map ? mean(map) : value;
    const std::string what = name + " " + row.distortion + " " + std::to_string(row.width) + "x" +
                             std::to_string(row.height) + " " + std::to_string(row.bits) + "-bit";
    CHECK_NEAR(got, row.value, is_map ? kMapTolerance : kValueTolerance, what.c_str());
    if (!is_map) worst[base == "vif"] = std::max(worst[base == "vif"], std::fabs(got - row.value));
  }
  std::printf("  largest deviation from make_hvs.py: haarpsi %.3g, vif %.3g\n", worst[0], worst[1]);
}

void test_min_side() {
  const Image small = metric_images::make("reference", 1, 5, 1, 8);
  CHECK(harness::throws_with<std::invalid_argument>([&] { run("haarpsi", small, small); },
                                                     "haarpsi: images are 1x5; needs at least 2 x 2"),
        "haarpsi 1 x 5");
  const Image two = metric_images::make("reference", 2, 2, 1, 8);
  CHECK(std::isfinite(run("haarpsi", two, metric_images::make("noise", 2, 2, 1, 8))), "haarpsi 2 x 2");
  for (const auto& size : {std::make_pair(40, 41), std::make_pair(41, 40)}) {
    const Image a = metric_images::make("reference", size.first, size.second, 1, 8);
    const std::string needle = "vif: images are " + std::to_string(size.first) + "x" + std::to_string(size.second) +
                               "; needs at least 41 x 41 (the fourth scale must hold one 3 x 3 window)";
    CHECK(harness::throws_with<std::invalid_argument>([&] { run("vif", a, a); }, needle), "vif %dx%d", size.first,
          size.second);
  }
  const Image a = metric_images::make("reference", 41, 41, 1, 8);
  const double value = run("vif", a, metric_images::make("noise", 41, 41, 1, 8));
  CHECK(std::isfinite(value) && value > 0 && value < 1, "vif 41 x 41: %g", value);
}

// Identical images: HaarPSI 1 (every local similarity is exactly 1), VIF 1 up to vifp_mscale.m's 1e-10
// guards (about 1e-11 here); maps 1 everywhere.
void test_identity() {
  for (int bits : {8, 12, 16}) {
    const Image a = metric_images::make("reference", 97, 83, 1, bits);
    Image map = Image::allocate(97, 83, 1);
    CHECK_NEAR(run("haarpsi", a, a, metric_images::data_range(bits), &map), 1.0, 1e-12, "haarpsi of identical images");
    CHECK(std::all_of(map.data(), map.data() + map.size(), [](float v) { return v == 1.0f; }), "haarpsi map of identical images");
    CHECK_NEAR(run("vif", a, a, metric_images::data_range(bits), &map), 1.0, 1e-9, "vif of identical images");
    CHECK(std::all_of(map.data(), map.data() + map.size(), [](float v) { return std::fabs(v - 1.0f) < 1e-6f; }),
          "vif map of identical images");
  }
  // Black images have no HaarPSI weight anywhere: the orientations then count equally, still 1.
  const Image black = flat(6, 5, 0.0f);
  CHECK_NEAR(run("haarpsi", black, black), 1.0, 1e-12, "haarpsi of black images");
}

// Cases worked from the definitions.
void test_hand_cases() {
  // 2 x 2 constant images p, q (0..255): subsampled to one pixel, whose Haar coefficients are 2^-k p in both
  // orientations (zero padding), so HaarPSI = logit(sigmoid(LS))^2 = LS^2 with
  // LS = mean over k = 1, 2 of (2 p q 4^-k + 30) / ((p^2 + q^2) 4^-k + 30).
  const double p = 100.0, q = 50.0;
  double ls = 0.0;
  for (int k = 1; k <= 2; ++k) ls += (2 * p * q / std::pow(4.0, k) + 30) / ((p * p + q * q) / std::pow(4.0, k) + 30) / 2;
  CHECK_NEAR(run("haarpsi", flat(2, 2, static_cast<float>(p / 255)), flat(2, 2, static_cast<float>(q / 255))), ls * ls, 1e-6,
             "haarpsi of 2 x 2 constants");  // float32 samples: p / 255 is not exact
  // A flat distorted image keeps no information (every numerator term is log10(1 + 0)).
  const Image ref = metric_images::make("reference", 64, 64, 1, 8);
  CHECK(run("vif", ref, flat(64, 64, 0.5f)) == 0.0, "vif against a flat image");
  // A flat reference has no information (den = 0): 1 for identical images, else 0.
  CHECK(run("vif", flat(50, 45, 0.3f), flat(50, 45, 0.3f)) == 1.0, "vif of identical flat images");
  CHECK(run("vif", flat(50, 45, 0.3f), flat(50, 45, 0.4f)) == 0.0, "vif of different flat images");
  // The contrast distortion lowers contrast: below 1; the other way round it is an enhancement, above 1.
  const Image low = metric_images::make("contrast", 64, 64, 1, 8);
  const double down = run("vif", ref, low), up = run("vif", low, ref);
  CHECK(down < 1.0 && up > 1.0, "vif of lowered %g and enhanced %g contrast", down, up);
}

// 1 or 4 threads (and an odd size): the same value and map, bit for bit.
void test_threads() {
  for (const auto& size : {std::make_pair(97, 83), std::make_pair(181, 167)}) {
    const Image a = metric_images::make("reference", size.first, size.second, 1, 16);
    const Image b = metric_images::make("noise", size.first, size.second, 1, 16);
    for (const char* name : {"haarpsi", "vif"}) {
      Image m1 = Image::allocate(size.first, size.second, 1), m4 = m1;
      const double v1 = run(name, a, b, 1.0, &m1, 1), v4 = run(name, a, b, 1.0, &m4, 4);
      CHECK(v1 == v4, "%s %dx%d: 1 thread %.17g vs 4 threads %.17g", name, size.first, size.second, v1, v4);
      CHECK(std::equal(m1.data(), m1.data() + m1.size(), m4.data()), "%s: maps differ between 1 and 4 threads", name);
      CHECK(v1 == run(name, a, b, 1.0, nullptr, 3), "%s: the map does not change the value", name);
    }
  }
}

// The maps' layout: HaarPSI in 2 x 2 blocks (the odd last row and column repeat the coarse edge), VIF's
// 8-pixel border repeating the valid region's edge; both in [0, 1] for these pairs.
void test_maps() {
  const int w = 97, h = 83;
  const Image a = metric_images::make("reference", w, h, 1, 8), b = metric_images::make("blur", w, h, 1, 8);
  Image map = Image::allocate(w, h, 1);
  run("haarpsi", a, b, 1.0, &map);
  bool blocks = true, range = true;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      blocks = blocks && map.at(0, y, x) == map.at(0, y / 2 * 2, x / 2 * 2);
      range = range && map.at(0, y, x) > 0 && map.at(0, y, x) <= 1;
    }
  CHECK(blocks && range, "haarpsi map: 2 x 2 blocks %d, in (0, 1] %d", blocks, range);
  run("vif", a, b, 1.0, &map);
  bool border = true;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      border = border && map.at(0, y, x) == map.at(0, std::clamp(y, 8, h - 9), std::clamp(x, 8, w - 9));
  CHECK(border, "vif map: the border repeats the edge of the valid region");
  CHECK(map.at(0, 40, 40) != map.at(0, 40, 41), "vif map varies inside");
}

}  // namespace

std::vector<harness::Test> hvs_metric_tests() {
  return {
      {"hvs fixtures", test_fixtures},   {"hvs min side", test_min_side}, {"hvs identity", test_identity},
      {"hvs hand cases", test_hand_cases}, {"hvs threads", test_threads},   {"hvs maps", test_maps},
  };
}
