// CPU vs CUDA agreement: for every kind with a CUDA kernel, the same cases (1 and 3 channels, odd and even
// sizes, several seeds, identity and strong parameters) run through run_step on both backends must agree
// within 1e-5 per sample; for every metric, MetricInfo::compute with options.cuda on and off must agree
// within 1e-5 (mse relative, psnr in dB) in value and per map pixel. Without a CUDA build or a device those
// cases print SKIPPED and pass, so CI on GPU-less machines stays green; the checks that need no device
// (error paths, the kind and metric lists) always run.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "medpsim/backends.hpp"
#include "medpsim/kernels.hpp"
#include "medpsim/metrics.hpp"
#include "medpsim/random.hpp"
#include "harness.hpp"
#include "metric_images.hpp"

#ifdef MEDPSIM_WITH_CUDA
#include "medpsim/cuda.hpp"
#endif

using namespace medpsim;

using harness::throws_with;

constexpr double kTolerance = 1e-5;

// The harness's textured image (as in kernel_tests.cpp) in [0.05, 0.95], plus a few exact 0s and 1s so that
// the clamps and the poisson(0) path are exercised.
static Image test_image(int w, int h, int channels) { return harness::textured_image(w, h, channels, 0.05, 0.95, true); }

// The detector-domain kinds' response (default: log, radiograph polarity, 4 nepers) and dose parameters.
static Params detector(Params p, double response = 0, double polarity = 1, double range = 4) {
  p.insert({{"response", response}, {"polarity", polarity}, {"attenuation_range", range}});
  return p;
}
static Params dosed(Params p, double response = 0, double polarity = 1) {
  p.insert({{"photons", 1e4}, {"electronic_noise", 2}, {"mtf_sigma", 0.8}});
  return detector(p, response, polarity);
}

