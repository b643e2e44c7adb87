// bit_sets.hpp — the set variants of the bit-tricks lab (src/labs/m3/bit_tricks.cpp): two sets
// of N elements in four containers, their intersection size (and + count) and union (or).
//
//   word array (ours)     N/64 uint64_t words: and + popcount fused into one pass
//   std::bitset<N>        word-wide &= |= and count(), but no fused count of a & b: a copy first
//   std::vector<bool>     packed bits too, but only element access, through a proxy per bit
//   std::vector<uint8_t>  a byte per element
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace dp::bitsets {

template <std::size_t N>
struct Sets {
  std::vector<std::uint64_t> wa, wb, wc;           // ours: N/64 words
  std::unique_ptr<std::bitset<N>> ba, bb, bc, bt;  // on the heap: 2 MiB at N = 16Mi
  std::vector<bool> va, vb, vc;
  std::vector<std::uint8_t> ua, ub, uc;
};

// Ours fuses the and with the count: one pass, popcount of each word pair.
template <std::size_t N>
std::uint64_t and_count_words(const Sets<N>& s) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < s.wa.size(); ++i) n += static_cast<std::uint64_t>(__builtin_popcountll(s.wa[i] & s.wb[i]));
  return n;
}
// std::bitset has word-wide &= and count(), but no fused "count of a & b": a copy, an and, a count.
template <std::size_t N>
std::uint64_t and_count_bitset(Sets<N>& s) {
  *s.bt = *s.ba;
  *s.bt &= *s.bb;
  return s.bt->count();
}
// vector<bool> packs bits too, but offers no bulk operations: each element is a proxy to one bit.
template <std::size_t N>
std::uint64_t and_count_vector_bool(const Sets<N>& s) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < N; ++i) n += s.va[i] & s.vb[i];  // &, not &&: no branch per element
  return n;
}
template <std::size_t N>
std::uint64_t and_count_bytes(const Sets<N>& s) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < N; ++i) n += s.ua[i] & s.ub[i];
  return n;
}
template <std::size_t N>
void or_words(Sets<N>& s) {
  for (std::size_t i = 0; i < s.wa.size(); ++i) s.wc[i] = s.wa[i] | s.wb[i];
}
template <std::size_t N>
void or_bitset(Sets<N>& s) {
  *s.bc = *s.ba;
  *s.bc |= *s.bb;
}
template <std::size_t N>
void or_vector_bool(Sets<N>& s) {
  for (std::size_t i = 0; i < N; ++i) s.vc[i] = s.va[i] | s.vb[i];
}
template <std::size_t N>
void or_bytes(Sets<N>& s) {
  // Spans, not s.uc[i]: a uint8_t store may alias anything, the vectors' own data pointers too,
  // so through the vectors GCC reloads them after every store and cannot vectorize.
  const std::span<const std::uint8_t> a = s.ua, b = s.ub;
  const std::span<std::uint8_t> c = s.uc;
  for (std::size_t i = 0; i < N; ++i) c[i] = a[i] | b[i];
}


}  // namespace dp::bitsets
