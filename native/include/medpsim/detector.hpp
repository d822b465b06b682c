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

// The mapping with the response's two choices as arguments: called with constants (FixedResponse, the CPU's
// loops) the branches fold away and the loops vectorise; called with a DetectorResponse's fields (the GPU's
// threads) it is the very same expression.
MEDPSIM_HD inline float signal_of(bool log, bool inverted, float range, float v) {
  const float u = inverted ? 1.0f - v : v;
  return log ? exp_nonpositive(-range * u) : 1.0f - u;
}

// Back to display values, clamped to [0, 1]: signal at or above the unattenuated beam shows as u = 0; under
// the log response, signal at or below e^-M as u = 1 (the ln of a pinned argument, without a branch); -0
// comes out as +0.
MEDPSIM_HD inline float display_of(bool log, bool inverted, float range, float t) {
  const float pinned = t < 1e-30f ? 1e-30f : (t > 1.0f ? 1.0f : t);
  const float u = log ? -log_unit(pinned) / range : 1.0f - t;
  const float v = inverted ? 1.0f - u : u;
  return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
}

MEDPSIM_HD inline float to_signal(const DetectorResponse& r, float v) { return signal_of(r.log, r.inverted, r.range, v); }
MEDPSIM_HD inline float to_display(const DetectorResponse& r, float t) { return display_of(r.log, r.inverted, r.range, t); }

// A response whose choices are compile-time constants; with_response calls f with the one r stands for.
template <bool Log, bool Inverted>
struct FixedResponse {
  float range;
  float signal(float v) const { return signal_of(Log, Inverted, range, v); }
  float display(float t) const { return display_of(Log, Inverted, range, t); }
};
template <typename F>
void with_response(const DetectorResponse& r, F f) {
  if (r.log) {
    r.inverted ? f(FixedResponse<true, true>{r.range}) : f(FixedResponse<true, false>{r.range});
  } else {
    r.inverted ? f(FixedResponse<false, true>{r.range}) : f(FixedResponse<false, false>{r.range});
  }
}

// The grid kinds' per-line map under a response: multiplying the signal by f is, in display values,
// v' = clamp01(offset + scale v): log, u' = u - ln(f) / M (offset -+ ln(f) / M, scale 1); linear, T' = f T.
struct LineMap {
  float offset, scale;
};
MEDPSIM_HD inline float map_line(const LineMap& m, float v) {
  const float y = m.offset + m.scale * v;
  return y > 0.0f ? (y < 1.0f ? y : 1.0f) : 0.0f;
}

// ln k! for a whole k >= 0: a table below 10, Stirling's series (to 1 / (1680 n^7), n = k + 1 >= 11: within
// 1e-12) above.
MEDPSIM_HD inline double log_factorial(double k) {
  const double table[10] = {0.0, 0.0, 0.6931471805599453, 1.791759469228055, 3.1780538303479458, 4.787491742782046,
                            6.579251212010101, 8.525161361065415, 10.60460290274525, 12.801827480081469};
  if (k < 10.0) return table[static_cast<int>(k)];
  const double n = k + 1.0, r = 1.0 / n, r2 = r * r;
  return (n - 0.5) * log_positive(n) - n + 0.91893853320467274 + r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 / 1680.0)));
}

// Hoermann's PTRS (1993) for lambda >= 10: its constants, one try from a (u, v) pair of words (the candidate
// k, with us and v for the acceptance tests), and the quick test that settles most tries.
struct PtrsConstants {
  double b, a, vr;
};
MEDPSIM_HD inline PtrsConstants ptrs_constants(double lambda) {
  const double root = std::sqrt(lambda);
  const double b = 0.931 + 2.53 * root;
  return {b, -0.059 + 0.02483 * b, 0.9277 - 3.6224 / (b - 2.0)};
}
struct PtrsTry {
  double k, us, v;
};
MEDPSIM_HD inline PtrsTry ptrs_try(const PtrsConstants& c, double lambda, uint32_t u_word, uint32_t v_word) {
  const double u = bits_to_open_unit(u_word) - 0.5, v = bits_to_open_unit(v_word);
  const double us = 0.5 - (u < 0.0 ? -u : u);
  return {floor((2.0 * c.a / us + c.b) * u + lambda + 0.43), us, v};
}
MEDPSIM_HD inline bool ptrs_quick_accept(const PtrsConstants& c, const PtrsTry& t) { return (t.us >= 0.07) & (t.v <= c.vr); }