// Per kind: parameter sets from identity to strong (the strong ones reach the clamps and edge paths).
static std::vector<std::pair<std::string, std::vector<Params>>> cases() {
  return {
      {"lightness_shift", {{{"delta", 0}}, {{"delta", 0.1}}, {{"delta", -0.4}}}},
      {"color_shift", {{{"red", 0}, {"green", 0}, {"blue", 0}}, {{"red", 0.2}, {"green", 0.05}, {"blue", -0.2}}}},
      {"contrast", {{{"factor", 1}}, {{"factor", 0.5}}, {{"factor", 3.5}}}},
      {"saturation", {{{"factor", 1}}, {{"factor", 0.4}}, {{"factor", 3}}}},
      {"uniform_noise", {{{"amplitude", 0}}, {{"amplitude", 0.1}}, {{"amplitude", 0.8}}}},
      {"gaussian_noise", {{{"sigma", 0}}, {{"sigma", 0.05}}, {{"sigma", 0.5}}}},
      {"pink_noise", {{{"sigma", 0}}, {{"sigma", 0.05}}, {{"sigma", 0.3}}}},
      {"blue_noise", {{{"sigma", 0}}, {{"sigma", 0.05}}, {{"sigma", 0.3}}}},
      {"colored_noise", {{{"sigma", 0}, {"beta", 1.5}}, {{"sigma", 0.05}, {"beta", 2}}, {{"sigma", 0.2}, {"beta", -1.3}}, {{"sigma", 0.1}, {"beta", 0}}}},
      {"checkerboard", {{{"amplitude", 0}, {"period", 4}}, {{"amplitude", 0.05}, {"period", 2}}, {{"amplitude", 0.3}, {"period", 7}}}},
      {"gaussian_blur", {{{"sigma", 0}}, {{"sigma", 0.7}}, {{"sigma", 3}}, {{"sigma", 12}}}},
      {"bilateral", {{{"sigma_spatial", 0}, {"sigma_range", 0.1}}, {{"sigma_spatial", 1}, {"sigma_range", 0.1}}, {{"sigma_spatial", 3}, {"sigma_range", 0.4}}}},
      {"shift", {{{"dx", 0}, {"dy", 0}}, {{"dx", 1.5}, {"dy", 0.5}}, {{"dx", -40.25}, {"dy", 3000}}}},
      {"affine", {{{"rotation", 0}, {"scale", 1}, {"shear", 0}, {"tx", 0}, {"ty", 0}},
                  {{"rotation", 5}, {"scale", 1.03}, {"shear", 2}, {"tx", 0}, {"ty", 0}},
                  {{"rotation", -150}, {"scale", 0.3}, {"shear", 40}, {"tx", 7.5}, {"ty", -3}}}},
      {"homography", {{{"jitter", 0}}, {{"jitter", 0.03}}, {{"jitter", 0.3}}}},
      {"linear_warp", {{{"grid", 4}, {"magnitude", 0}}, {{"grid", 4}, {"magnitude", 0.01}}, {{"grid", 9}, {"magnitude", 0.2}}}},
      {"cubic_warp", {{{"grid", 4}, {"magnitude", 0}}, {{"grid", 4}, {"magnitude", 0.01}}, {{"grid", 9}, {"magnitude", 0.2}}}},
      {"ghosting", {{{"alpha", 0}, {"dx", 8}, {"dy", 0}}, {{"alpha", 0.2}, {"dx", 8}, {"dy", 0}}, {{"alpha", 0.7}, {"dx", -3.5}, {"dy", 20.25}}}},
      {"chromatic_aberration", {{{"shift", 0}}, {{"shift", 1}}, {{"shift", 15}}}},
      {"jpeg", {{{"quality", 100}}, {{"quality", 90}}, {{"quality", 50}}, {{"quality", 1}}}},
      {"quantum_noise", {dosed({{"dose", 1}}), dosed({{"dose", 0.3}}), dosed({{"dose", 0.02}, {"photons", 50}, {"electronic_noise", 20}}),
                         dosed({{"dose", 0.1}, {"mtf_sigma", 0}}, 1, -1), dosed({{"dose", 0.05}, {"mtf_sigma", 3}}, 0, -1)}},
      {"motion_blur", {{{"length", 0}, {"angle", 30}}, {{"length", 5}, {"angle", 30}}, {{"length", 40}, {"angle", 135}}}},
      {"grid_lines", {detector({{"amplitude", 0}, {"period", 4}, {"angle", 90}}), detector({{"amplitude", 0.1}, {"period", 4}, {"angle", 0}}),
                      detector({{"amplitude", 0.5}, {"period", 7}, {"angle", 90}}, 1, -1)}},
      {"dead_pixels", {{{"fraction", 0}, {"lines", 0}}, {{"fraction", 0.01}, {"lines", 1}}, {{"fraction", 0.1}, {"lines", 20}}}},
      {"resolution_loss", {{{"factor", 1}}, {{"factor", 1.5}}, {{"factor", 3}}, {{"factor", 16}}}},
      {"exposure", {dosed({{"exposure", 1}, {"saturation", 2}, {"compensation", 1}}), dosed({{"exposure", 0.3}, {"saturation", 2}, {"compensation", 1}}),
                    dosed({{"exposure", 8}, {"saturation", 1.5}, {"compensation", 0.4}}), dosed({{"exposure", 0.05}, {"saturation", 100}, {"compensation", 0}}, 1, 1)}},
      {"windowing", {{{"center_shift", 0}, {"width_scale", 1}}, {{"center_shift", 0.05}, {"width_scale", 0.8}}, {{"center_shift", -0.4}, {"width_scale", 0.1}}}},
      {"scatter", {detector({{"spr", 0}, {"sigma", 40}}), detector({{"spr", 0.5}, {"sigma", 3}}), detector({{"spr", 4}, {"sigma", 60}}, 1, -1),
                   detector({{"spr", 1}, {"sigma", 10}}, 0, 1, 10)}},
  };
}

static std::string params_text(const Params& p) {
  std::string text;
  for (const auto& entry : p) text += (text.empty() ? "" : ", ") + entry.first + "=" + std::to_string(entry.second);
  return text;
}

