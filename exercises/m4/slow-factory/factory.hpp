// factory.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

// One order, as the checker hands them to you.
struct Order {
  std::uint32_t product;     // 0 .. 1'000'000; its category is product % kCategories
  std::uint32_t quantity;    // 1 .. 200
  float unit_price;          // 0.5 .. 100
  std::uint32_t region;      // 0 .. kRegions - 1
};

constexpr std::size_t kRegions = 16;
constexpr std::size_t kCategories = 64;

// The day's report. For every order, its price is quantity * unit_price, less a discount by
// quantity: 10% from 100 items, 5% from 10 items, none below. Then:
//   revenue[r]   = the sum of the discounted prices of the orders of region r (kRegions values)
//   orders[c]    = how many orders have a product of category c (kCategories values)
// The checker compares revenue with a relative tolerance of 1e-9 (sum in double, in any order)
// and orders exactly. extern "C" lets the checker find the function by name in your build.
extern "C" void factory_report(std::span<const Order> day, std::span<double> revenue, std::span<std::uint64_t> orders);
