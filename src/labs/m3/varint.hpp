// varint.hpp — delta + zigzag + varint coding of an integer column, the compression lab's own codec
// (src/labs/m3/compression.cpp; unit tests in tests/labs/varint_test.cpp).
//
// A sorted column (timestamps, ids) changes little from one value to the next: store the
// differences (delta), map small negative differences to small unsigned numbers (zigzag: 0, -1, 1,
// -2 ... become 0, 1, 2, 3 ...), and write each in as few bytes as it needs (varint, LEB128: 7 bits
// a byte, the high bit says "more follows"). A difference below 64 takes one byte.
//
// Every value type T (uint8_t, int64_t, uint64_t ...) is handled in uint64_t arithmetic, which
// wraps: a difference from 0 to 2^63, or from INT64_MIN to INT64_MAX, is a wrapped 64-bit number
// and decodes back exactly.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace dp::varint {

inline std::uint64_t zigzag(std::uint64_t delta) {  // delta: a two's complement int64 in uint64
  return (delta << 1) ^ (0 - (delta >> 63));
}
inline std::uint64_t unzigzag(std::uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

// The bytes of `column`, delta + zigzag + varint coded.
template <class T>
std::vector<std::uint8_t> encode(std::span<const T> column) {
  std::vector<std::uint8_t> out;
  out.reserve(column.size() * 2);
  std::uint64_t prev = 0;
  for (const T v : column) {
    const auto value = static_cast<std::uint64_t>(v);
    std::uint64_t z = zigzag(value - prev);
    prev = value;
    while (z >= 0x80) {
      out.push_back(static_cast<std::uint8_t>(z | 0x80));
      z >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(z));
  }
  return out;
}

// Reads one varint at `p` (before `end`); throws on a truncated or over-long one.
inline std::uint64_t read(const std::uint8_t*& p, const std::uint8_t* end) {
  std::uint64_t z = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end) throw std::runtime_error("varint: the data ends inside a number");
    const std::uint8_t byte = *p++;
    z |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return z;
  }
  throw std::runtime_error("varint: a number longer than 10 bytes");
}

// Decodes `bytes` into `out` (which must hold exactly as many values as were encoded).
template <class T>
void decode(std::span<const std::uint8_t> bytes, std::span<T> out) {
  const std::uint8_t* p = bytes.data();
  const std::uint8_t* end = p + bytes.size();
  std::uint64_t prev = 0;
  for (T& v : out) {
    prev += unzigzag(read(p, end));
    v = static_cast<T>(prev);
  }
  if (p != end) throw std::runtime_error("varint: bytes left over after the last value");
}

// Decode and sum in one pass, never storing the column: the sum of the values as T, modulo 2^64.
template <class T>
std::uint64_t decode_sum(std::span<const std::uint8_t> bytes, std::size_t count) {
  const std::uint8_t* p = bytes.data();
  const std::uint8_t* end = p + bytes.size();
  std::uint64_t prev = 0, sum = 0;
  for (std::size_t i = 0; i < count; ++i) {
    prev += unzigzag(read(p, end));
    sum += static_cast<std::uint64_t>(static_cast<T>(prev));
  }
  return sum;
}

}  // namespace dp::varint