// Always runs: the kind list and the errors of the CUDA backend.
static void test_kind_list_and_errors() {
  const std::vector<std::string> kinds = cuda_kernel_kinds();
  for (const std::string& kind : kinds) CHECK(find_kernel(kind) != nullptr, "CUDA kind %s is not a catalog kind", kind.c_str());
  CHECK(cases().size() == all_kernels().size(), "the case table misses kinds");
  std::printf("  %zu of %zu kinds have CUDA kernels in this build\n", kinds.size(), all_kernels().size());
  const Image in = test_image(9, 7, 3);
  const KernelInfo& lightness = *find_kernel("lightness_shift");
  if (!cuda_available()) {
    CHECK(!cuda_reason().empty(), "no reason given for CUDA being unavailable");
    Image out;
    CHECK(throws_with([&] { run_step(Backend::Cuda, lightness, in, out, {{"delta", 0.1}}, 1, 1); }, cuda_reason()),
          "run_step(Cuda) without a device must throw the reason");
    CHECK(throws_with([&] { run_chain(Backend::Cuda, {{&lightness, {{"delta", 0.1}}}}, {{in.data(), 9, 7, 3, 1}}, 1); }, cuda_reason()),
          "run_chain(Cuda) without a device must throw the reason");
    return;
  }
  // With a device: parameters are checked exactly as on the CPU, and a kind without a kernel is refused.
  Image out;
  CHECK(throws_with([&] { run_step(Backend::Cuda, lightness, in, out, {{"delta", 2}}, 1, 1); }, "parameter 'delta'"), "range check");
  out = Image();
  CHECK(throws_with([&] { run_step(Backend::Cuda, lightness, in, out, {}, 1, 1); }, "missing parameter 'delta'"), "missing parameter");
  out = Image();
  CHECK(throws_with([&] { run_step(Backend::Cuda, *find_kernel("saturation"), test_image(9, 7, 1), out, {{"factor", 0.5}}, 1, 1); },
                    "3-channel"),
        "grey image for a colour kind");
  for (const KernelInfo& info : all_kernels()) {
    bool has = false;
    for (const std::string& kind : kinds) has = has || kind == info.kind;
    if (has) continue;
    Params p;
    for (const ParamSpec& spec : info.params) p[spec.name] = spec.default_value;
    out = Image();
    CHECK(throws_with([&] { run_step(Backend::Cuda, info, in, out, p, 1, 1); }, "no CUDA kernel for " + info.kind + " yet"),
          "%s: no clear error without a CUDA kernel", info.kind.c_str());
  }
}

static void test_cpu_cuda_agreement() {
  if (!cuda_available()) {
    std::printf("  SKIPPED: no CUDA device (%s)\n", cuda_reason().c_str());
    return;
  }
  const std::vector<std::string> kinds = cuda_kernel_kinds();
  const std::pair<int, int> sizes[] = {{1, 1}, {7, 5}, {33, 17}, {64, 64}, {101, 77}};
  const uint64_t seeds[] = {1, 7, 0x0123456789abcdefULL};
  for (const auto& entry : cases()) {
    bool has = false;
    for (const std::string& kind : kinds) has = has || kind == entry.first;
    if (!has) {
      std::printf("  %-22s no CUDA kernel yet\n", entry.first.c_str());
      continue;
    }
    const KernelInfo& info = *find_kernel(entry.first);
    double worst = 0.0;
    int runs = 0;
    for (int channels : {1, 3}) {
      if (info.needs_color && channels == 1) continue;
      for (const auto& size : sizes) {
        const Image in = test_image(size.first, size.second, channels);
        for (const Params& p : entry.second) {
          for (uint64_t seed : seeds) {
            if (!info.random && seed != seeds[0]) continue;  // the seed does not matter
            Image cpu, gpu;
            run_step(Backend::Cpu, info, in, cpu, p, seed, 2);
            try {
              run_step(Backend::Cuda, info, in, gpu, p, seed, 2);
            } catch (const std::exception& e) {
              CHECK(false, "%s: CUDA threw: %s", info.kind.c_str(), e.what());
              continue;
            }
            double diff = 0.0;
            size_t where = 0;
            for (size_t i = 0; i < cpu.size(); ++i) {
              const double d = std::fabs(static_cast<double>(cpu.data()[i]) - gpu.data()[i]);
              if (!(d <= diff)) {  // also catches NaN
                diff = std::isnan(d) ? 1e9 : d;
                where = i;
              }
            }
            CHECK(diff <= kTolerance, "%s %dx%dx%d seed %llu {%s}: CPU %.9g vs CUDA %.9g at sample %zu", info.kind.c_str(), size.first,
                  size.second, channels, static_cast<unsigned long long>(seed), params_text(p).c_str(), cpu.data()[where],
                  gpu.data()[where], where);
            worst = std::max(worst, diff);
            ++runs;
          }
        }
      }
    }
    std::printf("  %-22s %3d runs, max |CPU - CUDA| %.3g\n", info.kind.c_str(), runs, worst);
  }
}

