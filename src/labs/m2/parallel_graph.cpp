// parallel-graph — Running the independent ops of a graph at the same time: when does it pay?
//
// A wide graph built with src/graph: one input x (rows x width), `branches` independent branches
// of `depth` layers each (relu(linear(h, W, b)), every branch with its own weights), then a join
// that adds the branch outputs pairwise, as a balanced tree, into one result. It runs three ways:
//   sequential     every op in topological order (graph/schedule.hpp) on one thread
//   tbb-flow       a tbb::flow::graph: one continue_node per op, an edge per dependency
//   work-stealing  a small scheduler of ours: each thread has a deque of ready ops; it runs its
//                  newest, and an idle thread steals the oldest op of another thread. Each op
//                  holds a count of unfinished inputs; whoever finishes the last one readies it.
// Every op runs on one thread (the *_serial tensor kernels): the parallelism is *between* ops
// (inter-op), which is what the graph's own runners do not do (they split each op's rows across
// threads, intra-op: graph/runner.hpp). So the graph comes from src/graph unchanged (built,
// validated and ordered there; parallel_graph_ops.hpp beside this file builds it and lists its
// ops), and this file brings the executors.
// Two sweeps: branch count at a fixed op size, and op size (width) at a fixed branch count.
// Checked: each variant's output equals the graph's cpu-immediate runner's on the same input.
// Under ThreadSanitizer tbb-flow is left out (Debian's TBB is not built for TSan;
// src/tensor/parallel.cpp).
//
//   dontpanic run parallel-graph            branches 1..32 (width 128), widths 16..256 (8 branches)
//   dontpanic run parallel-graph --quick    branches 1, 4, 16; widths 32, 128, 256
//   --param rows=64 --param depth=2         batch rows; layers per branch
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/checks_by_size.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"  // DP_TSAN
#include "core/sweep.hpp"
#include "graph/runner.hpp"
#include "labs/m2/parallel_graph_ops.hpp"  // the graph, its ops, and how one op runs

#if __has_include(<tbb/flow_graph.h>) && !defined(DP_TSAN)
#define DP_PGRAPH_HAVE_TBB 1
#include <tbb/flow_graph.h>
#endif

namespace {

using namespace dp::parallel_graph;  // wide_graph, Op, plan_ops, execute; Graph, Tensor2D

// ---------------------------------------------------------------------------------------------
// Our work-stealing scheduler
// ---------------------------------------------------------------------------------------------

// Waiting without sleeping: a pause, and every 64 rounds a yield, so that on a busy machine a
// waiting thread lets the thread that holds the work have the core.
inline void relax(unsigned& spins) {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
  if (++spins % 64 == 0) std::this_thread::yield();
}

// Threads 1..P-1 live as long as the scheduler and spin between runs; the caller is thread 0.
// (Not pinned, unlike dp::ThreadTeam: a graph run must not wait for a thread whose one allowed
// core is busy with another program.)
class WorkStealing {
 public:
  WorkStealing(std::vector<Op>& ops, int threads)
      : ops_(ops), pending_(ops.size()), queues_(static_cast<std::size_t>(threads)) {
    for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { serve(static_cast<std::size_t>(t)); });
  }
  ~WorkStealing() { stop_.store(true, std::memory_order_release); }  // workers_ (last) join first

  void run() {
    remaining_.store(ops_.size(), std::memory_order_relaxed);
    for (std::size_t k = 0; k < ops_.size(); ++k) {
      pending_[k].store(ops_[k].preds.size(), std::memory_order_relaxed);
      if (ops_[k].preds.empty()) queues_[0].items.push_back(k);  // all on thread 0: the others steal
    }
    done_.store(0, std::memory_order_relaxed);
    round_.fetch_add(1, std::memory_order_release);  // publishes the stores above to the workers
    work(0);
    unsigned spins = 0;  // every worker out of work() before the next run resets the counts
    while (done_.load(std::memory_order_acquire) != workers_.size()) relax(spins);
  }

