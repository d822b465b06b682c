// The tests' shared harness (no framework): CHECK macros, the textured test image, throws_with and the
// runner. Each failed CHECK prints a line; run_tests returns the exit status.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "medpsim/image.hpp"
#include "medpsim/random.hpp"

namespace harness {
inline int g_failures = 0;
inline int g_checks = 0;
}  // namespace harness

#define CHECK(cond, ...)                                         \
  do {                                                           \
    ++harness::g_checks;                                         \
    if (!(cond)) {                                               \
      ++harness::g_failures;                                     \
      std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                  \
      std::printf("\n");                                         \
    }                                                            \
  } while (0)
#define CHECK_NEAR(a, b, tol, what)                                                                       \
  do {                                                                                                    \
    const double va_ = (a), vb_ = (b);                                                                    \
    CHECK(std::fabs(va_ - vb_) <= (tol), "%s: %.9g vs %.9g (tolerance %.3g)", what, va_, vb_, (double)(tol)); \
  } while (0)

namespace harness {

// Smooth gradients, a disk, fine stripes and a little texture, channels differing, clamped to [lo, hi];
// with `extremes`, a few samples are exactly 0 and 1 (to reach the kernels' clamps and edge paths).
inline medpsim::Image textured_image(int w, int h, int channels, double lo, double hi, bool extremes) {
  medpsim::Image img = medpsim::Image::allocate(w, h, channels);
  for (int c = 0; c < channels; ++c) {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const double u = static_cast<double>(x) / w, v = static_cast<double>(y) / h;
        double s = 0.3 + 0.25 * u + 0.15 * v * (c + 1) / 3.0;
        if ((u - 0.5) * (u - 0.5) + (v - 0.45) * (v - 0.45) < 0.06) s += 0.2 - 0.1 * c;
        s += 0.06 * std::sin(x * 1.3 + c) * std::cos(y * 0.7);
        s += 0.04 * (medpsim::Rng(99, 7 + c).uniform(static_cast<uint64_t>(y) * w + x) - 0.5);
        s = std::min(hi, std::max(lo, s));
        if (extremes && (x * 7 + y * 3 + c) % 97 == 0) s = 0.0;
        if (extremes && (x * 5 + y * 11 + c) % 89 == 0) s = 1.0;
        img.at(c, y, x) = static_cast<float>(s);
      }
    }
  }
  return img;
}

// Whether f throws an E whose message contains `needle` (prints the message when it does not); other
// exceptions propagate.
template <typename E = std::exception>
bool throws_with(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
  } catch (const E& e) {
    const bool ok = std::string(e.what()).find(needle) != std::string::npos;
    if (!ok) std::printf("  message was: %s\n", e.what());
    return ok;
  }
  return false;
}

using Test = std::pair<const char*, void (*)()>;

// Runs each test (an escaping exception is a failure), prints its outcome and time and the totals;
// returns the process exit status.
inline int run_tests(const std::vector<Test>& tests) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // line by line, so a crash still shows how far the tests got
  const auto start = std::chrono::steady_clock::now();
  for (const Test& test : tests) {
    const int before = g_failures;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      test.second();
    } catch (const std::exception& e) {
      ++g_failures;
      std::printf("FAIL %s: unexpected exception: %s\n", test.first, e.what());
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s %-28s %8.1f ms\n", g_failures == before ? "ok  " : "FAIL", test.first, ms);
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d checks, %d failures, %.2f s\n", g_checks, g_failures, total);
  return g_failures == 0 ? 0 : 1;
}

}  // namespace harness
