// count_below.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

// Returns how many keys are strictly less than `limit`.
// extern "C" lets the checker find the function by its name in your build.
extern "C" std::uint64_t count_below(std::span<const std::uint32_t> keys, std::uint32_t limit);
