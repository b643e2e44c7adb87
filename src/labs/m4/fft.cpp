// fft.cpp — how close does a textbook FFT get to FFTW, and where does the rest of the gap come from?
//
// What: the forward DFT of n = 2^6 .. 2^22 single-precision complex numbers (and of n reals), in
// place, timed per transform; "GFLOP/s" is the convention of FFT benchmarks (benchFFT): 5 n log2 n
// for a complex transform and 2.5 n log2 n for a real one, whatever the algorithm really does.
// Run:  dontpanic run fft            (2^6 .. 2^22; FFTW_MEASURE plans take seconds at the top)
//       dontpanic run fft --quick    (a few small sizes, bounded by time)
//       dontpanic run fft --param max-log2n=16
// Variants (src/labs/m4/fft_kernels.hpp holds ours):
//   ours radix-2        bit-reversal permutation, then log2 n passes of 2-point butterflies with
//                       precomputed twiddles, in place
//   ours radix-4        the same permutation, then passes of 4-point butterflies: half the passes
//                       over memory, 3 complex multiplications per 4 points instead of 4
//   naive DFT           the definition, n^2 multiply-adds with a twiddle table (n <= 4096 only)
//   FFTW measure        fftwf with FFTW_MEASURE: it times candidate algorithms while planning
//   FFTW estimate       fftwf with FFTW_ESTIMATE: it picks by a cost model, planning is instant
//   ours real           n reals through one complex radix-4 FFT of n/2 (the half-length trick)
//   FFTW r2c measure / estimate   fftwf's real-input transform
// Plan time (FFTW's planning; our twiddle tables) is reported on its own, never in a transform's.
// Checks: on fresh random input, against the DFT in long double at every size up to 2^10 (2^13 in
// full runs); above that, against our FFT in double (itself checked against long double first).
// Every variant's relative RMS error must stay under 2 * log2(n) * eps (eps = 2^-24 for float).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#if defined(DP_HAVE_FFTW)
#include <fftw3.h>
#endif

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "labs/m4/fft_kernels.hpp"

namespace {

using cfloat = std::complex<float>;
using dp::fft::Radix;

// ---------------------------------------------------------------------------------------------
// The variants: a transform is a function of one buffer, planned beforehand
// ---------------------------------------------------------------------------------------------
// Every buffer is 64-byte aligned (one cache line, one AVX-512 register), ours and FFTW's alike:
// FFTW's plans use aligned SIMD loads only where the arrays they were planned on are aligned.

template <class T>
struct Aligned {
  std::unique_ptr<T[], decltype(&std::free)> p{nullptr, &std::free};
  std::size_t n = 0;
  explicit Aligned(std::size_t count) : n(count) {
    const std::size_t bytes = std::max<std::size_t>(64, (count * sizeof(T) + 63) / 64 * 64);
    p.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    if (!p) throw dp::Error(fmt::format("could not allocate {} bytes for an FFT buffer", bytes));
  }
  std::span<T> span() { return {p.get(), n}; }
  std::span<const T> span() const { return {p.get(), n}; }
};

// One variant, planned for one size: `complex` transforms `buf` in place; `real` reads `rin` and
// writes n/2 + 1 numbers to `rout`. `plan_ns` is what planning cost.
struct Planned {
  std::string name;
  bool real_input = false;
  double plan_ns = 0;
  std::function<void(std::span<cfloat>)> complex;
  std::function<void(std::span<const float>, std::span<cfloat>)> real;
  std::shared_ptr<void> keep;  // the plan's owner (our tables, or an fftwf_plan)
};

double elapsed_ns(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - since).count();
}

Planned plan_ours(std::size_t n, Radix radix) {
  const auto t0 = std::chrono::steady_clock::now();
  auto fft = std::make_shared<dp::fft::ComplexFft<float>>(n);
  Planned p{.name = radix == Radix::two ? "ours radix-2" : "ours radix-4", .plan_ns = elapsed_ns(t0)};
  p.complex = [f = fft.get(), radix](std::span<cfloat> x) { f->forward(x, radix); };
  p.keep = fft;
  return p;
}

