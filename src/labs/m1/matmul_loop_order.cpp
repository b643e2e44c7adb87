// matmul_loop_order.cpp — the same three loops, in a different order, run many times faster.
//
// What: C = A * B for n x n float matrices, row-major. Every variant does the same 2 * n^3
//   floating-point operations (n^3 multiplies, n^3 adds); only the order of the loops, and so
//   the order in which memory is walked, changes.
//     ijk  C[i][j] = sum over k of A[i][k] * B[k][j]: the inner loop walks B down a column,
//          n * 4 bytes per step, one cache line per float.
//     ikj  C[i][:] += A[i][k] * B[k][:]: the inner loop walks a row of B and a row of C,
//          stride 1, so it streams whole cache lines and the compiler can use SIMD.
//     jki  C[:][j] += A[:][k] * B[k][j]: the inner loop walks a column of A and a column of C,
//          both with stride n: the worst of the three.
//     transposed-B  copy B into Bt = transpose(B) first (n^2 moves, included in the time),
//          then C[i][j] = dot(row i of A, row j of Bt): both stride 1.
// Run:  dontpanic run matmul-loop-order           (n = 64 .. 1024)
//       dontpanic run matmul-loop-order --quick   (n = 64 .. 256)
// GFLOP/s below counts 2 * n^3 operations per product.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"

namespace {

using Matrix = std::vector<float>;  // n * n floats, row-major: element (r, c) at r * n + c

// ---------------------------------------------------------------------------------------------
// The variants: the interesting lines
// ---------------------------------------------------------------------------------------------

void matmul_ijk(std::span<const float> a, std::span<const float> b, std::span<float> c,
                std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      float sum = 0;
      for (std::size_t k = 0; k < n; ++k) sum += a[i * n + k] * b[k * n + j];  // b: stride n
      c[i * n + j] = sum;
    }
}

void matmul_ikj(std::span<const float> a, std::span<const float> b, std::span<float> c,
                std::size_t n) {
  std::fill(c.begin(), c.end(), 0.0f);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < n; ++k) {
      const float a_ik = a[i * n + k];
      for (std::size_t j = 0; j < n; ++j) c[i * n + j] += a_ik * b[k * n + j];  // stride 1
    }
}

void matmul_jki(std::span<const float> a, std::span<const float> b, std::span<float> c,
                std::size_t n) {
  std::fill(c.begin(), c.end(), 0.0f);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t k = 0; k < n; ++k) {
      const float b_kj = b[k * n + j];
      for (std::size_t i = 0; i < n; ++i) c[i * n + j] += a[i * n + k] * b_kj;  // a, c: stride n
    }
}

// Bt must hold n * n floats; it is scratch space the caller owns (no allocation while timed).
void matmul_transposed_b(std::span<const float> a, std::span<const float> b, std::span<float> c,
                         std::span<float> bt, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t j = 0; j < n; ++j) bt[j * n + k] = b[k * n + j];
  // Dot products of two contiguous rows. Sixteen partial sums: without them every add would
  // wait for the previous one (floating-point order is fixed unless we say otherwise), and the
  // loop would be bound by add latency, not by memory. With them the compiler can keep the
  // sixteen sums in one SIMD register.
  constexpr std::size_t kLanes = 16;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const std::span<const float> row_a = a.subspan(i * n, n);
      const std::span<const float> row_bt = std::span<const float>(bt).subspan(j * n, n);
      std::array<float, kLanes> partial{};
      std::size_t k = 0;
      for (; k + kLanes <= n; k += kLanes)
        for (std::size_t l = 0; l < kLanes; ++l) partial[l] += row_a[k + l] * row_bt[k + l];
      float sum = 0;
      for (; k < n; ++k) sum += row_a[k] * row_bt[k];
      for (float p : partial) sum += p;
      c[i * n + j] = sum;
    }
}

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

// The definition in double precision: the float variants are compared with it.
std::vector<double> matmul_reference(const Matrix& a, const Matrix& b, std::size_t n) {
  std::vector<double> c(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::size_t k = 0; k < n; ++k)
        sum += static_cast<double>(a.at(i * n + k)) * static_cast<double>(b.at(k * n + j));
      c.at(i * n + j) = sum;
    }
  return c;
}

Matrix random_matrix(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Matrix m(n * n);
  for (float& x : m) x = dist(rng);
  return m;
}

const std::vector<std::string> kVariants = {"ijk", "ikj", "jki", "transposed-B"};
constexpr unsigned kSeed = 20240602;

struct Workspace {
  Matrix bt;  // for transposed-B
};

void multiply(const std::string& variant, const Matrix& a, const Matrix& b, Matrix& c,
              Workspace& ws, std::size_t n) {
  if (variant == "ijk") return matmul_ijk(a, b, c, n);
  if (variant == "ikj") return matmul_ikj(a, b, c, n);
  if (variant == "jki") return matmul_jki(a, b, c, n);
  ws.bt.resize(n * n);
  return matmul_transposed_b(a, b, c, ws.bt, n);
}

// Float error bound. With inputs uniform in [-1, 1], each C[i][j] is a sum of n products whose
// partial sums grow like sqrt(n) * max|a| * max|b|; each of the n additions may round by up to
// eps times that size, and rounding errors of random sign add up like sqrt(n). So the error is
// about sqrt(n) * eps * sqrt(n) * max|a| * max|b| = n * eps (max|a| = max|b| = 1); we allow 4x
// that. A missing or doubled term (size ~0.3) would be hundreds of times larger.
dp::Tolerance matmul_tolerance(std::size_t n, float max_a, float max_b) {
  const double eps = std::numeric_limits<float>::epsilon();
  const double rn = std::sqrt(static_cast<double>(n));
  return {.abs = 4.0 * rn * eps * rn * max_a * max_b, .rel = 0};
}

