// fsim on the device, following src/metrics_phase.cpp step by step, with its arbitrary-size DFT: the same
// radix-2 butterflies and Bluestein steps on the same tables (detail::Dft, detail::fft_twiddles), so the
// filter responses match the CPU's to the bit. The filters and noise terms are made by the CPU's own
// make_phase_filters (cached per size and device); the medians behind the noise thresholds are taken on the
// host from the copied-back responses, by the CPU's own median().
#include <algorithm>
#include <cmath>
#include <complex>
#include <memory>
#include <mutex>

#include "metrics.cuh"

namespace medpsim {
namespace cuda {
namespace {

// std::complex<double> products as the CPU writes them: (ac - bd, ad + bc).
__device__ inline double2 conj2(double2 a) { return make_double2(a.x, -a.y); }

std::vector<double2> to_double2(const std::vector<std::complex<double>>& host) {
  std::vector<double2> out(host.size());
  for (size_t k = 0; k < host.size(); ++k) out[k] = make_double2(host[k].real(), host[k].imag());
  return out;
}

// A detail::Dft's tables on the device.
struct DeviceDft {
  explicit DeviceDft(const detail::Dft& dft)
      : n(dft.size()), m(dft.padded()), twiddle(to_double2(dft.twiddles())), chirp(to_double2(dft.chirp())), kernel(to_double2(dft.kernel())) {}
  int n, m;
  DeviceBuffer<double2> twiddle, chirp, kernel;  // chirp and kernel empty (null) unless Bluestein
};

// The CPU's fft_in_place() on n values (a power of two) by the whole block: the bit-reversal permutation (each
// pair swapped by the thread of its lower index), then each stage's n / 2 butterflies in parallel.
__device__ void radix2_block(double2* a, int n, const double2* twiddle) {
  int bits = 0;
  while ((1 << bits) < n) ++bits;
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const int j = bits == 0 ? 0 : static_cast<int>(__brev(static_cast<unsigned>(i)) >> (32 - bits));
    if (i < j) {
      const double2 t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
  __syncthreads();
  fft_stages(a, n, twiddle);
}

// Where the lines of a batch of planes lie: line l starts at (l / per_plane) * plane_step +
// (l % per_plane) * line_step, its samples `stride` apart.
struct LineLayout {
  int per_plane;
  size_t plane_step, line_step, stride;
};

// Dft::run on lines first_line + blockIdx.x, one block per line, in shared memory (or, for lines too long
// for it, in `scratch`, m values per block).
__global__ void dft_lines(double2* data, LineLayout layout, int first_line, int n, int m, bool inverse, const double2* twiddle,
                          const double2* chirp, const double2* kernel, double2* scratch) {
  extern __shared__ double2 shared_line[];
  const size_t l = static_cast<size_t>(first_line) + blockIdx.x;
  double2* x = data + (l / layout.per_plane) * layout.plane_step + (l % layout.per_plane) * layout.line_step;
  double2* work = scratch ? scratch + static_cast<size_t>(blockIdx.x) * m : shared_line;
  const bool bluestein = chirp != nullptr;
  for (int j = threadIdx.x; j < m; j += blockDim.x) {
    double2 v = make_double2(0.0, 0.0);
    if (j < n) {
      v = x[j * layout.stride];
      if (inverse) v = conj2(v);
      if (bluestein) v = cmul(v, chirp[j]);
    }
    work[j] = v;
  }
  __syncthreads();
  radix2_block(work, m, twiddle);
  if (bluestein) {
    // The inverse transform of the product as conj(forward(conj(.))).
    for (int k = threadIdx.x; k < m; k += blockDim.x) work[k] = conj2(cmul(work[k], kernel[k]));
    __syncthreads();
    radix2_block(work, m, twiddle);
  }
  for (int k = threadIdx.x; k < n; k += blockDim.x) {
    double2 v = bluestein ? cmul(conj2(work[k]), chirp[k]) : work[k];
    if (inverse) v = conj2(v);
    x[k * layout.stride] = v;
  }
}

constexpr int kSharedLineMax = 2048;                // 32 KiB of double2: within the default 48 KiB per block
constexpr size_t kScratchBytes = size_t{64} << 20;  // per launch, for longer lines

void dft_all_lines(double2* data, int lines, const LineLayout& layout, const DeviceDft& dft, bool inverse) {
  const int m = dft.m, threads = std::max(32, std::min(512, m / 2));
  if (m <= kSharedLineMax) {
    dft_lines<<<lines, threads, m * sizeof(double2)>>>(data, layout, 0, dft.n, m, inverse, dft.twiddle.get(), dft.chirp.get(),
                                                       dft.kernel.get(), nullptr);
    MEDPSIM_CUDA_LAUNCHED("dft_lines");
    return;
  }
  const int chunk = static_cast<int>(std::max<size_t>(1, std::min<size_t>(lines, kScratchBytes / (m * sizeof(double2)))));
  DeviceBuffer<double2> scratch(static_cast<size_t>(chunk) * m);
  for (int first = 0; first < lines; first += chunk) {
    dft_lines<<<std::min(chunk, lines - first), threads>>>(data, layout, first, dft.n, m, inverse, dft.twiddle.get(), dft.chirp.get(),
                                                           dft.kernel.get(), scratch.get());
    MEDPSIM_CUDA_LAUNCHED("dft_lines");
  }
  check(cudaDeviceSynchronize(), "dft_lines");  // before the scratch buffer is freed
}

// The CPU's dft2_with on `planes` row-major rows x cols planes: rows, then columns.
void dft2(double2* data, int planes, int rows, int cols, const DeviceDft& row_dft, const DeviceDft& col_dft, bool inverse) {
  const size_t plane = static_cast<size_t>(rows) * cols;
  dft_all_lines(data, planes * rows, {rows, plane, static_cast<size_t>(cols), 1}, row_dft, inverse);
  dft_all_lines(data, planes * cols, {cols, plane, 1, static_cast<size_t>(cols)}, col_dft, inverse);
}

// ----- set-up per downsampled size -----

struct FsimSetup {
  FsimSetup(int device_, int rows_, int cols_)
      : device(device_),
        rows(rows_),
        cols(cols_),
        filters(detail::make_phase_filters(rows_, cols_, 0)),
        log_gabor(flatten(filters.log_gabor)),
        spread(flatten(filters.spread)),
        row_dft(detail::Dft(cols_)),
        col_dft(detail::Dft(rows_)) {
    // Only the noise terms are needed on the host now.
    filters.log_gabor.clear();
    filters.spread.clear();
  }
  static std::vector<double> flatten(const std::vector<std::vector<double>>& planes) {
    std::vector<double> out;
    for (const auto& p : planes) out.insert(out.end(), p.begin(), p.end());
    return out;
  }
  int device, rows, cols;
  detail::PhaseFilters filters;
  DeviceBuffer<double> log_gabor, spread;  // kPhaseScales and kPhaseOrients planes
  DeviceDft row_dft, col_dft;
};

// The filters take milliseconds to make (and upload), so the last few sizes are kept. The cache is never
// freed: device memory must not be released after the CUDA runtime has shut down at exit.
std::shared_ptr<const FsimSetup> fsim_setup(int rows, int cols) {
  constexpr size_t kKept = 4;
  static std::mutex mutex;
  static auto* cache = new std::vector<std::shared_ptr<const FsimSetup>>();  // most recently used last
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  {
    const std::lock_guard<std::mutex> lock(mutex);
    for (auto it = cache->begin(); it != cache->end(); ++it) {
      if ((*it)->device == device && (*it)->rows == rows && (*it)->cols == cols) {
        std::shared_ptr<const FsimSetup> found = *it;
        cache->erase(it);
        cache->push_back(found);
        return found;
      }
    }
  }
  auto made = std::make_shared<const FsimSetup>(device, rows, cols);  // outside the lock: slow
  const std::lock_guard<std::mutex> lock(mutex);
  cache->push_back(made);
  if (cache->size() > kKept) cache->erase(cache->begin());
  return made;
}

// ----- phase congruency -----

__global__ void fsim_downsample(const float* image, int w, int h, int f, int rows, int cols, double scale, double* out) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(rows) * cols) {
    out[i] = detail::fsim_downsample_pixel(image, w, h, f, static_cast<int>(i / cols), static_cast<int>(i % cols), scale);
  }
}

__global__ void fsim_gradient(const double* y, int rows, int cols, double* out) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(rows) * cols) {
    out[i] = detail::fsim_gradient_pixel(y, rows, cols, static_cast<int>(i / cols), static_cast<int>(i % cols));
  }
}

