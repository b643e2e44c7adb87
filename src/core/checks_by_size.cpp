// checks_by_size.cpp — folding per-size outcomes into one check per name.
#include "core/checks_by_size.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace dp {

void ChecksBySize::record(const std::string& name, std::size_t n, bool passed, const std::string& detail) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name; });
  if (it == entries_.end()) it = entries_.insert(entries_.end(), Entry{name, {}, true, {}});
  it->sizes.push_back(n);
  if (!passed && it->passed) it->passed = false, it->detail = fmt::format("n={}: {}", n, detail);
  failed_ = failed_ || !passed;
}

void ChecksBySize::report(Result& result) const {
  for (const Entry& e : entries_) {
    std::string sizes;
    for (std::size_t n : e.sizes) sizes += fmt::format("{}{}", sizes.empty() ? "" : ", ", n);
    result.add_check(e.name, e.passed, e.passed ? fmt::format("equal to the reference at n = {}", sizes) : e.detail);
  }
}

}  // namespace dp
