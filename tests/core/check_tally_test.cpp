#include "core/check_tally.hpp"

#include <gtest/gtest.h>

namespace dp {
namespace {

TEST(CheckTally, AllPassedReportsTheLargestSize) {
  Result r;
  CheckTally t{"copies agree"};
  t.record(true, "8 B: 0 differ");
  t.record(true, "4 KiB: 0 differ");
  t.report(r, "equal to the reference");
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_TRUE(r.checks[0].passed);
  EXPECT_EQ(r.checks[0].name, "copies agree");
  EXPECT_EQ(r.checks[0].detail, "equal to the reference at all 2 sizes (largest: 4 KiB: 0 differ)");
}

TEST(CheckTally, OneFailureFailsAndKeepsTheFirst) {
  Result r;
  CheckTally t{"copies agree"};
  t.record(true, "8 B: 0 differ");
  t.record(false, "64 B: 3 differ");
  t.record(false, "4 KiB: 9 differ");
  t.report(r, "equal to the reference");
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_FALSE(r.checks[0].passed);
  EXPECT_EQ(r.checks[0].detail, "2 of 3 sizes failed; first: 64 B: 3 differ");
}

TEST(CheckTally, NothingRecordedIsAFailure) {
  Result r;
  CheckTally{"never ran"}.report(r, "fine");
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_FALSE(r.checks[0].passed);
}

}  // namespace
}  // namespace dp
