// Distortion kernels and their registry. Kind and parameter names are exactly those of
// src/distortions/catalog.ts. Every kernel reads a planar float32 image in [0, 1] (1 or 3 channels),
// writes an image of the same shape clamped to [0, 1], and is a pure function of
// (image, parameters, seed): the thread count never changes a single bit of the result.
#pragma once

#include <algorithm>
#include <complex>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "medpsim/detector.hpp"
#include "medpsim/image.hpp"
#include "medpsim/pixel_ops.hpp"

// Hot loops compiled twice, for AVX2 and for the baseline x86-64, the right one picked when the library loads
// (GCC's function multiversioning). AVX2 without FMA: the same operations in the same order, so both give
// the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#define MEDPSIM_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MEDPSIM_VECTOR_CLONES
#endif

namespace medpsim {

using Params = std::map<std::string, double>;

struct ParamSpec {
  ParamSpec(std::string name_, double min_, double max_, double default_, bool integer_ = false,
            std::vector<double> allowed_ = {})
      : name(std::move(name_)), min(min_), max(max_), default_value(default_), integer(integer_), allowed(std::move(allowed_)) {}

  std::string name;
  double min;
  double max;
  double default_value;  // the catalog's default (the engine itself requires every parameter)
  bool integer;
  std::vector<double> allowed;  // when only some values in [min, max] are allowed
};

using KernelFn = void (*)(const Image& in, Image& out, const Params& params, uint64_t seed, int threads);

struct KernelInfo {
  std::string kind;
  std::string family;
  std::vector<ParamSpec> params;
  bool random;       // uses the seed
  bool needs_color;  // needs a 3-channel image (the caller promotes grey to RGB)
  KernelFn run;      // unchecked; use apply()

  // Checks the parameters (every one required, none unknown, in range, integer where required) and
  // the image, then runs the kernel. `out` is allocated when empty, else must have the shape of `in`
  // (it may not alias `in`). threads < 1 means one per hardware thread. Throws std::invalid_argument.
  void apply(const Image& in, Image& out, const Params& params, uint64_t seed, int threads) const;

  // The checks of apply() without running the kernel (and allocating `out` when empty), so that
  // other backends (CUDA) validate exactly as the CPU path does. Throws std::invalid_argument.
  void check(const Image& in, Image& out, const Params& params) const;
};

// nullptr when the kind is unknown.
const KernelInfo* find_kernel(const std::string& kind);
// Every kernel, in catalog order.
const std::vector<KernelInfo>& all_kernels();
// find_kernel + KernelInfo::apply; throws std::invalid_argument for an unknown kind.
void apply(const std::string& kind, const Image& in, Image& out, const Params& params, uint64_t seed, int threads);

// ---------------------------------------------------------------------------------------------
// Helpers shared by the kernels (and used by the tests). Not part of the stable API.
namespace detail {

// The parameter check the kernels and the metrics share: unknown names, ranges, integers, allowed values.
// `required`: every parameter must be given (kernels); otherwise missing ones take their defaults.
// Returns the parameters with defaults filled in. Throws std::invalid_argument("<owner>: ...").
Params checked_params(const std::string& owner, const std::vector<ParamSpec>& specs, const Params& given, bool required);

// The engine's persistent worker threads (src/thread_pool.cpp): runs fn(context, c) for c in [0, chunks), chunk
// 0 on the calling thread, and returns when all are done (rethrowing the first exception a chunk threw).
using ChunkFn = void (*)(void* context, int chunk);
void run_chunks(int chunks, ChunkFn fn, void* context);
int hardware_threads();

// Runs body(begin, end) over [0, n) split into `threads` contiguous chunks (threads < 1: one per core) on
// the worker pool. Kernels only ever write disjoint outputs from a chunk, so the split cannot change the
// result.
template <typename Body>
void parallel_for(int n, int threads, Body body) {
  if (threads < 1) threads = hardware_threads();
  threads = std::min(threads, n);
  if (threads <= 1) {
    if (n > 0) body(0, n);
    return;
  }
  struct Split {
    Body* body;
    int n, threads;
  } split{&body, n, threads};
  run_chunks(threads, [](void* context, int t) {
    const Split& s = *static_cast<const Split*>(context);
    (*s.body)(static_cast<int>(static_cast<int64_t>(s.n) * t / s.threads), static_cast<int>(static_cast<int64_t>(s.n) * (t + 1) / s.threads));
  }, &split);
}

// Vector types for the hot loops written lane by lane (IEEE operations per lane, so the same bits as scalar code;
// without AVX2 the compiler splits them into SSE2 halves).
using Double4 = double __attribute__((vector_size(32)));
using Float4 = float __attribute__((vector_size(16)));
using Float8 = float __attribute__((vector_size(32)));

// clamp01 of four lanes, then narrowed to float: the same selects as the scalar one, so the same bits (left to
// itself, GCC narrows first and blends floats by narrowed masks, about twice the instructions).
__attribute__((always_inline)) inline Float4 clamp01(Double4 v) {
  const Double4 zero = {}, one = zero + 1.0;
  v = v < zero ? zero : v;
  v = v > one ? one : v;
  return __builtin_convertvector(v, Float4);
}
__attribute__((always_inline)) inline Double4 load_double4(const float* p) {
  Float4 x;
  __builtin_memcpy(&x, p, sizeof x);
  return __builtin_convertvector(x, Double4);
}
__attribute__((always_inline)) inline void store4(float* p, Float4 x) { __builtin_memcpy(p, &x, sizeof x); }
// clamp01(v) stored at p: one sample for a double, four for a Double4 (for code written once for both).
__attribute__((always_inline)) inline void store_clamped(float* p, double v) { *p = clamp01(v); }
__attribute__((always_inline)) inline void store_clamped(float* p, Double4 v) { store4(p, clamp01(v)); }

// f() compiled twice, for AVX2 (with everything it calls inlined) and for the baseline, the AVX2 one taken
// when the CPU has it: MEDPSIM_VECTOR_CLONES for lambdas (target_clones does not take templates). The same
// operations either way, so the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
template <typename F>
__attribute__((target("avx2"), flatten)) void call_avx2(F& f) {
  f();
}
#endif
template <typename F>
void vector_call(F&& f) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return call_avx2(f);
#endif
  f();
}

// dst[i] = clamp01(f(src[i])) for i in [0, n), four samples at a time in double lanes, through vector_call. f is
// called with a double (the tail) and with a Double4 (IEEE operations lane by lane): the same bits either way.
template <typename F>
void clamped_map(const float* __restrict src, float* __restrict dst, size_t n, F f) {
  vector_call([&] {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) store_clamped(dst + i, f(load_double4(src + i)));
    for (; i < n; ++i) store_clamped(dst + i, f(static_cast<double>(src[i])));
  });
}