// Poisson(lambda) for element i, exact at every lambda (the uniforms' 24 bits aside), from Philox blocks of
// its own (counter group = i, draws 0, 1, ...: four uniforms per block): below 10, inversion (word 0, a
// sequential search of the CDF in double); from 10, Hoermann's transformed rejection PTRS (1993), a (u, v)
// pair per try from words (0, 1), then (2, 3) of each block, about 1.15 tries on average, the logarithms only
// for the third of tries the quick test does not settle. All in + - * / (log_positive, log_factorial,
// exp_nonpositive_double), so the CPU and the GPU accept the same tries.
MEDPSIM_HD inline double poisson_count(const Rng& rng, uint64_t i, double lambda) {
  if (lambda <= 0.0) return 0.0;
  Philox4 words = rng.block(i, 0);
  if (lambda < 10.0) {
    const double u = bits_to_open_unit(words.v[0]);
    double pk = exp_nonpositive_double(-lambda), cdf = pk;  // in double: the masses must add up to 1 within 2^-25
    int k = 0;
    while (u > cdf && k < 200) {
      ++k;
      pk *= lambda / k;
      cdf += pk;
    }
    return k;
  }
  const PtrsConstants c = ptrs_constants(lambda);
  for (uint32_t t = 0; t < 64; ++t) {  // 64 rejections in a row: probability below 1e-60
    if (t > 0 && (t & 1) == 0) words = rng.block(i, t / 2);
    const PtrsTry x = ptrs_try(c, lambda, words.v[2 * (t & 1)], words.v[2 * (t & 1) + 1]);
    const double k = x.k, us = x.us, v = x.v;
    if (ptrs_quick_accept(c, x)) return k;
    if (k < 0.0 || (us < 0.013 && v > us)) continue;
    // ln(v alpha / (a / us^2 + b)) <= ln(lambda^k e^-lambda / k!), alpha = 1.1239 + 1.1328 / (b - 3.4).
    const double alpha = 1.1239 + 1.1328 / (c.b - 3.4);
    if (log_positive(v * alpha / (c.a / (us * us) + c.b)) <= -lambda + k * log_positive(lambda) - log_factorial(k)) return k;
  }
  return floor(lambda + 0.5);
}

// Dose reduction to `fraction` f of an image taken with `photons` N0 quanta per pixel in the unattenuated
// beam (Veldkamp et al. 2009): the original has the noise of N0 T quanta; the reduced dose has f N0 T quanta,
// whose relative variance is 1 / f larger. Scaling the original down by f and adding independent noise of
// variance f (1 - f) N0 T gives exactly that. The added quantum noise, in reduced-dose counts: a Poisson
// draw of that mean, centred.
MEDPSIM_HD inline double added_quanta_mean(float t, double photons, double fraction) {
  return fraction * (1.0 - fraction) * photons * (t > 0.0f ? t : 0.0f);
}
MEDPSIM_HD inline float added_quanta(const Rng& rng, uint64_t i, float t, double photons, double fraction) {
  const double mean = added_quanta_mean(t, photons, fraction);
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

// Scatter: primary plus spr times the blurred primary, the mean signal kept: (t + spr veil) / (1 + spr), with
// spr and 1 / (1 + spr) as floats made on the host.
MEDPSIM_HD inline float scattered_signal(float t, float veil, float spr, float keep) { return (t + spr * veil) * keep; }

}  // namespace detail
}  // namespace medpsim