// The image less its first sample (a flat image's transform is then exactly 0), as complex values.
__global__ void to_complex(const double* y, size_t n, double2* out) {
  MEDPSIM_GRID_STRIDE(i, n) out[i] = make_double2(y[i] - y[0], 0.0);
}

// EO of every scale of one orientation before the inverse transform: the spectrum times filter / n.
__global__ void apply_filters(const double2* spectrum, const double* log_gabor, const double* spread, size_t n, double inv_n, double2* eo) {
  MEDPSIM_GRID_STRIDE(i, n) {
    const double2 v = spectrum[i];
    for (int s = 0; s < kPhaseScales; ++s) {
      const double f = log_gabor[s * n + i] * spread[i] * inv_n;
      eo[s * n + i] = make_double2(v.x * f, v.y * f);
    }
  }
}

__global__ void orientation_energy(const double2* eo, size_t n, double* an_all, double* energy, double* e2n) {
  MEDPSIM_GRID_STRIDE(i, n) {
    double re[kPhaseScales], im[kPhaseScales];
    for (int s = 0; s < kPhaseScales; ++s) {
      re[s] = eo[s * n + i].x;
      im[s] = eo[s * n + i].y;
    }
    double an = an_all[i], e2 = 0.0;
    energy[i] = detail::phase_energy(re, im, an, e2);
    an_all[i] = an;
    e2n[i] = e2;
  }
}

