// float_precision.cpp — what does a narrower float cost in accuracy, and what does it buy?
//
// What, in six number types (fp64, fp32, fp16, bf16, fp8 E5M2, fp8 E4M3; the last three, and fp16
// where the compiler has no _Float16, emulated in software: see small_floats.hpp):
//   1. sum n copies of 0.1 (n up to 1e8), three ways, every operation in the type itself:
//        naive     s = s + x[i], in order
//        pairwise  split in halves, sum each half, add the two (blocks of 8 in order)
//        kahan     naive plus a running compensation: the low bits each addition drops
//      error: against n x (0.1 as the type stores it), in long double, so it measures the
//      summing alone, not the rounding of 0.1 itself
//   2. dot products of random vectors: fp16/bf16/fp8 inputs with fp32 accumulation (what tensor
//      cores do) vs everything in the low precision
//   3. denormals: y = 0.75 x over floats of shrinking magnitude, with flush-to-zero (FTZ) and
//      denormals-are-zero (DAZ) off and on (x86's MXCSR)
// Run:  dontpanic run float-precision          (the sums up to 1e8 terms: about two minutes)
//       dontpanic run float-precision --quick  (up to 1e6)
#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/lab.hpp"
#include "core/portability.hpp"
#include "labs/m3/float_types.hpp"
#include "labs/m3/small_floats.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define DP_HAVE_MXCSR 1
#endif

