// parallel.hpp — how the tensor kernels use threads (TBB underneath, hidden here).
//
// Index
//   max_threads()      how many threads kernels may use now (all cores unless a ThreadLimit says)
//   ThreadLimit        RAII: at most n threads while it lives (labs sweep thread counts with it)
//   parallel_chunks()  split [0, count) into contiguous chunks and run them on the threads
//
// Kernels split work into as many chunks as there are threads, never more: a chunk is a block of
// rows big enough to amortise the cost of waking a thread (microseconds), and contiguous so each
// thread walks its own part of memory.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace dp::tensor {

int max_threads();

class ThreadLimit {
 public:
  explicit ThreadLimit(int threads);  // threads >= 1
  ~ThreadLimit();
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs fn(begin, end) over at most `parts` contiguous chunks covering [0, count). Chunk borders are
// multiples of `granule` (except the end). With one part, fn runs on the calling thread.
void parallel_chunks(std::size_t count, std::size_t granule, std::size_t parts,
                     const std::function<void(std::size_t, std::size_t)>& fn);
// The same, telling fn which part it runs (0 .. parts-1), for per-part partial results.
void parallel_parts(std::size_t count, std::size_t granule, std::size_t parts,
                    const std::function<void(std::size_t, std::size_t, std::size_t)>& fn);

// How many parts work of `flops` floating-point operations deserves: one per ~`flops_per_part`,
// at most max_threads(), at least 1.
std::size_t parts_for(double flops, double flops_per_part = 2e5);

}  // namespace dp::tensor