Planned plan_ours_real(std::size_t n) {
  const auto t0 = std::chrono::steady_clock::now();
  auto fft = std::make_shared<dp::fft::RealFft<float>>(n);
  Planned p{.name = "ours real", .real_input = true, .plan_ns = elapsed_ns(t0)};
  p.real = [f = fft.get()](std::span<const float> in, std::span<cfloat> out) { f->forward(in, out); };
  p.keep = fft;
  return p;
}

Planned plan_naive(std::size_t n) {
  auto dft = std::make_shared<dp::fft::NaiveDft<float>>(n);
  auto scratch = std::make_shared<std::vector<cfloat>>(n);  // the definition is not in place
  Planned p{.name = "naive DFT"};
  p.complex = [d = dft.get(), s = scratch.get()](std::span<cfloat> x) {
    d->forward(x, *s);
    std::copy(s->begin(), s->end(), x.begin());
  };
  p.keep = std::make_shared<std::pair<decltype(dft), decltype(scratch)>>(dft, scratch);
  return p;
}

#if defined(DP_HAVE_FFTW)
// FFTW plans for the very arrays it will run on (FFTW_MEASURE writes over them while it plans);
// fftwf_execute_dft runs a plan on other arrays of the same size and alignment.
Planned plan_fftw(std::size_t n, unsigned flags, Aligned<cfloat>& buf) {
  auto* io = reinterpret_cast<fftwf_complex*>(buf.p.get());
  const auto t0 = std::chrono::steady_clock::now();
  fftwf_plan plan = fftwf_plan_dft_1d(static_cast<int>(n), io, io, FFTW_FORWARD, flags);
  const double ns = elapsed_ns(t0);
  if (!plan) throw dp::Error(fmt::format("FFTW could not plan a complex transform of {}", n));
  Planned p{.name = flags == FFTW_MEASURE ? "FFTW measure" : "FFTW estimate", .plan_ns = ns};
  p.complex = [plan](std::span<cfloat> x) {
    auto* d = reinterpret_cast<fftwf_complex*>(x.data());
    fftwf_execute_dft(plan, d, d);
  };
  p.keep = std::shared_ptr<void>(plan, [](void* q) { fftwf_destroy_plan(static_cast<fftwf_plan>(q)); });
  return p;
}

Planned plan_fftw_r2c(std::size_t n, unsigned flags, Aligned<float>& in, Aligned<cfloat>& out) {
  const auto t0 = std::chrono::steady_clock::now();
  fftwf_plan plan = fftwf_plan_dft_r2c_1d(static_cast<int>(n), in.p.get(),
                                          reinterpret_cast<fftwf_complex*>(out.p.get()), flags);
  const double ns = elapsed_ns(t0);
  if (!plan) throw dp::Error(fmt::format("FFTW could not plan a real transform of {}", n));
  Planned p{.name = flags == FFTW_MEASURE ? "FFTW r2c measure" : "FFTW r2c estimate", .real_input = true, .plan_ns = ns};
  p.real = [plan](std::span<const float> x, std::span<cfloat> y) {
    // fftwf's r2c leaves its input alone when out of place (FFTW_PRESERVE_INPUT is the default
    // for 1-d r2c); the cast only fits its C signature.
    fftwf_execute_dft_r2c(plan, const_cast<float*>(x.data()), reinterpret_cast<fftwf_complex*>(y.data()));
  };
  p.keep = std::shared_ptr<void>(plan, [](void* q) { fftwf_destroy_plan(static_cast<fftwf_plan>(q)); });
  return p;
}
#endif

constexpr std::size_t kNaiveMax = 4096;  // n^2 = 16.8 M multiply-adds: about as slow as it gets

