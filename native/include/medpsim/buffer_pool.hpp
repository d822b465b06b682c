// Memory for image-sized buffers. A fresh multi-megabyte allocation costs a page fault per 4 KiB on first
// touch, and on virtual machines that can be more than the kernel's own work (a Firecracker VM: 12 ms
// per 4 MiB, against 0.8 ms for a lightness shift of 1024x1024). So large blocks are mapped with
// transparent huge pages, and freed ones are kept, up to a bound, for the next request of the same
// rounded size; small ones go straight to operator new.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace medpsim {
namespace detail {

constexpr size_t kPooledMinBytes = size_t{64} << 10;  // below: plain operator new
constexpr size_t kPoolCapacityBytes = size_t{256} << 20;  // most kept for reuse at a time

// Blocks of at least `bytes` (rounded up to 64 KiB), from the pool where one is free.
void* pool_acquire(size_t bytes);
void pool_release(void* block, size_t bytes);
// Bytes now held for reuse (for the tests).
size_t pool_cached_bytes();

template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) {}
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    return static_cast<T*>(bytes >= kPooledMinBytes ? pool_acquire(bytes) : ::operator new(bytes));
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes >= kPooledMinBytes) pool_release(p, bytes);
    else ::operator delete(p);
  }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const PoolAllocator<U>&) const { return false; }
};

// An image-sized scratch array.
template <typename T>
using Buffer = std::vector<T, PoolAllocator<T>>;

}  // namespace detail
}  // namespace medpsim
