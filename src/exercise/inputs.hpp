// inputs.hpp — seeded random inputs for exercises' cases: the same seed gives the same input on
// every machine (std::mt19937_64 is specified exactly; the distributions are ours, for that reason).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace dp::ex {

// Uniform floats in [lo, hi).
inline std::vector<float> random_floats(std::size_t count, std::uint64_t seed, float lo = -1, float hi = 1) {
  std::mt19937_64 rng(seed);
  std::vector<float> v(count);
  for (auto& x : v) x = lo + (hi - lo) * static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53);
  return v;
}

// Uniform integers in [0, bound).
inline std::vector<std::uint32_t> random_indices(std::size_t count, std::uint32_t bound, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint32_t> v(count);
  for (auto& x : v) x = static_cast<std::uint32_t>((rng() >> 32) * bound >> 32);
  return v;
}

}  // namespace dp::ex
