// The phase family: FSIM (Zhang, Zhang, Mou, Zhang, IEEE TIP 2011), greyscale, as the authors'
// FeatureSIM.m with its embedded phasecong2 (Kovesi) and lowpassfilter. Also the arbitrary-size DFT it needs
// (phasecong2 transforms at the image's own size): radix 2 where the size is a power of two, else Bluestein.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include "medpsim/metric_setup.hpp"
#include "medpsim/metrics.hpp"

namespace medpsim::detail {
namespace {

using Complex = std::complex<double>;

// (ac - bd, ad + bc), as helpers.cpp writes products (no NaN recovery branch).
inline Complex mul(Complex a, Complex b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

}  // namespace

// The DFT of one length (metric_setup.hpp; the CUDA backend runs the same steps on the same tables).
Dft::Dft(int n) : n_(n) {
  const bool pow2 = (n & (n - 1)) == 0;
  m_ = pow2 ? n : next_pow2(2 * n - 1);
  twiddle_ = fft_twiddles(m_, false);
  if (pow2) return;
  chirp_.resize(n);
  for (int j = 0; j < n; ++j) {
    // j^2 mod 2n keeps the angle small, so it is as accurate for j = n - 1 as for j = 1.
    const int64_t q = static_cast<int64_t>(j) * j % (2 * static_cast<int64_t>(n));
    const double angle = -M_PI * static_cast<double>(q) / n;
    chirp_[j] = {std::cos(angle), std::sin(angle)};
  }
  kernel_.assign(m_, Complex(0.0, 0.0));
  kernel_[0] = std::conj(chirp_[0]);
  for (int j = 1; j < n; ++j) kernel_[j] = kernel_[m_ - j] = std::conj(chirp_[j]);
  fft_in_place(kernel_.data(), m_, twiddle_.data());
  for (Complex& v : kernel_) v /= static_cast<double>(m_);  // the inverse transform's 1 / m, folded in
}

void Dft::run(Complex* x, bool inverse, std::vector<Complex>& work) const {
  if (inverse)
    for (int j = 0; j < n_; ++j) x[j] = std::conj(x[j]);
  if (chirp_.empty()) {
    fft_in_place(x, m_, twiddle_.data());
  } else {
    work.assign(m_, Complex(0.0, 0.0));
    for (int j = 0; j < n_; ++j) work[j] = mul(x[j], chirp_[j]);
    fft_in_place(work.data(), m_, twiddle_.data());
    // Inverse transform of the product as conj(forward(conj(.))).
    for (int k = 0; k < m_; ++k) work[k] = std::conj(mul(work[k], kernel_[k]));
    fft_in_place(work.data(), m_, twiddle_.data());
    for (int k = 0; k < n_; ++k) x[k] = mul(std::conj(work[k]), chirp_[k]);
  }
  if (inverse)
    for (int j = 0; j < n_; ++j) x[j] = std::conj(x[j]);
}

namespace {

// 2-D DFT of a row-major rows x cols array: rows, then columns; every line is transformed alone.
void dft2_with(const Dft& row_dft, const Dft& col_dft, Complex* a, bool inverse, int threads) {
  const int rows = col_dft.size(), cols = row_dft.size();
  parallel_for(rows, threads, [&](int r0, int r1) {
    std::vector<Complex> work;
    for (int r = r0; r < r1; ++r) row_dft.run(a + static_cast<size_t>(r) * cols, inverse, work);
  });
  parallel_for(cols, threads, [&](int c0, int c1) {
    std::vector<Complex> line(rows), work;
    for (int c = c0; c < c1; ++c) {
      for (int r = 0; r < rows; ++r) line[r] = a[static_cast<size_t>(r) * cols + c];
      col_dft.run(line.data(), inverse, work);
      for (int r = 0; r < rows; ++r) a[static_cast<size_t>(r) * cols + c] = line[r];
    }
  });
}

// ---------------------------------------------------------------------------------------------
// phasecong2 as embedded in FeatureSIM.m.
constexpr int kScales = kPhaseScales, kOrients = kPhaseOrients;
constexpr double kMinWaveLength = 6, kMult = 2, kSigmaOnf = 0.55, kDThetaOnSigma = 1.2, kK = 2.0;

// xrange / yrange of the code (ranges normalised to +/- 0.5, odd and even sizes), ifftshifted: entry i of
// the shifted range is entry (i + floor(n / 2)) mod n of the centred one.
std::vector<double> shifted_range(int n) {
  std::vector<double> range(n);
  for (int i = 0; i < n; ++i) {
    const int j = (i + n / 2) % n;
    range[i] = n % 2 ? (j - (n - 1) / 2.0) / (n - 1) : (j - n / 2.0) / n;
  }
  return range;
}

}  // namespace

PhaseFilters make_phase_filters(int rows, int cols, int threads) {
  PhaseFilters pf;
  pf.rows = rows;
  pf.cols = cols;
  const size_t n = static_cast<size_t>(rows) * cols;
  const std::vector<double> xr = shifted_range(cols), yr = shifted_range(rows);
  const double theta_sigma = M_PI / kOrients / kDThetaOnSigma;
  const double log_sigma = std::log(kSigmaOnf);
  double cos_angle[kOrients], sin_angle[kOrients];
  for (int o = 0; o < kOrients; ++o) {
    const double angle = o * M_PI / kOrients;
    cos_angle[o] = std::cos(angle);
    sin_angle[o] = std::sin(angle);
  }
  pf.log_gabor.assign(kScales, std::vector<double>(n));
  pf.spread.assign(kOrients, std::vector<double>(n));
  parallel_for(rows, threads, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      for (int c = 0; c < cols; ++c) {
        const size_t i = static_cast<size_t>(r) * cols + c;
        const double x = xr[c], y = yr[r];
        const double true_radius = std::sqrt(x * x + y * y);
        const double radius = i == 0 ? 1.0 : true_radius;  // radius(1,1) = 1: no log of 0
        const double theta = std::atan2(-y, x);
        const double sin_theta = std::sin(theta), cos_theta = std::cos(theta);
        const double lp = 1.0 / (1.0 + std::pow(true_radius / 0.45, 2 * 15));  // lowpassfilter(.45, 15)
        for (int s = 0; s < kScales; ++s) {
          const double fo = 1.0 / (kMinWaveLength * std::pow(kMult, s));
          const double l = std::log(radius / fo);
          pf.log_gabor[s][i] = i == 0 ? 0.0 : std::exp(-(l * l) / (2 * log_sigma * log_sigma)) * lp;
        }
        for (int o = 0; o < kOrients; ++o) {
          const double ds = sin_theta * cos_angle[o] - cos_theta * sin_angle[o];
          const double dc = cos_theta * cos_angle[o] + sin_theta * sin_angle[o];
          const double dtheta = std::fabs(std::atan2(ds, dc));
          pf.spread[o][i] = std::exp(-(dtheta * dtheta) / (2 * theta_sigma * theta_sigma));
        }
      }
    }
  });
  for (int o = 0; o < kOrients; ++o) {
    const std::vector<double>& spread = pf.spread[o];
    double em = 0.0, an2 = 0.0, aiaj = 0.0;
    for (int r = 0; r < rows; ++r) {
      const int nr = (rows - r) % rows;
      for (int c = 0; c < cols; ++c) {
        const size_t i = static_cast<size_t>(r) * cols + c, mirror = static_cast<size_t>(nr) * cols + (cols - c) % cols;
        double h[kScales];
        for (int s = 0; s < kScales; ++s) {
          const std::vector<double>& g = pf.log_gabor[s];
          const double f = g[i] * spread[i];
          if (s == 0) em += f * f;
          h[s] = (f + g[mirror] * spread[mirror]) / 2;
          an2 += h[s] * h[s];
        }
        for (int si = 0; si < kScales - 1; ++si)
          for (int sj = si + 1; sj < kScales; ++sj) aiaj += h[si] * h[sj];
      }
    }
    pf.em_n[o] = em;
    pf.sum_an2[o] = an2;
    pf.sum_aiaj[o] = aiaj;
  }
  return pf;
}

