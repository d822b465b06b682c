// CPU vs CUDA agreement: for every kind with a CUDA kernel, the same cases (1 and 3 channels, odd and even
// sizes, several seeds, identity and strong parameters) run through run_step on both backends must agree
// within 1e-5 per sample. Without a CUDA build or a device those cases print SKIPPED and pass, so CI on
// GPU-less machines stays green; the checks that need no device (error paths, the kind list) always run.
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "medpsim/backends.hpp"
#include "medpsim/kernels.hpp"
#include "medpsim/random.hpp"
#include "harness.hpp"

using namespace medpsim;

using harness::throws_with;

constexpr double kTolerance = 1e-5;

// The harness's textured image (as in kernel_tests.cpp) in [0.05, 0.95], plus a few exact 0s and 1s so that
// the clamps and the poisson(0) path are exercised.
static Image test_image(int w, int h, int channels) { return harness::textured_image(w, h, channels, 0.05, 0.95, true); }

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
      {"quantum_noise", {{{"photons", 1e5}, {"electronic_sigma", 0}}, {{"photons", 1e3}, {"electronic_sigma", 0.002}}, {{"photons", 10}, {"electronic_sigma", 0.1}}}},
      {"motion_blur", {{{"length", 0}, {"angle", 30}}, {{"length", 5}, {"angle", 30}}, {{"length", 40}, {"angle", 135}}}},
      {"grid_lines", {{{"amplitude", 0}, {"period", 4}, {"angle", 90}}, {{"amplitude", 0.1}, {"period", 4}, {"angle", 0}}, {{"amplitude", 0.5}, {"period", 7}, {"angle", 90}}}},
      {"dead_pixels", {{{"fraction", 0}, {"lines", 0}}, {{"fraction", 0.01}, {"lines", 1}}, {{"fraction", 0.1}, {"lines", 20}}}},
      {"resolution_loss", {{{"factor", 1}}, {{"factor", 1.5}}, {{"factor", 3}}, {{"factor", 16}}}},
      {"exposure", {{{"gain", 1}, {"gamma", 1}}, {{"gain", 1.3}, {"gamma", 1.1}}, {{"gain", 0.2}, {"gamma", 4}}}},
      {"windowing", {{{"center_shift", 0}, {"width_scale", 1}}, {{"center_shift", 0.05}, {"width_scale", 0.8}}, {{"center_shift", -0.4}, {"width_scale", 0.1}}}},
      {"scatter", {{{"fraction", 0}, {"sigma", 40}}, {{"fraction", 0.2}, {"sigma", 3}}, {{"fraction", 0.6}, {"sigma", 60}}}},
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

int main() {
  const std::vector<harness::Test> tests = {
      {"kind list and errors", test_kind_list_and_errors},
      {"CPU vs CUDA agreement", test_cpu_cuda_agreement},
      {"CPU vs CUDA, large image", test_large_image},
  };
  std::printf("CUDA: %s (%d device(s))%s%s\n", cuda_available() ? "available" : "not available", cuda_device_count(),
              cuda_reason().empty() ? "" : ": ", cuda_reason().c_str());
  return harness::run_tests(tests);
}