struct Thresholds {
  double t[kPhaseOrients];
};

// ResultPC: the thresholded energies added orientation by orientation, over AnAll (0 where AnAll is 0).
__global__ void phase_congruency(const double* energy, const double* an_all, size_t n, Thresholds t, double* pc) {
  MEDPSIM_GRID_STRIDE(i, n) {
    double sum = 0.0;
    for (int o = 0; o < kPhaseOrients; ++o) {
      const double e = energy[o * n + i] - t.t[o];
      sum += e < 0.0 ? 0.0 : e;  // std::max(e, 0.0)
    }
    pc[i] = an_all[i] == 0.0 ? 0.0 : sum / an_all[i];
  }
}

__global__ void fsim_pool(const double* pc1, const double* pc2, const double* g1, const double* g2, size_t n, double* sim, double* pcm,
                          double* local) {
  MEDPSIM_GRID_STRIDE(i, n) {
    const double m = pc1[i] < pc2[i] ? pc2[i] : pc1[i];  // std::max(pc1, pc2)
    const double l = detail::fsim_local(pc1[i], pc2[i], g1[i], g2[i]);
    local[i] = l;
    sim[i] = l * m;
    pcm[i] = m;
  }
}

// One image's responses: per orientation the energy before the threshold and |EO|^2 of the smallest scale
// (kPhaseOrients planes each), and AnAll.
void phase_responses(const double* y, const FsimSetup& setup, double2* spectrum, double2* eo, double* energy, double* e2n, double* an_all) {
  const int rows = setup.rows, cols = setup.cols;
  const size_t n = static_cast<size_t>(rows) * cols;
  to_complex<<<blocks_for(n), kBlock>>>(y, n, spectrum);
  MEDPSIM_CUDA_LAUNCHED("to_complex");
  dft2(spectrum, 1, rows, cols, setup.row_dft, setup.col_dft, false);
  check(cudaMemset(an_all, 0, n * sizeof(double)), "cudaMemset");
  for (int o = 0; o < kPhaseOrients; ++o) {
    apply_filters<<<blocks_for(n), kBlock>>>(spectrum, setup.log_gabor.get(), setup.spread.get() + o * n, n, 1.0 / static_cast<double>(n), eo);
    MEDPSIM_CUDA_LAUNCHED("apply_filters");
    dft2(eo, kPhaseScales, rows, cols, setup.row_dft, setup.col_dft, true);
    orientation_energy<<<blocks_for(n), kBlock>>>(eo, n, an_all, energy + o * n, e2n + o * n);
    MEDPSIM_CUDA_LAUNCHED("orientation_energy");
  }
}

