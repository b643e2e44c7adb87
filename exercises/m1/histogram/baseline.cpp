// histogram — make this faster. (exercises/m1/histogram/README.md has the task.)
//
// You may change anything in this file: add helper functions, constants, includes of the C++
// standard library, compiler attributes. Keep histogram()'s name and signature: histogram.hpp
// declares it, and the checker calls it with 1 to 1 million keys and 1000 bins.
//
//   dontpanic exercise check histogram     is it right, and how much faster?
//   dontpanic exercise hint histogram      a nudge (three, each more specific)
#include <map>

#include "histogram.hpp"

// Counting with a std::map is what "count occurrences" looks like in many codebases: it works for
// any key. Each ++counted[k] walks a balanced tree from its root, about 10 levels for 1000 keys,
// one pointer to follow and one hard-to-predict comparison at each.
extern "C" void histogram(std::span<const std::uint32_t> keys, std::span<std::uint32_t> counts) {
  std::map<std::uint32_t, std::uint64_t> counted;
  for (const std::uint32_t k : keys) ++counted[k];
  for (std::size_t b = 0; b < counts.size(); ++b) {
    const auto it = counted.find(static_cast<std::uint32_t>(b));
    counts[b] = it == counted.end() ? 0 : static_cast<std::uint32_t>(it->second);
  }
}
