// radix_sort.hpp — an LSD radix sort: sorting by looking at digits, never comparing two keys.
//
// Least-significant digit first: sort the records by their lowest `Bits` bits, then by the next
// `Bits`, and so on up to the top digit. Each pass is a counting sort, which is *stable* (records
// with the same digit keep their order), so after the last pass the records are in order of the
// whole key, and records with equal keys are still in their input order.
//
// One pass over n records with b-bit digits: count how many records have each digit (2^b
// counters), turn the counts into start positions (a prefix sum), then move every record to its
// digit's next free slot in a second array. A 32-bit key takes 4 passes with 8-bit digits, or 2
// with 16-bit digits (fewer passes, but 65,536 counters and as many places to write to at once).
//
// Index
//   sortable_bits(key)        an unsigned integer that orders like the key (floats: sign flip)
//   lsd_radix_sort<Bits>(...) sorts `data` by key_of(record), using `buffer` (same size) as scratch
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

namespace dp::radix {

// Unsigned integers already order like their bits.
inline std::uint32_t sortable_bits(std::uint32_t key) { return key; }
inline std::uint64_t sortable_bits(std::uint64_t key) { return key; }

// IEEE floats order like their bits *as sign and magnitude*: a set sign bit means negative, and
// a larger magnitude is then a smaller number. Flip every bit of a negative float (its order
// reverses, and it sorts below every positive) and only the sign bit of a positive one (it sorts
// above every negative). -0.0 lands just below +0.0; NaNs land at the two ends.
inline std::uint32_t sortable_bits(float key) {
  const auto bits = std::bit_cast<std::uint32_t>(key);
  const std::uint32_t negative = 0u - (bits >> 31);  // all ones for a negative float, else 0
  return bits ^ (negative | 0x80000000u);
}

// Sorts `data` by sortable_bits(key_of(record)), stably; `buffer` must be as large as `data`.
// Passes whose digit is the same for every record are skipped (keys that are all small, or all
// equal in their top bits, sort in fewer passes).
template <int Bits, class T, class KeyOf>
void lsd_radix_sort(std::span<T> data, std::span<T> buffer, KeyOf key_of) {
  static_assert(Bits == 8 || Bits == 16, "digits of 8 or 16 bits");
  using U = decltype(sortable_bits(key_of(data[0])));
  constexpr int kPasses = static_cast<int>(sizeof(U)) * 8 / Bits;
  constexpr std::size_t kBuckets = std::size_t{1} << Bits;
  constexpr U kMask = static_cast<U>(kBuckets - 1);
  if (buffer.size() < data.size()) throw std::invalid_argument("lsd_radix_sort: buffer too small");
  const std::size_t n = data.size();

  // Count every pass's digits in one read of the data.
  std::vector<std::array<std::size_t, kBuckets>> counts(kPasses);
  for (auto& c : counts) c.fill(0);
  for (const T& record : data) {
    const U bits = sortable_bits(key_of(record));
    for (int p = 0; p < kPasses; ++p) ++counts[p][(bits >> (p * Bits)) & kMask];
  }

  std::span<T> from = data, to = buffer.first(n);
  for (int p = 0; p < kPasses; ++p) {
    auto& next = counts[p];  // counts, then the next free slot of each digit
    if (std::find(next.begin(), next.end(), n) != next.end()) continue;  // one digit for all
    std::size_t start = 0;
    for (std::size_t& c : next) start += std::exchange(c, start);
    for (const T& record : from) to[next[(sortable_bits(key_of(record)) >> (p * Bits)) & kMask]++] = record;
    std::swap(from, to);
  }
  if (from.data() != data.data()) std::copy(from.begin(), from.end(), data.begin());
}

// Keys sorted as themselves.
template <int Bits, class T>
void lsd_radix_sort(std::span<T> data, std::span<T> buffer) {
  lsd_radix_sort<Bits>(data, buffer, [](const T& key) { return key; });
}

}  // namespace dp::radix