// A large image: the grid-stride loops and multi-block paths (the small cases fit in one block).
static void test_large_image() {
  if (!cuda_available()) {
    std::printf("  SKIPPED: no CUDA device (%s)\n", cuda_reason().c_str());
    return;
  }
  const Image in = test_image(1031, 517, 1);
  const std::vector<std::string> kinds = cuda_kernel_kinds();
  for (const auto& entry : cases()) {
    const KernelInfo& info = *find_kernel(entry.first);
    if (info.needs_color || !std::count(kinds.begin(), kinds.end(), entry.first)) continue;
    const Params& p = entry.second[1];
    Image cpu, gpu;
    run_step(Backend::Cpu, info, in, cpu, p, 42, 0);
    run_step(Backend::Cuda, info, in, gpu, p, 42, 0);
    double diff = 0.0;
    for (size_t i = 0; i < cpu.size(); ++i) diff = std::max(diff, std::fabs(static_cast<double>(cpu.data()[i]) - gpu.data()[i]));
    CHECK(diff <= kTolerance, "%s 1031x517: max |CPU - CUDA| %.3g", info.kind.c_str(), diff);
  }
}

// A chain over a batch (cuda_apply_chain): images of many shapes, more than there are lanes, growing and
// shrinking, some in pinned memory and some not, each with its own seed, must give the CPU chain's result.
static void test_chain_batch() {
  if (!cuda_available()) {
    std::printf("  SKIPPED: no CUDA device (%s)\n", cuda_reason().c_str());
    return;
  }
  // Taps, Philox noise with an MTF, an FFT field with its scratch and device-side normalisation, 8x8 blocks.
  const std::vector<ChainStep> steps = {{find_kernel("gaussian_blur"), {{"sigma", 1.2}}},
                                        {find_kernel("quantum_noise"), dosed({{"dose", 0.3}})},
                                        {find_kernel("pink_noise"), {{"sigma", 0.05}}},
                                        {find_kernel("jpeg"), {{"quality", 70}}}};
  const int shapes[][3] = {{64, 64, 1}, {101, 77, 3}, {7, 5, 1}, {1031, 517, 1}, {33, 17, 3}, {256, 256, 1}, {1, 1, 1}, {300, 200, 3}};
  std::vector<Image> images;
  std::vector<ChainInput> inputs;
  for (const auto& shape : shapes) images.push_back(test_image(shape[0], shape[1], shape[2]));
  for (size_t i = 0; i < images.size(); ++i) {
    inputs.push_back({images[i].data(), images[i].width(), images[i].height(), images[i].channels(), 1000 + i});
  }
  const std::vector<Image> cpu = run_chain(Backend::Cpu, steps, inputs, 2);
  auto worst = [&](size_t i, const float* gpu) {
    double d = 0.0;
    for (size_t k = 0; k < cpu[i].size(); ++k) {
      const double e = std::fabs(static_cast<double>(cpu[i].data()[k]) - gpu[k]);
      d = std::isnan(e) ? 1e9 : std::max(d, e);
    }
    return d;
  };
  // Pageable memory, through the staging buffers (the addon's path), twice: the lanes must not leak state.
  for (int round = 0; round < 2; ++round) {
    const std::vector<Image> gpu = run_chain(Backend::Cuda, steps, inputs, 2);
    for (size_t i = 0; i < gpu.size(); ++i) {
      CHECK(worst(i, gpu[i].data()) <= kTolerance, "chain, pageable, round %d, image %zu (%dx%dx%d): max |CPU - CUDA| %.3g", round, i,
            cpu[i].width(), cpu[i].height(), cpu[i].channels(), worst(i, gpu[i].data()));
    }
  }
#ifdef MEDPSIM_WITH_CUDA
  // Pinned inputs and outputs for every other image (copied without staging), the rest pageable.
  std::vector<CudaStep> cuda_steps;
  for (const ChainStep& step : steps) cuda_steps.push_back({step.kernel->kind, step.params});
  std::vector<float*> pinned;
  std::vector<std::vector<float>> pageable(images.size());
  std::vector<CudaItem> items;
  for (size_t i = 0; i < images.size(); ++i) {
    const size_t n = images[i].size();
    float *in = nullptr, *out = nullptr;
    if (i % 2 == 0) {
      in = cuda_host_alloc(n);
      out = cuda_host_alloc(n);
      pinned.push_back(in);
      pinned.push_back(out);
      std::copy(images[i].data(), images[i].data() + n, in);
    } else {
      in = const_cast<float*>(images[i].data());
      pageable[i].assign(n, -1.0f);
      out = pageable[i].data();
    }
    items.push_back({in, out, images[i].width(), images[i].height(), images[i].channels(), 1000 + i});
  }
  cuda_apply_chain(cuda_steps, items, 2);
  for (size_t i = 0; i < items.size(); ++i) {
    CHECK(worst(i, items[i].out) <= kTolerance, "chain, %s, image %zu: max |CPU - CUDA| %.3g", i % 2 == 0 ? "pinned" : "pageable", i,
          worst(i, items[i].out));
  }
  for (float* p : pinned) cuda_host_free(p);
#endif
  // A bad parameter in a later step is refused before anything runs, as on the CPU.
  std::vector<ChainStep> bad = steps;
  bad[2].params["sigma"] = 5;
  CHECK(throws_with([&] { run_chain(Backend::Cuda, bad, inputs, 2); }, "parameter 'sigma'"), "chain: range check of a later step");
}

