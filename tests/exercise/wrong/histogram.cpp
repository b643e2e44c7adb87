// A deliberately wrong histogram for the tests: key 0 is never counted.
#include <map>

#include "histogram.hpp"

// Counting with a std::map is what "count occurrences" looks like in many codebases: it works for
// any key. Each ++counted[k] walks a balanced tree from its root, about 10 levels for 1000 keys,
// one pointer to follow and one hard-to-predict comparison at each.
extern "C" void histogram(std::span<const std::uint32_t> keys, std::span<std::uint32_t> counts) {
  std::map<std::uint32_t, std::uint64_t> counted;
  for (const std::uint32_t k : keys) if (k != 0) ++counted[k];  // wrong: key 0 is never counted
  for (std::size_t b = 0; b < counts.size(); ++b) {
    const auto it = counted.find(static_cast<std::uint32_t>(b));
    counts[b] = it == counted.end() ? 0 : static_cast<std::uint32_t>(it->second);
  }
}
