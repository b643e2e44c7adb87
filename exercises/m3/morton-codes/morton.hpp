// morton.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

// The Morton code (Z-order) of each point (xs[i], ys[i]): the bits of x and y interleaved, x's
// bit b at position 2b and y's bit b at position 2b + 1, for all 32 bits of each:
//   codes[i] = x0 | y0 << 1 | x1 << 2 | y1 << 3 | ... | x31 << 62 | y31 << 63.
// Points close in 2D get close codes, so sorting by code keeps neighbours together in memory.
// xs, ys and codes have the same length. extern "C" lets the checker find the function by name.
extern "C" void morton_encode(std::span<const std::uint32_t> xs, std::span<const std::uint32_t> ys,
                              std::span<std::uint64_t> codes);