// ----- metrics -----

// |CPU - CUDA| on the metric's scale: relative for mse, dB for psnr (infinite for both: 0), absolute otherwise;
// 1e9 for a NaN or a lone infinity.
static double value_difference(const std::string& metric, double cpu, double gpu) {
  if (cpu == gpu) return 0.0;
  if (!std::isfinite(cpu) || !std::isfinite(gpu)) return 1e9;
  const double d = std::fabs(cpu - gpu);
  return metric == "mse" ? d / std::fabs(cpu) : d;
}

static double map_difference(const Image& cpu, const Image& gpu, size_t& where) {
  where = 0;
  if (!cpu.same_shape(gpu)) return 1e9;
  double worst = 0.0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double d = std::fabs(static_cast<double>(cpu.data()[i]) - gpu.data()[i]);
    if (!(d <= worst)) {  // also catches NaN
      worst = std::isnan(d) ? 1e9 : d;
      where = i;
    }
  }
  return worst;
}

// The parameter sets of each metric: the defaults, and for ms_ssim every scale count.
static std::vector<Params> metric_params(const MetricInfo& metric) {
  if (metric.name != "ms_ssim") return {Params{}};
  std::vector<Params> sets;
  for (int scales = 1; scales <= 5; ++scales) sets.push_back({{"scales", scales}});
  return sets;
}

