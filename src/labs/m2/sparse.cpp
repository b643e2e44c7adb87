// sparse.cpp — sparse matrix times vector: when does storing only the nonzeros win?
//
// What: y = A x with A an n x n float matrix that is mostly zeros, x a fresh random vector.
// Variants, all computing the same y:
//   dense            our vectorized GEMV (sparse_kernels.hpp) over all n^2 entries, zeros too
//   csr              compressed sparse rows (labs/m3/sparse_formats.hpp, shared with the pruning
//                    lab): per nonzero, a value, a column index and a gathered x[col]
//   csr, by rows     the rows split over t threads in equal counts of rows
//   csr, by nonzeros the rows split over t threads in equal counts of nonzeros (+1 per row)
//   ell              ELLPACK: every row padded to the longest, column-major, 16 rows side by side
//   scipy csr @ x    the peer: scipy.sparse.csr_matrix on the same arrays (bench/peers/sparse_scipy.py)
// Inputs: (1) uniform random matrices, each entry nonzero with probability d, d from 1e-4 to 0.5,
// to find the crossover density where csr starts beating dense (on 1 thread, and on all);
// (2) an R-MAT power-law graph's adjacency matrix (Graph500's generator, seeded, vertices not
// shuffled), where a split by rows is unfair and ELL's padding explodes.
// Throughput: GFLOP/s (2 flops per nonzero; dense: per entry) and GB/s of what CSR must move:
// values + column indices + row pointers + x gathers (4 bytes each) + y.
// Check first: every variant against a double-precision dense product, with a rounding bound.
// Run:  dontpanic run sparse     dontpanic run sparse --quick     --param n=16384 --param scale=15
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "labs/peer_output.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/machine.hpp"
#include "core/portability.hpp"
#include "core/process.hpp"
#include "core/source_tree.hpp"
#include "core/thread_team.hpp"
#include "labs/m2/sparse_kernels.hpp"
#include "labs/m3/sparse_formats.hpp"

