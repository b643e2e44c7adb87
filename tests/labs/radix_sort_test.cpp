// The sorting lab's LSD radix sort (src/labs/m2/radix_sort.hpp) on the cases a random check
// rarely meets: empty and single inputs, negative floats and -0.0, 64-bit keys that differ only in
// the top digit, and stability of equal keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "labs/m2/radix_sort.hpp"

namespace {

template <int Bits, class T>
std::vector<T> radix_sorted(std::vector<T> v) {
  std::vector<T> buffer(v.size());
  dp::radix::lsd_radix_sort<Bits>(std::span(v), std::span(buffer));
  return v;
}

TEST(RadixSort, EmptyAndSingle) {
  EXPECT_TRUE(radix_sorted<8>(std::vector<std::uint32_t>{}).empty());
  EXPECT_EQ(radix_sorted<16>(std::vector<std::uint32_t>{7}), std::vector<std::uint32_t>{7});
}

TEST(RadixSort, FloatsWithSignFlip) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> v = {3.5f, -0.0f, -2.0f, inf, 0.0f, -inf, -1e-30f, 1e-30f, -2.5f, 1.0f};
  std::vector<float> want = v;
  std::stable_sort(want.begin(), want.end());
  const auto got8 = radix_sorted<8>(v), got16 = radix_sorted<16>(v);
  EXPECT_EQ(got8, want);  // -0.0 == 0.0 for ==, and they are adjacent in both
  EXPECT_EQ(got16, want);
  EXPECT_TRUE(std::signbit(got8[4]) && !std::signbit(got8[5])) << "-0.0 sorts just below +0.0";
}

TEST(RadixSort, U64TopDigitOnly) {
  const std::vector<std::uint64_t> v = {3ull << 60, 1ull << 60, 2ull << 60, 0, 1};
  EXPECT_EQ(radix_sorted<8>(v), (std::vector<std::uint64_t>{0, 1, 1ull << 60, 2ull << 60, 3ull << 60}));
  EXPECT_EQ(radix_sorted<16>(v), (std::vector<std::uint64_t>{0, 1, 1ull << 60, 2ull << 60, 3ull << 60}));
}

TEST(RadixSort, StableOnEqualKeys) {
  struct Record {
    std::uint32_t key, value;
    bool operator==(const Record&) const = default;
  };
  std::vector<Record> v;
  for (std::uint32_t i = 0; i < 1000; ++i) v.push_back({(i * 7919u) % 13u + (i % 2 ? 70000u : 0u), i});
  std::vector<Record> want = v;
  std::stable_sort(want.begin(), want.end(), [](Record a, Record b) { return a.key < b.key; });
  for (const bool sixteen : {false, true}) {
    std::vector<Record> got = v, buffer(v.size());
    if (sixteen) dp::radix::lsd_radix_sort<16>(std::span(got), std::span(buffer), [](Record r) { return r.key; });
    else dp::radix::lsd_radix_sort<8>(std::span(got), std::span(buffer), [](Record r) { return r.key; });
    EXPECT_TRUE(got == want) << (sixteen ? "16-bit digits" : "8-bit digits");
  }
}

}  // namespace
