// optional_gpu.hpp — the GPU for a lab whose GPU variants are optional (graph-modes runs its CPU
// modes everywhere and its GPU modes where it can). The one place that asks whether this build
// has the Vulkan layer, so a lab file needs no #if.
//
//   dp::OptionalGpu gpu = dp::open_optional_gpu(ctx);   // no device: a note says why
//   auto runner = dp::graph::make_runner(graph, mode, gpu.target());
//   ...
//   gpu.add_validation_check(ctx);                       // when there is a device
#pragma once

#include <memory>

#include "core/lab.hpp"
#include "graph/runner.hpp"

namespace dp {

struct OptionalGpu {
  std::shared_ptr<gpu::Device> device;          // null: no GPU here (shared_ptr: its type may be
  std::shared_ptr<graph::KernelCache> kernels;  // incomplete in a build without the GPU layer)

  bool available() const { return device != nullptr; }
  graph::GpuTarget target() const { return {.device = device.get(), .cache = kernels.get()}; }
  void add_validation_check(LabContext& ctx) const;  // "no Vulkan validation messages", if any
};

// Opens the device chosen by --gpu (as gpu_lab.hpp's open_lab_device does) and a kernel cache for
// the graph runners. Where that fails, or the build has no GPU layer, returns no device and adds
// a note "GPU modes skipped: <why>" to the result.
OptionalGpu open_optional_gpu(LabContext& ctx);

}  // namespace dp
