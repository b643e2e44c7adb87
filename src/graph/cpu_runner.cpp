// cpu_runner.cpp — the two CPU modes: cpu-immediate (op by op) and cpu-fused (compiled once).
//
// The difference is where the work of *preparing* goes. Per forward pass of a depth-D MLP:
//                        cpu-immediate                 cpu-fused
//   result allocations   one per op (2D + 1)           none (two ping-pong buffers, planned once)
//   weight packing       every linear, every pass      once, when the runner is built
//   passes over memory   linear, then relu, ...        linear+relu in one (relu in registers)
//   thread fork/joins    one per op                    one per pass (rows split once)
// At width 4 the useful arithmetic is a few hundred FLOPs per layer: everything in the left
// column is the whole cost. At width 1024 it is 2 GFLOP per layer and the GEMM is all that counts.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/error.hpp"
#include "graph/plan.hpp"
#include "graph/runner.hpp"
#include "graph/schedule.hpp"
#include "tensor/gemm.hpp"
#include "tensor/ops.hpp"
#include "tensor/parallel.hpp"

namespace dp::graph {

using tensor::ConstView;
using tensor::MatrixView;
using tensor::Tensor2D;

// --- modes --------------------------------------------------------------------------------------

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::cpu_immediate: return "cpu-immediate";
    case Mode::cpu_fused: return "cpu-fused";
    case Mode::gpu_immediate: return "gpu-immediate";
    case Mode::gpu_graph: return "gpu-graph";
    case Mode::gpu_graph_cached: return "gpu-graph-cached";
    case Mode::gpu_fused: return "gpu-fused";
    case Mode::gpu_graph_loop: return "gpu-graph-loop";
    case Mode::gpu_compiled: return "gpu-compiled";
  }
  return "?";
}

const std::vector<Mode>& all_modes() {
  static const std::vector<Mode> modes = {
      Mode::cpu_immediate,    Mode::cpu_fused,  Mode::gpu_immediate,  Mode::gpu_graph,
      Mode::gpu_graph_cached, Mode::gpu_fused,  Mode::gpu_graph_loop, Mode::gpu_compiled};
  return modes;
}

std::optional<Mode> parse_mode(std::string_view name) {
  for (Mode m : all_modes())
    if (name == mode_name(m)) return m;
  return std::nullopt;
}

bool is_gpu_mode(Mode mode) { return mode != Mode::cpu_immediate && mode != Mode::cpu_fused; }

void check_inputs(const Graph& graph, std::span<const Tensor2D<float>> inputs) {
  const auto ids = graph.inputs();
  if (inputs.size() != ids.size())
    throw Error(fmt::format("run: got {} input tensors; the graph has {} input nodes", inputs.size(),
                            ids.size()));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const Shape want = graph.node(ids[i]).shape;
    if (inputs[i].rows() != want.rows || inputs[i].cols() != want.cols)
      throw Error(fmt::format("run: input {} for {} is {}; want {}", i, graph.describe(ids[i]),
                              inputs[i].shape(), want.str()));
  }
}

namespace {

ConstView<float> constant_view(const Graph& g, NodeId id) { return g.node(id).value->view(); }

// =================================================================================================
// cpu-immediate: what an eager framework does, one op at a time
// =================================================================================================

class CpuImmediate final : public Runner {
 public:
  explicit CpuImmediate(const Graph& g) : g_(g), order_(schedule(g)), last_read_(g.size(), -1) {
    for (std::size_t s = 0; s < order_.size(); ++s)
      for (NodeId in : g.node(order_[s]).inputs) last_read_[in] = static_cast<int>(s);
  }
  Mode mode() const override { return Mode::cpu_immediate; }

  void run(std::span<const Tensor2D<float>> inputs) override {
    check_inputs(g_, inputs);
    values_.clear();
    values_.resize(g_.size());
    const auto input_ids = g_.inputs();
    auto view = [&](NodeId id) -> ConstView<float> {
      const Node& n = g_.node(id);
      if (n.op == OpKind::constant) return constant_view(g_, id);
      if (n.op == OpKind::input) {
        const auto pos = std::find(input_ids.begin(), input_ids.end(), id) - input_ids.begin();
        return inputs[pos].view();
      }
      return values_[id].view();
    };
    for (std::size_t s = 0; s < order_.size(); ++s) {
      const NodeId id = order_[s];
      const Node& n = g_.node(id);
      if (n.op == OpKind::input || n.op == OpKind::constant) continue;
      values_[id] = compute(n, view);  // a fresh allocation per op, like an eager framework
      // Drop what no later op reads (an eager framework's reference count reaching zero).
      for (NodeId in : n.inputs)
        if (last_read_[in] == static_cast<int>(s) && !is_output(in)) values_[in] = {};
    }
  }

