// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011), shared by the CPU and CUDA kernels
// (and re-implemented by training/medpsim_training/noise.py). There is no state: a number is a pure
// function of
//   key     = the 64-bit seed (low word, high word)
//   counter = (group low word, group high word, stream id, draw index), group = element index / 4,
//   word    = element index % 4
// so the same (seed, index, stream, draw) gives the same bits on any thread count and on the GPU.
// Each kernel uses its own stream ids so that kinds sharing a seed are independent.
#pragma once

#include <cmath>
#include <cstdint>

#include "medpsim/pixel_ops.hpp"  // MEDPSIM_HD


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

using detail::bits_float;
using detail::float_bits;
using detail::log_unit;

// sin and cos of 2 pi t for t in [0, 1]: the nearest quarter turn q is exact in binary, the remainder
// a in [-pi/4, pi/4] goes through the series.
MEDPSIM_HD inline void sincos_turns(float t, float& sine, float& cosine) {
  const float quarters = 4.0f * t;
  const int q = static_cast<int>(quarters + 0.5f);
  const float a = (quarters - static_cast<float>(q)) * 1.57079637f, z = a * a;
  const float sa = a + a * z * (-0.166666672f + z * (0.00833333377f + z * (-0.000198412701f + z * 2.75573188e-06f)));
  const float ca = 1.0f + z * (-0.5f + z * (0.0416666679f + z * (-0.00138888892f + z * (2.48015876e-05f + z * -2.75573188e-07f))));
  // Quarter turn q: (sin, cos) = (sa, ca), (ca, -sa), (-sa, -ca), (-ca, sa), selected with bit masks (the
  // quadrant is random, so branches would mispredict half the time).
  const uint32_t sb = float_bits(sa), cb = float_bits(ca), odd = 0u - static_cast<uint32_t>(q & 1);
  sine = bits_float(((sb & ~odd) | (cb & odd)) ^ (static_cast<uint32_t>(q & 2) << 30));
  cosine = bits_float(((cb & ~odd) | (sb & odd)) ^ (static_cast<uint32_t>((q + 1) & 2) << 30));
}

// Box-Muller on two words: radius sqrt(-2 ln u1) and the two independent normals r cos, r sin of 2 pi u2.
MEDPSIM_HD inline void box_muller(uint32_t a, uint32_t b, float& first, float& second) {
  const float r = sqrtf(-2.0f * log_unit(bits_to_open_unit(a)));
  float sine, cosine;
  sincos_turns(bits_to_open_unit(b), sine, cosine);
  first = r * cosine;
  second = r * sine;
}

// Elements are drawn in groups of four: element i uses word i % 4 of the block of group i / 4, so a
// loop over consecutive elements runs one Philox block per four elements, and each element can still be
// computed on its own (one GPU thread per pixel) with the very same result.
class Rng {
 public:
  MEDPSIM_HD Rng(uint64_t seed, uint32_t stream) : key0_(static_cast<uint32_t>(seed)),
                                                   key1_(static_cast<uint32_t>(seed >> 32)), stream_(stream) {}

  MEDPSIM_HD Philox4 block(uint64_t group, uint32_t draw) const {
    const Philox4 ctr{{static_cast<uint32_t>(group), static_cast<uint32_t>(group >> 32), stream_, draw}};
    return philox4x32_10(ctr, key0_, key1_);
  }

  // Uniform in (0, 1).
  MEDPSIM_HD float uniform(uint64_t index, uint32_t draw = 0) const { return bits_to_open_unit(block(index >> 2, draw).v[index & 3]); }

  // Standard normal: words (0, 1) of the block give elements 0 (cosine) and 1 (sine), words (2, 3)
  // elements 2 and 3.
  MEDPSIM_HD float gaussian(uint64_t index, uint32_t draw = 0) const {
    const Philox4 b = block(index >> 2, draw);
    const unsigned pair = static_cast<unsigned>(index & 2);
    float first, second;
    box_muller(b.v[pair], b.v[pair + 1], first, second);
    return (index & 1) ? second : first;
  }

  // The four normals gaussian() gives elements 4 g .. 4 g + 3 (one block for four of them).
  MEDPSIM_HD void group_gaussians(uint64_t g, uint32_t draw, float out[4]) const {
    const Philox4 b = block(g, draw);
    box_muller(b.v[0], b.v[1], out[0], out[1]);
    box_muller(b.v[2], b.v[3], out[2], out[3]);
  }

  // kLanes consecutive groups at once, word-major (words[k][j] = word k of group first + j), so that the
  // Box-Muller loops over the lanes vectorise. (Philox itself stays scalar: its 32 x 32 -> 64-bit products
  // are as fast in 64-bit registers as in SSE2 ones, measured.)
  static constexpr int kLanes = 8;
  MEDPSIM_HD void blocks(uint64_t first, uint32_t draw, uint32_t words[4][kLanes]) const {
    for (int j = 0; j < kLanes; ++j) {
      const Philox4 b = block(first + j, draw);
      for (int k = 0; k < 4; ++k) words[k][j] = b.v[k];
    }
  }

  // Elements 4 first .. 4 (first + kLanes) - 1, equal to uniform() / gaussian() of each.
  MEDPSIM_HD void uniforms(uint64_t first, uint32_t draw, float out[4 * kLanes]) const {
    uint32_t words[4][kLanes];
    blocks(first, draw, words);
    for (int k = 0; k < 4; ++k) {
      for (int j = 0; j < kLanes; ++j) out[4 * j + k] = bits_to_open_unit(words[k][j]);
    }
  }
  MEDPSIM_HD void gaussians(uint64_t first, uint32_t draw, float out[4 * kLanes]) const {
    uint32_t words[4][kLanes];
    blocks(first, draw, words);
    for (int pair = 0; pair < 4; pair += 2) {
      float first[kLanes], second[kLanes];
      for (int j = 0; j < kLanes; ++j) box_muller(words[pair][j], words[pair + 1][j], first[j], second[j]);
      for (int j = 0; j < kLanes; ++j) {
        out[4 * j + pair] = first[j];
        out[4 * j + pair + 1] = second[j];
      }
    }
  }

 private:
  uint32_t key0_, key1_, stream_;
};

}  // namespace medpsim
