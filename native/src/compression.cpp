// JPEG round trip in the DCT domain (baseline, 4:4:4, no entropy coding: it is lossless and
// does not change the pixels).
#include <cmath>

#include "medpsim/kernels.hpp"

namespace medpsim {
namespace detail {
namespace {

// ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), natural order.
constexpr int kLumaTable[64] = {16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
                                14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
                                18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
                                49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
constexpr int kChromaTable[64] = {17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
                                  24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
                                  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
                                  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

// IJG (libjpeg jcparam.c) quality scaling.
void scaled_table(const int* base, int quality, double* out) {
  const int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  for (int i = 0; i < 64; ++i) out[i] = std::max(1, std::min(255, (base[i] * scale + 50) / 100));
}

struct DctMatrix {
  double t[8][8];
  double transposed[8][8];  // transposed[x][v] = t[v][x]
  DctMatrix() {
    dct8_matrix(t);
    for (int u = 0; u < 8; ++u) {
      for (int x = 0; x < 8; ++x) transposed[x][u] = t[u][x];
    }
  }
};

// out[r][c] = sum over k in order of a[r][k] * b[k][c], each sum from 0.0: for each row r, its eight sums
// advance side by side in two vectors, every one with the products and the order of its own loop.
MEDPSIM_VECTOR_CLONES void product8(const double* __restrict a, const double* __restrict b, double* __restrict out) {
  Double4 rows[16];  // b's rows, two vectors each
  __builtin_memcpy(rows, b, sizeof rows);
  for (int r = 0; r < 8; ++r) {
    Double4 left = {}, right = {};
    for (int k = 0; k < 8; ++k) {
      left += a[r * 8 + k] * rows[2 * k];
      right += a[r * 8 + k] * rows[2 * k + 1];
    }
    __builtin_memcpy(out + r * 8, &left, sizeof left);
    __builtin_memcpy(out + r * 8 + 4, &right, sizeof right);
  }
}

// Forward DCT, quantise, dequantise, inverse DCT of one 8x8 block in place (level-shifted samples):
// T block T^T, rounded to multiples of q, then T^T coef T, each sum over its index in increasing order.
MEDPSIM_VECTOR_CLONES void round_trip_block(double block[64], const double* q, const DctMatrix& m) {
  const double* t = &m.t[0][0];
  const double* tt = &m.transposed[0][0];
  double tmp[64], coef[64];
  product8(t, block, tmp);  // tmp[u][x] = sum_y t[u][y] block[y][x]
  product8(tmp, tt, coef);  // coef[u][v] = sum_x tmp[u][x] t[v][x]
  for (int i = 0; i < 64; ++i) coef[i] = std::round(coef[i] / q[i]) * q[i];
  product8(tt, coef, tmp);   // tmp[y][v] = sum_u t[u][y] coef[u][v]
  product8(tmp, t, block);   // block[y][x] = sum_v tmp[y][v] t[v][x]
}

void jpeg(const Image& in, Image& out, const Params& p, uint64_t, int threads) {
  const int quality = static_cast<int>(p.at("quality"));
  const int w = in.width(), h = in.height(), channels = in.channels();
  double tables[2][64];
  jpeg_quant_tables(quality, tables[0], tables[1]);
  static const DctMatrix dct;
  // Samples are first rounded to 8-bit levels, as an encoder receives them; components on
  // 0..255 (JFIF YCbCr for colour), level-shifted by 128.
  auto level = [&](int c, size_t i) { return std::round(255.0 * clamp01(in.plane(c)[i])); };
  std::vector<Buffer<double>> comp;  // each plane allocated in place (not copies of a zeroed prototype)
  for (int c = 0; c < channels; ++c) comp.emplace_back(in.plane_size());
  parallel_for(h, threads, [&](int y0, int y1) {
    const size_t begin = static_cast<size_t>(y0) * w, end = static_cast<size_t>(y1) * w;
    if (channels == 1) {
      double* y = comp[0].data();
      index_loop(begin, end, [&](size_t i) { y[i] = level(0, i) - 128.0; });
      return;
    }
    double *y = comp[0].data(), *cb = comp[1].data(), *cr = comp[2].data();
    index_loop(begin, end, [&](size_t i) {
      const double r = level(0, i), g = level(1, i), b = level(2, i);
      y[i] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
      cb[i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
      cr[i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
    });
  });
  const int block_rows = (h + 7) / 8, block_cols = (w + 7) / 8;
  parallel_for(block_rows, threads, [&](int b0, int b1) {
    double block[64];
    for (int by = b0; by < b1; ++by) {
      for (int bx = 0; bx < block_cols; ++bx) {
        for (int c = 0; c < channels; ++c) {
          for (int y = 0; y < 8; ++y) {  // edge blocks padded by replicating the last row/column
            const int sy = std::min(by * 8 + y, h - 1);
            for (int x = 0; x < 8; ++x) block[y * 8 + x] = comp[c][static_cast<size_t>(sy) * w + std::min(bx * 8 + x, w - 1)];
          }
          round_trip_block(block, tables[c == 0 ? 0 : 1], dct);
          for (int y = 0; y < 8 && by * 8 + y < h; ++y) {
            for (int x = 0; x < 8 && bx * 8 + x < w; ++x) comp[c][static_cast<size_t>(by * 8 + y) * w + bx * 8 + x] = block[y * 8 + x];
          }
        }
      }
    }
  });
  auto to_level = [](double v) { return static_cast<float>(std::max(0.0, std::min(255.0, std::round(v))) / 255.0); };
  parallel_for(h, threads, [&](int y0, int y1) {
    const size_t begin = static_cast<size_t>(y0) * w, end = static_cast<size_t>(y1) * w;
    const double* luma = comp[0].data();
    if (channels == 1) {
      float* grey = out.plane(0);
      index_loop(begin, end, [&](size_t i) { grey[i] = to_level(luma[i] + 128.0); });
      return;
    }
    const double *cb = comp[1].data(), *cr = comp[2].data();
    float *r = out.plane(0), *g = out.plane(1), *b = out.plane(2);
    index_loop(begin, end, [&](size_t i) {
      const double y = luma[i] + 128.0;
      r[i] = to_level(y + 1.402 * cr[i]);
      g[i] = to_level(y - 0.344136 * cb[i] - 0.714136 * cr[i]);
      b[i] = to_level(y + 1.772 * cb[i]);
    });
  });
}

}  // namespace

void jpeg_quant_tables(int quality, double luma[64], double chroma[64]) {
  scaled_table(kLumaTable, quality, luma);
  scaled_table(kChromaTable, quality, chroma);
}

// Orthonormal 8-point DCT-II matrix: T[u][x] = C(u)/2 cos((2x + 1) u pi / 16).
void dct8_matrix(double t[8][8]) {
  for (int u = 0; u < 8; ++u) {
    for (int x = 0; x < 8; ++x) t[u][x] = (u == 0 ? std::sqrt(0.125) : 0.5) * std::cos((2 * x + 1) * u * M_PI / 16.0);
  }
}

void register_compression(KernelFunctions& k) {
  k["jpeg"] = jpeg;
}

}  // namespace detail
}  // namespace medpsim
