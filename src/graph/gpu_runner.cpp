// gpu_runner.cpp — the GPU modes: the hand-written kernels of shaders/graph/, and the generated ones.
#include "graph/gpu_runner.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <ostream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/gpu.hpp"
#include "graph/plan.hpp"
#include "graph/schedule.hpp"

namespace dp::graph {

using gpu::Buffer;
using gpu::BufferRange;
using gpu::Groups;
using gpu::Kernel;
using gpu::KernelSpec;
using gpu::Sequence;
using tensor::Tensor2D;

// --- KernelCache --------------------------------------------------------------------------------

KernelCache::KernelCache(gpu::Device& device) : device_(device) {}
KernelCache::~KernelCache() = default;

const Kernel& KernelCache::get(const std::string& key, const KernelSpec& spec) {
  auto it = kernels_.find(key);
  if (it != kernels_.end()) {
    ++hits_;
    return *it->second;
  }
  ++builds_;
  return *kernels_.emplace(key, std::make_unique<Kernel>(device_, spec)).first->second;
}

namespace {

// =================================================================================================
// The hand-written kernels: which shader an op uses, and how it is dispatched
// =================================================================================================

struct MNK {
  std::uint32_t m, n, k;
};
struct RowsCols {
  std::uint32_t rows, cols;
};
struct Count {
  std::uint32_t n;
};

struct OpKernel {
  std::string key;  // shader + constants: equal keys can share one pipeline
  KernelSpec spec;
  std::uint32_t tile = 16;  // linear.comp: outputs per workgroup side
};

// linear.comp's tile side (fixed in the shader). 16 x 16 = 256 threads per workgroup; 8 and 4
// were tried and measured slower on lavapipe at width 32.
constexpr std::uint32_t kLinearTile = 16;

std::uint32_t u32(std::size_t v) { return static_cast<std::uint32_t>(v); }

// `in` is the shape of the op's first input, `out` of its result.
OpKernel kernel_for(OpKind op, Shape in, Shape out, const gpu::Device& device) {
  switch (op) {
    case OpKind::linear:
    case OpKind::linear_relu: {
      const std::uint32_t relu = op == OpKind::linear_relu;
      const std::uint32_t tile = kLinearTile;
      return {fmt::format("graph/linear.comp relu={}", relu),
              {.source = gpu::builtin_shader("graph/linear.comp"), .buffers = 4, .push_bytes = 12,
               .specialization = {relu}, .required_subgroup_size = 0},
              tile};
    }
    case OpKind::linear_relu_softmax: {
      // Shared memory: a row of x and a row of results, rounded up to 256 floats each.
      const std::size_t cols = (std::max(in.cols, out.cols) + 255) / 256 * 256;
      const std::size_t need = 2 * cols * sizeof(float) + 256 * sizeof(float);
      if (need > device.report().max_shared_memory_bytes)
        throw Error(fmt::format("gpu-fused: the fused linear+relu+softmax kernel keeps a {}-wide row in "
                                "shared memory ({} bytes) but '{}' offers {}; use widths up to {}",
                                std::max(in.cols, out.cols), need, device.report().name,
                                device.report().max_shared_memory_bytes,
                                (device.report().max_shared_memory_bytes - 1024) / 8 / 256 * 256));
      return {fmt::format("graph/linear_relu_softmax.comp cols={}", cols),
              {.source = gpu::builtin_shader("graph/linear_relu_softmax.comp"), .buffers = 4,
               .push_bytes = 12, .specialization = {u32(cols)}, .required_subgroup_size = 0}};
    }
    case OpKind::relu:
    case OpKind::add:
    case OpKind::sub: {
      const std::uint32_t code = op == OpKind::relu ? 0 : op == OpKind::add ? 1 : 2;
      return {fmt::format("graph/elementwise.comp op={}", code),
              {.source = gpu::builtin_shader("graph/elementwise.comp"), .buffers = 3, .push_bytes = 4,
               .specialization = {code}, .required_subgroup_size = 0}};
    }
    case OpKind::softmax:
      return {"graph/softmax.comp",
              {.source = gpu::builtin_shader("graph/softmax.comp"), .buffers = 2, .push_bytes = 8, .specialization = {},
               .required_subgroup_size = 0}};
    case OpKind::sum:
      return {"graph/sum.comp",
              {.source = gpu::builtin_shader("graph/sum.comp"), .buffers = 2, .push_bytes = 4, .specialization = {},
               .required_subgroup_size = 0}};
    default: break;
  }
  throw Error(fmt::format("gpu: no kernel for op {}", op_name(op)));
}

// Records one op. `args` are the op's inputs in graph order, then its result.
void record_op(Sequence& seq, const Kernel& k, const OpKernel& ok, OpKind op,
               const std::vector<const Buffer*>& args, Shape in, Shape out) {
  auto b = [&](std::size_t i) { return BufferRange(*args[i]); };
  switch (op) {
    case OpKind::linear:
    case OpKind::linear_relu:
      seq.dispatch(k, {b(0), b(1), b(2), b(3)},
                   Groups{gpu::groups_for(out.cols, ok.tile), gpu::groups_for(out.rows, ok.tile)},
                   MNK{u32(in.rows), u32(out.cols), u32(in.cols)});
      return;
    case OpKind::linear_relu_softmax:
      seq.dispatch(k, {b(0), b(1), b(2), b(3)}, Groups{u32(out.rows)},
                   MNK{u32(in.rows), u32(out.cols), u32(in.cols)});
      return;
    case OpKind::relu:
      seq.dispatch(k, {b(0), b(0), b(1)},
                   Groups{std::min<std::uint32_t>(gpu::groups_for(in.rows * in.cols, 256), 4096)},
                   Count{u32(in.rows * in.cols)});
      return;
    case OpKind::add:
    case OpKind::sub:
      seq.dispatch(k, {b(0), b(1), b(2)},
                   Groups{std::min<std::uint32_t>(gpu::groups_for(in.rows * in.cols, 256), 4096)},
                   Count{u32(in.rows * in.cols)});
      return;
    case OpKind::softmax:
      seq.dispatch(k, {b(0), b(1)}, Groups{u32(in.rows)}, RowsCols{u32(in.rows), u32(in.cols)});
      return;
    case OpKind::sum:
      seq.dispatch(k, {b(0), b(1)}, Groups{1}, Count{u32(in.rows * in.cols)});
      return;
    default: break;
  }
  throw Error(fmt::format("gpu: cannot record op {}", op_name(op)));
}

std::size_t bytes_of(Shape s) { return std::max<std::size_t>(1, s.rows * s.cols) * sizeof(float); }

void copy_to_staging(Buffer& buffer, std::span<const float> data) {
  std::memcpy(buffer.staging().data(), data.data(), data.size_bytes());
}
void copy_from_staging(Buffer& buffer, std::span<float> data) {
  std::memcpy(data.data(), buffer.staging().data(), data.size_bytes());
}

// =================================================================================================
// gpu-immediate: every op on its own, with its own transfers, pipeline and command buffer
// =================================================================================================

class GpuImmediate final : public Runner {
 public:
  GpuImmediate(const Graph& g, gpu::Device& device)
      : g_(g), device_(device), order_(schedule(g)), shapes_(validate(g)) {}
  Mode mode() const override { return Mode::gpu_immediate; }

