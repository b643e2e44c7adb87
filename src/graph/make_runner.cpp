// make_runner.cpp — one entry point for every mode: the one place that knows whether this build
// has the GPU layer (DP_HAVE_GPU, defined by dp_gpu for everything that links it).
#include <fmt/format.h>

#include "core/error.hpp"
#include "graph/runner.hpp"
#if defined(DP_HAVE_GPU)
#include "graph/gpu_runner.hpp"
#endif

namespace dp::graph {

std::unique_ptr<Runner> make_runner(const Graph& graph, Mode mode, const GpuTarget& gpu) {
  if (!is_gpu_mode(mode)) return make_cpu_runner(graph, mode);
#if defined(DP_HAVE_GPU)
  if (gpu.device == nullptr) throw Error(fmt::format("{} needs a GPU device, and none was opened", mode_name(mode)));
  return make_gpu_runner(graph, mode, *gpu.device, {.cache = gpu.cache, .show_kernels = nullptr});
#else
  (void)gpu;
  throw Error(fmt::format("{} needs the GPU layer, which this build does not have (libvulkan-dev, libshaderc-dev)",
                          mode_name(mode)));
#endif
}

}  // namespace dp::graph
