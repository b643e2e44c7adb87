// Tests of core/counting_allocator.hpp: glibc's price for a heap block, and the counts a
// container leaves in an AllocationCount.
#include <gtest/gtest.h>

#include <list>
#include <vector>

#include "core/counting_allocator.hpp"

namespace dp {
namespace {

TEST(HeapBlockBytes, FollowsGlibcsRounding) {
  EXPECT_EQ(heap_block_bytes(0), 0u);        // nothing asked, nothing charged
  EXPECT_EQ(heap_block_bytes(1), 32u);       // the smallest chunk
  EXPECT_EQ(heap_block_bytes(24), 32u);      // 24 + 8 fits 32 exactly
  EXPECT_EQ(heap_block_bytes(25), 48u);      // 25 + 8 rounds up to 48
  EXPECT_EQ(heap_block_bytes(1000), 1008u);  // 1000 + 8 is a multiple of 16
  EXPECT_EQ(heap_block_bytes(128 * 1024), 128 * 1024 + 4096u);  // mmap: header + whole pages
}

TEST(HeapBlockBytes, MatchesGlibcWhereGlibcRuns) {
  if (!kGlibcMalloc) GTEST_SKIP() << "another allocator (a sanitizer's) replaces glibc's here";
  for (std::size_t bytes : {1, 24, 25, 100, 1000, 4000}) {
    std::vector<char> block(bytes);
    // glibc may hand out 16 bytes more than asked, when the rest of a free chunk is too small
    // to keep: our price is exact or 16 short.
    const std::uint64_t glibc = glibc_block_bytes(block.data());
    EXPECT_GE(glibc, heap_block_bytes(bytes)) << bytes << " bytes";
    EXPECT_LE(glibc, heap_block_bytes(bytes) + 16) << bytes << " bytes";
  }
}

TEST(CountingAllocator, CountsCallsRequestsAndWhatIsStillLive) {
  AllocationCount count;
  {
    std::vector<int, CountingAllocator<int>> v{CountingAllocator<int>(&count)};
    v.reserve(10);
    v.reserve(100);  // a second block; the first is given back
    EXPECT_EQ(count.calls, 2u);
    EXPECT_EQ(count.requested_bytes, 110 * sizeof(int));
    EXPECT_EQ(count.live_bytes, static_cast<std::int64_t>(100 * sizeof(int)));
    EXPECT_EQ(count.live_heap_bytes, static_cast<std::int64_t>(heap_block_bytes(100 * sizeof(int))));
  }
  EXPECT_EQ(count.live_bytes, 0);
  EXPECT_EQ(count.live_heap_bytes, 0);
  EXPECT_EQ(count.requested_bytes, 110 * sizeof(int));  // requests stay counted
}

TEST(CountingAllocator, RebindsShareTheCount) {
  AllocationCount count;
  std::list<int, CountingAllocator<int>> l{CountingAllocator<int>(&count)};
  for (int i = 0; i < 5; ++i) l.push_back(i);  // each node comes from a rebound allocator
  EXPECT_EQ(count.calls, 5u);
  EXPECT_GT(count.live_bytes, static_cast<std::int64_t>(5 * sizeof(int)));  // nodes carry two links
}

}  // namespace
}  // namespace dp