  void run(std::span<const Tensor2D<float>> inputs) override {
    check_inputs(g_, inputs);
    values_.assign(g_.size(), {});
    const auto input_ids = g_.inputs();
    auto host = [&](NodeId id) -> const Tensor2D<float>& {
      const Node& n = g_.node(id);
      if (n.op == OpKind::constant) return *n.value;
      if (n.op == OpKind::input)
        return inputs[std::find(input_ids.begin(), input_ids.end(), id) - input_ids.begin()];
      return values_[id];
    };
    for (NodeId id : order_) {
      const Node& n = g_.node(id);
      if (n.op == OpKind::input || n.op == OpKind::constant) continue;
      // 1. Upload every input, weights included: the op knows nothing about what stays.
      std::vector<Buffer> buffers;
      buffers.reserve(n.inputs.size() + 1);
      for (NodeId in : n.inputs) {
        buffers.emplace_back(device_, bytes_of(shapes_[in]));
        buffers.back().upload(host(in).span());
      }
      buffers.emplace_back(device_, bytes_of(shapes_[id]));
      // 2. Build the pipeline, record, submit, wait, 3. download the result.
      const OpKernel ok = kernel_for(n.op, shapes_[n.inputs[0]], shapes_[id], device_);
      const Kernel kernel(device_, ok.spec);
      std::vector<const Buffer*> args;
      for (const Buffer& b : buffers) args.push_back(&b);
      Sequence seq(device_, 2);
      seq.begin();
      record_op(seq, kernel, ok, n.op, args, shapes_[n.inputs[0]], shapes_[id]);
      seq.barrier().download(buffers.back()).end();
      seq.run();
      values_[id] = Tensor2D<float>(shapes_[id].rows, shapes_[id].cols);
      copy_from_staging(buffers.back(), values_[id].span());
    }
  }