 private:
  void serve(std::size_t t) {
    std::uint64_t seen = 0;
    for (;;) {
      unsigned spins = 0;
      while (round_.load(std::memory_order_acquire) == seen)
        if (stop_.load(std::memory_order_acquire)) return;
        else relax(spins);
      ++seen;
      work(t);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  struct Queue {
    std::mutex mutex;  // a lock per deque: simple, and uncontended unless someone steals
    std::deque<std::size_t> items;
  };
  bool pop_own(std::size_t t, std::size_t& k) {  // newest first: its inputs are likely in our cache
    std::lock_guard lock(queues_[t].mutex);
    if (queues_[t].items.empty()) return false;
    k = queues_[t].items.back();
    queues_[t].items.pop_back();
    return true;
  }
  bool steal(std::size_t t, std::size_t& k) {  // oldest first, from the next thread round
    for (std::size_t i = 1; i < queues_.size(); ++i) {
      Queue& q = queues_[(t + i) % queues_.size()];
      std::lock_guard lock(q.mutex);
      if (q.items.empty()) continue;
      k = q.items.front();
      q.items.pop_front();
      return true;
    }
    return false;
  }
  void work(std::size_t t) {
    unsigned spins = 0;
    while (remaining_.load(std::memory_order_acquire) > 0) {
      std::size_t k;
      if (!pop_own(t, k) && !steal(t, k)) {
        relax(spins);
        continue;
      }
      execute(ops_[k]);
      for (std::size_t s : ops_[k].succs)  // acq_rel: the last one to finish an input sees them all
        if (pending_[s].fetch_sub(1, std::memory_order_acq_rel) == 1) {
          std::lock_guard lock(queues_[t].mutex);
          queues_[t].items.push_back(s);
        }
      remaining_.fetch_sub(1, std::memory_order_acq_rel);  // after the successors are queued
    }
  }

  std::vector<Op>& ops_;
  std::vector<std::atomic<std::size_t>> pending_;  // unfinished inputs of each op
  std::atomic<std::size_t> remaining_{0};          // ops not yet finished in this run
  std::vector<Queue> queues_;
  std::atomic<std::uint64_t> round_{0};
  std::atomic<std::size_t> done_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::jthread> workers_;  // last: they start after everything else exists
};

// ---------------------------------------------------------------------------------------------
// The variants, made once per graph, each "run the whole graph once"
// ---------------------------------------------------------------------------------------------

enum class Kind { sequential, tbb_flow, work_stealing };

struct Executor {
  virtual ~Executor() = default;
  virtual void run() = 0;
};

struct Sequential : Executor {
  std::vector<Op>& ops;
  explicit Sequential(std::vector<Op>& o) : ops(o) {}
  void run() override {
    for (Op& op : ops) execute(op);  // plan_ops keeps the topological order
  }
};

struct Stealing : Executor {
  WorkStealing scheduler;
  Stealing(std::vector<Op>& ops, int threads) : scheduler(ops, threads) {}
  void run() override { scheduler.run(); }
};

#ifdef DP_PGRAPH_HAVE_TBB
struct TbbFlow : Executor {
  using Continue = tbb::flow::continue_node<tbb::flow::continue_msg>;
  tbb::flow::graph graph;
  tbb::flow::broadcast_node<tbb::flow::continue_msg> start{graph};
  std::vector<std::unique_ptr<Continue>> nodes;
  explicit TbbFlow(std::vector<Op>& ops) {
    for (Op& op : ops)
      nodes.push_back(std::make_unique<Continue>(graph, [&op](const tbb::flow::continue_msg&) {
        execute(op);
        return tbb::flow::continue_msg();
      }));
    for (std::size_t k = 0; k < ops.size(); ++k) {
      if (ops[k].preds.empty()) tbb::flow::make_edge(start, *nodes[k]);
      for (std::size_t p : ops[k].preds) tbb::flow::make_edge(*nodes[p], *nodes[k]);
    }
  }
  void run() override {
    start.try_put(tbb::flow::continue_msg());
    graph.wait_for_all();
  }
};
#endif

struct Variant {
  std::string name;
  Kind kind;
};

std::vector<Variant> variants() {
  std::vector<Variant> v = {{"sequential", Kind::sequential}};
#ifdef DP_PGRAPH_HAVE_TBB
  v.push_back({"tbb-flow", Kind::tbb_flow});
#endif
  v.push_back({"work-stealing", Kind::work_stealing});
  return v;
}

std::unique_ptr<Executor> make_executor(Kind kind, std::vector<Op>& ops, int threads) {
  switch (kind) {
    case Kind::sequential: return std::make_unique<Sequential>(ops);
#ifdef DP_PGRAPH_HAVE_TBB
    case Kind::tbb_flow: return std::make_unique<TbbFlow>(ops);
#else
    case Kind::tbb_flow: break;
#endif
    case Kind::work_stealing: return std::make_unique<Stealing>(ops, threads);
  }
  throw dp::Error("parallel-graph: this build has no such variant");
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

struct Config {
  std::size_t rows, width, branches, depth;
};

// Each variant once on the graph, compared with the graph's own cpu-immediate runner.
void check(dp::ChecksBySize& checks, const Config& c, int threads, std::size_t n) {
  const Graph g = wide_graph(c.rows, c.width, c.branches, c.depth);
  const auto x = Tensor2D<float>::random(c.rows, c.width, 42);
  const auto reference = dp::graph::make_cpu_runner(g, dp::graph::Mode::cpu_immediate);
  reference->run(std::span<const Tensor2D<float>>(&x, 1));
  const auto& want = reference->output(0);
  for (const Variant& v : variants()) {
    auto ops = plan_ops(g, x);
    make_executor(v.kind, ops, threads)->run();
    const auto r = dp::compare(std::span<const float>(ops.back().out.span()), want.span(), dp::Tolerance{.abs = 1e-4, .rel = 1e-4});
    checks.record(v.name + ": output equals the graph's cpu-immediate runner (branches, then width)", n, r.passed, r.detail);
  }
}

// Times every variant on one graph; the series name carries what the sweep holds fixed.
void measure(dp::LabContext& ctx, const Config& c, int threads, const std::string& suffix, double x, const std::string& x_name) {
  const Graph g = wide_graph(c.rows, c.width, c.branches, c.depth);
  const auto input = Tensor2D<float>::random(c.rows, c.width, 42);
  double sequential_ns = 0;
  for (const Variant& v : variants()) {
    auto ops = plan_ops(g, input);
    const auto executor = make_executor(v.kind, ops, threads);
    const auto stats = ctx.measure(fmt::format("{}/{}/{}", v.name, c.branches, c.width), [&] { executor->run(); });
    if (v.kind == Kind::sequential) sequential_ns = stats.median_ns;
    ctx.result.add_point(v.name + suffix, x_name, x, stats, sequential_ns / stats.median_ns, "x sequential", "graph run");
  }
}

void run(dp::LabContext& ctx) {
  const auto rows = static_cast<std::size_t>(ctx.params.integer("rows"));
  const auto depth = static_cast<std::size_t>(ctx.params.integer("depth"));
  const auto width = static_cast<std::size_t>(ctx.params.integer("width"));
  const auto branches = static_cast<std::size_t>(ctx.params.integer("branches"));
  const int threads = std::max(1, ctx.machine.threads);
#ifndef DP_PGRAPH_HAVE_TBB
  ctx.result.notes.push_back("The tbb-flow variant is left out (ThreadSanitizer build, or no TBB headers).");
#endif
  const std::vector<std::uint64_t> branch_counts = ctx.quick ? std::vector<std::uint64_t>{1, 4, 16}
                                                             : std::vector<std::uint64_t>{1, 2, 4, 8, 16, 32};
  const std::vector<std::uint64_t> widths = ctx.quick ? std::vector<std::uint64_t>{32, 128, 256}
                                                      : std::vector<std::uint64_t>{16, 32, 64, 128, 256};

  // Check first: odd sizes (a branch count that is not a power of two, a width that is not a
  // multiple of the SIMD width), then the sweeps' extremes.
  dp::ChecksBySize checks;
  check(checks, {rows, 24, 5, depth}, threads, 5);
  check(checks, {rows, width, branch_counts.back(), depth}, threads, branch_counts.back());
  check(checks, {rows, widths.front(), branches, depth}, threads, widths.front());
  checks.report(ctx.result);
  if (checks.failed()) return;

  const std::string at_width = fmt::format(", width {}", width), at_branches = fmt::format(", {} branches", branches);
  dp::Sweep by_branches(ctx, "branches", branch_counts, {.budget_share = 0.5});
  for (std::uint64_t b : by_branches) measure(ctx, {rows, width, b, depth}, threads, at_width, static_cast<double>(b), "branches");
  dp::Sweep by_width(ctx, "width", widths, {.weight = [](std::uint64_t w) { return static_cast<double>(w * w); }});
  for (std::uint64_t w : by_width) measure(ctx, {rows, w, branches, depth}, threads, at_branches, static_cast<double>(w), "width");

  // Key figures: the best speedup of each parallel variant in each sweep.
  for (const Variant& v : variants()) {
    if (v.kind == Kind::sequential) continue;
    for (const std::string& suffix : {at_width, at_branches}) {
      const dp::Series* s = ctx.result.find_series(v.name + suffix);
      if (!s || s->points.empty()) continue;
      const auto best = std::max_element(s->points.begin(), s->points.end(),
                                         [](const dp::Point& a, const dp::Point& b) { return a.throughput < b.throughput; });
      ctx.result.headlines.push_back({fmt::format("{}{}: best speedup", v.name, suffix),
                                      fmt::format("{:.2f}x at {} {}", best->throughput, best->x, s->x)});
    }
  }
  const double flops = 2.0 * static_cast<double>(rows * width * width);
  ctx.result.notes.push_back(fmt::format("One linear op of width {} is {:.2g} FLOP ({} rows); each branch has {} linear and {} relu ops; "
                                         "parallel variants use {} thread{}.", width, flops, rows, depth, depth, threads, threads > 1 ? "s" : ""));

  std::vector<std::string> b_names, w_names;
  for (const Variant& v : variants()) b_names.push_back(v.name + at_width), w_names.push_back(v.name + at_branches);
  ctx.result.plots.push_back(dp::PlotSpec{.name = "branches", .title = fmt::format("Time per graph run, width {}", width),
                                          .xlabel = "independent branches", .ylabel = "ns per graph run",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = b_names});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "speedup-branches", .title = fmt::format("Speedup over one thread, width {}", width),
                                          .xlabel = "independent branches", .ylabel = "speedup (x sequential)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = false, .variants = b_names});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "speedup-width", .title = fmt::format("Speedup over one thread, {} branches", branches),
                                          .xlabel = fmt::format("op width (features; a linear op is 2 x {} x width^2 FLOP)", rows),
                                          .ylabel = "speedup (x sequential)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = false, .variants = w_names});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "parallel-graph",
             .title = "Parallel graphs: scheduling a DAG of ops on threads",
             .module = 2,
             .level = 4,
             .tracks = {"dl"},
             .question = "When does running a graph's independent ops on several threads beat running "
                         "them in order on one?",
             .guide_page = "m2/parallel-graph.md",
             .source = "src/labs/m2/parallel_graph.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("rows", "batch rows of the input", 64, 64, 1, 4096),
               dp::ParamSpec::integer("depth", "layers (linear + relu) per branch", 2, 2, 1, 16),
               dp::ParamSpec::integer("width", "features per layer in the branch-count sweep", 128, 128, 8, 1024),
               dp::ParamSpec::integer("branches", "branches in the width sweep", 8, 8, 1, 256)},
    .run = run,
});
