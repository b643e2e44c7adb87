// runner.hpp — running a graph: one interface, one implementation per execution mode.
//
// The modes, named so in every lab's JSON series:
//   cpu-immediate     op by op, like eager PyTorch: each op allocates its result, repacks its
//                     weights, and splits its own work across threads (one fork/join per op)
//   cpu-fused         compiled once (plan.hpp): linear+relu(+softmax) fused, weights packed once,
//                     buffers planned once; the batch rows are split across threads once and each
//                     thread runs its rows through the whole network (rows are independent in an
//                     MLP), so there is one fork/join per forward pass instead of one per op
//   gpu-immediate     each op uploads its inputs, dispatches, downloads its result
//   gpu-graph         buffers resident on the GPU, one submit per op
//   gpu-graph-cached  as gpu-graph, with pipelines and descriptor sets built once
//   gpu-fused         as gpu-graph-cached, with the fused kernels
//   gpu-graph-loop    the whole graph recorded once in one command buffer, replayed each run
//   gpu-compiled      lowered to op codes, chains fused, one generated GLSL kernel per chain
// (the GPU modes live in gpu_runner.hpp; they need the Vulkan layer in src/gpu.)
//
// Index
//   Mode, mode_name(), parse_mode(), all_modes(), is_gpu_mode()
//   Runner            run(inputs) then output(i); prepares what its mode prepares in its constructor
//   GpuTarget         the device (and shared kernel cache) GPU modes run on; empty: CPU only
//   make_runner()     any mode: the CPU ones here, the GPU ones through make_gpu_runner()
//   make_cpu_runner() the two CPU modes
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.hpp"
#include "tensor/tensor.hpp"

namespace dp::gpu {
class Device;
}  // namespace dp::gpu

namespace dp::graph {

class KernelCache;  // gpu_runner.hpp

enum class Mode {
  cpu_immediate,
  cpu_fused,
  gpu_immediate,
  gpu_graph,
  gpu_graph_cached,
  gpu_fused,
  gpu_graph_loop,
  gpu_compiled,
};

const char* mode_name(Mode mode);                        // "gpu-graph-loop"
std::optional<Mode> parse_mode(std::string_view name);
const std::vector<Mode>& all_modes();                    // in the order above
bool is_gpu_mode(Mode mode);

class Runner {
 public:
  virtual ~Runner() = default;
  virtual Mode mode() const = 0;
  // Runs the graph. `inputs` holds one tensor per Graph::inputs() node, in that order, with the
  // declared shapes (dp::Error otherwise). Results stay readable through output() until the next
  // run. Not thread-safe: one run at a time.
  virtual void run(std::span<const tensor::Tensor2D<float>> inputs) = 0;
  virtual const tensor::Tensor2D<float>& output(std::size_t i) const = 0;  // per Graph::outputs()
};

// Where the GPU modes run. Labs and tests fill it when they have opened a device; a build without
// the Vulkan layer, or a machine without a device, leaves it empty.
struct GpuTarget {
  gpu::Device* device = nullptr;  // null: no GPU; a GPU mode is a dp::Error
  KernelCache* cache = nullptr;   // pipelines shared by every runner (null: each runner its own)
};

// The runner for any mode: one call for every lab, whichever modes this build and machine have.
// Keeps references to `graph` and the target's device: both must outlive it. Throws dp::Error for
// an invalid graph, a GPU mode without a device (or without the GPU layer in this build), or a
// graph the mode cannot run.
std::unique_ptr<Runner> make_runner(const Graph& graph, Mode mode, const GpuTarget& gpu = {});

// cpu-immediate or cpu-fused. The runner keeps a reference to `graph` (for constants): the graph
// must outlive it. Throws dp::Error for an invalid graph (validate()) or a GPU mode.
std::unique_ptr<Runner> make_cpu_runner(const Graph& graph, Mode mode);

// Shared by the runners: throws dp::Error unless `inputs` match the graph's input nodes.
void check_inputs(const Graph& graph, std::span<const tensor::Tensor2D<float>> inputs);

}  // namespace dp::graph
