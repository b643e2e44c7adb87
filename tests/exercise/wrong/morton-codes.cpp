// A deliberately wrong morton-codes for the tests: x and y swapped (y's bits at the even positions).
#include "morton.hpp"

extern "C" void morton_encode(std::span<const std::uint32_t> xs, std::span<const std::uint32_t> ys,
                              std::span<std::uint64_t> codes) {
  for (std::size_t i = 0; i < xs.size(); ++i) {
    std::uint64_t code = 0;
    for (unsigned b = 0; b < 32; ++b) {
      code |= static_cast<std::uint64_t>((ys[i] >> b) & 1u) << (2 * b);
      code |= static_cast<std::uint64_t>((xs[i] >> b) & 1u) << (2 * b + 1);
    }
    codes[i] = code;
  }
}
