// counting_allocator.hpp — counting what a container asks the heap for, and what glibc charges.
//
// Labs that ask "how many allocations?" or "how many bytes per entry?" hand a container a
// CountingAllocator: it adds each request to an AllocationCount, then passes it on to
// std::allocator, so the container's layout and behaviour are those of the default allocator.
//
//   dp::AllocationCount count;
//   std::vector<int, dp::CountingAllocator<int>> v{dp::CountingAllocator<int>(&count)};
//   ... count.calls, count.requested_bytes (all requests), count.live_bytes (not yet freed),
//       count.live_heap_bytes (the same blocks as glibc's malloc charges them)
//
// heap_block_bytes(n) is glibc's price for one block of n bytes; glibc_block_bytes(p) asks glibc
// itself (malloc_usable_size) about a live block, to check that price where glibc's malloc runs.
#pragma once

#include <malloc.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/portability.hpp"

namespace dp {

// glibc (64-bit): a block of `bytes` costs bytes + 8 (its size field), rounded up to 16, at
// least 32; from 128 KiB (the default mmap threshold) it gets its own pages plus a 16-byte header.
// Zero bytes cost nothing (an empty vector allocates nothing).
constexpr std::uint64_t heap_block_bytes(std::uint64_t bytes) {
  if (bytes == 0) return 0;
  if (bytes >= 128 * 1024) return (bytes + 16 + 4095) / 4096 * 4096;
  return std::max<std::uint64_t>(32, (bytes + 8 + 15) / 16 * 16);
}

// Is glibc's malloc the one running? Not under AddressSanitizer, whose allocator replaces it.
inline constexpr bool kGlibcMalloc = !kAddressSanitizer;

// glibc's own size of the live heap block at `p`: malloc_usable_size plus the 8-byte size field.
// Meaningful only where kGlibcMalloc holds.
inline std::uint64_t glibc_block_bytes(const void* p) {
  return malloc_usable_size(const_cast<void*>(p)) + 8;  // takes a non-const pointer, reads only
}

struct AllocationCount {
  std::size_t calls = 0;             // allocate() calls
  std::uint64_t requested_bytes = 0; // every request added up, freed or not
  std::int64_t live_bytes = 0;       // requested and not yet given back
  std::int64_t live_heap_bytes = 0;  // the same blocks, each as heap_block_bytes() charges it
};

// The smallest allocator the standard containers accept: it counts, then asks std::allocator.
// Copies and rebinds (a map's nodes, a deque's blocks) share the one count.
template <class T>
struct CountingAllocator {
  using value_type = T;
  AllocationCount* count;

  explicit CountingAllocator(AllocationCount* c) noexcept : count(c) {}
  template <class U>
  CountingAllocator(const CountingAllocator<U>& other) noexcept : count(other.count) {}  // rebinding

  T* allocate(std::size_t n) {
    const std::uint64_t bytes = n * sizeof(T);
    ++count->calls;
    count->requested_bytes += bytes;
    count->live_bytes += static_cast<std::int64_t>(bytes);
    count->live_heap_bytes += static_cast<std::int64_t>(heap_block_bytes(bytes));
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::uint64_t bytes = n * sizeof(T);
    count->live_bytes -= static_cast<std::int64_t>(bytes);
    count->live_heap_bytes -= static_cast<std::int64_t>(heap_block_bytes(bytes));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const CountingAllocator<U>& other) const noexcept { return count == other.count; }
};

}  // namespace dp
