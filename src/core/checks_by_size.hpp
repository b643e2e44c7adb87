// checks_by_size.hpp — one check per name over many sizes, so a report reads "vector-push holds the
// input: equal to the reference at n = 1000, 10000, 100000" rather than one line per size.
//
//   dp::ChecksBySize checks;
//   for (n : sizes) checks.same("vector-push holds the input", n, fill(src), src);
//   if (checks.failed()) return checks.report(ctx.result);   // the first failure's detail per name
#pragma once

#include <cstddef>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "core/result.hpp"

namespace dp {

class ChecksBySize {
 public:
  // `got` (any container) holds the same elements as `want` (a vector or span), in the same order.
  template <class Container, class Want>
  void same(const std::string& name, std::size_t n, const Container& got, const Want& want) {
    using T = typename Container::value_type;
    const std::vector<T> flat(got.begin(), got.end());
    const CompareResult r = compare(std::span<const T>(flat), std::span<const T>(std::data(want), std::size(want)));
    record(name, n, r.passed, r.detail);
  }
  // Any other outcome at size n; the first failure of a name keeps its detail.
  void record(const std::string& name, std::size_t n, bool passed, const std::string& detail);

  bool failed() const { return failed_; }
  void report(Result& result) const;  // one check per name, in the order first recorded

 private:
  struct Entry {
    std::string name;
    std::vector<std::size_t> sizes;
    bool passed = true;
    std::string detail;
  };
  std::vector<Entry> entries_;
  bool failed_ = false;
};

}  // namespace dp
