// check.hpp — comparing a variant's output with the reference, the same way everywhere.
//
// A check reports how many elements differ, the first few with their indices, and the tolerance
// it used, so a failed run says exactly what went wrong.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>

#include <fmt/format.h>

namespace dp {

struct Tolerance {
  double abs = 0;  // |got - want| <= abs + rel * |want|
  double rel = 0;
  std::string describe() const { return fmt::format("abs {:g} + rel {:g}", abs, rel); }
};

struct CompareResult {
  bool passed = true;
  std::size_t mismatches = 0;
  std::string detail;  // "all 4096 agree within abs 1e-5 + rel 1e-4" or the first mismatches
};

inline bool close_enough(double got, double want, const Tolerance& tol) {
  if (std::isnan(got) || std::isnan(want)) return false;
  return std::abs(got - want) <= tol.abs + tol.rel * std::abs(want);
}

// Compares two sequences element by element (exactly, when tol is zero).
template <typename T, typename U>
CompareResult compare(std::span<const T> got, std::span<const U> want, const Tolerance& tol = {}) {
  CompareResult r;
  if (got.size() != want.size()) {
    r.passed = false;
    r.detail = fmt::format("sizes differ: got {} elements, want {}", got.size(), want.size());
    return r;
  }
  std::string first;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (close_enough(static_cast<double>(got[i]), static_cast<double>(want[i]), tol)) continue;
    if (++r.mismatches <= 5)
      first += fmt::format(" [{}] got {:g} want {:g};", i, static_cast<double>(got[i]),
                           static_cast<double>(want[i]));
  }
  r.passed = r.mismatches == 0;
  r.detail = r.passed ? fmt::format("all {} agree within {}", got.size(), tol.describe())
                      : fmt::format("{} of {} differ beyond {}:{}", r.mismatches, got.size(),
                                    tol.describe(), first);
  return r;
}

}  // namespace dp
