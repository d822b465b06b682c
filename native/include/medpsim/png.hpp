// The PNG writer of the canonical store and of every rendition: Up-filtered scanlines compressed by a
// deflate made for them, all on the caller's (worker) thread.
//
// Filtered X-ray rows are mostly small differences with long zero runs where the film is flat (collimated
// borders, 16-bit high bytes), so the deflate keeps two things of LZ77: literals under a Huffman code built
// for each block of 128 KiB, and runs of one repeated byte (distance 1), which is zlib's Z_RLE strategy
// without its general match machinery. A block that would not shrink is stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace medpsim {

// Bytes that resize() leaves unset (an output is written before it is read).
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using ByteBuffer = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

// A complete PNG (signature, IHDR, one IDAT, IEND; no other chunk) of `levels`: rows of width x channels
// samples (1 grey, 3 RGB), interleaved, of 8 or 16 bits (16-bit ones big-endian, as PNG stores them).
ByteBuffer png_encode(const uint8_t* levels, int width, int height, int channels, int bit_depth);

// CRC-32 as PNG defines it (polynomial 0xEDB88320, reflected), continuing from `crc`; Adler-32 as zlib does.
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);
uint32_t adler32(const uint8_t* data, size_t size, uint32_t adler = 1);

}  // namespace medpsim
