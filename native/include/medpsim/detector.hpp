// The detector domain of the X-ray kinds (quantum_noise, scatter, grid_lines, exposure), compiled for the
// CPU kernels and the CUDA kernels alike. A display value v in [0, 1] maps to the transmitted fraction
// T = I / I0 of the unattenuated beam, where acquisition physics happens, and back:
//
//   u = v (polarity +1: brighter is more attenuation, the radiograph convention) or 1 - v (polarity -1)
//   log     T = exp(-M u), u = -ln(T) / M    (a processed radiograph, M the attenuation range in nepers)
//   linear  T = 1 - u                         (a linear detector image)
//
// The image's own stored response (src/imaging/detector-response.ts) fills the kinds' `response`, `polarity`
// and `attenuation_range` parameters. Float throughout, with pixel_ops.hpp's exp and ln, so both backends
// compute the same bits.
#pragma once

#include <cstdint>

#include "medpsim/random.hpp"

namespace medpsim {
namespace detail {

// Philox streams of the dose change (quantum_noise, and exposure below 1), CPU and CUDA alike.
constexpr uint32_t kQuantumStream = 0x2400, kElectronicStream = 0x2500;

struct DetectorResponse {
  bool log;       // response 0: logarithmic; 1: linear
  bool inverted;  // polarity -1: brighter is more intensity
  float range;    // M, nepers
};

MEDPSIM_HD inline float to_signal(const DetectorResponse& r, float v) {
  const float u = r.inverted ? 1.0f - v : v;
  return r.log ? exp_nonpositive(-r.range * u) : 1.0f - u;
}

// Back to display values, unclamped inside [0, 1] and pinned outside: signal at or above the unattenuated
// beam shows as u = 0, signal at or below zero as u = 1 (log: anything below e^-M shows as 1 after the clamp).
MEDPSIM_HD inline float to_display(const DetectorResponse& r, float t) {
  float u;
  if (r.log) {
    u = t >= 1.0f ? 0.0f : (t > 1e-30f ? -log_unit(t) / r.range : 1.0f);
  } else {
    u = 1.0f - t;
  }
  const float v = r.inverted ? 1.0f - u : u;
  return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

// Poisson(lambda) from the element's own counters: inversion (one uniform, sequential search of the CDF)
// for lambda < 30, exact; above, round(lambda + sqrt(lambda) N), whose skew error (1 / sqrt(lambda) of the
// noise's) is below what a rater or a metric can tell at those counts. e^-lambda with exp_nonpositive, so
// the search ends at the same k on the CPU and the GPU.
MEDPSIM_HD inline double poisson_count(const Rng& rng, uint64_t i, double lambda) {
  if (lambda <= 0.0) return 0.0;
  if (lambda < 30.0) {
    const double u = rng.uniform(i, 0);
    double pk = exp_nonpositive(static_cast<float>(-lambda)), cdf = pk;
    int k = 0;
    while (u > cdf && k < 200) {
      ++k;
      pk *= lambda / k;
      cdf += pk;
    }
    return k;
  }
  const double counts = std::round(lambda + std::sqrt(lambda) * rng.gaussian(i, 1));
  return 0.0 < counts ? counts : 0.0;
}

// Dose reduction to `fraction` f of an image taken with `photons` N0 quanta per pixel in the unattenuated
// beam (Veldkamp et al. 2009): the original has the noise of N0 T quanta; the reduced dose has f N0 T quanta,
// whose relative variance is 1 / f larger. Scaling the original down by f and adding independent noise of
// variance f (1 - f) N0 T gives exactly that. The added quantum noise, in reduced-dose counts: a Poisson
// draw of that mean, centred.
MEDPSIM_HD inline float added_quanta(const Rng& rng, uint64_t i, float t, double photons, double fraction) {
  const double mean = fraction * (1.0 - fraction) * photons * (t > 0.0f ? t : 0.0f);
  return static_cast<float>(poisson_count(rng, i, mean) - mean);
}

// The signal after the dose change: quantum noise (already shaped by the detector's MTF) plus the
// electronic noise that a lower dose does not lower (sigma_e quanta at any dose; the original has it
// scaled by f, so sqrt(1 - f^2) sigma_e is added), both in reduced-dose counts, over the f N0 quanta of
// the unattenuated beam.
MEDPSIM_HD inline float reduced_dose_signal(float t, float shaped_quanta, float electronic_normal, double photons,
                                            double fraction, double electronic_sigma) {
  const double electronic = electronic_sigma * std::sqrt(1.0 - fraction * fraction) * electronic_normal;
  return static_cast<float>(t + (shaped_quanta + electronic) / (fraction * photons));
}

// Exposure: the detector saturates at `saturation`; `ranging` is the auto-ranging's exposure^-compensation.
MEDPSIM_HD inline float exposed_signal(float t, float gain, float saturation, float ranging) {
  const float detected = gain * t;
  return (detected < saturation ? detected : saturation) * ranging;
}

// Scatter: primary plus spr times the blurred primary, the mean signal kept.
MEDPSIM_HD inline float scattered_signal(float t, float veil, double spr) { return static_cast<float>((t + spr * veil) / (1.0 + spr)); }

}  // namespace detail
}  // namespace medpsim
