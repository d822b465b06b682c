// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011), shared by the CPU kernels and,
// later, the CUDA ones. There is no state: a number is a pure function of
//   key     = the 64-bit seed (low word, high word)
//   counter = (element index low word, element index high word, stream id, draw index)
// so the same (seed, index, stream, draw) gives the same bits on any thread count and on the GPU.
// Each kernel uses its own stream ids so that kinds sharing a seed are independent.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define MEDPSIM_HD __host__ __device__
#else
#define MEDPSIM_HD
#endif

namespace medpsim {

struct Philox4 {
  uint32_t v[4];
};

MEDPSIM_HD inline uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(product >> 32);
  return static_cast<uint32_t>(product);
}

// Philox4x32 with 10 rounds, the constants of the reference implementation (Random123, cuRAND).
MEDPSIM_HD inline Philox4 philox4x32_10(Philox4 ctr, uint32_t key0, uint32_t key1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo32(M0, ctr.v[0], &hi0);
    const uint32_t lo1 = mulhilo32(M1, ctr.v[2], &hi1);
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ key0, lo1, hi0 ^ ctr.v[3] ^ key1, lo0}};
    key0 += W0;
    key1 += W1;
  }
  return ctr;
}

// Uniform float strictly inside (0, 1) from the top 24 bits: never 0, so log() is safe.
MEDPSIM_HD inline float bits_to_open_unit(uint32_t bits) {
  return (static_cast<float>(bits >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

class Rng {
 public:
  MEDPSIM_HD Rng(uint64_t seed, uint32_t stream) : key0_(static_cast<uint32_t>(seed)),
                                                   key1_(static_cast<uint32_t>(seed >> 32)), stream_(stream) {}

  MEDPSIM_HD Philox4 block(uint64_t index, uint32_t draw) const {
    const Philox4 ctr{{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), stream_, draw}};
    return philox4x32_10(ctr, key0_, key1_);
  }

  // Uniform in (0, 1).
  MEDPSIM_HD float uniform(uint64_t index, uint32_t draw = 0) const { return bits_to_open_unit(block(index, draw).v[0]); }

  // Standard normal, Box-Muller on the first two words of the block (the sine twin is discarded so
  // that every (index, draw) is independent of every other).
  MEDPSIM_HD float gaussian(uint64_t index, uint32_t draw = 0) const {
    const Philox4 b = block(index, draw);
    const double u1 = bits_to_open_unit(b.v[0]);
    const double u2 = bits_to_open_unit(b.v[1]);
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  uint32_t key0_, key1_, stream_;
};

namespace detail {

// Poisson(lambda) from the element's own counters (quantum_noise, CPU and CUDA alike): inversion (one
// uniform, sequential search of the CDF) for lambda < 30; above, the normal approximation
// round(lambda + sqrt(lambda) N), whose error is small next to the noise itself at those counts.
MEDPSIM_HD inline double poisson(const Rng& rng, uint64_t i, double lambda) {
  if (lambda < 30.0) {
    const double u = rng.uniform(i, 0);
    double pk = std::exp(-lambda), cdf = pk;
    int k = 0;
    while (u > cdf && k < 200) {
      ++k;
      pk *= lambda / k;
      cdf += pk;
    }
    return k;
  }
  const double counts = std::round(lambda + std::sqrt(lambda) * rng.gaussian(i, 1));
  return 0.0 < counts ? counts : 0.0;  // std::max(0.0, counts), which device code cannot call
}

}  // namespace detail
}  // namespace medpsim