// f(i) for i in [begin, end) as a plain loop, through vector_call.
template <typename F>
void index_loop(size_t begin, size_t end, F&& f) {
  vector_call([&] {
    for (size_t i = begin; i < end; ++i) f(i);
  });
}

// consume(i, draw of element i) for i in [begin, end): drawN(rng, first group, out) gives the draws of the
// 4 Rng::kLanes elements from 4 first on (Rng::uniforms / gaussians), used for every whole run from a group
// boundary, and draw1(rng, i) the same value for one element, used for the rest.
template <typename DrawN, typename Draw1, typename Consume>
void draw_span(const Rng& rng, size_t begin, size_t end, DrawN drawN, Draw1 draw1, Consume consume) {
  constexpr size_t kRun = 4 * Rng::kLanes;
  size_t i = begin;
  for (; i < end && (i & 3) != 0; ++i) consume(i, draw1(rng, i));  // up to the first whole group
  for (float noise[kRun]; i + kRun <= end; i += kRun) {
    drawN(rng, i >> 2, noise);
    for (size_t k = 0; k < kRun; ++k) consume(i + k, noise[k]);
  }
  for (; i < end; ++i) consume(i, draw1(rng, i));
}

// out[x] = 0 + w_0 s_0[x] + w_1 s_1[x] + ... for x < n (clamped to [0, 1] when `clamp`), each product and sum
// in float and the taps in their order (the CUDA kernels'), 32 outputs at a time kept in registers while
// every tap is added.
void weighted_taps_row(const float* const* sources, const float* weights, size_t taps, float* out, int n, bool clamp);

// One plane through the row taps fx, then the column taps fy (each output the sum of its taps in order, float
// products, reflect-101 borders; the CUDA kernels add in the same order), into dst (which may be src); the
// column pass clamped to [0, 1] when `clamp`.
void convolve_plane(const float* src, float* dst, int w, int h, const std::vector<float>& fx, const std::vector<float>& fy, bool clamp,
                    int threads);

// Normalised Gaussian taps for offsets -radius..radius, radius = ceil(3 sigma).
std::vector<double> gaussian_kernel(double sigma);

// Separable convolution with a symmetric 1-D kernel (odd length), borders reflect-101.
void convolve_separable(const Image& in, Image& out, const std::vector<double>& kx, const std::vector<double>& ky,
                        int threads);

// Approximate Gaussian blur of standard deviation sigma by three box passes per axis (running
// sums, cost independent of sigma), borders reflect-101.
void box_blur3(const Image& in, Image& out, double sigma, int threads);

// In-place radix-2 FFT (n a power of two); inverse is unnormalised.
void fft(std::vector<std::complex<double>>& a, bool inverse);
// The same on n values at `a` with the twiddle table of fft_twiddles(n, inverse), made once for many lines.
void fft_in_place(std::complex<double>* a, size_t n, const std::complex<double>* twiddle);
// 2-D FFT of a row-major rows x cols array (both powers of two).
void fft2(std::complex<double>* a, int rows, int cols, bool inverse, int threads);