  const Tensor2D<float>& output(std::size_t i) const override { return values_.at(g_.outputs().at(i)); }

 private:
  const Graph& g_;
  gpu::Device& device_;
  std::vector<NodeId> order_;
  std::vector<Shape> shapes_;
  std::vector<Tensor2D<float>> values_;
};

// =================================================================================================
// The resident modes: gpu-graph, gpu-graph-cached, gpu-fused, gpu-graph-loop
// =================================================================================================

class GpuResident final : public Runner {
 public:
  GpuResident(const Graph& g, Mode mode, gpu::Device& device, KernelCache& cache)
      : g_(g), mode_(mode), device_(device), cache_(cache),
        plan_(make_plan(g, mode == Mode::gpu_fused || mode == Mode::gpu_graph_loop)) {
    // Buffers, allocated once: inputs, constants (uploaded now, once), intermediate results.
    for (NodeId id : g.inputs()) inputs_.emplace_back(device, bytes_of(plan_.shapes[id]));
    constant_.resize(g.size());
    for (const Step& s : plan_.steps)
      for (NodeId in : s.inputs)
        if (g.node(in).op == OpKind::constant && !constant_[in]) {
          constant_[in] = std::make_unique<Buffer>(device, bytes_of(plan_.shapes[in]));
          constant_[in]->upload(g.node(in).value->span());
        }
    for (const Shape& s : plan_.buffers) buffers_.emplace_back(device, bytes_of(s));
    for (std::size_t i = 0; i < g.outputs().size(); ++i)
      outputs_.emplace_back(plan_.shapes[g.outputs()[i]].rows, plan_.shapes[g.outputs()[i]].cols);
    // Pipelines, built once, except in gpu-graph (which builds each op's pipeline as it runs it).
    for (const Step& s : plan_.steps) {
      specs_.push_back(kernel_for(s.op, plan_.shapes[s.inputs[0]], s.shape, device));
      kernels_.push_back(mode == Mode::gpu_graph ? nullptr : &cache.get(specs_.back().key, specs_.back().spec));
    }
    if (mode_ != Mode::gpu_graph) seq_ = std::make_unique<Sequence>(device, 2);
    // gpu-graph-loop: the whole pass, recorded once.
    if (mode_ == Mode::gpu_graph_loop) {
      seq_->begin();
      for (Buffer& in : inputs_) seq_->upload(in);
      seq_->barrier();
      for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
        record_step(*seq_, s, *kernels_[s]);
        seq_->barrier();  // the next op reads what this one wrote
      }
      for (int b : plan_.output_buffers) seq_->download(buffers_[b]);
      seq_->end();
    }
  }

  Mode mode() const override { return mode_; }

