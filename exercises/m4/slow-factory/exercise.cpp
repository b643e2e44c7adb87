// The slow-factory exercise: its cases and its registration (README.md has the task).
#include <cmath>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "core/check.hpp"
#include "exercise/exercise.hpp"
#include "factory.hpp"

namespace {

class FactoryCase final : public dp::ex::Case {
 public:
  FactoryCase(std::int64_t n, std::uint64_t seed) : day_(static_cast<std::size_t>(n)) {
    std::mt19937_64 rng(seed);
    const auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * double(rng() >> 11) * 0x1.0p-53; };
    for (Order& o : day_)
      o = {.product = static_cast<std::uint32_t>(rng() % 1'000'001),
           .quantity = static_cast<std::uint32_t>(1 + rng() % 200),
           .unit_price = static_cast<float>(uniform(0.5, 100)),
           .region = static_cast<std::uint32_t>(rng() % kRegions)};
  }

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(factory_report)>("factory_report");
    return [this, fn] {
      revenue_.fill(std::numeric_limits<double>::quiet_NaN());  // a total never written shows
      orders_.fill(~0ull);
      fn(day_, revenue_, orders_);
    };
  }

  dp::ex::Verdict check() const override {
    // The reference: the rule as factory.hpp states it, summed in long double.
    std::array<long double, kRegions> want_revenue{};
    std::array<std::uint64_t, kCategories> want_orders{};
    for (const Order& o : day_) {
      const long double price = static_cast<long double>(o.quantity) * o.unit_price;
      want_revenue[o.region] += price * (o.quantity >= 100 ? 0.90L : o.quantity >= 10 ? 0.95L : 1.0L);
      ++want_orders[o.product % kCategories];
    }
    std::array<double, kRegions> want_r{};
    for (std::size_t r = 0; r < kRegions; ++r) want_r[r] = static_cast<double>(want_revenue[r]);
    const auto rev = dp::compare(std::span<const double>(revenue_), std::span<const double>(want_r), {.abs = 1e-6, .rel = 1e-9});
    const auto cnt = dp::compare(std::span<const std::uint64_t>(orders_), std::span<const std::uint64_t>(want_orders));
    if (!rev.passed) return {false, fmt::format("revenue (index = region): {}", rev.detail)};
    if (!cnt.passed) return {false, fmt::format("orders (index = category): {}", cnt.detail)};
    return {true, fmt::format("revenue {}; orders {}", rev.detail, cnt.detail)};
  }

 private:
  std::vector<Order> day_;
  std::array<double, kRegions> revenue_{};
  std::array<std::uint64_t, kCategories> orders_{};
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "slow-factory",
             .title = "The slow factory: profile a program and remove what slows it",
             .module = 4,
             .level = 3,
             .file = "factory.cpp",
             .header = "factory.hpp",
             .function = "factory_report(day, revenue, orders)",
             .builds_on = "allocations, aos-soa, threads (and M4's profiling pages)",
             .size_name = "orders",
             .check_sizes = {1, 2, 999, 1000, 1001, 4099},
             .seeds = 2,
             .timed_sizes = {200'000},
             .tolerance = "revenue: abs 1e-6 + rel 1e-9 (double sums); orders: exact",
             .target_speedup = 20,
             .points = 15,
             .compile_flags = {"-pthread"}},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<FactoryCase>(n, seed); },
}};

}  // namespace
