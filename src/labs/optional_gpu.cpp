// optional_gpu.cpp — opening the GPU where this build and this machine have one.
#include "labs/optional_gpu.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#if defined(DP_HAVE_GPU)
#include "graph/gpu_runner.hpp"
#include "labs/gpu_lab.hpp"
#endif

namespace dp {

void OptionalGpu::add_validation_check(LabContext& ctx) const {
#if defined(DP_HAVE_GPU)
  if (device) gpu::add_validation_check(*device, ctx);
#else
  (void)ctx;
#endif
}

OptionalGpu open_optional_gpu(LabContext& ctx) {
  OptionalGpu opened;
#if defined(DP_HAVE_GPU)
  try {
    opened.device = gpu::open_lab_device(ctx);
    opened.kernels = std::make_shared<graph::KernelCache>(*opened.device);
  } catch (const Error& e) {
    opened = {};
    ctx.result.notes.push_back(fmt::format("GPU modes skipped: {}", e.what()));
  }
#else
  ctx.result.notes.push_back("GPU modes skipped: this build has no Vulkan layer (libvulkan-dev, libshaderc-dev).");
#endif
  return opened;
}

}  // namespace dp
