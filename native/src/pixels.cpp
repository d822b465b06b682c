// Pixel format conversions at the engine's edges (medpsim/pixels.hpp).
#include "medpsim/pixels.hpp"

#include <cmath>
#include <stdexcept>

namespace medpsim {
namespace {

// In double, then rounded to float: the values the server's TypeScript conversion gave before (so stored
// distortions of a spec and seed do not change).
template <typename T>
void deinterleave(const T* samples, size_t pixels, int channels, double scale, float* out) {
  for (int c = 0; c < channels; ++c) {
    float* plane = out + static_cast<size_t>(c) * pixels;
    for (size_t i = 0; i < pixels; ++i) plane[i] = static_cast<float>(samples[i * channels + c] * scale);
  }
}

}  // namespace

void planar_from_interleaved(const uint8_t* samples, size_t pixels, int channels, float* out) {
  deinterleave(samples, pixels, channels, 1.0 / 255.0, out);
}

void planar_from_interleaved(const uint16_t* samples, size_t pixels, int channels, float* out) {
  deinterleave(samples, pixels, channels, 1.0 / 65535.0, out);
}

std::vector<uint8_t> png_levels(const float* planar, int width, int height, int channels, int bit_depth) {
  if (bit_depth != 8 && bit_depth != 16) throw std::invalid_argument("png_levels: bit depth must be 8 or 16");
  const int bytes_per_sample = bit_depth / 8;
  const double max = bit_depth == 16 ? 65535.0 : 255.0;
  const size_t plane = static_cast<size_t>(width) * height;
  std::vector<uint8_t> levels(plane * channels * bytes_per_sample);
  for (int c = 0; c < channels; ++c) {
    const float* source = planar + static_cast<size_t>(c) * plane;
    for (size_t i = 0; i < plane; ++i) {
      const float v = source[i];
      const double clamped = v > 0.0f ? (v < 1.0f ? static_cast<double>(v) : 1.0) : 0.0;  // NaN -> 0
      const auto level = static_cast<uint32_t>(std::round(clamped * max));
      uint8_t* at = &levels[(i * channels + c) * bytes_per_sample];
      if (bytes_per_sample == 2) {
        at[0] = static_cast<uint8_t>(level >> 8);
        at[1] = static_cast<uint8_t>(level);
      } else {
        at[0] = static_cast<uint8_t>(level);
      }
    }
  }
  return levels;
}

std::vector<uint8_t> big_endian_levels(const uint16_t* samples, size_t count) {
  std::vector<uint8_t> big_endian(count * 2);
  for (size_t i = 0; i < count; ++i) {
    big_endian[2 * i] = static_cast<uint8_t>(samples[i] >> 8);
    big_endian[2 * i + 1] = static_cast<uint8_t>(samples[i]);
  }
  return big_endian;
}

namespace {

template <typename T>
std::vector<uint8_t> windowed(const T* samples, size_t n, const DisplayWindow* given) {
  DisplayWindow window{0.0, 1.0};
  if (given) {
    window = *given;
  } else if (n > 0) {
    T lo = samples[0], hi = samples[0];
    for (size_t i = 1; i < n; ++i) {
      lo = samples[i] < lo ? samples[i] : lo;
      hi = samples[i] > hi ? samples[i] : hi;
    }
    window = hi == lo ? DisplayWindow{static_cast<double>(lo), 1.0} : DisplayWindow{(lo + static_cast<double>(hi)) / 2, static_cast<double>(hi) - lo};
  }
  if (!(window.width > 0.0) || !std::isfinite(window.width) || !std::isfinite(window.center)) {
    throw std::invalid_argument("invalid display window: width must be finite and > 0, centre finite");
  }
  // The same double operations as windowValue; Math.round and std::round agree on the values kept (> 0).
  const double lower = window.center - window.width / 2;
  std::vector<uint8_t> table(size_t{1} << (8 * sizeof(T)));
  for (size_t v = 0; v < table.size(); ++v) {
    const double y = std::round((255.0 * (static_cast<double>(v) - lower)) / window.width);
    table[v] = static_cast<uint8_t>(y <= 0.0 ? 0.0 : (y >= 255.0 ? 255.0 : y));
  }
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = table[samples[i]];
  return out;
}

}  // namespace

std::vector<uint8_t> windowed_levels(const uint8_t* samples, size_t n, const DisplayWindow* window) { return windowed(samples, n, window); }
std::vector<uint8_t> windowed_levels(const uint16_t* samples, size_t n, const DisplayWindow* window) { return windowed(samples, n, window); }

}  // namespace medpsim
