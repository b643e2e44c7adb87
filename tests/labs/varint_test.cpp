// The compression lab's delta + zigzag + varint codec (src/labs/m3/varint.hpp): round trips on
// the values a random column rarely holds (0, 2^63, the int64 extremes, negative differences),
// the byte counts the format promises, and clear errors on damaged input.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "labs/m3/varint.hpp"

namespace {

template <class T>
std::vector<T> round_trip(const std::vector<T>& column) {
  const auto bytes = dp::varint::encode(std::span<const T>(column));
  std::vector<T> back(column.size());
  dp::varint::decode(std::span<const std::uint8_t>(bytes), std::span<T>(back));
  std::uint64_t want = 0;
  for (const T v : column) want += static_cast<std::uint64_t>(v);
  EXPECT_EQ(dp::varint::decode_sum<T>(bytes, column.size()), want);
  return back;
}

TEST(Varint, ZigzagMapsSmallMagnitudesToSmallNumbers) {
  EXPECT_EQ(dp::varint::zigzag(0), 0u);
  EXPECT_EQ(dp::varint::zigzag(static_cast<std::uint64_t>(-1)), 1u);
  EXPECT_EQ(dp::varint::zigzag(1), 2u);
  EXPECT_EQ(dp::varint::zigzag(static_cast<std::uint64_t>(-2)), 3u);
  EXPECT_EQ(dp::varint::zigzag(std::uint64_t{1} << 63), ~std::uint64_t{0});  // INT64_MIN
  for (const std::int64_t d : {0L, 1L, -1L, 63L, -64L, 1000L, std::numeric_limits<std::int64_t>::min(),
                               std::numeric_limits<std::int64_t>::max()})
    EXPECT_EQ(dp::varint::unzigzag(dp::varint::zigzag(static_cast<std::uint64_t>(d))), static_cast<std::uint64_t>(d)) << d;
}

TEST(Varint, EdgeValuesRoundTrip) {
  const std::vector<std::uint64_t> u = {0, std::uint64_t{1} << 63, 0, ~std::uint64_t{0}, 1, std::uint64_t{1} << 63, 5};
  EXPECT_EQ(round_trip(u), u);
  const std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
  const std::vector<std::int64_t> s = {0, lo, hi, lo, -1, 0, hi, -5, -1000000, 3};  // differences overflow int64
  EXPECT_EQ(round_trip(s), s);
  const std::vector<std::uint8_t> b = {0, 255, 0, 1, 254, 255, 7};
  EXPECT_EQ(round_trip(b), b);
  EXPECT_TRUE(round_trip(std::vector<std::int64_t>{}).empty());
}

TEST(Varint, NegativeAndRandomDifferencesRoundTrip) {
  std::mt19937_64 rng(17);
  std::vector<std::int64_t> down(1000), any(1000);
  std::int64_t v = 1'000'000;
  for (auto& x : down) x = (v -= static_cast<std::int64_t>(rng() % 300));  // every difference negative
  for (auto& x : any) x = static_cast<std::int64_t>(rng() >> (rng() % 64));  // every magnitude
  EXPECT_EQ(round_trip(down), down);
  EXPECT_EQ(round_trip(any), any);
}

TEST(Varint, ByteCountsFollowTheDifferences) {
  // Differences of +-63 fit in one byte after zigzag (126 < 128), 64 needs two; 2^63 needs ten.
  EXPECT_EQ(dp::varint::encode(std::span<const std::int64_t>(std::vector<std::int64_t>{63, 0, 63})).size(), 3u);
  EXPECT_EQ(dp::varint::encode(std::span<const std::int64_t>(std::vector<std::int64_t>{64})).size(), 2u);
  EXPECT_EQ(dp::varint::encode(std::span<const std::uint64_t>(std::vector<std::uint64_t>{std::uint64_t{1} << 63})).size(), 10u);
}

TEST(Varint, DamagedInputIsAClearError) {
  const std::vector<std::int64_t> column = {1, 1000, 100000};
  auto bytes = dp::varint::encode(std::span<const std::int64_t>(column));
  std::vector<std::int64_t> back(3);
  auto cut = bytes;
  cut.pop_back();
  EXPECT_THROW(dp::varint::decode(std::span<const std::uint8_t>(cut), std::span<std::int64_t>(back)), std::runtime_error);
  auto extra = bytes;
  extra.push_back(0);
  EXPECT_THROW(dp::varint::decode(std::span<const std::uint8_t>(extra), std::span<std::int64_t>(back)), std::runtime_error);
  const std::vector<std::uint8_t> endless(11, 0x80);
  std::vector<std::int64_t> one(1);
  EXPECT_THROW(dp::varint::decode(std::span<const std::uint8_t>(endless), std::span<std::int64_t>(one)), std::runtime_error);
}

}  // namespace