namespace {

using dp::sparse::Csr;
using dp::spmv::Ell;
using Split = std::vector<std::size_t>;

// ---------------------------------------------------------------------------------------------
// The variants: each computes y = A x, on `threads` threads where it has them. The kernels live
// in sparse_formats.hpp (spmv_rows: the textbook CSR loop) and sparse_kernels.hpp (ELL, dense).
// ---------------------------------------------------------------------------------------------

// One product on a split: thread t computes rows [split[t], split[t+1]). The team is pinned and
// spinning (core/thread_team.hpp), so a round costs well under a microsecond to start.
struct Parallel {
  Split split;
  std::function<void(std::size_t, std::size_t)> rows;  // compute rows [begin, end)
  dp::ThreadTeam team;
  Parallel(Split s, std::function<void(std::size_t, std::size_t)> f)
      : split(std::move(s)), rows(std::move(f)),
        team(static_cast<int>(split.size() - 1), [this](int t) { rows(split[t], split[t + 1]); }) {}
};

// A matrix in every form the variants read, and what a product of it costs.
struct Operand {
  std::string name;                   // "uniform, density 0.01", "R-MAT"
  Csr csr;
  std::optional<Ell> ell;             // absent where its padding would not fit (see make_operand)
  std::vector<float> x, y;
  dp::spmv::Reference ref;
  double flops() const { return 2.0 * static_cast<double>(csr.nnz()); }
  // Bytes CSR moves per product: val and col (4 each per nonzero), row_ptr (rows + 1), one x
  // gather per nonzero (4; an x already in cache makes this an overestimate), y written (rows).
  double csr_bytes() const {
    return 4.0 * (3.0 * static_cast<double>(csr.nnz()) + 2.0 * static_cast<double>(csr.rows) + 1);
  }
};

// ELL costs rows x width entries; it is built only where that stays under 16x the CSR's nonzeros
// and 512 MiB, so a power-law matrix with one row of 10^4 nonzeros does not allocate gigabytes.
constexpr double kEllMaxPadding = 16;
constexpr std::size_t kEllMaxBytes = std::size_t{512} << 20;

Operand make_operand(std::string name, Csr a, std::mt19937_64& rng) {
  Operand op{std::move(name), std::move(a), std::nullopt, {}, {}, {}};
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  op.x.resize(op.csr.cols);
  for (float& v : op.x) v = u(rng);
  op.y.assign(op.csr.rows, 0.0f);
  const std::size_t width = Ell::width_of(op.csr), padded = op.csr.rows * width;
  if (static_cast<double>(padded) <= kEllMaxPadding * static_cast<double>(std::max<std::size_t>(op.csr.nnz(), 1)) &&
      8 * padded <= kEllMaxBytes)
    op.ell = Ell::from_csr(op.csr);
  op.ref = dp::spmv::reference_product(op.csr, op.x);
  return op;
}

// ---------------------------------------------------------------------------------------------
// The check: every variant on one operand, y filled with NaN first (a row never written fails)
// ---------------------------------------------------------------------------------------------

bool check_operand(dp::LabContext& ctx, Operand& op, int threads, const std::vector<float>* dense) {
  const Csr& a = op.csr;
  bool ok = true;
  const auto one = [&](const std::string& variant, const std::function<void()>& kernel) {
    std::fill(op.y.begin(), op.y.end(), std::nanf(""));
    kernel();
    const dp::CompareResult c = dp::spmv::compare_product(op.y, op.ref);
    ctx.result.add_check(fmt::format("{} = double dense product, {}", variant, op.name), c.passed, c.detail);
    ok = ok && c.passed;
  };
  one("csr", [&] { dp::sparse::spmv_rows(a, op.x, op.y, 0, a.rows); });
  // More threads than rows, and an odd count, exercise empty and uneven shares.
  // The timed path (a pinned team of `threads`), and 3 fresh unpinned threads (dp::run_together:
  // no spinning when that is more threads than CPUs).
  const auto csr_rows = [&](std::size_t b, std::size_t e) { dp::sparse::spmv_rows(a, op.x, op.y, b, e); };
  one(fmt::format("csr, by rows, {} threads", threads), [&] { Parallel(dp::spmv::split_by_rows(a.rows, threads), csr_rows).team.run(); });
  one(fmt::format("csr, by nonzeros, {} threads", threads), [&] { Parallel(dp::spmv::split_by_nonzeros(a, threads), csr_rows).team.run(); });
  for (const bool by_nnz : {false, true}) {
    const Split s = by_nnz ? dp::spmv::split_by_nonzeros(a, 3) : dp::spmv::split_by_rows(a.rows, 3);
    one(fmt::format("csr, by {}, 3 threads", by_nnz ? "nonzeros" : "rows"), [&] { dp::run_together(3, [&](int t) { csr_rows(s[t], s[t + 1]); }); });
  }
  if (op.ell) one("ell", [&] { dp::spmv::ell_spmv_rows(*op.ell, op.x, op.y, 0, a.rows); });
  if (dense) {
    one("dense", [&] { dp::spmv::dense_gemv_rows(*dense, a.cols, op.x, op.y, 0, a.rows); });
    one(fmt::format("dense, {} threads", threads), [&] {
      Parallel(dp::spmv::split_by_rows(a.rows, threads),
               [&](std::size_t b, std::size_t e) { dp::spmv::dense_gemv_rows(*dense, a.cols, op.x, op.y, b, e); }).team.run();
    });
  }
  return ok;
}

// Small, awkward shapes: 1x1, a row with every entry nonzero, empty rows, more threads than rows,
// a column count that is no multiple of the SIMD width, a small power-law graph.
bool check_shapes(dp::LabContext& ctx, int threads, std::mt19937_64& rng) {
  struct Shape { std::size_t rows, cols; double density; };
  bool ok = true;
  for (const Shape s : {Shape{1, 1, 1.0}, Shape{1, 1000, 1.0}, Shape{2, 3, 0.5}, Shape{37, 53, 0.05}, Shape{300, 200, 0.002},
                        Shape{513, 1001, 0.3}}) {
    Operand op = make_operand(fmt::format("{}x{}, density {}", s.rows, s.cols, s.density),
                              dp::spmv::random_uniform(s.rows, s.cols, s.density, rng), rng);
    const std::vector<float> dense = op.csr.to_dense();
    ok = check_operand(ctx, op, threads, &dense) && ok;
  }
  Operand g = make_operand("R-MAT, 2^8 vertices", dp::spmv::rmat(8, 8, rng), rng);
  const std::vector<float> dense = g.csr.to_dense();
  return check_operand(ctx, g, threads, &dense) && ok;
}

// ---------------------------------------------------------------------------------------------
// The peer: scipy.sparse.csr_matrix(...) @ x on the same arrays, through /usr/bin/python3
// ---------------------------------------------------------------------------------------------

template <typename T>
void write_file(const std::filesystem::path& path, std::span<const T> data) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size_bytes()));
  if (!f) throw dp::Error(fmt::format("sparse: could not write {}", path.string()));
}

