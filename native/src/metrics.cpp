// The metric table (catalog order, bound to the metric functions by name), input checks, colour
// handling and the helpers the metric families share.
#include "medpsim/metrics.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "medpsim/metric_setup.hpp"
#include "medpsim/metrics.generated.hpp"

#ifdef MEDPSIM_WITH_CUDA
#include "medpsim/cuda.hpp"
#endif

namespace medpsim {
namespace {

ChannelRule channel_rule(const std::string& rule) {
  if (rule == "pooled") return ChannelRule::pooled;
  if (rule == "per_channel") return ChannelRule::per_channel;
  if (rule == "luminance") return ChannelRule::luminance;
  throw std::logic_error("unknown channel rule " + rule);
}

// Like the kernel table: a catalog metric without a function, or a function without a catalog entry, is a
// build mistake that the C++ tests catch.
std::vector<MetricInfo> build_table() {
  detail::MetricFunctions functions;
  detail::register_structural_metrics(functions);
  detail::register_hvs_metrics(functions);
  detail::register_phase_metrics(functions);
  std::vector<MetricInfo> table;
  for (const catalog::Metric& metric : catalog::metrics()) {
    const auto found = functions.find(metric.name);
    if (found == functions.end()) throw std::logic_error(std::string("no function for catalog metric ") + metric.name);
    std::vector<ParamSpec> params;
    for (const auto& p : metric.params) params.emplace_back(p.name, p.min, p.max, p.default_value, p.integer);
    table.push_back({metric.name, metric.family, metric.direction, channel_rule(metric.channels), params, found->second});
    functions.erase(found);
  }
  if (!functions.empty()) throw std::logic_error("metric function without a catalog entry: " + functions.begin()->first);
  return table;
}

// Why the CUDA backend cannot run `metric` ("" when it can). The device count is probed once: it does not
// change while the process runs, and the first CUDA call is slow.
std::string cuda_refusal(const std::string& metric) {
#ifdef MEDPSIM_WITH_CUDA
  static const std::string no_device = [] {
    std::string reason;
    return cuda_probe(reason) > 0 ? std::string() : reason;
  }();
  if (!no_device.empty()) return no_device;
  if (!cuda_has_metric(metric)) return "no CUDA implementation of " + metric + " yet";
  return "";
#else
  (void)metric;
  return "this build of the engine has no CUDA kernels (CPU only)";
#endif
}

// Samples outside [0, limit] (NaN included): a branch-free count that vectorises (AVX2 where the CPU has it),
// so that checking the data range costs little beside the metric itself.
MEDPSIM_VECTOR_CLONES size_t count_outside(const float* data, size_t n, float limit) {
  size_t outside = 0;
  for (size_t i = 0; i < n; ++i) outside += !(data[i] >= 0.0f && data[i] <= limit);
  return outside;
}

// One channel of an image, as a view (no copy).
Image channel_view(const Image& image, int c) {
  return Image::view(const_cast<float*>(image.plane(c)), image.width(), image.height(), 1);
}

}  // namespace

MetricResult MetricInfo::compute(const Image& a, const Image& b, const Params& given, const MetricOptions& options) const {
  const auto fail = [&](const std::string& message) { throw std::invalid_argument(name + ": " + message); };
  const Params params = detail::checked_params(name, this->params, given, false);
  if (a.empty() || b.empty()) fail("empty image");
  if (!a.same_shape(b)) {
    std::ostringstream text;
    text << "images differ in shape: " << a.width() << "x" << a.height() << "x" << a.channels() << " vs " << b.width() << "x"
         << b.height() << "x" << b.channels();
    fail(text.str());
  }
  if (!(options.data_range > 0.0 && options.data_range <= 1.0)) fail("data range must be in (0, 1]");
  // A sample above L means the data range is wrong for these images (e.g. 16-bit data read as 8-bit):
  // refuse rather than report a number on the wrong scale. The tolerance absorbs float rounding of L.
  const float limit = static_cast<float>(options.data_range * (1.0 + 1e-6));
  for (const Image* image : {&a, &b}) {
    const float* data = image->data();
    // The extremes are found only for the message.
    const size_t outside = count_outside(data, image->size(), limit);
    if (outside == 0) continue;
    float peak = 0.0f, low = 0.0f;
    for (size_t i = 0; i < image->size(); ++i) {
      peak = std::max(peak, data[i]);
      low = std::min(low, data[i]);
    }
    std::ostringstream text;
    text << outside << " samples outside the data range [0, " << options.data_range << "] (from " << low << " to " << peak << ")";
    fail(text.str());
  }

  if (options.cuda) {
    const std::string refusal = cuda_refusal(name);
    if (!refusal.empty()) fail("the CUDA backend is not available: " + refusal);
  }
  // The chosen backend, on the images the colour rule gives.
  const auto evaluate = [&](const Image& x, const Image& y, Image* m) {
#ifdef MEDPSIM_WITH_CUDA
    if (options.cuda) return cuda_metric(name, x, y, params, options.data_range, m);
#endif
    return run(x, y, params, options.data_range, m, options.threads);
  };

  MetricResult result;
  if (options.want_map) result.map = Image::allocate(a.width(), a.height(), 1);
  Image* map = options.want_map ? &result.map : nullptr;
  if (a.channels() == 1 || channels == ChannelRule::pooled) {
    result.value = evaluate(a, b, map);
  } else if (channels == ChannelRule::luminance) {
    result.value = evaluate(detail::luminance(a, options.threads), detail::luminance(b, options.threads), map);
  } else {
    Image channel_map;
    if (map) channel_map = Image::allocate(a.width(), a.height(), 1);
    double sum = 0.0;
    for (int c = 0; c < a.channels(); ++c) {
      sum += evaluate(channel_view(a, c), channel_view(b, c), map ? &channel_map : nullptr);
      if (!map) continue;
      float* out = map->data();
      const float* add = channel_map.data();
      for (size_t i = 0; i < map->size(); ++i) out[i] += add[i] / static_cast<float>(a.channels());
    }
    result.value = sum / a.channels();
  }
  return result;
}

const std::vector<MetricInfo>& all_metrics() {
  static const std::vector<MetricInfo> table = build_table();
  return table;
}

const MetricInfo* find_metric(const std::string& name) {
  for (const auto& info : all_metrics()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

MetricResult compute_metric(const std::string& name, const Image& a, const Image& b, const Params& params,
                            const MetricOptions& options) {
  const MetricInfo* info = find_metric(name);
  if (!info) {
    std::string names;
    for (const auto& m : all_metrics()) names += (names.empty() ? "" : ", ") + m.name;
    throw std::invalid_argument("unknown metric '" + name + "' (metrics: " + names + ")");
  }
  return info->compute(a, b, params, options);
}

namespace detail {

void require_min_side(const std::string& metric, int width, int height, int min_side, const std::string& rule) {
  if (width >= min_side && height >= min_side) return;
  std::ostringstream text;
  text << metric << ": images are " << width << "x" << height << "; needs at least " << min_side << " x " << min_side << " ("
       << rule << ")";
  throw std::invalid_argument(text.str());
}

void require_min_side(const std::string& metric, const Image& image, int min_side, const std::string& rule) {
  require_min_side(metric, image.width(), image.height(), min_side, rule);
}

// The size rules of both backends.
void require_metric_size(const std::string& metric, int width, int height, const Params& params) {
  if (metric == "ssim") {
    require_min_side(metric, width, height, kSsimWindow, "at least 11 x 11 (one whole window); smaller images are refused");
  } else if (metric == "ms_ssim") {
    // The smallest side n with ceil(n / 2^(scales - 1)) >= 11.
    const int scales = static_cast<int>(params.at("scales"));
    require_min_side(metric, width, height, (kSsimWindow - 1) * (1 << (scales - 1)) + 1,
                     "the coarsest scale must hold one 11 x 11 window: each side n needs ceil(n / 2^(scales - 1)) >= 11, "
                     "i.e. 161 pixels for 5 scales, 81 for 4, 41 for 3, 21 for 2");
  } else if (metric == "gmsd" || metric == "haarpsi") {
    require_min_side(metric, width, height, 2, "at least 2 x 2");
  } else if (metric == "vif") {
    // Scale by scale a side n becomes n - 16, ceil((n - 8) / 2) - 8, ceil((m - 4) / 2) - 4 and
    // ceil((l - 2) / 2) - 2 valid samples (m, l the sides before filtering): 41 leaves the fourth scale one.
    require_min_side(metric, width, height, 41, "the fourth scale must hold one 3 x 3 window");
  } else if (metric == "fsim") {
    // F >= 2 only from a side of 384, where the downsampled side is >= 192, so checking the input suffices.
    require_min_side(metric, width, height, 8, "at least 8 x 8 after the downsampling");
  }
}

Image luminance(const Image& image, int threads) {
  if (image.channels() == 1) return image;
  Image y = Image::allocate(image.width(), image.height(), 1);
  const float *r = image.plane(0), *g = image.plane(1), *b = image.plane(2);
  float* out = y.data();
  const int h = image.height();
  const size_t w = image.width();
  parallel_for(h, threads, [&](int y0, int y1) {
    for (size_t i = y0 * w; i < y1 * w; ++i) out[i] = static_cast<float>(0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i]);
  });
  return y;
}

void repeat_to(const Image& coarse, int factor, Image& map) {
  const int cw = coarse.width(), ch = coarse.height();
  for (int y = 0; y < map.height(); ++y) {
    const int cy = std::min(y / factor, ch - 1);
    for (int x = 0; x < map.width(); ++x) map.at(0, y, x) = coarse.at(0, cy, std::min(x / factor, cw - 1));
  }
}

}  // namespace detail
}  // namespace medpsim
