// parallel.cpp — TBB behind the small interface in parallel.hpp.
//
// In the ThreadSanitizer build (DP_PARALLEL_STD_THREADS) the parts run on plain std::threads
// instead: Debian's libtbb is not built with TSan, so the synchronisation inside parallel_for is
// invisible to it and it reports races that are not there. With threads started and joined here,
// TSan sees every happens-before edge and checks what matters in our kernels: that no two parts
// ever touch the same output.
#include "tensor/parallel.hpp"

#include <algorithm>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include "core/error.hpp"

namespace dp::tensor {

int max_threads() {
  return static_cast<int>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

struct ThreadLimit::Impl {
  // Built in place: a global_control registers its own address, so it must never be copied.
  explicit Impl(std::size_t threads)
      : control(tbb::global_control::max_allowed_parallelism, threads) {}
  tbb::global_control control;
};

ThreadLimit::ThreadLimit(int threads) {
  if (threads < 1)
    throw Error(fmt::format("ThreadLimit({}): a thread count must be at least 1", threads));
  impl_ = std::make_unique<Impl>(static_cast<std::size_t>(threads));
}

ThreadLimit::~ThreadLimit() = default;

std::size_t parts_for(double flops, double flops_per_part) {
  const double wanted = flops / flops_per_part;
  const auto limit = static_cast<std::size_t>(std::max(1, max_threads()));
  if (wanted < 2) return 1;
  return std::min(limit, static_cast<std::size_t>(wanted));
}

void parallel_chunks(std::size_t count, std::size_t granule, std::size_t parts,
                     const std::function<void(std::size_t, std::size_t)>& fn) {
  parallel_parts(count, granule, parts,
                 [&](std::size_t, std::size_t begin, std::size_t end) { fn(begin, end); });
}

void parallel_parts(std::size_t count, std::size_t granule, std::size_t parts,
                    const std::function<void(std::size_t, std::size_t, std::size_t)>& fn) {
  if (count == 0) return;
  granule = std::max<std::size_t>(granule, 1);
  const std::size_t granules = (count + granule - 1) / granule;
  parts = std::clamp<std::size_t>(parts, 1, granules);
  if (parts == 1) {
    fn(0, 0, count);
    return;
  }
  // Part p gets granules [p*g/parts, (p+1)*g/parts): sizes differ by at most one granule.
  auto border = [&](std::size_t p) { return std::min(count, p * granules / parts * granule); };
#if defined(DP_PARALLEL_STD_THREADS)
  {
    std::vector<std::jthread> helpers;  // joined when they go out of scope
    for (std::size_t p = 1; p < parts; ++p)
      helpers.emplace_back([&, p] { fn(p, border(p), border(p + 1)); });
    fn(0, border(0), border(1));
  }
#else
  // static_partitioner: exactly one task per part, no work stealing to pay for.
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, parts, 1),
      [&](const tbb::blocked_range<std::size_t>& r) {
        for (std::size_t p = r.begin(); p != r.end(); ++p) fn(p, border(p), border(p + 1));
      },
      tbb::static_partitioner());
#endif
}

}  // namespace dp::tensor
