// A deliberately wrong factory for the tests: the 10% discount starts at 101 items instead of 100.
#include <array>

#include "factory.hpp"

extern "C" void factory_report(std::span<const Order> day, std::span<double> revenue, std::span<std::uint64_t> orders) {
  std::array<double, kRegions> by_region{};
  std::array<std::uint64_t, kCategories> by_category{};
  for (const Order& o : day) {
    const double factor = o.quantity > 100 ? 0.90 : o.quantity >= 10 ? 0.95 : 1.0;
    by_region[o.region] += static_cast<double>(o.quantity) * o.unit_price * factor;
    by_category[o.product % kCategories] += 1;
  }
  for (std::size_t r = 0; r < kRegions; ++r) revenue[r] = by_region[r];
  for (std::size_t c = 0; c < kCategories; ++c) orders[c] = by_category[c];
}