// Runs bench/peers/sparse_scipy.py on the operands (their CSR arrays and x written to a temporary
// folder); returns each operand's median seconds per product, and checks the y it wrote back.
// Empty (and `why`) where the peer cannot run.
std::map<std::string, double> run_scipy(dp::LabContext& ctx, std::vector<const Operand*> ops, std::string& why) {
  const auto python = dp::find_program("/usr/bin/python3");
  if (!python) {
    why = "scipy peer skipped: /usr/bin/python3 not found (Debian: apt install python3-scipy).";
    return {};
  }
  const dp::labs::PeerScratch scratch("sparse");
  const auto& dir = scratch.dir();
  nlohmann::json manifest = nlohmann::json::array();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Csr& a = ops[i]->csr;
    const std::string stem = fmt::format("m{}", i);
    write_file<std::uint32_t>(dir / (stem + ".row_ptr.u32"), a.row_ptr);
    write_file<std::uint32_t>(dir / (stem + ".col.u32"), a.col);
    write_file<float>(dir / (stem + ".val.f32"), a.val);
    write_file<float>(dir / (stem + ".x.f32"), ops[i]->x);
    manifest.push_back({{"stem", stem}, {"rows", a.rows}, {"cols", a.cols}, {"nnz", a.nnz()}});
  }
  std::ofstream(dir / "matrices.json") << manifest.dump();
  const auto proc = dp::run_process({*python, (dp::source_dir() / "bench" / "peers" / "sparse_scipy.py").string(), "--dir",
                                     dir.string(), "--repeats", ctx.quick ? "5" : "15", "--min-seconds", ctx.quick ? "0.005" : "0.05"},
                                    {}, 600);
  std::map<std::string, double> seconds;
  try {
    const auto j = dp::labs::peer_json(proc.output);  // its last line: warnings may come before
    if (j.contains("skipped")) {
      why = fmt::format("scipy peer skipped: {}", j.at("skipped").get<std::string>());
      return {};
    }
    ctx.result.notes.push_back(fmt::format("Peer: scipy {} (numpy {}), csr_matrix @ x, float32 values, int32 indices, "
                                           "one thread, timed by the script itself (time.perf_counter, median of {} repetitions).",
                                           j.at("scipy").get<std::string>(), j.at("numpy").get<std::string>(), ctx.quick ? 5 : 15));
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const std::string stem = fmt::format("m{}", i);
      std::vector<float> y(ops[i]->csr.rows);
      std::ifstream f(dir / (stem + ".y.f32"), std::ios::binary);
      f.read(reinterpret_cast<char*>(y.data()), static_cast<std::streamsize>(y.size() * sizeof(float)));
      if (!f) throw std::runtime_error(fmt::format("{}.y.f32 missing or short", stem));
      const dp::CompareResult c = dp::spmv::compare_product(y, ops[i]->ref);
      ctx.result.add_check(fmt::format("scipy csr @ x = double dense product, {}", ops[i]->name), c.passed, c.detail);
      seconds[ops[i]->name] = j.at("seconds").at(stem).get<double>();
    }
  } catch (const std::exception& e) {
    why = fmt::format("scipy peer skipped: sparse_scipy.py exited with {}{} ({}): {}", proc.exit_code,
                      proc.timed_out ? " (timed out)" : "", e.what(), proc.output.substr(0, 300));
    return {};
  }
  return seconds;
}

// ---------------------------------------------------------------------------------------------
// run(): check, time, report
// ---------------------------------------------------------------------------------------------

// Densities of the sweep, dense to sparse; the quick run keeps fewer. Both hold kScalingDensity.
const std::vector<double> kDensitiesFull = {0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05, 0.03, 0.01, 3e-3, 1e-3, 3e-4, 1e-4};
const std::vector<double> kDensitiesQuick = {0.5, 0.3, 0.2, 0.1, 0.05, 0.01, 1e-3, 1e-4};
constexpr double kScalingDensity = 0.05;  // the uniform matrix of the thread-scaling plot