namespace {

using dp::m3::DotInputs;
using dp::m3::for_each_type;
using dp::m3::gamma;
using dp::m3::random_terms;
using dp::m3::Repeated;
using dp::m3::to_double;

// ---------------------------------------------------------------------------------------------
// 1. Summation, with every operation rounded to T. `Terms` is anything with size() and [i]:
//    a span, or Repeated (n copies of one value, so that 1e8 doubles need not be stored).
// ---------------------------------------------------------------------------------------------

template <class T, class Terms>
T sum_naive(const Terms& x) {
  T s = T(0.0f);
  for (std::size_t i = 0; i < x.size(); ++i) s = s + x[i];
  return s;
}

// Each term goes through about log2(n) additions instead of up to n: the error bound grows with
// log n, not n. (numpy's sum does this.)
template <class T, class Terms>
T sum_pairwise(const Terms& x, std::size_t lo, std::size_t hi) {
  if (hi - lo <= 8) {
    T s = x[lo];
    for (std::size_t i = lo + 1; i < hi; ++i) s = s + x[i];
    return s;
  }
  const std::size_t mid = lo + (hi - lo) / 2;
  return sum_pairwise<T>(x, lo, mid) + sum_pairwise<T>(x, mid, hi);
}

// Kahan's compensated sum: (t - s) is what the addition really added, so (t - s) - y is minus
// the part of y it lost; the next term gets it back. Without -ffast-math the compiler must keep
// this algebra as written (with it, it may simplify c to 0 and this becomes the naive sum).
template <class T, class Terms>
T sum_kahan(const Terms& x) {
  T s = T(0.0f), c = T(0.0f);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const T y = x[i] - c;
    const T t = s + y;
    c = (t - s) - y;
    s = t;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// 2. Dot product: inputs stored as In, products and sums rounded to Acc
// ---------------------------------------------------------------------------------------------

// Acc = float, In = fp16 or bf16: the product of two inputs is exact in float (at most 2 x 11
// significant bits), so only the accumulation rounds: the mixed-precision recipe of tensor cores.
template <class Acc, class In>
[[gnu::noinline]] Acc dot(std::span<const In> a, std::span<const In> b) {
  Acc s = Acc(0.0f);
  for (std::size_t i = 0; i < a.size(); ++i)
    s = s + Acc(static_cast<float>(a[i])) * Acc(static_cast<float>(b[i]));
  return s;
}

// ---------------------------------------------------------------------------------------------
// 3. Denormals: one multiply per element, vectorized by the compiler
// ---------------------------------------------------------------------------------------------

[[gnu::noinline]] void scale(std::span<const float> x, std::span<float> y, float c) {
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * c;
}

// MXCSR bit 15 (FTZ): results too small to be normal become 0. Bit 6 (DAZ): denormal inputs are
// read as 0. Both per thread; restored when the guard ends.
class FlushDenormals {
 public:
  explicit FlushDenormals(bool on) {
#ifdef DP_HAVE_MXCSR
    saved_ = _mm_getcsr();
    _mm_setcsr(on ? (saved_ | 0x8040u) : (saved_ & ~0x8040u));
#else
    (void)on;
#endif
  }
  ~FlushDenormals() {
#ifdef DP_HAVE_MXCSR
    _mm_setcsr(saved_);
#endif
  }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  unsigned saved_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Inputs, references, checks
// ---------------------------------------------------------------------------------------------

enum class Method { naive, pairwise, kahan };
constexpr std::array<std::pair<Method, const char*>, 3> kMethods = {{
    {Method::naive, "naive"}, {Method::pairwise, "pairwise"}, {Method::kahan, "kahan"}}};

template <class T, class Terms>
T sum_with(Method m, const Terms& x) {
  switch (m) {
    case Method::naive: return sum_naive<T>(x);
    case Method::pairwise: return sum_pairwise<T>(x, 0, x.size());
    case Method::kahan: return sum_kahan<T>(x);
  }
  return T(0.0f);
}

// The textbook bound on |computed - exact| / sum|x| for each method, n terms, unit roundoff u.
double error_bound(Method m, std::size_t n, double u) {
  const double nd = static_cast<double>(n);
  switch (m) {
    case Method::naive: return gamma(nd - 1, u);
    case Method::pairwise: return gamma(8 + std::ceil(std::log2(nd)), u);  // blocks of 8, then halves
    case Method::kahan: return 2 * u + 4 * nd * u * u;                    // 2u + O(n u^2)
  }
  return 0;
}

// Every method in type T, on random terms (never zeros) few enough for the bound to mean
// something (n u < 1/2) and for the sum to stay in T's range.
template <class T>
void check_sums(dp::LabContext& ctx, std::mt19937& rng) {
  const double u = dp::m3::unit_roundoff<T>();
  const auto n = static_cast<std::size_t>(std::clamp(0.5 / u, 4.0, 4096.0));
  const std::vector<T> x = random_terms<T>(n, 0.5f, 1.0f, rng);
  // The exact sum: every term in [0.5, 1) is a whole number of 2^-53 (fp64's finest step there),
  // so the sum is a whole number of 2^-53 below 2^65, counted exactly in 128 bits.
  __extension__ unsigned __int128 steps = 0;  // __extension__: not ISO C++, GCC and Clang have it
  for (const T& v : x) steps += static_cast<std::uint64_t>(std::ldexp(to_double(v), 53));
  const long double exact = std::ldexp(static_cast<long double>(steps), -53);  // one rounding: 2^-64
  for (const auto& [m, name] : kMethods) {
    const double got = to_double(sum_with<T>(m, std::span<const T>(x)));
    const double err = std::isfinite(got) ? static_cast<double>(std::fabs(got - exact) / exact) : INFINITY;
    const double bound = error_bound(m, n, u);
    ctx.result.add_check(fmt::format("{} {} sum of {} random terms in [0.5, 1)", dp::m3::type_name<T>(), name, n),
                         err <= bound,
                         fmt::format("got {:.9g}, exact {:.9g}: relative error {:.3g}, bound {:.3g}", got,
                                     static_cast<double>(exact), err, bound));
  }
}

// Emulated arithmetic must round exactly as IEEE does: a + b and a * b on random pairs, against
// the exact result (in double) rounded by the definition (small_floats' reference).
template <const dp::smallfloat::Format& F>
void check_emulated_ops(dp::LabContext& ctx, std::mt19937& rng) {
  using S = dp::smallfloat::SmallFloat<F>;
  std::uniform_int_distribution<std::uint32_t> bits(0, (1u << F.total_bits()) - 1);
  std::size_t wrong = 0, tried = 0;
  std::string first;
  while (tried < 20000) {
    const S a = S::from_bits(static_cast<typename S::Bits>(bits(rng)));
    const S b = S::from_bits(static_cast<typename S::Bits>(bits(rng)));
    const double fa = static_cast<float>(a), fb = static_cast<float>(b);
    if (!std::isfinite(fa) || !std::isfinite(fb)) continue;
    ++tried;
    for (const bool add : {true, false}) {
      const double got = static_cast<float>(add ? a + b : a * b);
      const double want = dp::m3::round_reference(add ? fa + fb : fa * fb, F);
      const bool same = (std::isnan(got) && std::isnan(want)) ||
                        (got == want && std::signbit(got) == std::signbit(want));
      if (!same && wrong++ < 3)
        first += fmt::format(" {:g} {} {:g} gave {:g}, want {:g};", fa, add ? '+' : '*', fb, got, want);
    }
  }
  ctx.result.add_check(fmt::format("{}: emulated + and * round to nearest even", F.name), wrong == 0,
                       fmt::format("{} of {} results differ from the exact result rounded{}", wrong,
                                   2 * tried, first));
}

struct DotOutcome {
  double got = 0;
  long double exact = 0;    // the dot of the stored inputs (products exact in long double)
  long double abs_sum = 0;  // sum |a_i b_i|: errors are relative to it (the dot itself may be ~0)
  double error() const { return static_cast<double>(std::fabs(got - exact) / abs_sum); }
};

struct DotVariant {
  std::string name;
  double u_acc;  // the accumulator's unit roundoff
  double (*run)(const DotInputs&);
  DotOutcome (*outcome)(const DotInputs&);
};

template <class Acc, class In>
DotVariant dot_variant(std::string name) {
  return {std::move(name), dp::m3::unit_roundoff<Acc>(),
          [](const DotInputs& d) { const auto [a, b] = d.get<In>(); return to_double(dot<Acc, In>(a, b)); },
          [](const DotInputs& d) {
            const auto [a, b] = d.get<In>();
            DotOutcome o{to_double(dot<Acc, In>(a, b))};
            for (std::size_t i = 0; i < a.size(); ++i) {
              const long double p = static_cast<long double>(to_double(a[i])) * to_double(b[i]);
              o.exact += p, o.abs_sum += std::fabs(p);
            }
            return o;
          }};
}

using dp::m3::fp16;
using dp::smallfloat::bf16;
using dp::smallfloat::fp8_e4m3;
const std::vector<DotVariant>& dot_variants() {  // built on first use, not at program start
  static const std::vector<DotVariant> dots = {
    dot_variant<float, float>("fp32"),
    dot_variant<float, fp16>("fp16 in, fp32 acc"),
    dot_variant<fp16, fp16>("fp16 in, fp16 acc"),
    dot_variant<float, bf16>("bf16 in, fp32 acc"),
    dot_variant<bf16, bf16>("bf16 in, bf16 acc"),
    dot_variant<float, fp8_e4m3>("fp8 e4m3 in, fp32 acc")};
  return dots;
}

// Each product and each addition rounds once in the accumulator: error <= gamma_{n+1} sum|ab|
// (mixed variants: the products are exact, so gamma_n holds too).
void check_dots(dp::LabContext& ctx, std::mt19937& rng) {
  for (const std::size_t n : {std::size_t{64}, std::size_t{4096}}) {
    const DotInputs in(n, rng);
    for (const DotVariant& v : dot_variants()) {
      const double bound = gamma(static_cast<double>(n) + 1, v.u_acc);
      if (!std::isfinite(bound) || bound >= 1) continue;  // the bound says nothing: no check
      const DotOutcome o = v.outcome(in);
      ctx.result.add_check(fmt::format("dot {} (n={})", v.name, n), o.error() <= bound,
                           fmt::format("relative to sum|ab|: error {:.3g}, bound {:.3g}", o.error(), bound));
    }
  }
}

// With FTZ/DAZ off, y must be the IEEE product (denormals included); on, every result that
// IEEE makes denormal must be 0 instead: proof that the mode was really set.
void check_denormals(dp::LabContext& ctx, std::mt19937& rng) {
  std::vector<float> x = random_terms<float>(4096, 1e-39f, 4e-38f, rng), y(x.size());
  for (const bool flush : {false, true}) {
#ifndef DP_HAVE_MXCSR
    if (flush) break;
#endif
    {
      const FlushDenormals mode(flush);
      scale(x, y, 0.75f);
    }
    std::size_t wrong = 0, flushed = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto exact = static_cast<float>(static_cast<double>(x[i]) * 0.75);  // one rounding
      const bool denormal = std::fpclassify(exact) == FP_SUBNORMAL;
      const float want = flush && denormal ? 0.0f : exact;
      wrong += y[i] != want;
      flushed += flush && denormal;
    }
    ctx.result.add_check(fmt::format("y = 0.75 x, FTZ/DAZ {}", flush ? "on" : "off"), wrong == 0,
                         fmt::format("{} of {} results differ from IEEE{}", wrong, x.size(),
                                     flush ? fmt::format(" with {} denormal results flushed to 0", flushed) : ""));
  }
}

#define DP_LAB_TYPES double, float, fp16, bf16, dp::smallfloat::fp8_e5m2, fp8_e4m3

void check_all(dp::LabContext& ctx, std::mt19937& rng) {
  for_each_type<DP_LAB_TYPES>([&]<class T>() { check_sums<T>(ctx, rng); });
  check_emulated_ops<dp::smallfloat::kFP16>(ctx, rng);
  check_emulated_ops<dp::smallfloat::kBF16>(ctx, rng);
  check_emulated_ops<dp::smallfloat::kE5M2>(ctx, rng);
  check_emulated_ops<dp::smallfloat::kE4M3>(ctx, rng);
  if constexpr (dp::m3::kCompilerHasFloat16) {  // the compiler's fp16 must round like ours
    const auto x = random_terms<fp16>(1000, 0.5f, 1.0f, rng);
    std::vector<dp::smallfloat::fp16_soft> soft;
    for (const fp16 v : x) soft.emplace_back(static_cast<float>(v));
    const double hw = to_double(sum_naive<fp16>(std::span<const fp16>(x)));
    const double sw = to_double(sum_naive<dp::smallfloat::fp16_soft>(std::span<const dp::smallfloat::fp16_soft>(soft)));
    ctx.result.add_check("_Float16 rounds every addition (its naive sum equals the software fp16's)", hw == sw,
                         fmt::format("_Float16 {:.9g}, software {:.9g}", hw, sw));
  }
  check_dots(ctx, rng);
  check_denormals(ctx, rng);
}

// ---------------------------------------------------------------------------------------------
// run(): check, then the error sweep, the timings, the dots and the denormals
// ---------------------------------------------------------------------------------------------

// Sums of n x 0.1 for n = 1e3 ... `terms`: one evaluation each (the result is deterministic), timed
// with a clock for the record. Errors are capped at 1 (a sum that overflowed to inf or NaN, or that
// stopped growing, is 100% wrong) and floored at 1e-19 (1e-19 on the plot: exact).
template <class T>
void sweep_sums(dp::LabContext& ctx, std::uint64_t terms) {
  const T tenth = std::is_same_v<T, double> ? T(0.1) : T(0.1f);
  for (std::uint64_t n = 1000; n <= terms; n *= 10) {
    const long double exact = static_cast<long double>(n) * to_double(tenth);
    for (const auto& [m, name] : kMethods) {
      const auto t0 = std::chrono::steady_clock::now();
      const double got = to_double(sum_with<T>(m, Repeated<T>{tenth, n}));
      const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
      const double err = std::isfinite(got) ? static_cast<double>(std::fabs(got - exact) / exact) : 1.0;
      const dp::Stats once{.median_ns = ns, .p10_ns = ns, .p90_ns = ns, .min_ns = ns, .reps = 1};
      ctx.result.add_point(fmt::format("{} {} error", dp::m3::type_name<T>(), name), "terms", static_cast<double>(n),
                           once.per(static_cast<double>(n)), std::clamp(err, 1e-19, 1.0), "relative error", "term");
      if (n * 10 > terms)
        ctx.result.headlines.push_back(
            {fmt::format("{} x 0.1 in {}, {}", n, dp::m3::type_name<T>(), name),
             fmt::format("{:.9g} (exact {:.9g}): relative error {:.2g}", got, static_cast<double>(exact), err)});
    }
  }
}

template <class T>
void time_sums(dp::LabContext& ctx, std::size_t n, std::mt19937& rng) {
  const std::vector<T> x = random_terms<T>(n, -1, 1, rng);
  for (const auto& [m, name] : kMethods) {
    const dp::Stats s = ctx.measure(fmt::format("sum {} {}", dp::m3::type_name<T>(), name),
                                    [&] { benchmark::DoNotOptimize(sum_with<T>(m, std::span<const T>(x))); });
    ctx.result.add_point(fmt::format("{} {}", dp::m3::type_name<T>(), name), "terms", static_cast<double>(n),
                         s.per(static_cast<double>(n)), static_cast<double>(n) / s.median_ns, "terms/ns", "term");
  }
}

void run_dots(dp::LabContext& ctx, std::mt19937& rng) {
  const std::vector<std::size_t> sizes = ctx.quick ? std::vector<std::size_t>{256, 1024, 4096}
                                                   : std::vector<std::size_t>{256, 1024, 4096, 16384, 65536};
  for (const std::size_t n : sizes) {
    const DotInputs in(n, rng);
    for (const DotVariant& v : dot_variants()) {
      const dp::Stats s = ctx.measure(fmt::format("dot {}/n={}", v.name, n), [&] { benchmark::DoNotOptimize(v.run(in)); });
      const double nd = static_cast<double>(n);
      ctx.result.add_point("dot " + v.name, "n", nd, s.per(nd), nd / s.median_ns, "elements/ns", "element");
      ctx.result.add_point("dot " + v.name + " error", "n", nd, s.per(nd), std::max(v.outcome(in).error(), 1e-19),
                           "relative error", "element");
    }
  }
}

void run_denormals(dp::LabContext& ctx, std::mt19937& rng) {
  constexpr std::size_t n = 4096;  // 16 KiB in, 16 KiB out: in L1 or L2 everywhere
  std::vector<float> y(n);
  for (const float magnitude : {1e-3f, 1e-30f, 1e-37f, 2e-38f, 1e-39f, 1e-41f, 1e-43f}) {
    const std::vector<float> x = random_terms<float>(n, magnitude, 2 * magnitude, rng);
    for (const bool flush : {false, true}) {
#ifndef DP_HAVE_MXCSR
      if (flush) continue;
#endif
      const dp::Stats s = ctx.measure(fmt::format("denormals ftz={}/x~{:g}", flush, magnitude), [&] {
        const FlushDenormals mode(flush);
        scale(x, y, 0.75f);
        benchmark::DoNotOptimize(y.data());
      });
      ctx.result.add_point(flush ? "FTZ/DAZ on" : "FTZ/DAZ off", "input magnitude", magnitude, s.per(n),
                           n / s.median_ns, "elements/ns", "element");
    }
  }
}

void run(dp::LabContext& ctx) {
  std::mt19937 rng(20261202);
  check_all(ctx, rng);
  if (!ctx.result.all_checks_passed()) return;

  const auto terms = static_cast<std::uint64_t>(ctx.params.integer("terms"));
  for_each_type<DP_LAB_TYPES>([&]<class T>() { sweep_sums<T>(ctx, terms); });
  const auto time_n = static_cast<std::size_t>(ctx.params.integer("time-n"));
  for_each_type<DP_LAB_TYPES>([&]<class T>() { time_sums<T>(ctx, time_n, rng); });
  run_dots(ctx, rng);
  run_denormals(ctx, rng);

  const auto errors = [](std::initializer_list<const char*> types) {
    std::vector<std::string> v;
    for (const char* t : types)
      for (const auto& m : kMethods) v.push_back(fmt::format("{} {} error", t, m.second));
    return v;
  };
  const auto error_plot = [&](std::string name, std::string title, std::vector<std::string> variants) {
    ctx.result.plots.push_back(dp::PlotSpec{
        .name = std::move(name), .title = std::move(title), .xlabel = "terms summed (n copies of 0.1)",
        .ylabel = "relative error (1 = all wrong, 1e-19 = exact)", .y = dp::PlotSpec::Y::throughput,
        .logx = true, .logy = true, .variants = std::move(variants)});
  };
  error_plot("sum-error", "summing 0.1 n times in fp64 and fp32", errors({"fp64", "fp32"}));
  error_plot("sum-error-16", "summing 0.1 n times in fp16 and bf16", errors({"fp16", "bf16"}));
  error_plot("sum-error-8", "summing 0.1 n times in 8-bit floats", errors({"fp8 e5m2", "fp8 e4m3"}));
  std::vector<std::string> dot_errors, dot_speeds;
  for (const DotVariant& v : dot_variants()) dot_errors.push_back("dot " + v.name + " error"), dot_speeds.push_back("dot " + v.name);
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "dot-error", .title = "dot product of random vectors in [-1, 1): error of the accumulation",
      .xlabel = "vector length n", .ylabel = "relative error (to sum |a b|)", .y = dp::PlotSpec::Y::throughput,
      .logx = true, .logy = true, .variants = dot_errors});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "dot-speed", .title = "dot product, as the compiler builds each loop", .xlabel = "vector length n",
      .ylabel = "elements/ns", .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = dot_speeds});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "denormals", .title = "y = 0.75 x on 4096 floats: denormal inputs and results",
      .xlabel = "magnitude of x (floats below 1.18e-38 are denormal)", .ylabel = "ns per element",
      .y = dp::PlotSpec::Y::time, .logx = true, .logy = true});