void check_all(dp::LabContext& ctx, std::size_t n, std::mt19937& rng) {
  const Matrix a = random_matrix(n, rng), b = random_matrix(n, rng);
  const std::vector<double> want = matmul_reference(a, b, n);
  const auto max_abs = [](const Matrix& m) {
    float r = 0;
    for (float x : m) r = std::max(r, std::abs(x));
    return r;
  };
  const dp::Tolerance tol = matmul_tolerance(n, max_abs(a), max_abs(b));
  Matrix c(n * n);
  Workspace ws;
  for (const std::string& variant : kVariants) {
    std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
    multiply(variant, a, b, c, ws, n);
    const auto cmp = dp::compare(std::span<const float>(c), std::span<const double>(want), tol);
    ctx.result.add_check(
        fmt::format("{} matches the double-precision reference at n={}", variant, n), cmp.passed,
        fmt::format("{} (tolerance 4 * sqrt(n) * eps * sqrt(n) * max|a| * max|b|, eps = {:g})",
                    cmp.detail, std::numeric_limits<float>::epsilon()));
  }
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

double seconds_of(const std::function<void()>& body) {
  const auto t0 = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run(dp::LabContext& ctx) {
  const auto n_max = static_cast<std::size_t>(ctx.params.integer("n"));

  // Sizes 64, 128, ... up to n (and n itself): 64 KiB of floats (in L1/L2) to 4 MiB per matrix.
  const auto sizes = dp::geometric_sizes(64, n_max, 2);

  // 1. Check at an odd size (no loop divides evenly; the 16-lane tail runs) and a small one.
  std::mt19937 rng(kSeed);
  check_all(ctx, std::min<std::size_t>(n_max, 131), rng);
  check_all(ctx, std::min<std::size_t>(n_max, 48), rng);
  if (!ctx.result.all_checks_passed()) return;

  // 2. Time.
  std::map<std::string, double> gflops_at_max;
  bool capped = false;
  const dp::SweepOptions sweep_options{
      .label = [](std::uint64_t n) {
        return fmt::format("{} ({} per matrix, {:.2g} GFLOP per product)", n, dp::format_bytes(n * n * sizeof(float)),
                           2e-9 * static_cast<double>(n * n * n));
      },
      .weight = [](std::uint64_t n) { return static_cast<double>(n * n * n); },  // FLOPs
      .stops_early = false};
  for (std::size_t n : dp::Sweep(ctx, "n =", sizes, sweep_options)) {
    const Matrix a = random_matrix(n, rng), b = random_matrix(n, rng);
    Matrix c(n * n);
    Workspace ws;
    const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
    for (const std::string& variant : kVariants) {
      const auto body = [&] {
        multiply(variant, a, b, c, ws, n);
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
      };
      // A slow order at n = 1024 takes seconds per product: repeat it fewer times, so the whole
      // lab stays a coffee break rather than a lunch break. One untimed call decides, and
      // serves as the warm-up.
      dp::MeasureConfig config = ctx.measure_config;
      if (const double probe = seconds_of(body); probe > 0.3) {
        const int reps = probe > 2.0 ? 3 : 5;
        if (config.repetitions > reps) config.repetitions = reps, capped = true;
        config.warmup_seconds = 0;
      }
      const dp::Stats s =
          dp::measure(fmt::format("{}/{}/n={}", ctx.result.lab, variant, n), body, config);
      const double gflops = flops / s.median_ns;  // FLOP per ns = GFLOP/s
      ctx.result.add_point(variant, "n", static_cast<double>(n), s, gflops, "GFLOP/s");
      if (n == n_max) gflops_at_max[variant] = gflops;
    }
  }

  // 3. Plots, headlines, notes.
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "gflops", .title = "Matrix multiply: the same arithmetic in four loop orders",
      .xlabel = "n (matrices are n x n floats)", .ylabel = "GFLOP/s",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = kVariants,
      .markers = {}});
  const double ijk = gflops_at_max["ijk"];
  for (const std::string& variant : kVariants)
    ctx.result.headlines.push_back(
        {fmt::format("{} at n={}", variant, n_max),
         fmt::format("{:.2f} GFLOP/s ({:.1f}x ijk)", gflops_at_max[variant],
                     gflops_at_max[variant] / ijk)});
  ctx.result.notes.push_back(
      "All four variants do 2 * n^3 floating-point operations; GFLOP/s = 2 * n^3 / time. "
      "transposed-B's time includes making the transposed copy of B.");
  ctx.result.notes.push_back(fmt::format(
      "At n={} one matrix is {}; the three matrices together are {} (compare with the caches of "
      "this machine: L2 {}, last level {}).",
      n_max, dp::format_bytes(n_max * n_max * sizeof(float)),
      dp::format_bytes(3 * n_max * n_max * sizeof(float)),
      dp::format_bytes(ctx.machine.cache_bytes(2)),
      dp::format_bytes(ctx.machine.last_level_cache_bytes())));
  if (capped)
    ctx.result.notes.push_back(
        "Products slower than 0.3 s were repeated 5 times (3 times when slower than 2 s) instead "
        "of the usual count.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "matmul-loop-order",
             .title = "Matrix multiply: loop order",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "Why does the order of three nested loops change a matrix multiply's "
                         "speed several times over?",
             .guide_page = "m1/matmul-loop-order.md",
             .source = "src/labs/m1/matmul_loop_order.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("n", "largest matrix side; sizes 64, 128, ... up to n",
                                      1024, 256, 16, 2048)},
    .run = run,
});
