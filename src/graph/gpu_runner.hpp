// gpu_runner.hpp — the six GPU modes (runner.hpp lists them), on the Vulkan layer in src/gpu.
//
// Each mode removes one cost the previous one pays per forward pass:
//   gpu-immediate     per op: upload its inputs (weights too), build its pipeline, submit, wait,
//                     download its result (what a naive op-at-a-time GPU library does)
//   gpu-graph         weights and intermediates stay on the GPU; per op: build the pipeline,
//                     submit, wait. One upload, one download per pass.
//   gpu-graph-cached  pipelines built once; per op: record, submit, wait
//   gpu-fused         as cached, with linear+relu and linear+relu+softmax kernels: fewer ops
//   gpu-graph-loop    the fused plan recorded once into one command buffer (upload, dispatches
//                     with barriers, download) and replayed: one submit, one wait per pass
//   gpu-compiled      compiler.hpp: one generated kernel per chain, recorded once like graph-loop
//
// Index
//   KernelCache       pipelines by key (a hand-written kernel + its constants, or a generated
//                     kernel's hash); shared between runners so a second runner builds nothing
//   GpuRunnerOptions  the cache to use, whether to print generated kernels (and where)
//   make_gpu_runner() one of the modes above for a graph on a device
//   compiled_graph_of()  the CompiledGraph a gpu-compiled runner executes (nullptr otherwise)
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>

#include "graph/compiler.hpp"
#include "graph/runner.hpp"

namespace dp::gpu {
class Device;
class Kernel;
struct KernelSpec;
}  // namespace dp::gpu

namespace dp::graph {

class KernelCache {
 public:
  explicit KernelCache(gpu::Device& device);
  ~KernelCache();
  KernelCache(const KernelCache&) = delete;
  KernelCache& operator=(const KernelCache&) = delete;

  // The kernel for `key`, built from `spec` on first use.
  const gpu::Kernel& get(const std::string& key, const gpu::KernelSpec& spec);
  std::size_t size() const { return kernels_.size(); }
  int hits() const { return hits_; }
  int builds() const { return builds_; }
  gpu::Device& device() const { return device_; }

 private:
  gpu::Device& device_;
  std::map<std::string, std::unique_ptr<gpu::Kernel>> kernels_;
  int hits_ = 0, builds_ = 0;
};

struct GpuRunnerOptions {
  KernelCache* cache = nullptr;   // null: the runner keeps its own
  std::ostream* show_kernels = nullptr;  // gpu-compiled: print each generated kernel here
  Layering layering = Layering::automatic;  // gpu-compiled: wide layers as chain kernels or GEMMs
};

// The runner keeps references to `graph` and `device`: both must outlive it. Throws dp::Error for
// an invalid graph, a CPU mode, or a graph the mode cannot run (a width beyond shared memory for
// gpu-compiled).
std::unique_ptr<Runner> make_gpu_runner(const Graph& graph, Mode mode, gpu::Device& device,
                                        const GpuRunnerOptions& options = {});

const CompiledGraph* compiled_graph_of(const Runner& runner);

}  // namespace dp::graph