  const Tensor2D<float>& output(std::size_t i) const override {
    return values_.at(g_.outputs().at(i));
  }

 private:
  template <typename ViewOf>
  Tensor2D<float> compute(const Node& n, ViewOf&& view) const {
    const auto in = [&](std::size_t slot) { return view(n.inputs[slot]); };
    switch (n.op) {
      case OpKind::linear:
      case OpKind::linear_relu:
      case OpKind::linear_relu_softmax: {
        Tensor2D<float> out(in(0).rows, in(1).rows);
        const auto act =
            n.op == OpKind::linear ? tensor::Activation::none : tensor::Activation::relu;
        tensor::linear_unpacked(in(0), in(1), in(2).span(), out, act);
        if (n.op == OpKind::linear_relu_softmax) tensor::softmax_rows(out, out);
        return out;
      }
      case OpKind::relu: {
        Tensor2D<float> out(in(0).rows, in(0).cols);
        tensor::relu(in(0), out);
        return out;
      }
      case OpKind::softmax: {
        Tensor2D<float> out(in(0).rows, in(0).cols);
        tensor::softmax_rows(in(0), out);
        return out;
      }
      case OpKind::add:
      case OpKind::sub: {
        Tensor2D<float> out(in(0).rows, in(0).cols);
        if (n.op == OpKind::add) tensor::add(in(0), in(1), out);
        else tensor::sub(in(0), in(1), out);
        return out;
      }
      case OpKind::sum: {
        Tensor2D<float> out(1, 1);
        out(0, 0) = tensor::sum(in(0));
        return out;
      }
      case OpKind::input:
      case OpKind::constant: break;
    }
    throw Error(fmt::format("cpu-immediate: cannot run op {}", op_name(n.op)));
  }

  bool is_output(NodeId id) const {
    return std::find(g_.outputs().begin(), g_.outputs().end(), id) != g_.outputs().end();
  }

  const Graph& g_;
  std::vector<NodeId> order_;
  std::vector<int> last_read_;
  std::vector<Tensor2D<float>> values_;
};

// =================================================================================================
// cpu-fused: compiled once, rows split across threads once per pass
// =================================================================================================

bool is_linear(OpKind op) {
  return op == OpKind::linear || op == OpKind::linear_relu || op == OpKind::linear_relu_softmax;
}

class CpuFused final : public Runner {
 public:
  explicit CpuFused(const Graph& g) : g_(g), plan_(make_plan(g, /*fuse=*/true)) {
    const auto input_ids = g.inputs();
    batch_rows_ = input_ids.empty() ? 0 : g.node(input_ids.front()).shape.rows;
    // Which steps can run on row slices: row-wise ops whose row-indexed inputs all have the batch
    // rows and come from graph inputs, constants, or other row steps.
    std::vector<bool> row_value(g.size(), false);  // node's value is split by rows
    for (NodeId id : input_ids) row_value[id] = plan_.shapes[id].rows == batch_rows_;
    for (Step& step : plan_.steps) {
      bool ok = is_row_wise(step.op) && step.shape.rows == batch_rows_;
      const std::size_t data_inputs = is_linear(step.op) ? 1 : step.inputs.size();
      for (std::size_t i = 0; i < data_inputs && ok; ++i) {
        const NodeId in = step.inputs[i];
        ok = row_value[in] ||
             (g.node(in).op == OpKind::constant && plan_.shapes[in].rows == batch_rows_);
      }
      if (ok)
        for (NodeId c : step.covers) row_value[c] = true;
      row_step_.push_back(ok);
    }
    // Run the row steps first (they never read the others), then reassign buffers for that order.
    std::vector<std::pair<Step, bool>> tagged;
    for (std::size_t s = 0; s < plan_.steps.size(); ++s)
      tagged.emplace_back(plan_.steps[s], row_step_[s]);
    std::stable_partition(tagged.begin(), tagged.end(), [](const auto& t) { return t.second; });
    for (std::size_t s = 0; s < tagged.size(); ++s) {
      plan_.steps[s] = tagged[s].first;
      row_step_[s] = tagged[s].second;
    }
    assign_buffers(plan_, g);
    // Prepare once: buffers, packed weights, the FLOPs that decide how many threads to use.
    for (const Shape& s : plan_.buffers) buffers_.emplace_back(s.rows, s.cols);
    packed_.resize(plan_.steps.size());
    for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
      const Step& step = plan_.steps[s];
      if (is_linear(step.op))
        packed_[s].pack(constant_view(g, step.inputs[1]), constant_view(g, step.inputs[2]).span());
      if (row_step_[s]) {
        const double k = double(plan_.shapes[step.inputs[0]].cols);
        row_flops_ += is_linear(step.op) ? 2.0 * step.shape.rows * step.shape.cols * k
                                         : 4.0 * step.shape.rows * step.shape.cols;
      }
    }
  }

