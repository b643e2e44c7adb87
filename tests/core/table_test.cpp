// Number formats the tables and key figures share.
#include <gtest/gtest.h>

#include "core/table.hpp"

namespace dp {
namespace {

TEST(FormatDuration, PicksTheUnitThatFits) {
  EXPECT_EQ(format_duration_ns(12.3), "12.3 ns");
  EXPECT_EQ(format_duration_ns(141878), "142 us");
  EXPECT_EQ(format_duration_ns(2.5e7), "25 ms");
  EXPECT_EQ(format_duration_ns(1.52e9), "1.52 s");
}

}  // namespace
}  // namespace dp
