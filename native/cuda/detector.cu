// The detector-domain X-ray kinds on the device: quantum_noise, exposure and grid_lines (scatter, with its
// box passes, is in filters.cu). Each follows src/xray.cpp step for step: the same host set-up
// (detail::dose_change, grid_profile, exposure_ranging), the same per-sample helpers (medpsim/detector.hpp)
// and the noise filter's sums in the CPU's order, so both backends agree to the bit.
#include "common.cuh"

namespace medpsim {
namespace cuda {
namespace {

using detail::DetectorResponse;

// The plane's detector signal and, for a dose change, its added quanta (before the MTF).
__global__ void signal_and_quanta(const float* in, float* signal, float* quanta, size_t n, DetectorResponse r, uint64_t seed,
                                  int c, double photons, double fraction) {
  MEDPSIM_GRID_STRIDE(i, n) {
    const float t = detail::to_signal(r, in[i]);
    signal[i] = t;
    if (quanta) quanta[i] = detail::added_quanta(Rng(seed, detail::kQuantumStream + c), i, t, photons, fraction);
  }
}

// What happens to the signal after it is read: a dose change (shaped quanta plus electronic noise), an
// exposure (saturation and auto-ranging), then back to display values.
struct Finish {
  DetectorResponse r;
  uint64_t seed;
  int c;
  bool dose, exposure;
  double photons, fraction, electronic;
  float gain, saturation, ranging;
};

__global__ void finish(const float* signal, const float* quanta, float* out, size_t n, Finish f) {
  MEDPSIM_GRID_STRIDE(i, n) {
    float t = signal[i];
    if (f.dose) {
      const float normal = f.electronic > 0.0 ? Rng(f.seed, detail::kElectronicStream + f.c).gaussian(i) : 0.0f;
      t = detail::reduced_dose_signal(t, quanta[i], normal, f.photons, f.fraction, f.electronic);
    }
    if (f.exposure) t = detail::exposed_signal(t, f.gain, f.saturation, f.ranging);
    out[i] = detail::to_display(f.r, t);
  }
}

// The shared pipeline of quantum_noise (a dose change) and exposure (a dose change below 1, then exposure).
void detector_pipeline(const Job& job, uint64_t seed, const detail::DoseChange* dose, Finish finish_args) {
  const size_t plane = job.plane();
  DeviceBuffer<float> signal(plane, job), quanta(dose ? plane : 0, job), tmp(dose && dose->taps.size() > 1 ? plane : 0, job);
  const DeviceBuffer<float> taps(dose ? dose->taps : std::vector<float>{}, job);
  const int r = dose ? static_cast<int>(dose->taps.size() / 2) : 0;
  for (int c = 0; c < job.channels; ++c) {
    signal_and_quanta<<<blocks_for(plane), kBlock, 0, job.stream>>>(job.in + c * plane, signal.get(), dose ? quanta.get() : nullptr, plane, finish_args.r,
                                                     seed, c, dose ? dose->photons : 0.0, dose ? dose->fraction : 1.0);
    MEDPSIM_CUDA_LAUNCHED("signal_and_quanta");
    if (dose && r > 0) {
      convolve_rows<<<blocks_for(plane), kBlock, 0, job.stream>>>(quanta.get(), tmp.get(), job.w, job.h, taps.get(), r);
      MEDPSIM_CUDA_LAUNCHED("convolve_rows");
      convolve_columns<<<blocks_for(plane), kBlock, 0, job.stream>>>(tmp.get(), quanta.get(), job.w, job.h, taps.get(), r, false);
      MEDPSIM_CUDA_LAUNCHED("convolve_columns");
    }
    finish_args.c = c;
    finish<<<blocks_for(plane), kBlock, 0, job.stream>>>(signal.get(), dose ? quanta.get() : nullptr, job.out + c * plane, plane, finish_args);
    MEDPSIM_CUDA_LAUNCHED("finish");
  }
}

void quantum_noise(const Job& job, const Params& p, uint64_t seed) {
  const detail::DoseChange dose = detail::dose_change(p, p.at("dose"));
  if (dose.fraction == 1.0) return copy_job(job);
  Finish f{detail::detector_response(p), seed, 0, true, false, dose.photons, dose.fraction, dose.electronic, 1.0f, 1.0f, 1.0f};
  detector_pipeline(job, seed, &dose, f);
}

void exposure(const Job& job, const Params& p, uint64_t seed) {
  const double factor = p.at("exposure");
  if (factor == 1.0) return copy_job(job);
  const detail::DoseChange dose = detail::dose_change(p, factor);
  const bool under = factor < 1.0;
  Finish f{detail::detector_response(p), seed, 0, under, true, dose.photons, dose.fraction, dose.electronic,
           static_cast<float>(factor), static_cast<float>(p.at("saturation")), detail::exposure_ranging(factor, p.at("compensation"))};
  detector_pipeline(job, seed, under ? &dose : nullptr, f);
}

__global__ void grid_kernel(const float* in, float* out, int w, size_t plane, int channels, const detail::LineMap* maps, bool vertical) {
  MEDPSIM_GRID_STRIDE(i, plane) {
    const detail::LineMap m = maps[vertical ? i % w : i / w];
    for (int c = 0; c < channels; ++c) out[c * plane + i] = detail::map_line(m, in[c * plane + i]);
  }
}

void grid_lines(const Job& job, const Params& p, uint64_t) {
  const double amplitude = p.at("amplitude");
  if (amplitude == 0.0) return copy_job(job);
  const bool vertical = p.at("angle") == 90.0;
  // The CPU's per-line maps, made on the host by the same code.
  const DeviceBuffer<detail::LineMap> maps(detail::grid_line_maps(detail::detector_response(p), vertical ? job.w : job.h, amplitude, p.at("period")), job);
  grid_kernel<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job.in, job.out, job.w, job.plane(), job.channels, maps.get(), vertical);
  MEDPSIM_CUDA_LAUNCHED("grid_lines");
}

}  // namespace

void register_detector(std::vector<CudaKernel>& k) {
  k.push_back({"quantum_noise", quantum_noise});
  k.push_back({"exposure", exposure});
  k.push_back({"grid_lines", grid_lines});
}

}  // namespace cuda
}  // namespace medpsim