  void run(std::span<const Tensor2D<float>> inputs) override {
    check_inputs(g_, inputs);
    if (mode_ == Mode::gpu_graph_loop) {  // one submit, one wait for the whole pass
      for (std::size_t i = 0; i < inputs.size(); ++i) copy_to_staging(inputs_[i], inputs[i].span());
      seq_->run();
      for (std::size_t i = 0; i < outputs_.size(); ++i)
        copy_from_staging(buffers_[plan_.output_buffers[i]], outputs_[i].span());
      return;
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) inputs_[i].upload(inputs[i].span());
    for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
      if (mode_ == Mode::gpu_graph) {  // a pipeline and a command buffer per op, every pass
        const Kernel kernel(device_, specs_[s].spec);
        Sequence seq(device_, 2);
        seq.begin();
        record_step(seq, s, kernel);
        seq.end();
        seq.run();
      } else {  // cached pipeline, the same command buffer re-recorded per op
        seq_->begin();
        record_step(*seq_, s, *kernels_[s]);
        seq_->end();
        seq_->run();
      }
    }
    for (std::size_t i = 0; i < outputs_.size(); ++i)
      buffers_[plan_.output_buffers[i]].download(outputs_[i].span());
  }

  const Tensor2D<float>& output(std::size_t i) const override { return outputs_.at(i); }

 private:
  const Buffer& buffer_of(NodeId id) const {
    const ValueSlot slot = plan_.slots[id];
    switch (slot.kind) {
      case ValueSlot::Kind::input: return inputs_[slot.index];
      case ValueSlot::Kind::constant: return *constant_[id];
      case ValueSlot::Kind::buffer: return buffers_[slot.index];
      case ValueSlot::Kind::none: break;
    }
    throw Error(fmt::format("gpu: {} has no buffer", g_.describe(id)));
  }

  void record_step(Sequence& seq, std::size_t s, const Kernel& kernel) {
    const Step& step = plan_.steps[s];
    std::vector<const Buffer*> args;
    for (NodeId in : step.inputs) args.push_back(&buffer_of(in));
    args.push_back(&buffers_[step.buffer]);
    record_op(seq, kernel, specs_[s], step.op, args, plan_.shapes[step.inputs[0]], step.shape);
  }

  const Graph& g_;
  Mode mode_;
  gpu::Device& device_;
  KernelCache& cache_;
  Plan plan_;
  std::vector<Buffer> inputs_;
  std::vector<std::unique_ptr<Buffer>> constant_;
  std::vector<Buffer> buffers_;
  std::vector<Tensor2D<float>> outputs_;
  std::vector<OpKernel> specs_;
  std::vector<const Kernel*> kernels_;
  std::unique_ptr<Sequence> seq_;
};

// =================================================================================================
// gpu-compiled: generated kernels, one per chain, recorded once
// =================================================================================================

