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
  DctMatrix() { dct8_matrix(t); }
};

// Forward DCT, quantise, dequantise, inverse DCT of one 8x8 block in place (level-shifted samples).
void round_trip_block(double block[64], const double* q, const DctMatrix& m) {
  double tmp[64], coef[64];
  for (int u = 0; u < 8; ++u) {  // rows: tmp = T * block
    for (int x = 0; x < 8; ++x) {
      double s = 0.0;
      for (int y = 0; y < 8; ++y) s += m.t[u][y] * block[y * 8 + x];
      tmp[u * 8 + x] = s;
    }
  }
  for (int u = 0; u < 8; ++u) {  // coef = tmp * T^T, then quantise
    for (int v = 0; v < 8; ++v) {
      double s = 0.0;
      for (int x = 0; x < 8; ++x) s += tmp[u * 8 + x] * m.t[v][x];
      coef[u * 8 + v] = std::round(s / q[u * 8 + v]) * q[u * 8 + v];
    }
  }
  for (int y = 0; y < 8; ++y) {  // tmp = T^T * coef
    for (int v = 0; v < 8; ++v) {
      double s = 0.0;
      for (int u = 0; u < 8; ++u) s += m.t[u][y] * coef[u * 8 + v];
      tmp[y * 8 + v] = s;
    }
  }
  for (int y = 0; y < 8; ++y) {  // block = tmp * T
    for (int x = 0; x < 8; ++x) {
      double s = 0.0;
      for (int v = 0; v < 8; ++v) s += tmp[y * 8 + v] * m.t[v][x];
      block[y * 8 + x] = s;
    }
  }
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
  std::vector<Buffer<double>> comp(channels, Buffer<double>(in.plane_size()));
  parallel_for(h, threads, [&](int y0, int y1) {
    for (size_t i = static_cast<size_t>(y0) * w; i < static_cast<size_t>(y1) * w; ++i) {
      if (channels == 1) {
        comp[0][i] = level(0, i) - 128.0;
      } else {
        const double r = level(0, i), g = level(1, i), b = level(2, i);
        comp[0][i] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
        comp[1][i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
        comp[2][i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
      }
    }
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
    for (size_t i = static_cast<size_t>(y0) * w; i < static_cast<size_t>(y1) * w; ++i) {
      const double y = comp[0][i] + 128.0;
      if (channels == 1) {
        out.plane(0)[i] = to_level(y);
      } else {
        const double cb = comp[1][i], cr = comp[2][i];
        out.plane(0)[i] = to_level(y + 1.402 * cr);
        out.plane(1)[i] = to_level(y - 0.344136 * cb - 0.714136 * cr);
        out.plane(2)[i] = to_level(y + 1.772 * cb);
      }
    }
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