  Mode mode() const override { return Mode::cpu_fused; }

  void run(std::span<const Tensor2D<float>> inputs) override {
    check_inputs(g_, inputs);
    inputs_ = inputs;
    // One fork/join for all the row steps: each thread takes its rows through the whole chain.
    const std::size_t parts = tensor::parts_for(row_flops_);
    tensor::parallel_chunks(batch_rows_, tensor::gemm_config().mr, parts,
                            [&](std::size_t r0, std::size_t r1) {
                              for (std::size_t s = 0; s < plan_.steps.size() && row_step_[s]; ++s)
                                run_step(s, r0, r1);
                            });
    // The rest (reductions and what follows them) on whole tensors, each op parallel itself.
    for (std::size_t s = 0; s < plan_.steps.size(); ++s)
      if (!row_step_[s]) run_step_whole(s);
  }

  const Tensor2D<float>& output(std::size_t i) const override {
    return buffers_.at(plan_.output_buffers.at(i));
  }

  const Plan& plan() const { return plan_; }

 private:
  ConstView<float> value(NodeId id) const {
    const ValueSlot slot = plan_.slots[id];
    switch (slot.kind) {
      case ValueSlot::Kind::input: return inputs_[slot.index].view();
      case ValueSlot::Kind::constant: return constant_view(g_, id);
      case ValueSlot::Kind::buffer: return buffers_[slot.index].view();
      case ValueSlot::Kind::none: break;
    }
    throw Error(fmt::format("cpu-fused: {} has no value", g_.describe(id)));
  }

  // Rows [r0, r1) of step s, on the calling thread.
  void run_step(std::size_t s, std::size_t r0, std::size_t r1) {
    const Step& step = plan_.steps[s];
    auto rows = [&](NodeId id) { return value(id).rows_between(r0, r1); };
    const MatrixView<float> out = buffers_[step.buffer].view().rows_between(r0, r1);
    switch (step.op) {
      case OpKind::linear:
      case OpKind::linear_relu: {
        const auto act =
            step.op == OpKind::linear ? tensor::Activation::none : tensor::Activation::relu;
        tensor::linear_rows(rows(step.inputs[0]), packed_[s], out, act, 0, r1 - r0);
        return;
      }
      case OpKind::linear_relu_softmax:
        tensor::linear_relu_softmax_serial(rows(step.inputs[0]), packed_[s], out);
        return;
      case OpKind::relu: tensor::relu_serial(rows(step.inputs[0]), out); return;
      case OpKind::softmax: tensor::softmax_rows_serial(rows(step.inputs[0]), out); return;
      case OpKind::add: tensor::add_serial(rows(step.inputs[0]), rows(step.inputs[1]), out); return;
      case OpKind::sub: tensor::sub_serial(rows(step.inputs[0]), rows(step.inputs[1]), out); return;
      default: break;
    }
    throw Error(fmt::format("cpu-fused: {} is not a row-wise op", op_name(step.op)));
  }

  void run_step_whole(std::size_t s) {
    const Step& step = plan_.steps[s];
    const MatrixView<float> out = buffers_[step.buffer].view();
    auto in = [&](std::size_t slot) { return value(step.inputs[slot]); };
    switch (step.op) {
      case OpKind::linear: tensor::linear(in(0), packed_[s], out); return;
      case OpKind::linear_relu: tensor::linear_relu(in(0), packed_[s], out); return;
      case OpKind::linear_relu_softmax: tensor::linear_relu_softmax(in(0), packed_[s], out); return;
      case OpKind::relu: tensor::relu(in(0), out); return;
      case OpKind::softmax: tensor::softmax_rows(in(0), out); return;
      case OpKind::add: tensor::add(in(0), in(1), out); return;
      case OpKind::sub: tensor::sub(in(0), in(1), out); return;
      case OpKind::sum: out(0, 0) = tensor::sum(in(0)); return;
      default: break;
    }
    throw Error(fmt::format("cpu-fused: cannot run op {}", op_name(step.op)));
  }

  const Graph& g_;
  Plan plan_;
  std::size_t batch_rows_ = 0;
  std::vector<bool> row_step_;
  std::vector<Tensor2D<float>> buffers_;
  std::vector<tensor::PackedLinear> packed_;
  double row_flops_ = 0;
  std::span<const Tensor2D<float>> inputs_;
};

}  // namespace

std::unique_ptr<Runner> make_cpu_runner(const Graph& graph, Mode mode) {
  switch (mode) {
    case Mode::cpu_immediate: return std::make_unique<CpuImmediate>(graph);
    case Mode::cpu_fused: return std::make_unique<CpuFused>(graph);
    default: break;
  }
  throw Error(fmt::format("make_cpu_runner: {} is a GPU mode; use make_gpu_runner", mode_name(mode)));
}

}  // namespace dp::graph
