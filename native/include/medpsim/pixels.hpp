// The kernels' float format at the edges of the engine: stored samples (8 or 16 bit, interleaved) to
// float planar in [0, 1], and float planar to the 8- or 16-bit levels of a PNG. In the engine so that the
// Node binding runs them on worker threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace medpsim {

// out[c * w * h + i] = samples[i * channels + c] / max (255 or 65535).
void planar_from_interleaved(const uint8_t* samples, size_t pixels, int channels, float* out);
void planar_from_interleaved(const uint16_t* samples, size_t pixels, int channels, float* out);

// The levels round(clamp01(v) * max) of planar floats, interleaved, 16-bit ones big-endian: the samples
// of a PNG row (medpsim/png.hpp png_encode).
std::vector<uint8_t> png_levels(const float* planar, int width, int height, int channels, int bit_depth);
// 16-bit samples in native byte order as big-endian bytes.
std::vector<uint8_t> big_endian_levels(const uint16_t* samples, size_t count);

// The 8-bit rendition of stored levels through a DICOM-style linear window (src/imaging/render.ts windowValue,
// the definition of record): 0 at or below centre - width / 2, 255 at or above centre + width / 2, else
// round(255 (x - (centre - width / 2)) / width), by a table of every level. Without a window (`window` null),
// the image's own min..max: centre (min + max) / 2, width max - min (a constant image: centre min, width 1).
struct DisplayWindow {
  double center, width;
};
std::vector<uint8_t> windowed_levels(const uint8_t* samples, size_t n, const DisplayWindow* window);
std::vector<uint8_t> windowed_levels(const uint16_t* samples, size_t n, const DisplayWindow* window);

}  // namespace medpsim