class GpuCompiled final : public Runner {
 public:
  GpuCompiled(const Graph& g, gpu::Device& device, std::ostream* show, Layering layering, KernelCache& cache)
      : g_(g),
        compiled_(compile_graph(g, {.shared_memory_bytes = device.report().max_shared_memory_bytes,
                                    .target_groups = device.is_cpu() ? 8u : 64u,
                                    .max_loop_iterations = device.is_cpu() ? 65535u : 0u,
                                    .layering = layering})) {
    const Plan& plan = compiled_.plan;
    for (NodeId id : g.inputs()) inputs_.emplace_back(device, bytes_of(plan.shapes[id]));
    // A buffer per chain result; parameter blocks and constant operands uploaded once.
    results_.resize(g.size());
    std::size_t scratch_floats = 0;  // per-layer chains: the widest intermediate activation
    for (const Chain& c : compiled_.chains) {
      results_[c.output] = std::make_unique<Buffer>(device, bytes_of(plan.shapes[c.output]));
      params_.push_back(std::make_unique<Buffer>(device, std::max<std::size_t>(1, c.params.size()) * sizeof(float)));
      params_.back()->upload(std::span<const float>(c.params));
      for (NodeId id : c.operands)
        if (g.node(id).op == OpKind::constant && !results_[id]) {
          results_[id] = std::make_unique<Buffer>(device, bytes_of(plan.shapes[id]));
          results_[id]->upload(g.node(id).value->span());
        }
      if (c.per_layer) {
        for (const Instr& in : c.code)
          if (in.code == OpCode::linear) scratch_floats = std::max(scratch_floats, c.rows * in.out_width);
        kernels_.push_back(nullptr);  // per layer: layer_kernel() below
        if (show) *show << "// ===== " << c.name() << " =====\n" << c.glsl;
        continue;
      }
      const Kernel& k = cache.get(
          c.name(), {.source = {.name = c.name() + ".comp", .glsl = c.glsl, .defines = {}},
                     .buffers = static_cast<std::uint32_t>(3 + c.operands.size()), .push_bytes = 0,
                     .specialization = {}, .required_subgroup_size = 0});
      kernels_.push_back(&k);
      if (show) *show << "// ===== " << c.name() << " =====\n" << c.glsl;
    }
    for (auto& b : scratch_)
      if (scratch_floats) b = std::make_unique<Buffer>(device, scratch_floats * sizeof(float));
    for (NodeId out : g.outputs()) outputs_.emplace_back(plan.shapes[out].rows, plan.shapes[out].cols);
    // Record the pass once: upload, one dispatch per chain, download.
    seq_ = std::make_unique<Sequence>(device, 2);
    seq_->begin();
    for (Buffer& in : inputs_) seq_->upload(in);
    seq_->barrier();
    for (std::size_t i = 0; i < compiled_.chains.size(); ++i) {
      const Chain& c = compiled_.chains[i];
      if (c.per_layer) {
        record_layers(c, *params_[i], cache);
        continue;
      }
      std::vector<BufferRange> bind = {buffer_of(c.input), *params_[i], *results_[c.output]};
      for (NodeId id : c.operands) bind.push_back(buffer_of(id));
      seq_->dispatch(*kernels_[i], bind, Groups{static_cast<std::uint32_t>(c.groups)});
      seq_->barrier();
    }
    for (NodeId out : g.outputs()) seq_->download(*results_[out]);
    seq_->end();
  }

  Mode mode() const override { return Mode::gpu_compiled; }

  void run(std::span<const Tensor2D<float>> inputs) override {
    check_inputs(g_, inputs);
    for (std::size_t i = 0; i < inputs.size(); ++i) copy_to_staging(inputs_[i], inputs[i].span());
    seq_->run();
    for (std::size_t i = 0; i < outputs_.size(); ++i)
      copy_from_staging(*results_[g_.outputs()[i]], outputs_[i].span());
  }

  const Tensor2D<float>& output(std::size_t i) const override { return outputs_.at(i); }
  const CompiledGraph& compiled() const { return compiled_; }

 private:
  const Buffer& buffer_of(NodeId id) const {
    const auto ids = g_.inputs();
    const auto it = std::find(ids.begin(), ids.end(), id);
    if (it != ids.end()) return inputs_[it - ids.begin()];
    if (results_[id]) return *results_[id];
    throw Error(fmt::format("gpu-compiled: {} has no buffer", g_.describe(id)));
  }

