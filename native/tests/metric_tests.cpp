// The metric tests: the table and its checks, properties every metric must have (identity, thread
// invariance, maps at the input's size, colour rules), and each family's comparisons with independent
// implementations (metric_tests_<family>.cpp, expected values from native/tests/fixtures/).
#include <cmath>
#include <set>

#include "harness.hpp"
#include "medpsim/feature_distance.hpp"
#include "medpsim/metrics.hpp"
#include "metric_images.hpp"

std::vector<harness::Test> structural_metric_tests();
std::vector<harness::Test> hvs_metric_tests();
std::vector<harness::Test> phase_metric_tests();

using medpsim::Image;
using medpsim::MetricOptions;

namespace {

// Images large enough for every metric with its default parameters.
constexpr int kW = 181, kH = 167;

void test_table() {
  std::set<std::string> names;
  for (const auto& metric : medpsim::all_metrics()) {
    names.insert(metric.name);
    CHECK(metric.direction == "distance" || metric.direction == "similarity", "%s: direction %s", metric.name.c_str(),
          metric.direction.c_str());
  }
  for (const char* name : {"mse", "psnr", "ssim", "ms_ssim", "gmsd", "haarpsi", "vif", "fsim"}) {
    CHECK(names.count(name) == 1, "metric %s in the table", name);
  }
  CHECK(medpsim::find_metric("lpips") == nullptr, "no engine lpips");
}

void test_checks() {
  const Image a = metric_images::make("reference", 32, 32, 1, 8);
  const Image b = metric_images::make("noise", 32, 32, 1, 8);
  const Image rgb = metric_images::make("noise", 32, 32, 3, 8);
  const Image wide = metric_images::make("noise", 33, 32, 1, 8);
  MetricOptions options;
  CHECK(harness::throws_with<std::invalid_argument>([&] { medpsim::compute_metric("nope", a, b, {}, options); },
                                                     "unknown metric 'nope' (metrics: mse, psnr"),
        "unknown metric");
  CHECK(harness::throws_with<std::invalid_argument>([&] { medpsim::compute_metric("ssim", a, rgb, {}, options); },
                                                     "ssim: images differ in shape: 32x32x1 vs 32x32x3"),
        "channels differ");
  CHECK(harness::throws_with<std::invalid_argument>([&] { medpsim::compute_metric("mse", a, wide, {}, options); },
                                                     "images differ in shape: 32x32x1 vs 33x32x1"),
        "sizes differ");
  CHECK(harness::throws_with<std::invalid_argument>([&] { medpsim::compute_metric("ms_ssim", a, b, {{"scales", 7}}, options); },
                                                     "ms_ssim: parameter 'scales' = 7 must be in [1, 5] (integer)"),
        "parameter range");
  CHECK(harness::throws_with<std::invalid_argument>([&] { medpsim::compute_metric("ssim", a, b, {{"sigma", 2}}, options); },
                                                     "ssim: unknown parameter 'sigma' (parameters: none)"),
        "unknown parameter");
  MetricOptions twelve_bit;
  twelve_bit.data_range = metric_images::data_range(12);
  const Image sixteen = metric_images::make("reference", 32, 32, 1, 16);
  CHECK(harness::throws_with<std::invalid_argument>([&] { medpsim::compute_metric("psnr", sixteen, sixteen, {}, twelve_bit); },
                                                     "outside the data range [0, 0.0624857]"),
        "16-bit samples with a 12-bit data range");
  MetricOptions zero;
  zero.data_range = 0;
  CHECK(harness::throws_with<std::invalid_argument>([&] { medpsim::compute_metric("mse", a, b, {}, zero); },
                                                     "data range must be in (0, 1]"),
        "zero data range");
  CHECK(harness::throws_with<std::invalid_argument>(
            [&] {
              const Image tiny = metric_images::make("reference", 10, 12, 1, 8);
              medpsim::compute_metric("ssim", tiny, tiny, {}, options);
            },
            "ssim: images are 10x12; needs at least 11 x 11"),
        "ssim smaller than its window");
}

// Identical images give each metric its ideal value (0 or 1; PSNR infinite), with a map to match.
void test_identity() {
  for (int channels : {1, 3}) {
    const Image a = metric_images::make("reference", kW, kH, channels, 8);
    for (const auto& metric : medpsim::all_metrics()) {
      MetricOptions options;
      options.want_map = true;
      const auto result = metric.compute(a, a, {}, options);
      const char* name = metric.name.c_str();
      if (metric.name == "psnr") {
        CHECK(std::isinf(result.value) && result.value > 0, "%s of identical images: %g", name, result.value);
      } else {
        const double ideal = metric.direction == "distance" ? 0.0 : 1.0;
        CHECK_NEAR(result.value, ideal, 1e-9, (metric.name + " of identical images").c_str());
      }
      CHECK(result.map.width() == kW && result.map.height() == kH && result.map.channels() == 1, "%s: map %dx%dx%d", name,
            result.map.width(), result.map.height(), result.map.channels());
    }
  }
}

// One thread or many: the same value and map, bit for bit; a distorted pair moves every metric away
// from its ideal value, and more noise moves it further.
void test_threads_and_order() {
  const Image a = metric_images::make("reference", kW, kH, 1, 16);
  const Image b = metric_images::make("noise", kW, kH, 1, 16);
  const Image blur = metric_images::make("blur", kW, kH, 1, 16);
  for (const auto& metric : medpsim::all_metrics()) {
    MetricOptions one, many;
    one.threads = 1;
    many.threads = 4;
    one.want_map = many.want_map = true;
    const auto r1 = metric.compute(a, b, {}, one);
    const auto r4 = metric.compute(a, b, {}, many);
    const char* name = metric.name.c_str();
    CHECK(r1.value == r4.value, "%s: 1 thread %.17g vs 4 threads %.17g", name, r1.value, r4.value);
    bool same = true;
    for (size_t i = 0; i < r1.map.size(); ++i) same = same && r1.map.data()[i] == r4.map.data()[i];
    CHECK(same, "%s: maps differ between 1 and 4 threads", name);
    const double ideal = metric.direction == "distance" ? 0.0 : 1.0;
    if (metric.name != "psnr") CHECK(std::fabs(r1.value - ideal) > 1e-4, "%s: distorted pair %g is not ideal", name, r1.value);
    const auto blurred = metric.compute(a, blur, {}, one);
    CHECK(std::isfinite(blurred.value), "%s of a blurred pair is finite: %g", name, blurred.value);
  }
}

// 3 channels: per_channel metrics average the channels' values; luminance metrics equal the metric of the
// luma images; pooled metrics pool the samples.
void test_colour_rules() {
  const Image a = metric_images::make("reference", kW, kH, 3, 8);
  const Image b = metric_images::make("noise", kW, kH, 3, 8);
  for (const auto& metric : medpsim::all_metrics()) {
    const auto whole = metric.compute(a, b, {}, {}).value;
    double expected = 0.0;
    if (metric.channels == medpsim::ChannelRule::luminance) {
      expected = metric.compute(medpsim::detail::luminance(a, 1), medpsim::detail::luminance(b, 1), {}, {}).value;
    } else if (metric.channels == medpsim::ChannelRule::per_channel || metric.name == "mse") {
      for (int c = 0; c < 3; ++c) {
        Image ac = Image::allocate(kW, kH, 1), bc = Image::allocate(kW, kH, 1);
        std::copy(a.plane(c), a.plane(c) + a.plane_size(), ac.data());
        std::copy(b.plane(c), b.plane(c) + b.plane_size(), bc.data());
        expected += metric.compute(ac, bc, {}, {}).value / 3.0;
      }
    } else {
      continue;  // psnr: from the pooled MSE, checked against scikit-image in the structural tests
    }
    CHECK_NEAR(whole, expected, 1e-12 + 1e-9 * std::fabs(expected), (metric.name + " colour rule").c_str());
  }
}

// The feature distance (computed channel-outer) against LPIPS's formula written out pixel by pixel, on
// ReLU-like maps with odd channel and pixel counts, with and without weights; identical maps give 0.
void test_feature_distance() {
  const std::vector<std::pair<size_t, size_t>> shapes = {{1, 37}, {3, 1}, {7, 143}, {65, 63}, {2048, 49}};
  std::vector<std::vector<float>> a, b, w;
  std::vector<medpsim::FeatureLayer> layers, same;
  uint64_t index = 0;
  const medpsim::Rng rng(5, 1);
  for (const auto& [channels, pixels] : shapes) {
    a.emplace_back(channels * pixels);
    b.emplace_back(channels * pixels);
    w.emplace_back(channels);
    for (size_t i = 0; i < channels * pixels; ++i) {
      a.back()[i] = std::max(0.0f, rng.uniform(index++) * 3 - 1);
      b.back()[i] = std::max(0.0f, a.back()[i] + 0.1f * (rng.uniform(index++) - 0.5f));
    }
    for (float& weight : w.back()) weight = rng.uniform(index++);
  }
  for (size_t l = 0; l < shapes.size(); ++l) {
    // Weights on every other layer.
    layers.push_back({a[l].data(), b[l].data(), l % 2 == 0 ? w[l].data() : nullptr, shapes[l].first, shapes[l].second});
    same.push_back({a[l].data(), a[l].data(), nullptr, shapes[l].first, shapes[l].second});
  }
  double expected = 0.0;
  for (const auto& layer : layers) {
    double sum = 0.0;
    for (size_t p = 0; p < layer.pixels; ++p) {
      double na = 0.0, nb = 0.0;
      for (size_t c = 0; c < layer.channels; ++c) {
        na += static_cast<double>(layer.a[c * layer.pixels + p]) * layer.a[c * layer.pixels + p];
        nb += static_cast<double>(layer.b[c * layer.pixels + p]) * layer.b[c * layer.pixels + p];
      }
      const double sa = 1.0 / (std::sqrt(na) + 1e-10), sb = 1.0 / (std::sqrt(nb) + 1e-10);
      for (size_t c = 0; c < layer.channels; ++c) {
        const double d = layer.a[c * layer.pixels + p] * sa - layer.b[c * layer.pixels + p] * sb;
        sum += (layer.weights ? layer.weights[c] : 1.0) * d * d;
      }
    }
    expected += sum / layer.pixels;
  }
  CHECK(expected > 0, "the reference distance %g", expected);
  // Double throughout on both sides; only the order of the sum over pixels differs.
  CHECK_NEAR(medpsim::feature_distance(layers), expected, 1e-10 * expected, "feature distance vs the per-pixel formula");
  CHECK(medpsim::feature_distance(same) == 0.0, "feature distance of identical maps");
  CHECK(medpsim::feature_distance({}) == 0.0, "feature distance of no layers");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<harness::Test> tests = {
      {"metric table", test_table},
      {"metric input checks", test_checks},
      {"identical images", test_identity},
      {"threads and order", test_threads_and_order},
      {"colour rules", test_colour_rules},
      {"feature distance", test_feature_distance},
  };
  for (auto family : {structural_metric_tests, hvs_metric_tests, phase_metric_tests}) {
    for (const auto& test : family()) tests.push_back(test);
  }
  if (argc > 1) {
    std::vector<harness::Test> chosen;
    for (const auto& test : tests) {
      if (std::string(test.first).find(argv[1]) != std::string::npos) chosen.push_back(test);
    }
    tests = chosen;
  }
  return harness::run_tests(tests);
}
