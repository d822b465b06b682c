// Coloured noise (pink_noise, blue_noise, colored_noise) entirely on the device, following
// colored_field() in src/noise.cpp step by step: white Gaussian field on the next power-of-two grid,
// 2-D FFT, f^(-beta/2) filter, inverse FFT, crop, exact re-centring and re-scaling, add.
//
// The FFT is the CPU's radix-2 algorithm (src/helpers.cpp fft/fft2), one block per row, then per column:
// the same bit-reversal, the same butterflies stage by stage, the same twiddle table (computed on the
// host with std::cos/std::sin), so the CUDA field equals the CPU one.
#include <algorithm>
#include <cmath>
#include <complex>

#include "common.cuh"

namespace medpsim {
namespace cuda {
namespace {

constexpr uint32_t kColoredStream = 0x0300;  // src/noise.cpp

// std::complex<double> multiplication as GCC does it for finite values: (ac - bd, ad + bc).

// Twiddles exp(-+2 pi i k / n), k < n / 2: the CPU fft()'s own table (src/helpers.cpp), as double2.
std::vector<double2> twiddles(int n, bool inverse) {
  const std::vector<std::complex<double>> host = detail::fft_twiddles(static_cast<size_t>(n), inverse);
  std::vector<double2> t(host.size());
  for (size_t k = 0; k < host.size(); ++k) t[k] = make_double2(host[k].real(), host[k].imag());
  return t;
}

__global__ void white_field(double2* field, size_t n, Rng rng) {
  MEDPSIM_GRID_STRIDE(i, n) field[i] = make_double2(rng.gaussian(i), 0.0);
}

// In-place FFT of `lines` lines of n (a power of two) complex values; line l starts at l * line_step,
// elements `stride` apart. One block per line: the bit-reversed line is gathered into shared memory (or,
// for lines too long for it, a global scratch line), then each stage's n / 2 butterflies run in parallel,
// each computed exactly as the CPU's sequential loop computes it, so the result is the same to the bit.
__global__ void fft_lines(double2* data, int n, size_t line_step, size_t stride, const double2* twiddle, double2* scratch) {
  extern __shared__ double2 shared_line[];
  double2* a = data + blockIdx.x * line_step;
  double2* work = scratch ? scratch + static_cast<size_t>(blockIdx.x) * n : shared_line;
  int bits = 0;
  while ((1 << bits) < n) ++bits;
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const int reversed = bits == 0 ? 0 : static_cast<int>(__brev(static_cast<unsigned>(i)) >> (32 - bits));
    work[i] = a[reversed * stride];
  }
  __syncthreads();
  fft_stages(work, n, twiddle);
  for (int i = threadIdx.x; i < n; i += blockDim.x) a[i * stride] = work[i];
}

constexpr int kSharedLineMax = 2048;  // 32 KiB of double2: fits the default 48 KiB of shared memory

// FFT of every line (rows: stride 1; columns: stride = row length).
void fft_all_lines(const Job& job, double2* data, int lines, int n, size_t line_step, size_t stride, const double2* twiddle) {
  const int threads = std::max(32, std::min(512, n / 2));
  if (n <= kSharedLineMax) {
    fft_lines<<<lines, threads, n * sizeof(double2), job.stream>>>(data, n, line_step, stride, twiddle, nullptr);
  } else {
    const DeviceBuffer<double2> scratch(static_cast<size_t>(lines) * n, job);  // freed in stream order, after the kernel
    fft_lines<<<lines, threads, 0, job.stream>>>(data, n, line_step, stride, twiddle, scratch.get());
  }
  MEDPSIM_CUDA_LAUNCHED("fft_lines");
}

// Multiplies by f^(-beta/2), f the radial frequency in cycles/pixel, DC set to 0.
__global__ void spectral_filter(double2* field, int pw, int ph, double beta) {
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(pw) * ph) {
    const int kx = static_cast<int>(i % pw), ky = static_cast<int>(i / pw);
    const double fy = static_cast<double>(min(ky, ph - ky)) / ph;
    const double fx = static_cast<double>(min(kx, pw - kx)) / pw;
    const double f = sqrt(fx * fx + fy * fy);
    const double gain = f > 0.0 ? pow(f, -0.5 * beta) : 0.0;
    field[i] = make_double2(field[i].x * gain, field[i].y * gain);
  }
}

// Per-row sum and sum of squares of the real part over the w x h crop, left to right (as the CPU).
__global__ void crop_row_moments(const double2* field, int pw, int w, int h, double* sums, double* squares) {
  MEDPSIM_GRID_STRIDE(y, static_cast<size_t>(h)) {
    double s = 0.0, q = 0.0;
    for (int x = 0; x < w; ++x) {
      const double v = field[y * pw + x].x;
      s += v;
      q += v * v;
    }
    sums[y] = s;
    squares[y] = q;
  }
}

// The last reduction (h row sums, in row order) by the CPU's own code, on one device thread: no copy back.
__global__ void normalisation(const double* sums, const double* squares, int w, int h, double sigma, double* mean_scale) {
  detail::colored_field_normalisation(sums, squares, w, h, sigma, mean_scale[0], mean_scale[1]);
}

__global__ void add_field(const float* src, float* dst, const double2* field, int pw, int w, int h, const double* mean_scale) {
  const double mean = mean_scale[0], scale = mean_scale[1];
  MEDPSIM_GRID_STRIDE(i, static_cast<size_t>(w) * h) {
    const size_t x = i % w, y = i / w;
    const float noise = static_cast<float>((field[y * pw + x].x - mean) * scale);
    dst[i] = clamp01(static_cast<double>(src[i]) + noise);
  }
}

void add_colored(const Job& job, double sigma, double beta, uint64_t seed) {
  if (sigma == 0.0) return copy_job(job);
  const int w = job.w, h = job.h, pw = detail::next_pow2(w), ph = detail::next_pow2(h);
  const size_t cells = static_cast<size_t>(pw) * ph;
  DeviceBuffer<double2> field(cells, job);
  const DeviceBuffer<double2> fwd_w(twiddles(pw, false), job), fwd_h(twiddles(ph, false), job), inv_w(twiddles(pw, true), job),
      inv_h(twiddles(ph, true), job);
  DeviceBuffer<double> d_sums(h, job), d_squares(h, job), mean_scale(2, job);
  auto fft2 = [&](const DeviceBuffer<double2>& tw, const DeviceBuffer<double2>& th) {
    fft_all_lines(job, field.get(), ph, pw, pw, 1, tw.get());  // rows
    fft_all_lines(job, field.get(), pw, ph, 1, pw, th.get());  // columns
  };
  for (int c = 0; c < job.channels; ++c) {
    white_field<<<blocks_for(cells), kBlock, 0, job.stream>>>(field.get(), cells, Rng(seed, kColoredStream + c));
    MEDPSIM_CUDA_LAUNCHED("white_field");
    fft2(fwd_w, fwd_h);
    spectral_filter<<<blocks_for(cells), kBlock, 0, job.stream>>>(field.get(), pw, ph, beta);
    MEDPSIM_CUDA_LAUNCHED("spectral_filter");
    fft2(inv_w, inv_h);
    crop_row_moments<<<blocks_for(h), kBlock, 0, job.stream>>>(field.get(), pw, w, h, d_sums.get(), d_squares.get());
    MEDPSIM_CUDA_LAUNCHED("crop_row_moments");
    normalisation<<<1, 1, 0, job.stream>>>(d_sums.get(), d_squares.get(), w, h, sigma, mean_scale.get());
    MEDPSIM_CUDA_LAUNCHED("normalisation");
    add_field<<<blocks_for(job.plane()), kBlock, 0, job.stream>>>(job.in + c * job.plane(), job.out + c * job.plane(), field.get(), pw, w, h,
                                                                  mean_scale.get());
    MEDPSIM_CUDA_LAUNCHED("add_field");
  }
}

void colored_noise(const Job& job, const Params& p, uint64_t seed) { add_colored(job, p.at("sigma"), p.at("beta"), seed); }
void pink_noise(const Job& job, const Params& p, uint64_t seed) { add_colored(job, p.at("sigma"), 1.0, seed); }
void blue_noise(const Job& job, const Params& p, uint64_t seed) { add_colored(job, p.at("sigma"), -1.0, seed); }

}  // namespace

void register_fft(std::vector<CudaKernel>& k) {
  k.push_back({"pink_noise", pink_noise});
  k.push_back({"blue_noise", blue_noise});
  k.push_back({"colored_noise", colored_noise});
}

}  // namespace cuda
}  // namespace medpsim
