// Tests of core/page_mapping.hpp: alignment, zeroed writable memory, the THP mode's spelling, and
// that "no huge pages" is honoured.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "core/page_mapping.hpp"

namespace dp {
namespace {

TEST(PageMapping, StartsOnAHugePageBoundaryZeroedAndWritable) {
  const std::size_t bytes = 3 * kHugePageBytes + 123;
  const PageMapping m(bytes, /*huge=*/false);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m.data()) % kHugePageBytes, 0u);
  EXPECT_EQ(m.data()[0], std::byte{0});
  EXPECT_EQ(m.data()[bytes - 1], std::byte{0});
  std::memset(m.data(), 0x5a, bytes);  // every byte is ours (ASan would object otherwise)
  EXPECT_EQ(m.data()[bytes - 1], std::byte{0x5a});
}

TEST(PageMapping, BasePagesWhenHugePagesAreAdvisedAgainst) {
  const std::size_t bytes = 2 * kHugePageBytes;
  const PageMapping m(bytes, /*huge=*/false);
  std::memset(m.data(), 1, bytes);
  if (!m.advised()) GTEST_SKIP() << "this kernel refused madvise(MADV_NOHUGEPAGE)";
  EXPECT_EQ(m.huge_bytes(), 0u);
}

TEST(PageMapping, HugePagesNeverExceedTheMapping) {
  const std::size_t bytes = 2 * kHugePageBytes;
  const PageMapping m(bytes, /*huge=*/true);
  std::memset(m.data(), 1, bytes);
  EXPECT_LE(m.huge_bytes(), bytes + kHugePageBytes);  // the alignment slack is part of the mapping
}

TEST(ThpMode, IsOneOfTheKernelsWords) {
  const std::string mode = thp_mode();
  EXPECT_TRUE(mode.empty() || mode == "always" || mode == "madvise" || mode == "never") << mode;
}

}  // namespace
}  // namespace dp