  // A per-layer chain: one GEMM dispatch per layer (a rolled LINEAR xN gives N), each reading the
  // previous one's result, ping-ponging between two scratch buffers, the last writing the chain's.
  void record_layers(const Chain& c, const Buffer& params, KernelCache& cache) {
    const GemmTile& t = *c.per_layer;
    std::uint32_t layers = 0, done = 0;
    for (const Instr& in : c.code)
      if (in.code == OpCode::linear) layers += in.repeat;
    const Buffer* src = &buffer_of(c.input);
    for (const Instr& in : c.code) {
      if (in.code != OpCode::linear) continue;
      const bool relu = !in.epilogue.empty();  // the compiler allows relu only
      const Kernel& k = cache.get(
          fmt::format("linear-gemm-{}x{}x{}-{}x{}-relu{}", t.bm, t.bn, t.bk, t.tm, t.tn, relu ? 1 : 0),
          {.source = gpu::builtin_shader("matmul/vec4.comp",
                                         {{"BM", std::to_string(t.bm)}, {"BN", std::to_string(t.bn)},
                                          {"BK", std::to_string(t.bk)}, {"TM", std::to_string(t.tm)},
                                          {"TN", std::to_string(t.tn)}, {"LINEAR", "1"}, {"RELU", relu ? "1" : "0"}}),
           .buffers = 3, .push_bytes = 20});
      for (std::uint32_t l = 0; l < in.repeat; ++l, ++done) {
        const Buffer& dst = done + 1 == layers ? *results_[c.output] : *scratch_[done % 2];
        const std::array<std::uint32_t, 5> push{static_cast<std::uint32_t>(c.rows), in.out_width, in.in_width,
                                                static_cast<std::uint32_t>(in.weights + l * in.stride),
                                                static_cast<std::uint32_t>(in.bias + l * in.stride)};
        seq_->dispatch(k, {*src, params, dst}, Groups{in.out_width / t.bn, static_cast<std::uint32_t>(c.rows / t.bm)},
                       push);
        seq_->barrier();
        src = &dst;
      }
    }
  }

  const Graph& g_;
  CompiledGraph compiled_;
  std::array<std::unique_ptr<Buffer>, 2> scratch_;  // per-layer chains' intermediate activations
  std::vector<Buffer> inputs_;
  std::vector<std::unique_ptr<Buffer>> results_;  // per node: chain results and constant operands
  std::vector<std::unique_ptr<Buffer>> params_;   // per chain
  std::vector<const Kernel*> kernels_;
  std::vector<Tensor2D<float>> outputs_;
  std::unique_ptr<Sequence> seq_;
};

// Owns a KernelCache when the caller gave none.
template <typename R>
class WithOwnCache final : public Runner {
 public:
  template <typename... Args>
  WithOwnCache(gpu::Device& device, Args&&... args)
      : cache_(std::make_unique<KernelCache>(device)), runner_(std::forward<Args>(args)..., *cache_) {}
  Mode mode() const override { return runner_.mode(); }
  void run(std::span<const Tensor2D<float>> inputs) override { runner_.run(inputs); }
  const Tensor2D<float>& output(std::size_t i) const override { return runner_.output(i); }
  const R& inner() const { return runner_; }

 private:
  std::unique_ptr<KernelCache> cache_;
  R runner_;
};

}  // namespace

std::unique_ptr<Runner> make_gpu_runner(const Graph& graph, Mode mode, gpu::Device& device,
                                        const GpuRunnerOptions& options) {
  validate(graph);
  switch (mode) {
    case Mode::gpu_immediate: return std::make_unique<GpuImmediate>(graph, device);
    case Mode::gpu_graph:
    case Mode::gpu_graph_cached:
    case Mode::gpu_fused:
    case Mode::gpu_graph_loop:
      if (options.cache) return std::make_unique<GpuResident>(graph, mode, device, *options.cache);
      return std::make_unique<WithOwnCache<GpuResident>>(device, graph, mode, device);
    case Mode::gpu_compiled:
      if (options.cache)
        return std::make_unique<GpuCompiled>(graph, device, options.show_kernels, options.layering, *options.cache);
      return std::make_unique<WithOwnCache<GpuCompiled>>(device, graph, device, options.show_kernels,
                                                         options.layering);
    default: break;
  }
  throw Error(fmt::format("make_gpu_runner: {} is a CPU mode; use make_cpu_runner", mode_name(mode)));
}

const CompiledGraph* compiled_graph_of(const Runner& runner) {
  if (const auto* c = dynamic_cast<const GpuCompiled*>(&runner)) return &c->compiled();
  if (const auto* w = dynamic_cast<const WithOwnCache<GpuCompiled>*>(&runner)) return &w->inner().compiled();
  return nullptr;
}

}  // namespace dp::graph