double median(std::vector<double>& values) {
  const size_t n = values.size(), mid = n / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  const double upper = values[mid];
  if (n % 2) return upper;
  return (*std::max_element(values.begin(), values.begin() + mid) + upper) / 2;
}

// Noise from the smallest scale: the median of |EO|^2 (chi-squared, 2 DOF) gives its mean.
double phase_noise_threshold(double median_e2n, const PhaseFilters& pf, int o) {
  const double mean_e2n = -median_e2n / std::log(0.5);
  const double noise_power = mean_e2n / pf.em_n[o];
  const double est_noise_energy2 = 2 * noise_power * pf.sum_an2[o] + 4 * noise_power * pf.sum_aiaj[o];
  const double tau = std::sqrt(est_noise_energy2 / 2);  // Rayleigh parameter
  const double est_noise_energy = tau * std::sqrt(M_PI / 2);
  const double est_noise_energy_sigma = std::sqrt((2 - M_PI / 2) * tau * tau);
  return (est_noise_energy + kK * est_noise_energy_sigma) / 1.7;  // 1.7: the code's PC_2 rescaling
}

int fsim_factor(int width, int height) { return std::max(1, static_cast<int>(std::lround(std::min(width, height) / 256.0))); }

namespace {

// ResultPC of phasecong2 for a row-major image of the filters' size. Where AnAll is 0 (all responses exactly
// zero, e.g. a flat image) the code's 0/0 is taken as 0: no phase congruency.
std::vector<double> phase_congruency(const std::vector<double>& image, const PhaseFilters& pf, const Dft& row_dft,
                                     const Dft& col_dft, int threads) {
  const int rows = pf.rows, cols = pf.cols;
  const size_t n = image.size();
  // The filters are 0 at frequency 0, so subtracting a constant changes nothing but rounding; subtracting
  // the first sample makes a flat image's transform exactly 0 (rather than rounding noise that the noise
  // threshold would have to judge).
  std::vector<Complex> image_fft(n);
  for (size_t i = 0; i < n; ++i) image_fft[i] = image[i] - image[0];
  dft2_with(row_dft, col_dft, image_fft.data(), false, threads);

  std::vector<double> energy_all(n, 0.0), an_all(n, 0.0), energy(n), e2n(n);
  std::vector<std::vector<Complex>> eo(kScales, std::vector<Complex>(n));
  const double inv_n = 1.0 / static_cast<double>(n);  // ifft2's normalisation
  for (int o = 0; o < kOrients; ++o) {
    for (int s = 0; s < kScales; ++s) {
      const double *g = pf.log_gabor[s].data(), *spread = pf.spread[o].data();
      Complex* out = eo[s].data();
      parallel_for(rows, threads, [&](int r0, int r1) {
        for (size_t i = static_cast<size_t>(r0) * cols; i < static_cast<size_t>(r1) * cols; ++i)
          out[i] = image_fft[i] * (g[i] * spread[i] * inv_n);
      });
      dft2_with(row_dft, col_dft, out, true, threads);
    }
    parallel_for(rows, threads, [&](int r0, int r1) {
      for (size_t i = static_cast<size_t>(r0) * cols; i < static_cast<size_t>(r1) * cols; ++i) {
        double re[kScales], im[kScales];
        for (int s = 0; s < kScales; ++s) {
          re[s] = eo[s][i].real();
          im[s] = eo[s][i].imag();
        }
        energy[i] = phase_energy(re, im, an_all[i], e2n[i]);
      }
    });
    const double t = phase_noise_threshold(median(e2n), pf, o);
    parallel_for(rows, threads, [&](int r0, int r1) {
      for (size_t i = static_cast<size_t>(r0) * cols; i < static_cast<size_t>(r1) * cols; ++i) {
        energy_all[i] += std::max(energy[i] - t, 0.0);
      }
    });
  }
  std::vector<double> pc(n);
  for (size_t i = 0; i < n; ++i) pc[i] = an_all[i] == 0.0 ? 0.0 : energy_all[i] / an_all[i];
  return pc;
}

// The downsampled 0..255 luma (fsim_downsample_pixel).
std::vector<double> downsample(const Image& image, int f, double scale, int& rows, int& cols, int threads) {
  const int h = image.height(), w = image.width();
  rows = (h + f - 1) / f;
  cols = (w + f - 1) / f;
  std::vector<double> out(static_cast<size_t>(rows) * cols);
  parallel_for(rows, threads, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      for (int c = 0; c < cols; ++c) out[static_cast<size_t>(r) * cols + c] = fsim_downsample_pixel(image.data(), w, h, f, r, c, scale);
    }
  });
  return out;
}