void run(dp::LabContext& ctx) {
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  // Sanitizer builds run ten times slower and only their checks count: a quick run there is smaller.
  const bool small = dp::kSanitized && ctx.quick;
  const auto n = static_cast<std::size_t>(small ? std::min<long long>(ctx.params.integer("n"), 1024) : ctx.params.integer("n"));
  const int scale = static_cast<int>(small ? std::min<long long>(ctx.params.integer("scale"), 10) : ctx.params.integer("scale"));
  const auto edge_factor = static_cast<std::size_t>(ctx.params.integer("edges"));
  const int max_threads = std::max<int>(1, static_cast<int>(dp::allowed_cpus().size()));
  const std::string all = fmt::format("{} threads", max_threads);
  std::vector<int> thread_counts;  // 1, 2, 3, 4, 8, 16 ... and max_threads: every count on a laptop
  for (int t = 1; t < max_threads; t = t < 4 ? t + 1 : 2 * t) thread_counts.push_back(t);
  thread_counts.push_back(max_threads);
  const auto& densities = ctx.quick ? kDensitiesQuick : kDensitiesFull;

  // ---- check: small shapes, then every timed matrix before it is timed ----
  if (!check_shapes(ctx, max_threads, rng)) return;

  // The dense matrix: the densest uniform one, spread out. Dense GEMV's time does not depend on
  // how many of its entries are zero, so it is timed once and drawn flat.
  ctx.log << fmt::format("  dense {}x{} ({})\n", n, n, dp::format_bytes(4 * n * n));
  std::vector<Operand> uniform;
  uniform.reserve(densities.size());  // kernels hold references into it: it must not move
  uniform.push_back(make_operand(fmt::format("uniform, density {}", densities.front()),
                                 dp::spmv::random_uniform(n, n, densities.front(), rng), rng));
  const std::vector<float> dense = uniform.front().csr.to_dense();
  if (!check_operand(ctx, uniform.front(), max_threads, &dense)) return;

  const auto time = [&](const std::string& variant, const std::string& x_name, double x, double flops, double bytes,
                        const std::function<void()>& body) {
    const dp::Stats s = ctx.measure(fmt::format("{}/{}={}", variant, x_name, x), [&] {
      body();
      benchmark::ClobberMemory();
    });
    ctx.result.add_point(variant, x_name, x, s, flops / s.median_ns, "GFLOP/s");
    if (bytes > 0) ctx.result.add_point(variant + ", GB/s", x_name, x, s, bytes / s.median_ns, "GB/s");
    return s;
  };
  const double dense_flops = 2.0 * static_cast<double>(n) * static_cast<double>(n);
  const double dense_bytes = 4.0 * static_cast<double>(n) * static_cast<double>(n + 2);
  Operand& top = uniform.front();
  const auto dense_rows = [&](std::size_t b, std::size_t e) { dp::spmv::dense_gemv_rows(dense, n, top.x, top.y, b, e); };
  std::map<int, dp::Stats> dense_by_threads;  // also the scaling plot's dense series
  for (const int t : thread_counts) {
    Parallel p(dp::spmv::split_by_rows(n, t), dense_rows);
    dense_by_threads[t] = time("scaling: dense", "threads", t, dense_flops, 0, [&] { p.team.run(); });
  }

  // ---- the density sweep ----
  std::vector<std::pair<double, double>> ratio_one, ratio_all;  // density, t_csr / t_dense
  for (std::size_t i = 0; i < densities.size(); ++i) {
    const double d = densities[i];
    if (i > 0) {
      uniform.push_back(make_operand(fmt::format("uniform, density {}", d), dp::spmv::random_uniform(n, n, d, rng), rng));
      if (!check_operand(ctx, uniform.back(), max_threads, nullptr)) return;
    }
    Operand& op = uniform.back();
    ctx.log << fmt::format("  density {}: {} nonzeros, CSR {}\n", d, op.csr.nnz(), dp::format_bytes(op.csr.bytes()));
    const auto csr_rows = [&](std::size_t b, std::size_t e) { dp::sparse::spmv_rows(op.csr, op.x, op.y, b, e); };
    const dp::Stats one = time("csr, 1 thread", "density", d, op.flops(), op.csr_bytes(), [&] { csr_rows(0, n); });
    dp::Stats par = one;
    if (max_threads > 1) {
      Parallel p(dp::spmv::split_by_nonzeros(op.csr, max_threads), csr_rows);
      par = time(fmt::format("csr, {}, by nonzeros", all), "density", d, op.flops(), op.csr_bytes(), [&] { p.team.run(); });
    }
    if (op.ell) time("ell, 1 thread", "density", d, op.flops(), 0, [&] { dp::spmv::ell_spmv_rows(*op.ell, op.x, op.y, 0, n); });
    // Dense, flat: the same measurement at every density, so the plot shows where the lines cross.
    ctx.result.add_point("dense, 1 thread", "density", d, dense_by_threads[1], dense_flops / dense_by_threads[1].median_ns, "GFLOP/s");
    ctx.result.add_point("dense, 1 thread, GB/s", "density", d, dense_by_threads[1], dense_bytes / dense_by_threads[1].median_ns, "GB/s");
    if (max_threads > 1)
      ctx.result.add_point(fmt::format("dense, {}", all), "density", d, dense_by_threads[max_threads],
                           dense_flops / dense_by_threads[max_threads].median_ns, "GFLOP/s");
    ratio_one.emplace_back(d, one.median_ns / dense_by_threads[1].median_ns);
    ratio_all.emplace_back(d, par.median_ns / dense_by_threads[max_threads].median_ns);
    // Free the big ones as we go: only the sparser matrices and the one for scaling are kept.
    if (d > 0.1) op.ell.reset(), op.csr = Csr{}, op.y = {}, op.y.shrink_to_fit();
  }

  // ---- thread scaling: a uniform matrix and the power-law graph, split by rows and by nonzeros ----
  const auto scaling_op = std::find_if(uniform.begin(), uniform.end(), [](const Operand& o) { return o.name.ends_with(fmt::format(" {}", kScalingDensity)); });
  Operand scaled = scaling_op != uniform.end() ? std::move(*scaling_op)
                                               : make_operand(fmt::format("uniform, density {}", kScalingDensity),
                                                              dp::spmv::random_uniform(n, n, kScalingDensity, rng), rng);
  if (scaling_op == uniform.end() && !check_operand(ctx, scaled, max_threads, nullptr)) return;
  ctx.log << fmt::format("  R-MAT graph: 2^{} vertices, {} edges drawn\n", scale, edge_factor << scale);
  Operand graph = make_operand(fmt::format("R-MAT, 2^{} vertices", scale), dp::spmv::rmat(scale, edge_factor, rng), rng);
  if (!check_operand(ctx, graph, max_threads, nullptr)) return;
  for (Operand* op : {&scaled, &graph}) {
    const std::string which = op == &graph ? "R-MAT" : "uniform";
    const auto rows = [op](std::size_t b, std::size_t e) { dp::sparse::spmv_rows(op->csr, op->x, op->y, b, e); };
    for (const int t : thread_counts) {
      {  // each team ends before the next begins (one spinning team at a time: core/thread_team.hpp)
        Parallel by_rows(dp::spmv::split_by_rows(op->csr.rows, t), rows);
        time(fmt::format("scaling: {}, csr by rows", which), "threads", t, op->flops(), op->csr_bytes(), [&] { by_rows.team.run(); });
      }
      Parallel by_nnz(dp::spmv::split_by_nonzeros(op->csr, t), rows);
      time(fmt::format("scaling: {}, csr by nonzeros", which), "threads", t, op->flops(), op->csr_bytes(), [&] { by_nnz.team.run(); });
    }
  }
  std::optional<dp::Stats> graph_ell;
  if (graph.ell) graph_ell = ctx.measure("R-MAT/ell", [&] {
    dp::spmv::ell_spmv_rows(*graph.ell, graph.x, graph.y, 0, graph.csr.rows);
    benchmark::ClobberMemory();
  });

  // ---- the peer, on the sparse matrices still held, and the graph ----
  std::vector<const Operand*> peer_ops;
  for (const Operand& op : uniform)
    if (!op.csr.row_ptr.empty()) peer_ops.push_back(&op);
  peer_ops.push_back(&scaled);
  peer_ops.push_back(&graph);
  std::string why;
  const std::map<std::string, double> scipy = run_scipy(ctx, peer_ops, why);
  if (!why.empty()) ctx.result.notes.push_back(why);
  std::vector<std::pair<double, const Operand*>> by_density;  // dense to sparse, as the other series
  for (const Operand* op : peer_ops)
    if (scipy.contains(op->name) && op->name.starts_with("uniform"))
      by_density.emplace_back(std::stod(op->name.substr(op->name.rfind(' ') + 1)), op);
  std::sort(by_density.begin(), by_density.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [d, op] : by_density) {
    const double ns = scipy.at(op->name) * 1e9;  // the script's own median: no spread to report
    ctx.result.add_point("scipy csr @ x", "density", d, dp::Stats{.median_ns = ns, .p10_ns = ns, .p90_ns = ns, .min_ns = ns, .reps = 1},
                         op->flops() / ns, "GFLOP/s");
  }
  if (!ctx.result.all_checks_passed()) return;

  // ---- report ----
  const auto crossing = [](double c, const std::vector<std::pair<double, double>>& r) {
    if (c < 0) return fmt::format("none: even at density {} csr takes {:.2f}x dense's time", r.back().first, r.back().second);
    if (std::isinf(c)) return fmt::format("csr wins at every measured density (up to {})", r.front().first);
    return fmt::format("csr beats dense below density {:.3f} ({:.1f}% nonzeros)", c, 100 * c);
  };
  const double cross_one = dp::sparse::crossover_density(ratio_one), cross_all = dp::sparse::crossover_density(ratio_all);
  ctx.result.headlines.push_back({"crossover, 1 thread", crossing(cross_one, ratio_one)});
  if (max_threads > 1) ctx.result.headlines.push_back({fmt::format("crossover, {}", all), crossing(cross_all, ratio_all)});
  const dp::Point* dense1 = ctx.result.point_at("dense, 1 thread, GB/s", densities.front());
  const dp::Point* csr_bw = ctx.result.point_at("csr, 1 thread, GB/s", densities.front());
  ctx.result.headlines.push_back({"dense GEMV, 1 thread", fmt::format("{:.2f} GFLOP/s, {:.1f} GB/s", dense_flops / dense_by_threads[1].median_ns,
                                                                      dense1 ? dense1->throughput : 0)});
  ctx.result.headlines.push_back({fmt::format("csr at density {}, 1 thread", densities.front()),
                                  fmt::format("{:.2f} GFLOP/s, {:.1f} GB/s (12 bytes per nonzero)",
                                              ctx.result.point_at("csr, 1 thread", densities.front())->throughput, csr_bw ? csr_bw->throughput : 0)});
  const auto speedup = [&](const std::string& series) {
    const dp::Series* s = ctx.result.find_series(series);
    return s && s->points.size() > 1 ? s->points.front().median_ns / s->points.back().median_ns : 1.0;
  };
  const Split rows_split = dp::spmv::split_by_rows(graph.csr.rows, max_threads), nnz_split = dp::spmv::split_by_nonzeros(graph.csr, max_threads);
  const auto largest_share = [&](const Split& s) {
    const auto shares = dp::spmv::share_nonzeros(graph.csr, s);
    return static_cast<double>(*std::max_element(shares.begin(), shares.end())) / static_cast<double>(graph.csr.nnz());
  };
  if (max_threads > 1) {
    ctx.result.headlines.push_back({fmt::format("speed-up on {}, uniform density {}: by rows / by nonzeros", all, kScalingDensity),
                                    fmt::format("{:.2f}x / {:.2f}x", speedup("scaling: uniform, csr by rows"), speedup("scaling: uniform, csr by nonzeros"))});
    ctx.result.headlines.push_back({fmt::format("speed-up on {}, R-MAT: by rows / by nonzeros", all),
                                    fmt::format("{:.2f}x / {:.2f}x; the busiest thread holds {:.0f}% / {:.0f}% of the nonzeros",
                                                speedup("scaling: R-MAT, csr by rows"), speedup("scaling: R-MAT, csr by nonzeros"),
                                                100 * largest_share(rows_split), 100 * largest_share(nnz_split))});
  }
  const std::size_t width = Ell::width_of(graph.csr);
  const double graph_csr_ns = ctx.result.point_at("scaling: R-MAT, csr by rows", 1)->median_ns;
  ctx.result.headlines.push_back(
      {fmt::format("R-MAT 2^{}: {} nonzeros, longest row {}", scale, graph.csr.nnz(), width),
       fmt::format("csr {:.2f} GFLOP/s; ell {}; scipy {}", graph.flops() / graph_csr_ns,
                   graph_ell ? fmt::format("{:.2f} GFLOP/s", graph.flops() / graph_ell->median_ns)
                             : fmt::format("not run: its padding would be {:.0f}x the nonzeros", static_cast<double>(graph.csr.rows * width) / static_cast<double>(graph.csr.nnz())),
                   scipy.contains(graph.name) ? fmt::format("{:.2f} GFLOP/s", graph.flops() / (scipy.at(graph.name) * 1e9)) : "not run")});
  if (const dp::Point* ours = ctx.result.point_at("csr, 1 thread", 0.01); ours && scipy.contains(fmt::format("uniform, density {}", 0.01)))
    ctx.result.headlines.push_back({"csr / scipy at density 0.01, 1 thread",
                                    fmt::format("{:.2f}x scipy's speed", scipy.at("uniform, density 0.01") * 1e9 / ours->median_ns)});

  std::vector<dp::Marker> markers;
  if (cross_one > 0 && !std::isinf(cross_one)) markers.push_back({cross_one, "crossover, 1 thread"});
  if (max_threads > 1 && cross_all > 0 && !std::isinf(cross_all)) markers.push_back({cross_all, fmt::format("crossover, {}", all)});
  std::vector<std::string> timed = {"dense, 1 thread", "csr, 1 thread", "ell, 1 thread", "scipy csr @ x"};
  if (max_threads > 1) timed.insert(timed.begin() + 2, {fmt::format("dense, {}", all), fmt::format("csr, {}, by nonzeros", all)});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "time", .title = fmt::format("y = A x, A {}x{} uniform random", n, n),
                                          .xlabel = "density (fraction of entries nonzero)", .ylabel = "ns per product",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = timed, .markers = markers});
  std::vector<std::string> bw = {"dense, 1 thread, GB/s", "csr, 1 thread, GB/s"};
  if (max_threads > 1) bw.push_back(fmt::format("csr, {}, by nonzeros, GB/s", all));
  ctx.result.plots.push_back(dp::PlotSpec{.name = "bandwidth", .title = "bytes moved per second (csr: 12 per nonzero + 8 per row)",
                                          .xlabel = "density", .ylabel = "GB/s", .y = dp::PlotSpec::Y::throughput,
                                          .logx = true, .logy = false, .variants = bw, .markers = {}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "scaling", .title = fmt::format("thread scaling: uniform density {} and R-MAT 2^{}", kScalingDensity, scale),
      .xlabel = "threads", .ylabel = "GFLOP/s", .y = dp::PlotSpec::Y::throughput, .logx = false, .logy = false,
      .variants = {"scaling: uniform, csr by rows", "scaling: uniform, csr by nonzeros", "scaling: R-MAT, csr by rows",
                   "scaling: R-MAT, csr by nonzeros", "scaling: dense"},
      .markers = {}});
  ctx.result.notes.push_back(fmt::format(
      "GFLOP/s count 2 per nonzero for the sparse variants and 2 per entry for dense (what each does). Dense is timed once "
      "on the {}x{} matrix of density {} and drawn flat: its time does not depend on the zeros. R-MAT: a = 0.57, b = c = 0.19, "
      "{} edges per vertex drawn, duplicates merged, vertices not shuffled (heavy rows first). Seed {}.",
      n, n, densities.front(), edge_factor, seed));
  if (dp::kSanitized)
    ctx.result.notes.push_back(small ? "Sanitizer build: the times mean nothing here, only the checks do; quick run capped at n = 1024, R-MAT 2^10."
                                     : "Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "sparse",
             .title = "Sparse matrix-vector products: CSR, ELL, threads, and when sparse wins",
             .module = 2,
             .level = 4,
             .tracks = {"dl", "sp"},
             .question = "How few nonzeros must a matrix have before CSR beats a dense product, and how do you split "
                         "a sparse product over threads when the rows are not alike?",
             .guide_page = "m2/sparse.md",
             .source = "src/labs/m2/sparse.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("n", "rows and columns of the uniform random matrices (the dense one takes 4 n^2 bytes)",
                                      8192, 4096, 64, 16384),
               dp::ParamSpec::integer("scale", "R-MAT graph: 2^scale vertices (the check's dense reference costs 4^scale)", 14, 12, 6, 16),
               dp::ParamSpec::integer("edges", "R-MAT graph: edges drawn per vertex", 16, 16, 1, 64)},
    .run = run,
});
