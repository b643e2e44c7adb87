// Tests of core/checks_by_size.hpp: one check per name, every size listed, the first failure kept.
#include <gtest/gtest.h>

#include <list>
#include <vector>

#include "core/checks_by_size.hpp"

namespace dp {
namespace {

TEST(ChecksBySize, OneCheckPerNameListingEverySize) {
  ChecksBySize checks;
  const std::vector<int> want = {1, 2, 3};
  checks.same("list holds it", 3, std::list<int>{1, 2, 3}, want);
  checks.same("list holds it", 30, std::list<int>{1, 2, 3}, want);
  checks.record("sums agree", 3, true, "");
  EXPECT_FALSE(checks.failed());
  Result r;
  checks.report(r);
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].name, "list holds it");
  EXPECT_TRUE(r.checks[0].passed);
  EXPECT_EQ(r.checks[0].detail, "equal to the reference at n = 3, 30");
  EXPECT_EQ(r.checks[1].name, "sums agree");
}

TEST(ChecksBySize, KeepsTheFirstFailureOfEachName) {
  ChecksBySize checks;
  const std::vector<int> want = {1, 2, 3};
  checks.same("vector holds it", 1, std::vector<int>{1, 2, 3}, want);
  checks.same("vector holds it", 2, std::vector<int>{1, 9, 3}, want);  // the first failure
  checks.same("vector holds it", 4, std::vector<int>{1, 2}, want);     // a later one
  EXPECT_TRUE(checks.failed());
  Result r;
  checks.report(r);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_FALSE(r.checks[0].passed);
  EXPECT_EQ(r.checks[0].detail.rfind("n=2: ", 0), 0u) << r.checks[0].detail;
  EXPECT_NE(r.checks[0].detail.find("got 9 want 2"), std::string::npos) << r.checks[0].detail;
}

}  // namespace
}  // namespace dp
