// pruning.cpp — when does pruning a layer's weights make it faster?
//
// What: a linear layer y = x · Wᵀ (x: batch x K, W: N x K, PyTorch's nn.Linear layout) with random
// He-uniform W and fresh random x. Magnitude pruning zeroes the smallest |w| until a sparsity s of
// 0, 50, 70, 80, 90, 95 or 98% (unstructured, per layer); then, at each s, in the same run:
//   dense            the project's fast fp32 GEMM (tensor/gemm.hpp) on the pruned W: it multiplies
//                    the zeros too, so its time is flat in s
//   csr              W in compressed sparse rows (sparse_formats.hpp), x transposed once per call
//                    so that each nonzero meets a contiguous vector of batch values (see below)
//   csr, row by row  the textbook SpMV once per batch row: the same CSR, no transpose
//   2:4, like csr    in every group of 4 weights keep the 2 largest (50%, fixed): values + 2-bit
//                    positions; the csr kernel with the indices implied
//   2:4, blocked     the same weights in panels, computed like the dense GEMM: a register block
//                    of outputs, and a permute that picks each weight's 2 inputs of 4
// All on ONE thread (dense through linear_rows), so like is compared with like.
// Accuracy: the relative (Frobenius) error of the pruned layer's output against the unpruned one.
// Run:  dontpanic run pruning     dontpanic run pruning --quick     --param batch=1 --param k=2048
// Every kernel must match a double-precision reference on the same pruned weights.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"
#include "labs/m3/pruning_checks.hpp"
#include "labs/m3/pruning_simd.hpp"
#include "labs/m3/sparse_formats.hpp"
#include "tensor/gemm.hpp"
#include "tensor/tensor.hpp"