// Every variant at size n. FFTW plans on `cbuf` / `rin` / `rout`, so they are planned before the
// caller fills them.
std::vector<Planned> plan_all(std::size_t n, Aligned<cfloat>& cbuf, Aligned<float>& rin, Aligned<cfloat>& rout) {
  std::vector<Planned> v;
  v.push_back(plan_ours(n, Radix::two));
  v.push_back(plan_ours(n, Radix::four));
  if (n <= kNaiveMax) v.push_back(plan_naive(n));
#if defined(DP_HAVE_FFTW)
  v.push_back(plan_fftw(n, FFTW_MEASURE, cbuf));
  v.push_back(plan_fftw(n, FFTW_ESTIMATE, cbuf));
#endif
  v.push_back(plan_ours_real(n));
#if defined(DP_HAVE_FFTW)
  v.push_back(plan_fftw_r2c(n, FFTW_MEASURE, rin, rout));
  v.push_back(plan_fftw_r2c(n, FFTW_ESTIMATE, rin, rout));
#else
  (void)cbuf, (void)rin, (void)rout;
#endif
  return v;
}

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

constexpr double kEpsFloat = 0x1p-24, kEpsDouble = 0x1p-53;  // unit roundoff
constexpr double kBoundC = 2;  // the C of C * log2(n) * eps

double log2_at_least_1(std::size_t n) { return std::max(1.0, std::log2(static_cast<double>(n))); }

// The bound a variant must meet at size n: C log2(n) eps for an FFT. The naive DFT sums n
// products one after another, so its error grows like sqrt(n) eps (random signs), not log2(n).
double error_bound(const std::string& variant, std::size_t n, double eps) {
  if (variant == "naive DFT") return kBoundC * std::sqrt(static_cast<double>(n)) * eps;
  return kBoundC * log2_at_least_1(n) * eps;
}

// One check per variant over every size: passes when error <= bound at each; says the worst
// error relative to its bound.
struct ErrorCheck {
  std::string name;
  int sizes = 0;
  bool passed = true;
  double worst_ratio = -1;
  std::string worst;

  void record(std::size_t n, double error, double bound) {
    ++sizes;
    const bool ok = error <= bound;  // false for NaN too
    const bool first_failure = !ok && passed;
    if (!ok) passed = false;
    if (first_failure || (passed && (sizes == 1 || error / bound > worst_ratio))) {
      worst_ratio = error / bound;
      worst = fmt::format("n = {}: relative RMS error {:.3g}, bound {:.3g}", n, error, bound);
    }
  }
  void report(dp::Result& r, const std::string& against) const {
    r.add_check(name, passed && sizes > 0,
                fmt::format("{} at {} sizes, against {}; worst: {} ({:.0f}% of it)", passed ? "within bound" : "BEYOND the bound",
                            sizes, against, worst, 100 * worst_ratio));
  }
};