// The gradient magnitude of a downsampled image (fsim_gradient_pixel).
std::vector<double> gradient_magnitude(const std::vector<double>& y, int rows, int cols, int threads) {
  std::vector<double> out(y.size());
  parallel_for(rows, threads, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      for (int c = 0; c < cols; ++c) out[static_cast<size_t>(r) * cols + c] = fsim_gradient_pixel(y.data(), rows, cols, r, c);
    }
  });
  return out;
}

double fsim(const Image& a, const Image& b, const Params& params, double data_range, Image* map, int threads) {
  require_metric_size("fsim", a.width(), a.height(), params);
  const int f = fsim_factor(a.width(), a.height());
  const double scale = 255.0 / data_range;  // FSIM's constants are for 0..255
  int rows = 0, cols = 0;
  const std::vector<double> y1 = downsample(a, f, scale, rows, cols, threads);
  const std::vector<double> y2 = downsample(b, f, scale, rows, cols, threads);

  const PhaseFilters filters = make_phase_filters(rows, cols, threads);
  const Dft row_dft(cols), col_dft(rows);
  const std::vector<double> pc1 = phase_congruency(y1, filters, row_dft, col_dft, threads);
  const std::vector<double> pc2 = phase_congruency(y2, filters, row_dft, col_dft, threads);
  const std::vector<double> g1 = gradient_magnitude(y1, rows, cols, threads);
  const std::vector<double> g2 = gradient_magnitude(y2, rows, cols, threads);

  const size_t n = y1.size();
  std::vector<double> local(n), row_sim(rows), row_pcm(rows), row_local(rows);
  parallel_for(rows, threads, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      double sim = 0.0, pcm_sum = 0.0, local_sum = 0.0;
      for (size_t i = static_cast<size_t>(r) * cols; i < static_cast<size_t>(r + 1) * cols; ++i) {
        const double pcm = std::max(pc1[i], pc2[i]);
        local[i] = fsim_local(pc1[i], pc2[i], g1[i], g2[i]);
        sim += local[i] * pcm;
        pcm_sum += pcm;
        local_sum += local[i];
      }
      row_sim[r] = sim;
      row_pcm[r] = pcm_sum;
      row_local[r] = local_sum;
    }
  });
  double sim = 0.0, pcm_sum = 0.0, local_sum = 0.0;  // summed row by row: the same for any thread count
  for (int r = 0; r < rows; ++r) {
    sim += row_sim[r];
    pcm_sum += row_pcm[r];
    local_sum += row_local[r];
  }

  if (map) {
    Image coarse = Image::allocate(cols, rows, 1);
    for (size_t i = 0; i < n; ++i) coarse.data()[i] = static_cast<float>(local[i]);
    if (f == 1) {
      std::copy(coarse.data(), coarse.data() + n, map->data());
    } else {
      repeat_to(coarse, f, *map);
    }
  }
  // No phase congruency anywhere (flat images): the code's 0/0; the mean local similarity instead.
  if (pcm_sum == 0.0) return local_sum / static_cast<double>(n);
  return sim / pcm_sum;
}

}  // namespace

// The arbitrary-size DFTs, for the tests (declared there): in place, inverse unnormalised like detail::fft.
void dft(std::complex<double>* a, int n, bool inverse) {
  std::vector<Complex> work;
  Dft(n).run(a, inverse, work);
}

void dft2(std::complex<double>* a, int rows, int cols, bool inverse, int threads) {
  dft2_with(Dft(cols), Dft(rows), a, inverse, threads);
}

void register_phase_metrics(MetricFunctions& metrics) { metrics["fsim"] = fsim; }

}  // namespace medpsim::detail