// Homography (row-major 3x3, h[8] = 1) mapping each from[i] to to[i], solved as an 8x8 system.
void solve_homography(const double from[4][2], const double to[4][2], double h[9]);
// The inverse map the homography kernel uses for an image of this size: output pixel -> input.
void homography_matrix(int width, int height, double jitter, uint64_t seed, double h[9]);

void copy_image(const Image& in, Image& out);

// ----- Host-side set-up shared by the CPU kernels and the CUDA backend (native/cuda/), so that both
// start from the very same tables, lattices and constants. -----

// Box radii of the n-pass box approximation of a Gaussian of standard deviation sigma (Kovesi 2010):
// n boxes of odd widths wl or wl + 2 whose summed variances equal sigma^2 as closely as integers allow.
std::vector<int> box_radii(double sigma, int passes);

// Smallest power of two >= n (n >= 1).
int next_pow2(int n);
// The twiddles exp(-+2 pi i k / n), k < n / 2, that fft() uses (each computed directly).
std::vector<std::complex<double>> fft_twiddles(size_t n, bool inverse);
// The checkerboard kind's period x period tile for this seed: zero mean, peak |value| 1.
std::vector<double> checkerboard_tile(int period, uint64_t seed);

// The jpeg kind's quantisation tables (ITU-T T.81 K.1 luminance, K.2 chrominance, natural order) at
// this IJG quality, and the orthonormal 8-point DCT-II matrix T[u][x] = C(u)/2 cos((2x + 1) u pi / 16).
void jpeg_quant_tables(int quality, double luma[64], double chroma[64]);
void dct8_matrix(double t[8][8]);

// The warp kinds' grid x grid lattice of random displacements (row-major), for a w x h image.
void warp_lattice(int w, int h, int grid, double magnitude, uint64_t seed, std::vector<double>& fx, std::vector<double>& fy);

// The bilateral kind's spatial exponents -(dx^2 + dy^2) / (2 ss^2), (2r + 1)^2 of them, dy-major.
std::vector<float> bilateral_spatial(int r, double sigma_spatial);

// The motion_blur kind's line kernel: the mean of n = max(2, ceil(length) + 1) bilinear samples spaced
// evenly along the segment of `length` px at `angle` deg centred on the pixel, as taps (dx, dy, weight). The
// bilinear taps of a sample sit at the same integer offsets from every pixel, so the sum over samples is a
// fixed small kernel; taps of equal offset are merged, rows (dy) ascending, then dx. Borders reflect-101.
struct MotionTap {
  int dx, dy;
  float weight;
};
std::vector<MotionTap> motion_taps(double length, double angle_degrees);

// The dead_pixels kind's dead lines: dead_row (h entries) and dead_col (w entries) set to 1 where dead.
void dead_lines(int w, int h, int lines, uint64_t seed, std::vector<char>& dead_row, std::vector<char>& dead_col);

// The detector-domain kinds (medpsim/detector.hpp): the response from the `response`, `polarity` and
// `attenuation_range` parameters; a dose change to `fraction` with the `photons`, `electronic_noise` and
// `mtf_sigma` parameters (the MTF as unit-energy Gaussian taps, so that the shaped noise keeps its variance:
// sum of squares 1 in 2-D; {1} for sigma 0); the grid's per-line signal factors (1 - amplitude g) /
// (1 - amplitude / 2), g = (1 + cos(2 pi t / period)) / 2, the mean signal kept; exposure's auto-ranging
// factor exposure^-compensation.
DetectorResponse detector_response(const Params& p);
struct DoseChange {
  double fraction, photons, electronic;
  std::vector<float> taps;
};
DoseChange dose_change(const Params& p, double fraction);
std::vector<float> mtf_taps(double sigma);
std::vector<float> grid_profile(int n, double amplitude, double period);
// The grid profile's factors as display-value maps under the response (detector.hpp LineMap), in double.
std::vector<LineMap> grid_line_maps(const DetectorResponse& r, int n, double amplitude, double period);
float exposure_ranging(double exposure, double compensation);

// Per-family registration of kernel functions by kind name; parameters, ranges and flags come from the
// catalog (catalog.generated.hpp), so they are described once, in src/distortions/catalog.ts.
using KernelFunctions = std::map<std::string, KernelFn>;
void register_photometric(KernelFunctions& kernels);
void register_noise(KernelFunctions& kernels);
void register_blur(KernelFunctions& kernels);
void register_spatial(KernelFunctions& kernels);
void register_compression(KernelFunctions& kernels);
void register_xray(KernelFunctions& kernels);

}  // namespace detail
}  // namespace medpsim