std::vector<cfloat> random_complex(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<cfloat> x(n);
  for (auto& v : x) v = {d(rng), d(rng)};
  return x;
}
std::vector<float> random_real(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

// Runs variant `v` on a copy of the input; returns its n (complex) or n/2 + 1 (real) outputs.
std::vector<cfloat> run_once(const Planned& v, std::size_t n, const std::vector<cfloat>& cin,
                             const std::vector<float>& rin) {
  if (v.real_input) {
    Aligned<float> in(n);
    Aligned<cfloat> out(n / 2 + 1);
    std::copy(rin.begin(), rin.end(), in.p.get());
    v.real(in.span(), out.span());
    return {out.p.get(), out.p.get() + out.n};
  }
  Aligned<cfloat> buf(n);
  std::copy(cin.begin(), cin.end(), buf.p.get());
  v.complex(buf.span());
  return {buf.p.get(), buf.p.get() + n};
}

// Checks every variant at size n against `want_c` (complex input) and `want_r` (real input).
void check_size(std::vector<ErrorCheck>& checks, const std::string& what, const std::vector<Planned>& variants, std::size_t n,
                const std::vector<cfloat>& cin, const std::vector<float>& rin,
                std::span<const std::complex<double>> want_c, std::span<const std::complex<double>> want_r) {
  for (const Planned& v : variants) {
    const auto got = run_once(v, n, cin, rin);
    const double err = dp::fft::relative_rms_error<float, double>(got, v.real_input ? want_r : want_c);
    auto it = std::find_if(checks.begin(), checks.end(), [&](const ErrorCheck& c) { return c.name.starts_with(v.name + " "); });
    if (it == checks.end()) {
      checks.push_back({.name = fmt::format("{} matches {}", v.name, what)});
      it = checks.end() - 1;
    }
    it->record(n, err, error_bound(v.name, n, kEpsFloat));
  }
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto max_log2n = static_cast<int>(ctx.params.integer("max-log2n"));
  const int ref_log2n = ctx.quick ? 10 : 13;  // long-double DFT up to here: n^2 operations
  std::mt19937 rng(20261202);

  // 1. Check against the definition in long double: every size 1 .. 2^ref_log2n.
  {
    std::vector<ErrorCheck> checks;
    ErrorCheck dbl{.name = "our FFT in double (the large sizes' reference) matches the DFT"};
    for (int k = 0; k <= ref_log2n; ++k) {
      const std::size_t n = std::size_t{1} << k;
      Aligned<cfloat> cbuf(n);
      Aligned<float> rin(std::max<std::size_t>(n, 2));
      Aligned<cfloat> rout(n / 2 + 1);
      std::vector<Planned> variants;
      if (n == 1) {  // a real transform needs n >= 2, FFTW takes 1 but there is nothing to learn
        variants.push_back(plan_ours(1, Radix::two));
        variants.push_back(plan_ours(1, Radix::four));
        variants.push_back(plan_naive(1));
      } else {
        variants = plan_all(n, cbuf, rin, rout);
      }
      const auto cin = random_complex(n, rng);
      const auto rin_v = random_real(n, rng);
      const auto want_c = dp::fft::dft_reference<float>(cin);
      std::vector<cfloat> rin_c(rin_v.begin(), rin_v.end());
      auto want_r = dp::fft::dft_reference<float>(rin_c);
      want_r.resize(n / 2 + 1);
      check_size(checks, "the DFT", variants, n, cin, rin_v, want_c, want_r);
      // The double FFT that checks the large sizes.
      std::vector<std::complex<double>> d(cin.begin(), cin.end());
      dp::fft::ComplexFft<double>(n).forward(d);
      dbl.record(n, dp::fft::relative_rms_error<double, double>(d, want_c), kBoundC * log2_at_least_1(n) * kEpsDouble);
    }
    const auto against = fmt::format("the DFT in long double (n = 1 .. {})", std::size_t{1} << ref_log2n);
    for (const auto& c : checks) c.report(ctx.result, against);
    dbl.report(ctx.result, against);
    if (!ctx.result.all_checks_passed()) return;
  }
#if !defined(DP_HAVE_FFTW)
  ctx.result.notes.push_back("FFTW was not found when this was built (Debian: libfftw3-dev): only our FFT and the "
                             "naive DFT are measured, with no peer to compare with.");
#endif

  // 2. Time every variant at every size, each size checked first against our FFT in double.
  std::vector<std::uint64_t> sizes;
  for (int k = 6; k <= max_log2n; k += ctx.quick ? 2 : 1) sizes.push_back(std::uint64_t{1} << k);  // quick: 2^6, 2^8 ...
  std::vector<ErrorCheck> large_checks;
  const dp::SweepOptions options{
      .label = [](std::uint64_t n) { return fmt::format("n = {} (2^{})", n, std::countr_zero(n)); },
      .weight = [](std::uint64_t n) { return static_cast<double>(n) * std::log2(static_cast<double>(n)) + 2e4; }};
  for (const std::uint64_t n64 : dp::Sweep(ctx, "size", sizes, options)) {
    const auto n = static_cast<std::size_t>(n64);
    Aligned<cfloat> cbuf(n), pristine(n);
    Aligned<float> rin(n);
    Aligned<cfloat> rout(n / 2 + 1);
    const auto variants = plan_all(n, cbuf, rin, rout);  // before filling: FFTW_MEASURE scribbles
    const auto cin = random_complex(n, rng);
    const auto rin_v = random_real(n, rng);

    if (static_cast<int>(std::countr_zero(n)) > ref_log2n) {
      std::vector<std::complex<double>> want_c(cin.begin(), cin.end()), want_r(rin_v.begin(), rin_v.end());
      dp::fft::ComplexFft<double> ref(n);
      ref.forward(want_c), ref.forward(want_r);
      want_r.resize(n / 2 + 1);
      check_size(large_checks, "our FFT in double", variants, n, cin, rin_v, want_c, want_r);
      if (std::any_of(large_checks.begin(), large_checks.end(), [](const ErrorCheck& c) { return !c.passed; })) break;
    }

    std::copy(cin.begin(), cin.end(), pristine.p.get());
    std::copy(rin_v.begin(), rin_v.end(), rin.p.get());
    const double lg = std::log2(static_cast<double>(n));
    for (const Planned& v : variants) {
      dp::Stats s;
      if (v.real_input) {
        s = ctx.measure(fmt::format("{}/n={}", v.name, n), [&] {
          v.real(rin.span(), rout.span());
          benchmark::DoNotOptimize(rout.p.get());
          benchmark::ClobberMemory();
        });
      } else {
        // In place, over and over: each transform multiplies the values' size by about sqrt(n),
        // so every 8th one starts again from the input (8 x 11 bits of growth at n = 2^22 stays
        // far from float's range). The copy costs 1/8 of a pass over the data.
        std::copy(pristine.p.get(), pristine.p.get() + n, cbuf.p.get());
        int since_refill = 0;
        s = ctx.measure(fmt::format("{}/n={}", v.name, n), [&] {
          if (++since_refill == 8) std::memcpy(cbuf.p.get(), pristine.p.get(), n * sizeof(cfloat)), since_refill = 0;
          v.complex(cbuf.span());
          benchmark::DoNotOptimize(cbuf.p.get());
          benchmark::ClobberMemory();
        });
      }
      const double flops = (v.real_input ? 2.5 : 5.0) * static_cast<double>(n) * lg;
      ctx.result.add_point(v.name, "n", static_cast<double>(n), s, flops / s.median_ns, "GFLOP/s");
      if (v.plan_ns > 0) {
        const dp::Stats once{.median_ns = v.plan_ns, .p10_ns = v.plan_ns, .p90_ns = v.plan_ns, .min_ns = v.plan_ns, .reps = 1};
        ctx.result.add_point("plan: " + v.name, "n", static_cast<double>(n), once, 1e9 / v.plan_ns, "plans/s");
      }
    }
  }
  for (const auto& c : large_checks)
    c.report(ctx.result, fmt::format("our FFT in double (n above {})", std::size_t{1} << ref_log2n));

  // 3. Plots, headlines, notes.
  std::vector<std::string> complex_names = {"ours radix-2", "ours radix-4", "naive DFT"};
  std::vector<std::string> real_names = {"ours real"};
#if defined(DP_HAVE_FFTW)
  complex_names.insert(complex_names.end(), {"FFTW measure", "FFTW estimate"});
  real_names.insert(real_names.end(), {"FFTW r2c measure", "FFTW r2c estimate"});
#endif
  // A log y axis: the naive DFT runs a thousand times below the FFTs at n = 4096.
  ctx.result.plots.push_back({.name = "complex", .title = "Complex single-precision FFT, one thread",
                              .xlabel = "n (complex numbers)", .ylabel = "GFLOP/s (5 n log2 n per transform)",
                              .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = complex_names, .markers = {}});
  ctx.result.plots.push_back({.name = "real", .title = "Real-input single-precision FFT, one thread",
                              .xlabel = "n (real numbers)", .ylabel = "GFLOP/s (2.5 n log2 n per transform)",
                              .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = false, .variants = real_names, .markers = {}});
  std::vector<std::string> plan_names;
  for (const auto& s : ctx.result.series)
    if (s.variant.starts_with("plan: ")) plan_names.push_back(s.variant);
  ctx.result.plots.push_back({.name = "plans", .title = "Planning time, paid once per size",
                              .xlabel = "n", .ylabel = "ns per plan", .y = dp::PlotSpec::Y::time,
                              .logx = true, .logy = true, .variants = plan_names, .markers = {}});

  // The target: ours within 2x of FFTW_MEASURE for complex n = 2^10 .. 2^16.
  double worst = 0, log_sum = 0;
  int count = 0;
  std::uint64_t worst_n = 0;
  for (std::uint64_t n = 1024; n <= 65536; n *= 2) {
    const dp::Point* ours = ctx.result.point_at("ours radix-4", static_cast<double>(n));
    const dp::Point* fftw = ctx.result.point_at("FFTW measure", static_cast<double>(n));
    if (!ours || !fftw) continue;
    const double ratio = ours->median_ns / fftw->median_ns;
    log_sum += std::log(ratio), ++count;
    if (ratio > worst) worst = ratio, worst_n = n;
  }
  if (count > 0)
    ctx.result.headlines.push_back({"ours radix-4 / FFTW_MEASURE time, complex n = 2^10 .. 2^16",
                                    fmt::format("{:.2f}x on average (geometric, {} sizes), worst {:.2f}x at n = {}; target: under 2x",
                                                std::exp(log_sum / count), count, worst, worst_n)});
  for (const char* name : {"ours radix-2", "ours radix-4", "FFTW measure", "ours real", "FFTW r2c measure"}) {
    const dp::Series* s = ctx.result.find_series(name);
    if (!s || s->points.empty()) continue;
    const auto best = std::max_element(s->points.begin(), s->points.end(),
                                       [](const dp::Point& a, const dp::Point& b) { return a.throughput < b.throughput; });
    ctx.result.headlines.push_back({fmt::format("{}: best", name),
                                    fmt::format("{:.1f} GFLOP/s at n = {} ({:.0f} ns per transform)", best->throughput,
                                                static_cast<std::uint64_t>(best->x), best->median_ns)});
  }
  ctx.result.notes.push_back(
      "Single precision throughout (fftwf); \"GFLOP/s\" is 5 n log2 n (complex) or 2.5 n log2 n (real) per transform, "
      "the benchFFT convention: a radix-4 pass does fewer operations than that, the naive DFT far more.");
  ctx.result.notes.push_back(
      "Complex transforms run in place on the same buffer; every 8th restarts from a copy of the input (one copy of "
      "the n numbers per 8 transforms, counted in the time), since each transform grows the values by about sqrt(n).");
  ctx.result.notes.push_back("Plan times are one wall-clock measurement each (series 'plan: ...'), not part of any transform's time.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "fft",
             .title = "FFT: a textbook radix-2/radix-4 FFT against FFTW",
             .module = 4,
             .level = 3,
             .tracks = {"sp"},
             .question = "How close does a textbook FFT get to FFTW, and where does the rest of the gap come from?",
             .guide_page = "m4/fft.md",
             .source = "src/labs/m4/fft.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-log2n", "largest size is 2^max-log2n (sizes from 2^6)", 22, 12, 8, 24)},
    .run = run,
});
