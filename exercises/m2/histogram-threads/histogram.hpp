// histogram.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

inline constexpr std::size_t kBins = 256;

// Counts the keys: afterwards bins[b] is the number of keys equal to b, for every b < kBins.
// Every key is below kBins. `bins` has kBins elements and arrives holding garbage, not zeros.
// extern "C" lets the checker find the function by its name in your build.
extern "C" void histogram(std::span<const std::uint8_t> keys, std::span<std::uint64_t> bins);
