// What the CPU metrics (src/metrics_*.cpp) and their CUDA implementations (native/cuda/metrics*.cu) share:
// the size rules, the tables and constants (computed by host code), and the per-pixel formulas, compiled
// for both (MEDPSIM_HD), so that both backends compute every pixel with the very same operations.
// Not part of the stable API.
#pragma once

#include <array>
#include <cmath>
#include <complex>
#include <cstddef>
#include <string>
#include <vector>

#include "medpsim/kernels.hpp"  // Params; MEDPSIM_HD through pixel_ops.hpp

namespace medpsim::detail {

// Throws std::invalid_argument("<metric>: images are WxH; needs at least ...") when a width x height image is
// too small for `metric` with these (complete) parameters; mse and psnr take any size.
void require_metric_size(const std::string& metric, int width, int height, const Params& params);

// ----- ssim, ms_ssim -----

constexpr int kSsimRadius = 5;  // sigma 1.5 truncated at 3.5 sigma: int(3.5 * 1.5 + 0.5), an 11 x 11 window
constexpr int kSsimWindow = 2 * kSsimRadius + 1;

// Normalised Gaussian taps for offsets 0..kSsimRadius (the window is symmetric), as scipy computes them.
std::array<double, kSsimRadius + 1> ssim_taps();
// C1 = (K1 L)^2 and C2 = (K2 L)^2, K1 = 0.01, K2 = 0.03.
void ssim_constants(double data_range, double& c1, double& c2);
// The exponent of scale j (0-based) of `scales`: the published weight, renormalised for fewer than 5 scales.
double ms_ssim_exponent(int j, int scales);

// scipy.ndimage mode "reflect" (half-sample symmetric: ... b a | a b c ...), for offsets below n.
MEDPSIM_HD inline int ssim_reflect(int i, int n) { return i < 0 ? -i - 1 : (i >= n ? 2 * n - i - 1 : i); }

// S and the contrast-structure term (2 vxy + C2) / (vx + vy + C2) from the five windowed moments.
MEDPSIM_HD inline void ssim_pixel(double ux, double uy, double uxx, double uxy, double uyy, double c1, double c2, double& s,
                                  double& cs) {
  const double vx = uxx - ux * ux, vy = uyy - uy * uy, vxy = uxy - ux * uy;
  const double a1 = 2.0 * ux * uy + c1, a2 = 2.0 * vxy + c2;
  const double b1 = ux * ux + uy * uy + c1, b2 = vx + vy + c2;
  s = (a1 * a2) / (b1 * b2);
  cs = a2 / b2;
}

// One MS-SSIM scale step at output (x, y): the 2 x 2 block mean, an odd last row or column averaged with
// itself (MATLAB imfilter "symmetric" in msssim.m).
template <typename T>
MEDPSIM_HD inline double ms_ssim_halve_pixel(const T* in, int w, int h, int x, int y) {
  const T* r0 = in + static_cast<size_t>(2 * y) * w;
  const T* r1 = in + static_cast<size_t>(2 * y + 1 < h - 1 ? 2 * y + 1 : h - 1) * w;
  const int x0 = 2 * x, x1 = 2 * x + 1 < w - 1 ? 2 * x + 1 : w - 1;
  return (static_cast<double>(r0[x0]) + r0[x1] + static_cast<double>(r1[x0]) + r1[x1]) * 0.25;
}

// ----- gmsd, haarpsi -----

constexpr double kGmsdT = 170.0;  // GMSD's stability constant, for 0..255

// conv2(in * scale, ones(2) / 4, 'same') at (2x, 2y): the scaled 2 x 2 forward mean, zero beyond the last
// row and column (GMSD.m and haarpsi.m both start so).
MEDPSIM_HD inline double forward_mean2(const float* in, int w, int h, int x, int y, double scale) {
  const float* r0 = in + static_cast<size_t>(2 * y) * w;
  const float* r1 = 2 * y + 1 < h ? r0 + w : nullptr;
  const bool right = 2 * x + 1 < w;
  double sum = static_cast<double>(r0[2 * x]) * scale;
  if (right) sum += static_cast<double>(r0[2 * x + 1]) * scale;
  if (r1) sum += static_cast<double>(r1[2 * x]) * scale;
  if (r1 && right) sum += static_cast<double>(r1[2 * x + 1]) * scale;
  return sum * 0.25;
}

// GMSD's Prewitt gradient magnitude at d[i] of a plane of pitch `pw` with a zero border.
MEDPSIM_HD inline double gmsd_magnitude(const double* d, size_t i, int pw) {
  const double* up = d + i - pw;
  const double* down = d + i + pw;
  const double ix = (up[-1] + d[i - 1] + down[-1] - up[1] - d[i + 1] - down[1]) / 3.0;
  const double iy = (up[-1] + up[0] + up[1] - down[-1] - down[0] - down[1]) / 3.0;
  return sqrt(ix * ix + iy * iy);
}

MEDPSIM_HD inline double gms_pixel(double m1, double m2) { return (2.0 * m1 * m2 + kGmsdT) / (m1 * m1 + m2 * m2 + kGmsdT); }

constexpr double kHaarC = 30.0, kHaarAlpha = 4.2;
constexpr int kHaarScales = 3;

MEDPSIM_HD inline double haar_sigmoid(double x) { return 1.0 / (1.0 + exp(-kHaarAlpha * x)); }
MEDPSIM_HD inline double haar_logit(double x) { return log(x / (1.0 - x)) / kHaarAlpha; }
// The local similarity of two filter responses' magnitudes.
MEDPSIM_HD inline double haar_similarity(double p, double q) { return (2.0 * p * q + kHaarC) / (p * p + q * q + kHaarC); }

// ----- vif -----

constexpr double kVifSigmaNsq = 2.0;
constexpr int kVifScales = 4;

// fspecial('gaussian', taps, taps / 5) as a normalised 1-D window (the 2-D one is its outer product).
std::vector<double> vif_window(int taps);
// The window of scale 1..kVifScales: 17, 9, 5, 3 taps.
inline int vif_taps(int scale) { return (1 << (kVifScales - scale + 1)) + 1; }

// The information terms of one pixel from its windowed moments (means, second moments), with the MATLAB
// where-rules of vifp_mscale.m in MATLAB's order.
MEDPSIM_HD inline void vif_pixel(double mu1, double mu2, double m11, double m22, double m12, double& n_px, double& d_px) {
  double sigma1_sq = m11 - mu1 * mu1;
  double sigma2_sq = m22 - mu2 * mu2;
  const double sigma12 = m12 - mu1 * mu2;
  if (sigma1_sq < 0) sigma1_sq = 0;
  if (sigma2_sq < 0) sigma2_sq = 0;
  double g = sigma12 / (sigma1_sq + 1e-10);
  double sv_sq = sigma2_sq - g * sigma12;
  if (sigma1_sq < 1e-10) {
    g = 0;
    sv_sq = sigma2_sq;
    sigma1_sq = 0;
  }
  if (sigma2_sq < 1e-10) {
    g = 0;
    sv_sq = 0;
  }
  if (g < 0) {
    sv_sq = sigma2_sq;
    g = 0;
  }
  if (sv_sq <= 1e-10) sv_sq = 1e-10;
  n_px = log10(1 + g * g * sigma1_sq / (sv_sq + kVifSigmaNsq));
  d_px = log10(1 + sigma1_sq / kVifSigmaNsq);
}

// ----- fsim -----

constexpr int kPhaseScales = 4, kPhaseOrients = 4;
constexpr double kPhaseEpsilon = 1e-4;
constexpr double kFsimT1 = 0.85, kFsimT2 = 160;

// The downsampling factor F: max(1, round(min(w, h) / 256)).
int fsim_factor(int width, int height);

// The downsampled 0..255 luma at (c, r): conv2(Y, ones(F) / F^2, 'same') (zero padding; 'same' keeps the full
// convolution from index floor(F / 2), so the window of output i is i + floor(F / 2) - (F - 1) .. i + floor(F / 2)),
// then every F-th sample from the first.
MEDPSIM_HD inline double fsim_downsample_pixel(const float* image, int w, int h, int f, int r, int c, double scale) {
  const double weight = 1.0 / (f * f);
  const int back = f - 1 - f / 2;  // how far the window reaches before the sample
  double sum = 0.0;
  for (int y = r * f - back; y < r * f - back + f; ++y) {
    if (y < 0 || y >= h) continue;
    for (int x = c * f - back; x < c * f - back + f; ++x) {
      if (x >= 0 && x < w) sum += image[static_cast<size_t>(y) * w + x] * scale * weight;
    }
  }
  return sum;
}

// sqrt(Ix^2 + Iy^2) at (r, c) with Ix = conv2(Y, [3 0 -3; 10 0 -10; 3 0 -3] / 16, 'same'), Iy with the
// transpose (zero padding).
MEDPSIM_HD inline double fsim_gradient_pixel(const double* y, int rows, int cols, int r, int c) {
  const auto at = [&](int rr, int cc) { return rr < 0 || rr >= rows || cc < 0 || cc >= cols ? 0.0 : y[static_cast<size_t>(rr) * cols + cc]; };
  const double w[3] = {3, 10, 3};
  double ix = 0.0, iy = 0.0;
  for (int k = 0; k < 3; ++k) {
    ix += w[k] * (at(r + 1 - k, c + 1) - at(r + 1 - k, c - 1));
    iy += w[k] * (at(r + 1, c + 1 - k) - at(r - 1, c + 1 - k));
  }
  ix /= 16;
  iy /= 16;
  return sqrt(ix * ix + iy * iy);
}

// One orientation's phasecong2 terms at a pixel from its kPhaseScales responses EO (re, im): adds sum |EO| to
// `an_sum`, sets `e2n` to |EO|^2 of the smallest scale and returns
// sum(E MeanE + O MeanO - |E MeanO - O MeanE|), the energy before the noise threshold.
MEDPSIM_HD inline double phase_energy(const double* re, const double* im, double& an_sum, double& e2n) {
  double se = 0.0, so = 0.0, sa = 0.0;
  for (int s = 0; s < kPhaseScales; ++s) {
    const double a2 = re[s] * re[s] + im[s] * im[s];
    if (s == 0) e2n = a2;
    sa += sqrt(a2);
    se += re[s];
    so += im[s];
  }
  an_sum += sa;
  const double x_energy = sqrt(se * se + so * so) + kPhaseEpsilon;
  const double mean_e = se / x_energy, mean_o = so / x_energy;
  double en = 0.0;
  for (int s = 0; s < kPhaseScales; ++s) en += re[s] * mean_e + im[s] * mean_o - fabs(re[s] * mean_o - im[s] * mean_e);
  return en;
}

// FSIM's local similarity S_PC S_G of a pixel.
MEDPSIM_HD inline double fsim_local(double pc1, double pc2, double g1, double g2) {
  const double pc_sim = (2 * pc1 * pc2 + kFsimT1) / (pc1 * pc1 + pc2 * pc2 + kFsimT1);
  const double g_sim = (2 * g1 * g2 + kFsimT2) / (g1 * g1 + g2 * g2 + kFsimT2);
  return g_sim * pc_sim;
}

// The log-Gabor filters of phasecong2 for one rows x cols size (they depend on nothing else) and their noise
// terms. Filter (s, o) is log_gabor[s][i] * spread[o][i], formed when used (8 planes stored rather than 16).
struct PhaseFilters {
  int rows = 0, cols = 0;
  std::vector<std::vector<double>> log_gabor, spread;  // row-major; log_gabor includes the lowpass filter
  double em_n[kPhaseOrients];  // sum(sum(filter.^2)) of the smallest scale
  // sum(sum(EstSumAn2)) and sum(sum(EstSumAiAj)), from ifftFilt = real(ifft2(filter)) * sqrt(rows * cols).
  // By Parseval, with H = (filter + filter(-k)) / 2 the transform of real(ifft2(filter)):
  // sum(ifftFilt_i .* ifftFilt_j) = sum(H_i .* H_j), so no inverse transforms are needed.
  double sum_an2[kPhaseOrients], sum_aiaj[kPhaseOrients];
};
PhaseFilters make_phase_filters(int rows, int cols, int threads);

// The noise threshold T of orientation o from the median of the smallest scale's |EO|^2.
double phase_noise_threshold(double median_e2n, const PhaseFilters& filters, int o);

// MATLAB/numpy median (the mean of the two middle values for an even count); reorders `values`.
double median(std::vector<double>& values);

// The forward DFT of one length n >= 1, set up once: radix 2 where n is a power of two, else Bluestein,
// X_k = c_k sum_j (x_j c_j) conj(c_{k-j}), c_j = exp(-i pi j^2 / n), the sum a circular convolution of
// length m >= 2n - 1, a power of two. The inverse is conj(forward(conj(x))), unnormalised like detail::fft.
class Dft {
 public:
  using Complex = std::complex<double>;
  explicit Dft(int n);

  int size() const { return n_; }
  int padded() const { return m_; }  // the radix-2 length: n, or m for Bluestein
  bool bluestein() const { return !chirp_.empty(); }
  const std::vector<Complex>& twiddles() const { return twiddle_; }  // fft_twiddles(padded(), false)
  const std::vector<Complex>& chirp() const { return chirp_; }       // c_j, j < n (Bluestein only)
  const std::vector<Complex>& kernel() const { return kernel_; }     // FFT of conj(c), / m (Bluestein only)

  // x: n values, transformed in place; work: scratch (resized as needed).
  void run(Complex* x, bool inverse, std::vector<Complex>& work) const;

 private:
  int n_, m_;
  std::vector<Complex> twiddle_, chirp_, kernel_;
};

}  // namespace medpsim::detail
