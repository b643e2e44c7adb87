// tensor.hpp — Tensor2D: a row-major matrix that owns 64-byte aligned memory, and its views.
//
// Index
//   AlignedBuffer  owning, 64-byte aligned, zero-initialised storage for N elements
//   MatrixView     non-owning (data, rows, cols) window, contiguous rows; row(i), rows(r0, r1)
//   Tensor2D       owning matrix; random() fills it from a seed; view() / const_view()
//
// Why 64 bytes: it is one cache line on every CPU we target and the width of one AVX-512
// register, so the first element of a tensor never straddles a line and aligned SIMD loads of the
// first row are legal. Rows are contiguous (row stride = cols): element (r, c) lives at r*cols + c.
// A tensor is a value: copying it copies the elements, moving it moves the pointer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::tensor {

inline constexpr std::size_t kAlignment = 64;  // bytes: one cache line, one AVX-512 register

// ---------------------------------------------------------------------------------------------
// AlignedBuffer
// ---------------------------------------------------------------------------------------------

template <typename T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "AlignedBuffer holds plain numbers");

 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t count) : count_(count) {
    if (count == 0) return;
    // aligned_alloc wants the size to be a multiple of the alignment.
    const std::size_t bytes = (count * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    data_.reset(static_cast<T*>(std::aligned_alloc(kAlignment, bytes)));
    if (!data_) throw std::bad_alloc();
    std::memset(data_.get(), 0, bytes);
  }
  AlignedBuffer(const AlignedBuffer& other) : AlignedBuffer(other.count_) {
    if (count_) std::memcpy(data_.get(), other.data_.get(), count_ * sizeof(T));
  }
  AlignedBuffer& operator=(const AlignedBuffer& other) {
    if (this != &other) *this = AlignedBuffer(other);
    return *this;
  }
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::move(other.data_)), count_(std::exchange(other.count_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    data_ = std::move(other.data_);
    count_ = std::exchange(other.count_, 0);
    return *this;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return count_; }
  std::span<T> span() { return {data_.get(), count_}; }
  std::span<const T> span() const { return {data_.get(), count_}; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  std::size_t count_ = 0;
};

// ---------------------------------------------------------------------------------------------
// MatrixView: what kernels take. T may be const (a read-only view).
// ---------------------------------------------------------------------------------------------

template <typename T>
struct MatrixView {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;

  std::size_t size() const { return rows * cols; }
  T& operator()(std::size_t r, std::size_t c) const { return data[r * cols + c]; }
  std::span<T> row(std::size_t r) const { return {data + r * cols, cols}; }
  std::span<T> span() const { return {data, rows * cols}; }
  // Rows [r0, r1): still contiguous, so a row block is just a shorter view.
  MatrixView rows_between(std::size_t r0, std::size_t r1) const {
    return {data + r0 * cols, r1 - r0, cols};
  }
  operator MatrixView<const T>() const { return {data, rows, cols}; }  // NOLINT: widening is safe
  std::string shape() const { return fmt::format("{}x{}", rows, cols); }
};

template <typename T>
using ConstView = MatrixView<const T>;

// ---------------------------------------------------------------------------------------------
// Tensor2D
// ---------------------------------------------------------------------------------------------

template <typename T>
class Tensor2D {
 public:
  Tensor2D() = default;
  Tensor2D(std::size_t rows, std::size_t cols) : rows_(rows), cols_(cols), buffer_(rows * cols) {}

  // Uniform values in [lo, hi) from a seed: the same seed gives the same tensor on every machine
  // (we derive floats from the raw 64-bit generator ourselves; std::uniform_real_distribution is
  // free to differ between standard libraries).
  static Tensor2D random(std::size_t rows, std::size_t cols, std::uint64_t seed, T lo = T(-1),
                         T hi = T(1));

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t size() const { return rows_ * cols_; }
  std::string shape() const { return fmt::format("{}x{}", rows_, cols_); }

  T* data() { return buffer_.data(); }
  const T* data() const { return buffer_.data(); }
  std::span<T> span() { return {data(), size()}; }
  std::span<const T> span() const { return {data(), size()}; }
  std::span<T> row(std::size_t r) { return {data() + r * cols_, cols_}; }
  std::span<const T> row(std::size_t r) const { return {data() + r * cols_, cols_}; }
  T& operator()(std::size_t r, std::size_t c) { return data()[r * cols_ + c]; }
  const T& operator()(std::size_t r, std::size_t c) const { return data()[r * cols_ + c]; }

  MatrixView<T> view() { return {data(), rows_, cols_}; }
  ConstView<T> view() const { return {data(), rows_, cols_}; }
  ConstView<T> const_view() const { return {data(), rows_, cols_}; }
  operator MatrixView<T>() { return view(); }              // NOLINT: a tensor is its view
  operator ConstView<T>() const { return const_view(); }   // NOLINT

  void fill(T value) { std::fill(span().begin(), span().end(), value); }

 private:
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  AlignedBuffer<T> buffer_;
};

// SplitMix64: a tiny, well-mixed generator whose output is defined bit for bit.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

template <typename T>
Tensor2D<T> Tensor2D<T>::random(std::size_t rows, std::size_t cols, std::uint64_t seed, T lo,
                                T hi) {
  if (!(lo < hi))
    throw Error(fmt::format("Tensor2D::random: the range [{}, {}) is empty; want lo < hi",
                            static_cast<double>(lo), static_cast<double>(hi)));
  Tensor2D t(rows, cols);
  std::uint64_t state = seed;
  for (T& x : t.span()) {
    // 53 random bits -> a double in [0, 1), then into [lo, hi).
    const double u = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
    x = static_cast<T>(static_cast<double>(lo) + u * (static_cast<double>(hi) - lo));
    if (!(x < hi)) x = lo;  // rounding to T could land exactly on hi
  }
  return t;
}

}  // namespace dp::tensor