// Always runs: the metric list, and options.cuda refused with the reason where there is no device.
static void test_metric_list_and_errors() {
#ifdef MEDPSIM_WITH_CUDA
  for (const MetricInfo& metric : all_metrics()) CHECK(cuda_has_metric(metric.name), "%s has no CUDA implementation", metric.name.c_str());
  CHECK(cuda_metrics().size() == all_metrics().size(), "cuda_metrics() lists %zu of %zu metrics", cuda_metrics().size(),
        all_metrics().size());
  CHECK(!cuda_has_metric("lpips"), "cuda_has_metric of an unknown name");
#endif
  const Image a = metric_images::make("reference", 48, 45, 1, 8), b = metric_images::make("noise", 48, 45, 1, 8);
  MetricOptions options;
  options.cuda = true;
  if (cuda_device_count() == 0) {
    for (const MetricInfo& metric : all_metrics()) {
      CHECK(throws_with<std::invalid_argument>([&] { metric.compute(a, b, {}, options); },
                                               metric.name + ": the CUDA backend is not available: " + cuda_reason()),
            "%s with options.cuda and no device must throw the reason", metric.name.c_str());
    }
    return;
  }
  // With a device: the input checks come first, as on the CPU; unknown names are refused.
  options.data_range = 2.0;
  CHECK(throws_with<std::invalid_argument>([&] { compute_metric("ssim", a, b, {}, options); }, "ssim: data range must be in (0, 1]"),
        "data range check with options.cuda");
#ifdef MEDPSIM_WITH_CUDA
  CHECK(throws_with<std::invalid_argument>([&] { cuda_metric("lpips", a, b, {}, 1.0, nullptr); }, "no CUDA implementation"),
        "cuda_metric of an unknown name");
#endif
}

struct MetricCase {
  int w, h;
};

// Compares one metric on one pair, CPU against CUDA through MetricInfo::compute: the value, the map (when
// asked for), or the same size error. Updates the worst differences.
static void compare_metric(const MetricInfo& metric, const Image& a, const Image& b, const Params& params, double data_range,
                           bool want_map, const std::string& label, double& worst_value, double& worst_map, int& runs) {
  MetricOptions cpu_options, gpu_options;
  cpu_options.data_range = gpu_options.data_range = data_range;
  cpu_options.want_map = gpu_options.want_map = want_map;
  gpu_options.cuda = true;
  MetricResult cpu, gpu;
  try {
    cpu = metric.compute(a, b, params, cpu_options);
  } catch (const std::invalid_argument& e) {
    // Too small for the metric: the CUDA backend must refuse with the CPU's message.
    CHECK(throws_with<std::invalid_argument>([&] { metric.compute(a, b, params, gpu_options); }, e.what()),
          "%s: CUDA must refuse like the CPU: %s", label.c_str(), e.what());
    return;
  }
  try {
    gpu = metric.compute(a, b, params, gpu_options);
  } catch (const std::exception& e) {
    CHECK(false, "%s: CUDA threw: %s", label.c_str(), e.what());
    return;
  }
  const double dv = value_difference(metric.name, cpu.value, gpu.value);
  CHECK(dv <= kTolerance, "%s: CPU %.12g vs CUDA %.12g", label.c_str(), cpu.value, gpu.value);
  worst_value = std::max(worst_value, dv);
  if (want_map) {
    size_t where = 0;
    const double dm = map_difference(cpu.map, gpu.map, where);
    CHECK(dm <= kTolerance, "%s: map pixel %zu: CPU %.9g vs CUDA %.9g", label.c_str(), where, cpu.map.data()[where],
          gpu.map.size() > where ? gpu.map.data()[where] : -1.0f);
    worst_map = std::max(worst_map, dm);
  }
  ++runs;
}

