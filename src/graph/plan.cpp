// plan.cpp — fusion and buffer assignment (see plan.hpp).
#include "graph/plan.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "core/error.hpp"
#include "graph/schedule.hpp"

namespace dp::graph {
namespace {

bool is_output(const Graph& g, NodeId id) {
  return std::find(g.outputs().begin(), g.outputs().end(), id) != g.outputs().end();
}

// readers[id]: the scheduled nodes that read node id.
std::vector<std::vector<NodeId>> readers_of(const Graph& g, const std::vector<NodeId>& order) {
  std::vector<std::vector<NodeId>> readers(g.size());
  for (NodeId id : order)
    for (NodeId in : g.node(id).inputs) readers[in].push_back(id);
  return readers;
}

// The single reader of `id` if it has exactly one and `id` is not an output: only then may
// `id` vanish into a fused step.
std::optional<NodeId> sole_reader(const Graph& g, const std::vector<std::vector<NodeId>>& readers,
                                  NodeId id) {
  if (readers[id].size() != 1 || is_output(g, id)) return std::nullopt;
  return readers[id].front();
}

}  // namespace

Plan make_plan(const Graph& g, bool fuse) {
  Plan plan;
  plan.shapes = validate(g);
  const std::vector<NodeId> order = topological_order(g, g.outputs());
  const auto readers = readers_of(g, order);

  // --- 1 + 2: steps, fusing linear -> relu [-> softmax] -------------------------------------
  std::vector<bool> absorbed(g.size(), false);  // computed inside an earlier fused step
  plan.slots.assign(g.size(), {});
  const auto inputs = g.inputs();
  for (std::size_t i = 0; i < inputs.size(); ++i)
    plan.slots[inputs[i]] = {ValueSlot::Kind::input, static_cast<int>(i)};
  for (NodeId id : order) {
    const Node& n = g.node(id);
    if (n.op == OpKind::input) continue;
    if (n.op == OpKind::constant) {
      plan.slots[id] = {ValueSlot::Kind::constant, -1};
      continue;
    }
    if (absorbed[id]) continue;
    Step step;
    step.op = n.op;
    step.covers = {id};
    step.inputs = n.inputs;
    if (fuse && n.op == OpKind::linear) {
      const auto r = sole_reader(g, readers, id);
      if (r && g.node(*r).op == OpKind::relu) {
        step.op = OpKind::linear_relu;
        step.covers.push_back(*r);
        const auto s = sole_reader(g, readers, *r);
        if (s && g.node(*s).op == OpKind::softmax) {
          step.op = OpKind::linear_relu_softmax;
          step.covers.push_back(*s);
        }
      }
    }
    for (std::size_t c = 1; c < step.covers.size(); ++c) absorbed[step.covers[c]] = true;
    plan.fused_nodes += step.covers.size() - 1;
    step.node = step.covers.back();
    step.shape = plan.shapes[step.node];
    plan.steps.push_back(std::move(step));
  }
  for (NodeId out : g.outputs())
    if (g.node(out).op == OpKind::input || g.node(out).op == OpKind::constant)
      throw Error(fmt::format("plan: output {} is not computed by any op; mark an op's result as "
                              "the output",
                              g.describe(out)));

  assign_buffers(plan, g);
  return plan;
}

void assign_buffers(Plan& plan, const Graph& g) {
  plan.buffers.clear();
  plan.output_buffers.clear();
  // last_read[id]: index of the last step that reads node id's value.
  std::vector<int> last_read(g.size(), -1);
  for (std::size_t s = 0; s < plan.steps.size(); ++s)
    for (NodeId in : plan.steps[s].inputs) last_read[in] = static_cast<int>(s);
  std::vector<int> free_buffers;
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    Step& step = plan.steps[s];
    // Take a free buffer of the right shape, else a new one. Inputs of this step are still
    // held (they are released below), so a step never writes what it reads.
    auto it = std::find_if(free_buffers.begin(), free_buffers.end(),
                           [&](int b) { return plan.buffers[b] == step.shape; });
    if (it != free_buffers.end()) {
      step.buffer = *it;
      free_buffers.erase(it);
    } else {
      step.buffer = static_cast<int>(plan.buffers.size());
      plan.buffers.push_back(step.shape);
    }
    for (NodeId c : step.covers) plan.slots[c] = {ValueSlot::Kind::buffer, step.buffer};
    // Release the inputs this step was the last to read (never outputs).
    for (NodeId in : step.inputs) {
      const ValueSlot slot = plan.slots[in];
      if (slot.kind == ValueSlot::Kind::buffer && last_read[in] == static_cast<int>(s) &&
          !is_output(g, in) &&
          std::find(free_buffers.begin(), free_buffers.end(), slot.index) == free_buffers.end())
        free_buffers.push_back(slot.index);
    }
    // A result nobody reads (and not an output) can go at once.
    if (last_read[step.node] < 0 && !is_output(g, step.node)) free_buffers.push_back(step.buffer);
  }
  for (NodeId out : g.outputs()) plan.output_buffers.push_back(plan.slots[out].index);
}

std::string Plan::describe(const Graph& g) const {
  std::string text;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const Step& st = steps[s];
    std::string args;
    for (NodeId in : st.inputs) args += (args.empty() ? "" : ", ") + g.node(in).name;
    std::string covers;
    if (st.covers.size() > 1)
      for (NodeId c : st.covers) covers += (covers.empty() ? "  [fuses " : " + ") + g.node(c).name;
    if (!covers.empty()) covers += "]";
    text += fmt::format("{:3}  buf{:<2} {:>9} = {}({}){}\n", s, st.buffer, st.shape.str(),
                        op_name(st.op), args, covers);
  }
  return text;
}

}  // namespace dp::graph