#ifdef DP_HAVE_MXCSR
  const auto* off = ctx.result.find_series("FTZ/DAZ off");
  const auto* on = ctx.result.find_series("FTZ/DAZ on");
  if (off && on && off->points.size() > 4) {
    const double normal = off->points.front().median_ns, denormal = off->at(1e-41f)->median_ns;
    ctx.result.headlines.push_back(
        {"denormals (x ~ 1e-41) vs normal (x ~ 1e-3), ns per element",
         fmt::format("FTZ/DAZ off: {:.2f} vs {:.2f} ({:.1f}x); on: {:.2f} vs {:.2f}", denormal, normal,
                     denormal / normal, on->at(1e-41f)->median_ns, on->points.front().median_ns)});
  }
#else
  ctx.result.notes.push_back("FTZ/DAZ: this CPU is not x86, and the lab sets them only through x86's MXCSR: "
                             "the 'on' variant is skipped.");
#endif
  ctx.result.notes.push_back(
      dp::m3::kCompilerHasFloat16
          ? "fp16 is the compiler's _Float16; bf16 and fp8 are emulated in software (small_floats.hpp), so "
            "their times are the cost of emulation, not of hardware."
          : "fp16, bf16 and fp8 are emulated in software (this compiler has no _Float16): their times are the "
            "cost of emulation.");
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "float-precision",
             .title = "Floats: fp32, fp16, bf16, fp8; rounding and accumulation error",
             .module = 3,
             .level = 2,
             .tracks = {},
             .question = "How wrong does a sum get in each float format, which summation keeps it right, "
                         "and what do narrow types and denormals cost?",
             .guide_page = "m3/float-precision.md",
             .source = "src/labs/m3/float_precision.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("terms", "largest n of the n x 0.1 sums (1e3, 1e4, ... up to it)",
                                      100'000'000, 1'000'000, 1000, 1'000'000'000),
               dp::ParamSpec::integer("time-n", "terms per timed sum (random values in [-1, 1))", 1 << 16,
                                      1 << 14, 256, 1 << 24)},
    .run = run,
});