namespace {

using namespace dp::pruning;  // NOLINT: the lab's own helpers, beside it

// ---------------------------------------------------------------------------------------------
// The sparse kernels: y (batch x N) = x (batch x K) · Wᵀ
// ---------------------------------------------------------------------------------------------

// Loop order. y[b][n] = sum over the nonzeros p of row n: val[p] * x[b][col[p]]. Taken row by row
// of x (the textbook SpMV, once per batch row), every nonzero is one scalar multiply-add on a
// gathered x[b][col], and all of W's nonzeros are read again for every b. Here, x is transposed
// once per call, kBlock batch rows at a time, into xt[k][j] = x[b0 + j][k]: now nonzero p meets
// xt[col[p]][0..kBlock), a contiguous vector, and does kBlock / kLanes vector FMAs from one load
// of its value and index. Measured at batch 128, K = N = 1024, 90% sparse, on the machine of the
// page: 10 to 12 times faster than row by row, which the lab keeps as the "csr, row by row" variant.
//
// Two sets of accumulators, for even and odd nonzeros: an FMA waits 4 cycles for its sum, and two
// FMA units need 8 chains in flight to stay busy, where one set (kVecs = 4 chains) gives them half.
[[gnu::noinline]] void csr_spmm(ConstView<float> x, const dp::sparse::Csr& w, MatrixView<float> y) {
  float* xt = xt_scratch(w.cols * kBlock).data();
  for (std::size_t b0 = 0; b0 < x.rows; b0 += kBlock) {
    const std::size_t rows = std::min(kBlock, x.rows - b0);
    transpose_block(x, b0, rows, w.cols, xt);
    ColumnTile out(y, b0, rows);
    for (std::size_t n = 0; n < w.rows; ++n) {
      vfloat even[kVecs] = {}, odd[kVecs] = {};
      std::uint32_t p = w.row_ptr[n];
      const std::uint32_t end = w.row_ptr[n + 1];
      for (; p + 1 < end; p += 2) {
        const vfloat v0 = simd::broadcast(w.val[p]), v1 = simd::broadcast(w.val[p + 1]);
        const float* x0 = xt + static_cast<std::size_t>(w.col[p]) * kBlock;  // gathered rows of xt
        const float* x1 = xt + static_cast<std::size_t>(w.col[p + 1]) * kBlock;
#pragma GCC unroll 8
        for (int u = 0; u < kVecs; ++u) {
          even[u] += v0 * simd::load(x0 + u * kLanes);
          odd[u] += v1 * simd::load(x1 + u * kLanes);
        }
      }
      if (p < end) {
        const vfloat v0 = simd::broadcast(w.val[p]);
        const float* x0 = xt + static_cast<std::size_t>(w.col[p]) * kBlock;
        for (int u = 0; u < kVecs; ++u) even[u] += v0 * simd::load(x0 + u * kLanes);
      }
      for (int u = 0; u < kVecs; ++u) even[u] += odd[u];
      out.put(n, even);
    }
    out.flush();
  }
}

// One dot product per (b, n): W's nonzeros are streamed once per batch row.
[[gnu::noinline]] void csr_row_by_row(ConstView<float> x, const dp::sparse::Csr& w, MatrixView<float> y) {
  for (std::size_t b = 0; b < x.rows; ++b)  // spmv_rows: sparse_formats.hpp, shared with m2's sparse lab
    dp::sparse::spmv_rows(w, {x.data + b * x.cols, x.cols}, {y.data + b * y.cols, w.rows}, 0, w.rows);
}

// 2:4: the csr kernel with the structure known. No row_ptr (every row has 2 values per group),
// no 32-bit column: the column is 4g + a 2-bit position, decoded from one byte per two groups.
// Two gathered rows of xt per group of 4 columns, where dense reads all four.
[[gnu::noinline]] void two_four_spmm(ConstView<float> x, const dp::sparse::TwoFour& w, MatrixView<float> y) {
  const std::size_t kpad = 4 * w.groups;  // xt has zero rows up to here: a short last group reads them
  float* xt = xt_scratch(kpad * kBlock).data();
  for (std::size_t b0 = 0; b0 < x.rows; b0 += kBlock) {
    const std::size_t rows = std::min(kBlock, x.rows - b0);
    transpose_block(x, b0, rows, kpad, xt);
    ColumnTile out(y, b0, rows);
    for (std::size_t n = 0; n < w.rows; ++n) {
      vfloat first[kVecs] = {}, second[kVecs] = {};  // two sets, as in csr
      const float* val = w.values(n);
      const std::uint8_t* codes = w.codes(n);
      for (std::size_t g = 0; g < w.groups; ++g) {
        const unsigned c = dp::sparse::TwoFour::code(codes, g);
        const float* x0 = xt + (4 * g + (c & 3)) * kBlock;
        const float* x1 = xt + (4 * g + (c >> 2)) * kBlock;
        const vfloat v0 = simd::broadcast(val[2 * g]), v1 = simd::broadcast(val[2 * g + 1]);
#pragma GCC unroll 8
        for (int u = 0; u < kVecs; ++u) {
          first[u] += v0 * simd::load(x0 + u * kLanes);
          second[u] += v1 * simd::load(x1 + u * kLanes);
        }
      }
      for (int u = 0; u < kVecs; ++u) first[u] += second[u];
      out.put(n, first);
    }
    out.flush();
  }
}

// 2:4 the way the dense GEMM works: a block of kRows x kPanel outputs in registers, W's values read
// once per block of rows, the inputs read straight from x's rows. Per group of 4 columns, each row
// of x gives 4 floats; every output feature (a lane) wants the 2 of them its code names, so a
// permute (pick(): each lane takes the lane of a register its index names) fetches them for all 16
// features at once: 2 permutes and 2 FMAs per 16 outputs, where dense does 4 FMAs for the same 4
// columns. It is what a sparse tensor core does in hardware: a multiplexer picks 2 of 4 inputs.

// One group of 4 columns for kRows rows of x (row r's 4 floats at x[r] + at) and one panel.
[[gnu::always_inline]] inline void two_four_group(vfloat (&acc)[kRows][kPanelVecs], const float* val,
                                                  const std::uint8_t* codes, const float* const* x, std::size_t at) {
  vfloat v0[kPanelVecs], v1[kPanelVecs];
  simd::vint c0[kPanelVecs], c1[kPanelVecs];
  for (int u = 0; u < kPanelVecs; ++u) {
    v0[u] = simd::load(val + u * kLanes);
    v1[u] = simd::load(val + kPanel + u * kLanes);
    const simd::vint c = widen_bytes(codes + u * kLanes);
    c0[u] = c & 3, c1[u] = c >> 2;  // the positions of the first and the second value
  }
#pragma GCC unroll 8
  for (std::size_t r = 0; r < kRows; ++r) {
    const vfloat q = four_floats(x[r] + at);
#pragma GCC unroll 4
    for (int u = 0; u < kPanelVecs; ++u) {
      acc[r][u] += v0[u] * pick(q, c0[u]);  // lane j: q[c0[j]] = x[r][4g + pos0 of row j]
      acc[r][u] += v1[u] * pick(q, c1[u]);
    }
  }
}

[[gnu::noinline]] void two_four_blocked(ConstView<float> x, const dp::sparse::TwoFourPanels& w, MatrixView<float> y) {
  const std::size_t K = x.cols, whole = K / 4;  // groups of 4 columns; a short last one comes from `tail`
  for (std::size_t i0 = 0; i0 < x.rows; i0 += kRows) {
    const std::size_t rows = std::min(kRows, x.rows - i0);
    const float* xr[kRows];  // missing rows of the last block: row i0 again, never stored
    float tail[kRows][4] = {};
    const float* tr[kRows];
    for (std::size_t r = 0; r < kRows; ++r) {
      xr[r] = x.data + (i0 + (r < rows ? r : 0)) * K;
      for (std::size_t c = 4 * whole; c < K; ++c) tail[r][c - 4 * whole] = xr[r][c];
      tr[r] = tail[r];
    }
    for (std::size_t p = 0; p < w.panels; ++p) {
      vfloat acc[kRows][kPanelVecs] = {};
      for (std::size_t g = 0; g < whole; ++g) two_four_group(acc, w.values(p, g), w.codes(p, g), xr, 4 * g);
      if (whole < w.groups) two_four_group(acc, w.values(p, whole), w.codes(p, whole), tr, 0);
      const std::size_t j0 = p * kPanel, cols = std::min(kPanel, w.rows - j0);
      for (std::size_t r = 0; r < rows; ++r) {
        alignas(64) float out[kPanel];
        for (int u = 0; u < kPanelVecs; ++u) simd::store(out + u * kLanes, acc[r][u]);
        std::memcpy(y.data + (i0 + r) * y.cols + j0, out, cols * sizeof(float));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs, the reference, the checks
// ---------------------------------------------------------------------------------------------

// The kernels on one pruned W, each compared with the reference; true if all match.
struct Layer {
  Matrix w;  // pruned
  dp::tensor::PackedLinear packed;
  dp::sparse::Csr csr;
  std::optional<dp::sparse::TwoFour> two_four;  // when w is 2:4
  std::optional<dp::sparse::TwoFourPanels> panels;
};
Layer make_layer(Matrix w, bool two_four) {
  Layer l{std::move(w), {}, {}, {}};
  l.packed.pack(l.w.view(), {});
  l.csr = dp::sparse::Csr::from_dense(l.w.span(), l.w.rows(), l.w.cols());
  if (two_four) {
    l.two_four = dp::sparse::TwoFour::from_dense(l.w.span(), l.w.rows(), l.w.cols());
    l.panels = dp::sparse::TwoFourPanels::from(*l.two_four, kPanel);
  }
  return l;
}

bool check_layer(dp::LabContext& ctx, const Layer& l, const Matrix& x, const Reference& ref, const std::string& what) {
  Matrix y(x.rows(), l.w.rows());
  bool ok = true;
  const auto one = [&](const std::string& name, auto&& kernel) {
    y.fill(std::nanf(""));  // a kernel that skips an output cannot pass on the last one's numbers
    kernel();
    const dp::CompareResult c = compare_to(y, ref);
    ctx.result.add_check(fmt::format("{} = reference, {}", name, what), c.passed, c.detail);
    ok = ok && c.passed;
  };
  one("dense", [&] { dp::tensor::linear_rows(x, l.packed, y, dp::tensor::Activation::none, 0, x.rows()); });
  one("csr", [&] { csr_spmm(x, l.csr, y); });
  one("csr, row by row", [&] { csr_row_by_row(x, l.csr, y); });
  if (l.two_four) one("2:4, like csr", [&] { two_four_spmm(x, *l.two_four, y); });
  if (l.panels) one("2:4, blocked", [&] { two_four_blocked(x, *l.panels, y); });
  return ok;
}

// Odd shapes: batch not a multiple of the kernels' 64-row blocks, K not a multiple of 4.
void check_odd_shapes(dp::LabContext& ctx, std::mt19937_64& rng) {
  struct Shape { std::size_t b, k, n; };
  for (const Shape s : {Shape{1, 1, 1}, Shape{37, 203, 61}, Shape{70, 130, 33}, Shape{65, 66, 17}}) {
    const Matrix x = Matrix::random(s.b, s.k, rng());
    for (const double sparsity : {0.0, 0.5, 0.9}) {
      Matrix w = he_uniform(s.n, s.k, rng());
      dp::sparse::prune_magnitude(w.span(), sparsity);
      const Reference ref = reference(x, w);
      check_layer(ctx, make_layer(std::move(w), false), x, ref, fmt::format("{}x{}x{} (batch x K x N), {:.0f}% sparse", s.b, s.k, s.n, 100 * sparsity));
    }
    Matrix w = he_uniform(s.n, s.k, rng());
    dp::sparse::prune_2_4(w.span(), s.n, s.k);
    const Reference ref = reference(x, w);
    check_layer(ctx, make_layer(std::move(w), true), x, ref, fmt::format("{}x{}x{}, 2:4 (K % 4 = {})", s.b, s.k, s.n, s.k % 4));
  }
}

// prune_magnitude on a fresh layer: exactly round(s * size) zeros, and every pruned |w| at most
// every kept one.
void check_pruning(dp::LabContext& ctx, const Matrix& w0, double sparsity) {
  Matrix w = w0;
  dp::sparse::prune_magnitude(w.span(), sparsity);
  const auto want = static_cast<std::size_t>(std::llround(sparsity * static_cast<double>(w.size())));
  float pruned_max = 0, kept_min = INFINITY;  // of the original magnitudes
  for (std::size_t i = 0; i < w.size(); ++i) {
    const float m = std::fabs(w0.data()[i]);
    if (w.data()[i] == 0.0f) pruned_max = std::max(pruned_max, m);
    else kept_min = std::min(kept_min, m);
  }
  const std::size_t zeros = count_zeros(w) - count_zeros(w0);
  ctx.result.add_check(fmt::format("pruning to {:.0f}%: exact count, smallest |w| removed", 100 * sparsity),
                       zeros == want && pruned_max <= kept_min,
                       fmt::format("{} of {} weights zeroed (round(s * size) = {}); largest pruned |w| {:.3g}, smallest kept {:.3g}",
                                   zeros, w.size(), want, pruned_max, kept_min));
}

// ---------------------------------------------------------------------------------------------
// run(): check, time, report
// ---------------------------------------------------------------------------------------------

const std::vector<double> kSparsities = {0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98};

// The density (%) below which CSR beats dense: dp::sparse::crossover_density (sparse_formats.hpp)
// on t_csr / t_dense, t_csr the faster of the two CSR kernels (row by row wins at small batches,
// where a 64-input block is mostly empty). Negative: never; above 100: always.
using dp::sparse::crossover_density;

void run(dp::LabContext& ctx) {
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  const auto B = static_cast<std::size_t>(ctx.params.integer("batch"));
  const auto K = static_cast<std::size_t>(ctx.params.integer("k"));
  const auto N = static_cast<std::size_t>(ctx.params.integer("n"));

  check_odd_shapes(ctx, rng);
  const Matrix x = Matrix::random(B, K, rng());
  const Matrix w0 = he_uniform(N, K, rng());
  for (const double s : kSparsities) check_pruning(ctx, w0, s);
  if (!ctx.result.all_checks_passed()) return;
  const Reference full = reference(x, w0);  // the unpruned layer's output

  Matrix y(B, N);
  const double dense_flops = 2.0 * static_cast<double>(B * N * K);
  const auto time = [&](const std::string& variant, double density, std::size_t nnz, auto&& kernel) {
    const dp::Stats s = ctx.measure(fmt::format("{}/density={}%", variant, density), [&] {
      kernel();
      benchmark::ClobberMemory();
    });
    ctx.result.add_point(variant, "density %", density, s, dense_flops / s.median_ns, "GFLOP/s");
    ctx.result.add_point(variant + ", useful", "density %", density, s, 2.0 * static_cast<double>(B * nnz) / s.median_ns, "GFLOP/s");
    return s.median_ns;
  };
  const auto error_point = [&](const std::string& variant, double density, double error) {
    ctx.result.add_point(variant, "density %", density, dp::Stats{.reps = 1}, error, "relative error");
  };

  std::vector<std::pair<double, double>> ratio;  // density, best CSR time / t_dense
  std::vector<std::string> best_csr;              // which CSR kernel that was
  double dense_at_50 = 0, csr_at_50 = 0, err_at_50 = 0;
  std::size_t csr_bytes_at_50 = 0;
  for (const double s : kSparsities) {
    const double density = std::round(100 * (1 - s));
    Matrix w = w0;
    dp::sparse::prune_magnitude(w.span(), s);
    const Reference ref = reference(x, w);
    const Layer l = make_layer(std::move(w), false);
    ctx.log << fmt::format("  {:.0f}% sparse: {} nonzeros\n", 100 * s, l.csr.nnz());
    if (!check_layer(ctx, l, x, ref, fmt::format("{}x{}x{}, {:.0f}% sparse", B, K, N, 100 * s))) return;
    const double err = relative_error(ref.y, full.y);
    error_point("error, unstructured", density, err);
    const double t_dense = time("dense", density, l.csr.nnz(), [&] {
      dp::tensor::linear_rows(x, l.packed, y, dp::tensor::Activation::none, 0, B);
    });
    const double t_csr = time("csr", density, l.csr.nnz(), [&] { csr_spmm(x, l.csr, y); });
    const double t_row = time("csr, row by row", density, l.csr.nnz(), [&] { csr_row_by_row(x, l.csr, y); });
    ratio.emplace_back(density, std::min(t_csr, t_row) / t_dense);
    best_csr.push_back(t_csr <= t_row ? "csr" : "csr, row by row");
    if (s == 0.5) dense_at_50 = t_dense, csr_at_50 = t_csr, err_at_50 = err, csr_bytes_at_50 = l.csr.bytes();
  }

  // 2:4 at 50%, from the same unpruned W.
  Matrix w24 = w0;
  dp::sparse::prune_2_4(w24.span(), N, K);
  const std::size_t violations = two_four_violations(w24);
  ctx.result.add_check(fmt::format("2:4 pattern holds in all {} groups of 4", N * dp::sparse::groups_per_row(K)), violations == 0,
                       fmt::format("{} groups with more than 2 nonzeros; {} of {} weights zeroed", violations,
                                   count_zeros(w24) - count_zeros(w0), w24.size()));
  const Reference ref24 = reference(x, w24);
  const Layer l24 = make_layer(std::move(w24), true);
  if (!check_layer(ctx, l24, x, ref24, fmt::format("{}x{}x{}, 2:4", B, K, N)) || violations) return;
  const double err24 = relative_error(ref24.y, full.y);
  error_point("error, 2:4", 50, err24);
  const double t24_csr = time("2:4, like csr", 50, l24.csr.nnz(), [&] { two_four_spmm(x, *l24.two_four, y); });
  const double t24 = time("2:4, blocked", 50, l24.csr.nnz(), [&] { two_four_blocked(x, *l24.panels, y); });

  // ---- report ----
  const double cross = crossover_density(ratio);
  ctx.result.headlines.push_back(
      {"crossover (one thread)",
       cross < 0 ? fmt::format("never in the measured range: at {:.0f}% density CSR takes {:.2f}x dense's time",
                               ratio.back().first, ratio.back().second)
       : cross > 100 ? std::string("CSR beats dense at every measured density")
                     : fmt::format("CSR beats dense below {:.0f}% density ({:.0f}% sparsity)", cross, 100 - cross)});
  for (std::size_t i = 0; i < ratio.size(); ++i)
    if (ratio[i].first <= 20)
      ctx.result.headlines.push_back({fmt::format("CSR speed-up over dense at {:.0f}% density", ratio[i].first),
                                      fmt::format("{:.2f}x ({})", 1 / ratio[i].second, best_csr[i])});
  ctx.result.headlines.push_back(
      {"at 50%: dense, csr, 2:4 like csr, 2:4 blocked (ms per product)",
       fmt::format("{:.3f}, {:.3f}, {:.3f}, {:.3f}: 2:4 blocked is {:.2f}x dense's speed and {:.2f}x csr's",
                   dense_at_50 / 1e6, csr_at_50 / 1e6, t24_csr / 1e6, t24 / 1e6, dense_at_50 / t24, csr_at_50 / t24)});
  ctx.result.headlines.push_back(
      {"dense GFLOP/s (one thread)", fmt::format("{:.1f}", dense_flops / ctx.result.point_at("dense", 100)->median_ns)});
  ctx.result.headlines.push_back(
      {"output error at 50% sparsity, unstructured / 2:4",
       fmt::format("{:.3f} / {:.3f} (uniform weights, in theory: 0.5^1.5 = 0.354 / sqrt(0.2) = 0.447)", err_at_50, err24)});
  ctx.result.headlines.push_back(
      {"bytes of W at 50%: dense, csr, 2:4",
       fmt::format("{}, {}, {}", dp::format_bytes(4 * N * K), dp::format_bytes(csr_bytes_at_50),
                   dp::format_bytes(l24.two_four->bytes()))});

  const std::vector<std::string> kernels = {"dense", "csr", "csr, row by row", "2:4, like csr", "2:4, blocked"};
  std::vector<std::string> useful;
  for (const auto& k : kernels) useful.push_back(k + ", useful");
  const std::string shape = fmt::format("batch {}, K = {}, N = {}, one thread", B, K, N);
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "time", .title = fmt::format("y = x · Wᵀ with W pruned ({})", shape),
      .xlabel = "density: % of W's weights kept", .ylabel = "ns per product (the whole batch)",
      .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = kernels});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "useful", .title = fmt::format("useful work: 2 x batch x nonzeros per second ({})", shape),
      .xlabel = "density: % of W's weights kept", .ylabel = "useful GFLOP/s",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = useful});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "error", .title = "output error of the pruned layer (random W and x)",
      .xlabel = "density: % of W's weights kept", .ylabel = "relative error ||y - y_unpruned|| / ||y_unpruned||",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = false, .variants = {"error, unstructured", "error, 2:4"}});
  ctx.result.notes.push_back(fmt::format(
      "Every kernel runs on one thread (dense through linear_rows). GFLOP/s in the table are dense-equivalent "
      "(2 x batch x N x K per product); the ', useful' series count only the nonzeros. Seed {}.", seed));
  ctx.result.notes.push_back("No trained model yet: the error is a random layer's. The accuracy of a trained network "
                             "against sparsity comes with M4's training lab.");
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "pruning",
             .title = "Pruning: sparse weights, CSR and 2:4 against a dense GEMM",
             .module = 3,
             .level = 4,
             .tracks = {"dl"},
             .question = "How sparse must a pruned layer be before a sparse kernel beats the dense one, "
                         "and what does pruning cost in accuracy?",
             .guide_page = "m3/pruning.md",
             .source = "src/labs/m3/pruning.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("batch", "rows of x (inputs per product)", 128, 32, 1, 1024),
               dp::ParamSpec::integer("k", "input features K (columns of x and of W)", 1024, 256, 1, 4096),
               dp::ParamSpec::integer("n", "output features N (rows of W)", 1024, 256, 1, 4096)},
    .run = run,
});
