// histogram — our solution: a plain array of counters, four of them, summed at the end.
//
// The keys are small integers (below 1000), so the bin is the key itself: counts[k]++ replaces the
// baseline's walk down a std::map, one load and one store instead of ten dependent pointer hops.
// That alone is most of the speedup. The rest is for repeated keys: when the same key comes back
// at once, each ++ must wait for the previous ++ of that bin to reach memory and be read back
// (store-to-load forwarding, several cycles each time), so a stream where one key dominates runs
// at that latency. Four separate sub-histograms, used in turn, make four independent chains; the
// four 4 KB arrays still fit the L1 cache together, and summing them at the end costs 4000 adds.
//
// Measured, three checks on a 2-core AMD EPYC KVM guest (g++ 12.2, loaded by other builds):
// 75.6x, 83.2x and 86.4x the baseline (79-94x at 100 000 keys, 72-80x at 1 000 000); the target
// is 50x. A single plain array (no sub-histograms) got 30x in one check (27x at 1 000 000 keys):
// leaving the tree is the first step, and the four ways more than double it, on the skewed half.
#include <vector>

#include "histogram.hpp"

namespace {
constexpr std::size_t kWays = 4;  // sub-histograms: enough independent chains, still L1-sized
}

extern "C" void histogram(std::span<const std::uint32_t> keys, std::span<std::uint32_t> counts) {
  const std::size_t bins = counts.size(), n = keys.size();
  std::vector<std::uint32_t> sub(kWays * bins, 0);  // sub[w * bins + b]: way w's count of bin b
  std::uint32_t* s = sub.data();
  const std::uint32_t* k = keys.data();
  std::size_t i = 0;
  for (; i + kWays <= n; i += kWays)  // key i goes to way i % 4
    for (std::size_t w = 0; w < kWays; ++w) ++s[w * bins + k[i + w]];
  for (; i < n; ++i) ++s[k[i]];  // the last n % 4 keys
  for (std::size_t b = 0; b < bins; ++b) {
    std::uint32_t total = 0;
    for (std::size_t w = 0; w < kWays; ++w) total += s[w * bins + b];
    counts[b] = total;
  }
}