// Every metric on 1 and 3 channels, odd and even sizes (fsim: Bluestein lengths, lines longer than a block's
// shared memory holds, downsampling from 384), 8-, 12- and 16-bit data, identical pairs, every ms_ssim scale
// count, too-small sizes; maps per pixel, and values without a map.
static void test_metric_agreement() {
  if (cuda_device_count() == 0) {
    std::printf("  SKIPPED: no CUDA device (%s)\n", cuda_reason().c_str());
    return;
  }
  const MetricCase sizes[] = {{181, 167}, {64, 64}, {97, 83}, {400, 390}, {165, 170}, {41, 45}, {23, 11}, {2, 2}, {8, 9}, {1100, 40}, {12, 4096}};
  const std::pair<int, const char*> data[] = {{8, "noise"}, {12, "blur"}, {16, "contrast"}, {8, "reference"}};
  for (const MetricInfo& metric : all_metrics()) {
    double worst_value = 0.0, worst_map = 0.0;
    int runs = 0;
    for (const MetricCase& size : sizes) {
      for (int channels : {1, 3}) {
        for (const auto& d : data) {
          const Image a = metric_images::make("reference", size.w, size.h, channels, d.first);
          const Image b = metric_images::make(d.second, size.w, size.h, channels, d.first);
          for (const Params& params : metric_params(metric)) {
            char label[160];
            std::snprintf(label, sizeof label, "%s %dx%dx%d %d-bit %s%s", metric.name.c_str(), size.w, size.h, channels, d.first, d.second,
                          params.empty() ? "" : (" scales " + std::to_string(static_cast<int>(params.at("scales")))).c_str());
            compare_metric(metric, a, b, params, metric_images::data_range(d.first), true, label, worst_value, worst_map, runs);
          }
        }
      }
    }
    // Without a map (the device code skips the map's buffers and kernels).
    const Image a = metric_images::make("reference", 181, 167, 1, 16), b = metric_images::make("noise", 181, 167, 1, 16);
    compare_metric(metric, a, b, metric_params(metric).back(), 1.0, false, metric.name + " 181x167 without a map", worst_value, worst_map,
                   runs);
    std::printf("  %-8s %4d runs, max |CPU - CUDA| value %.3g, map %.3g\n", metric.name.c_str(), runs, worst_value, worst_map);
  }
}

// Large images: many blocks per kernel, fsim downsampled by 2 (a 516-sample Bluestein line, the longest in
// shared memory) and by 4 (256, radix 2).
static void test_metric_large_images() {
  if (cuda_device_count() == 0) {
    std::printf("  SKIPPED: no CUDA device (%s)\n", cuda_reason().c_str());
    return;
  }
  for (const MetricCase& size : {MetricCase{1031, 517}, MetricCase{1024, 1024}}) {
    const Image a = metric_images::make("reference", size.w, size.h, 1, 16), b = metric_images::make("noise", size.w, size.h, 1, 16);
    for (const MetricInfo& metric : all_metrics()) {
      double worst_value = 0.0, worst_map = 0.0;
      int runs = 0;
      const std::string label = metric.name + " " + std::to_string(size.w) + "x" + std::to_string(size.h);
      compare_metric(metric, a, b, {}, metric_images::data_range(16), true, label, worst_value, worst_map, runs);
      std::printf("  %-18s |CPU - CUDA| value %.3g, map %.3g\n", label.c_str(), worst_value, worst_map);
    }
  }
}

// An argument runs only the tests whose name contains it (e.g. "CPU vs CUDA": the kinds, "metric": the metrics).
int main(int argc, char** argv) {
  std::vector<harness::Test> tests = {
      {"kind list and errors", test_kind_list_and_errors},
      {"CPU vs CUDA agreement", test_cpu_cuda_agreement},
      {"CPU vs CUDA, large image", test_large_image},
      {"CPU vs CUDA, chained batch", test_chain_batch},
      {"metric list and errors", test_metric_list_and_errors},
      {"metric agreement", test_metric_agreement},
      {"metric agreement, large images", test_metric_large_images},
  };
  if (argc > 1) {
    std::vector<harness::Test> chosen;
    for (const auto& test : tests) {
      if (std::string(test.first).find(argv[1]) != std::string::npos) chosen.push_back(test);
    }
    tests = chosen;
  }
  std::printf("CUDA: %s (%d device(s))%s%s\n", cuda_available() ? "available" : "not available", cuda_device_count(),
              cuda_reason().empty() ? "" : ": ", cuda_reason().c_str());
  return harness::run_tests(tests);
}