double fsim(const MetricJob& job, const Params&) {
  const int f = detail::fsim_factor(job.w, job.h);
  const int rows = (job.h + f - 1) / f, cols = (job.w + f - 1) / f;
  const size_t n = static_cast<size_t>(rows) * cols;
  const std::shared_ptr<const FsimSetup> setup = fsim_setup(rows, cols);
  const double scale = 255.0 / job.data_range;  // FSIM's constants are for 0..255

  DeviceBuffer<double> y[2] = {DeviceBuffer<double>(n), DeviceBuffer<double>(n)};
  DeviceBuffer<double> g[2] = {DeviceBuffer<double>(n), DeviceBuffer<double>(n)};
  DeviceBuffer<double> an[2] = {DeviceBuffer<double>(n), DeviceBuffer<double>(n)};
  DeviceBuffer<double> pc[2] = {DeviceBuffer<double>(n), DeviceBuffer<double>(n)};
  DeviceBuffer<double> energy(2 * kPhaseOrients * n), e2n(2 * kPhaseOrients * n);
  DeviceBuffer<double2> spectrum(n), eo(kPhaseScales * n);
  const float* images[2] = {job.a, job.b};
  for (int k = 0; k < 2; ++k) {
    fsim_downsample<<<blocks_for(n), kBlock>>>(images[k], job.w, job.h, f, rows, cols, scale, y[k].get());
    MEDPSIM_CUDA_LAUNCHED("fsim_downsample");
    fsim_gradient<<<blocks_for(n), kBlock>>>(y[k].get(), rows, cols, g[k].get());
    MEDPSIM_CUDA_LAUNCHED("fsim_gradient");
    phase_responses(y[k].get(), *setup, spectrum.get(), eo.get(), energy.get() + k * kPhaseOrients * n, e2n.get() + k * kPhaseOrients * n,
                    an[k].get());
  }

  // The noise thresholds, on the host: a median per image and orientation.
  std::vector<double> host_e2n(e2n.size());
  check(cudaMemcpy(host_e2n.data(), e2n.get(), host_e2n.size() * sizeof(double), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  Thresholds t[2];
  detail::parallel_for(2 * kPhaseOrients, 0, [&](int q0, int q1) {
    for (int q = q0; q < q1; ++q) {
      std::vector<double> values(host_e2n.begin() + q * n, host_e2n.begin() + (q + 1) * n);
      t[q / kPhaseOrients].t[q % kPhaseOrients] = detail::phase_noise_threshold(detail::median(values), setup->filters, q % kPhaseOrients);
    }
  });
  for (int k = 0; k < 2; ++k) {
    phase_congruency<<<blocks_for(n), kBlock>>>(energy.get() + k * kPhaseOrients * n, an[k].get(), n, t[k], pc[k].get());
    MEDPSIM_CUDA_LAUNCHED("phase_congruency");
  }

  // The pooling terms in planes that are free again.
  double *sim = y[0].get(), *pcm = y[1].get(), *local = an[0].get();
  fsim_pool<<<blocks_for(n), kBlock>>>(pc[0].get(), pc[1].get(), g[0].get(), g[1].get(), n, sim, pcm, local);
  MEDPSIM_CUDA_LAUNCHED("fsim_pool");
  if (job.map) repeat_to_map(local, cols, rows, f, job.map, job.w, job.h);
  const std::vector<double> sums = device_sums({sim, pcm, local}, n);
  // No phase congruency anywhere (flat images): the code's 0/0; the mean local similarity instead.
  if (sums[1] == 0.0) return sums[2] / static_cast<double>(n);
  return sums[0] / sums[1];
}

}  // namespace

void register_metrics_phase(std::vector<CudaMetric>& m) { m.push_back({"fsim", fsim}); }

}  // namespace cuda
}  // namespace medpsim
