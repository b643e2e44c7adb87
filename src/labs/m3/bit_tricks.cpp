// bit_tricks.cpp — which bit tricks still pay on a modern CPU, and which does the hardware do better?
//
// What: four small lessons, each a few ways of computing the same thing (the tricks: bits.hpp;
// the set containers: bit_sets.hpp)
//   1. popcount of n words (half of L1): Kernighan's loop, a byte table, SWAR arithmetic, the
//      popcnt instruction (__builtin_popcountll, kept scalar), and the same builtin left to the
//      vectorizer; swept over the bits set per word (the loop's cost grows with them)
//   2. sets of n elements, intersection size (and + count) and union (or, stored): our word
//      array, std::bitset, std::vector<bool> (one bit per element, accessed bit by bit) and
//      std::vector<uint8_t> (a byte per element), at n = 64Ki, 1Mi (and 16Mi in a full run)
//   3. 2-D Morton codes of points in half of L2: a loop over the bits, magic-bit shifts, and
//      BMI2's pdep/pext where the CPU has them (asked at run time); encode and decode, swept
//      over the bits per coordinate
//   4. 1/sqrt(x) of floats in L1: 1/std::sqrt, the Quake III trick with and without its Newton
//      step, and the rsqrt instruction with and without one: time against max relative error
// Run:  dontpanic run bit-tricks          dontpanic run bit-tricks --quick
// Every variant is checked against a simple reference first; the rsqrt variants against their
// known error bounds.
#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/lab.hpp"
#include "core/machine.hpp"
#include "core/portability.hpp"
#include "labs/m3/bit_sets.hpp"
#include "labs/m3/bits.hpp"

namespace {

using namespace dp::bitsets;  // Sets, and_count_*, or_*

using Words = std::span<const std::uint64_t>;

// ---------------------------------------------------------------------------------------------
// 1. popcount over an array: the variants
// ---------------------------------------------------------------------------------------------

DP_NO_VECTORIZE std::uint64_t count_loop(Words w) {
  std::uint64_t n = 0;
  DP_LOOP_SCALAR
  for (const std::uint64_t x : w) n += static_cast<std::uint64_t>(dp::bits::popcount_loop(x));
  return n;
}
DP_NO_VECTORIZE std::uint64_t count_table(Words w) {
  std::uint64_t n = 0;
  DP_LOOP_SCALAR
  for (const std::uint64_t x : w) n += static_cast<std::uint64_t>(dp::bits::popcount_table(x));
  return n;
}
DP_NO_VECTORIZE std::uint64_t count_swar(Words w) {
  std::uint64_t n = 0;
  DP_LOOP_SCALAR
  for (const std::uint64_t x : w) n += static_cast<std::uint64_t>(dp::bits::popcount_swar(x));
  return n;
}
// One popcnt instruction per word (x86-64 since 2008; the build's -march=native enables it).
DP_NO_VECTORIZE std::uint64_t count_builtin(Words w) {
  std::uint64_t n = 0;
  DP_LOOP_SCALAR
  for (const std::uint64_t x : w) n += static_cast<std::uint64_t>(__builtin_popcountll(x));
  return n;
}
// The same loop with the vectorizer free: with AVX-512 VPOPCNTQ it counts 4 or 8 words at once.
[[gnu::noinline]] std::uint64_t count_vectorized(Words w) {
  std::uint64_t n = 0;
  for (const std::uint64_t x : w) n += static_cast<std::uint64_t>(__builtin_popcountll(x));
  return n;
}

struct Popcount {
  const char* name;
  std::uint64_t (*fn)(Words);
};
const Popcount kPopcounts[] = {{"loop (Kernighan)", count_loop},   {"byte table", count_table},
                               {"SWAR", count_swar},               {"popcnt instruction", count_builtin},
                               {"builtin, vectorized", count_vectorized}};

// ---------------------------------------------------------------------------------------------
// 2. Sets: the four containers, their and-count and their or are in bit_sets.hpp, beside this file.
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// 3. Morton codes and 4. inverse square roots, over arrays
// ---------------------------------------------------------------------------------------------

using Encode = std::uint64_t (*)(std::uint32_t, std::uint32_t);
using Decode = void (*)(std::uint64_t, std::uint32_t&, std::uint32_t&);
using Coords = std::span<std::uint32_t>;
using Codes = std::span<std::uint64_t>;
// Whole arrays, with the trick inlined into the loop: a call through a pointer per point would
// cost more than pdep itself. BMI2's loops carry the target attribute too (a BMI2 function can
// only be inlined into one compiled for BMI2).
template <Encode E>
[[gnu::noinline]] void encode_all(Coords x, Coords y, Codes c) {
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = E(x[i], y[i]);
}
template <Decode D>
[[gnu::noinline]] void decode_all(Codes c, Coords x, Coords y) {
  for (std::size_t i = 0; i < c.size(); ++i) D(c[i], x[i], y[i]);
}
#if defined(DP_BITS_X86)
[[gnu::noinline, gnu::target("bmi2")]] void encode_all_pdep(Coords x, Coords y, Codes c) {
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = dp::bits::morton_pdep(x[i], y[i]);
}
[[gnu::noinline, gnu::target("bmi2")]] void decode_all_pext(Codes c, Coords x, Coords y) {
  for (std::size_t i = 0; i < c.size(); ++i) dp::bits::morton_decode_pext(c[i], x[i], y[i]);
}
#endif

struct Morton {
  const char* name;
  void (*encode_all)(Coords, Coords, Codes);
  void (*decode_all)(Codes, Coords, Coords);
};
std::vector<Morton> mortons() {
  using namespace dp::bits;
  std::vector<Morton> m = {
      {"loop", encode_all<morton_loop>, decode_all<morton_decode_loop>},
      {"magic bits", encode_all<morton_magic>, decode_all<morton_decode_magic>}};
#if defined(DP_BITS_X86)
  if (has_bmi2()) m.push_back({"pdep/pext (BMI2)", encode_all_pdep, decode_all_pext});
#endif
  return m;
}

using Floats = std::span<const float>;
using Out = std::span<float>;
// As written: C's sqrt sets errno on a negative input, so GCC keeps a scalar sqrtss, a test for
// that case and a call to sqrtf behind it, and cannot vectorize the loop (-fno-math-errno lets it).
[[gnu::noinline]] void rsqrt_exact(Floats x, Out y) {
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = 1.0f / std::sqrt(x[i]);
}
[[gnu::noinline]] void rsqrt_quake0(Floats x, Out y) {
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = dp::bits::rsqrt_quake(x[i], 0);
}
[[gnu::noinline]] void rsqrt_quake1(Floats x, Out y) {
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = dp::bits::rsqrt_quake(x[i], 1);
}
#if defined(__AVX__)
// The rsqrt instruction: about 12 correct bits from a table in the FPU, 8 floats per instruction.
// With Exact, the correctly rounded way on 8 floats at once (vsqrtps, vdivps): the loop GCC
// would make of rsqrt_exact if errno did not stop it (the page shows how).
template <bool Newton, bool Exact = false>
[[gnu::noinline]] void rsqrt_instruction(Floats x, Out y) {
  std::size_t i = 0;
  for (; i + 8 <= x.size(); i += 8) {
    const __m256 v = _mm256_loadu_ps(x.data() + i);
    __m256 r = Exact ? _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_sqrt_ps(v)) : _mm256_rsqrt_ps(v);
    if constexpr (Newton)  // r (1.5 - 0.5 v r^2): about 22 correct bits
      r = _mm256_mul_ps(r, _mm256_sub_ps(_mm256_set1_ps(1.5f),
                                         _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_mul_ps(r, r))));
    _mm256_storeu_ps(y.data() + i, r);
  }
  for (; i < x.size(); ++i) {
    float r = Exact ? 1.0f / std::sqrt(x[i]) : _mm_cvtss_f32(_mm_rsqrt_ss(_mm_set_ss(x[i])));
    if constexpr (Newton) r = r * (1.5f - 0.5f * x[i] * r * r);
    y[i] = r;
  }
}
#endif

struct Rsqrt {
  const char* name;
  void (*fn)(Floats, Out);
  double max_rel_error;  // the bound the check holds it to
  const char* why;
};
// Bounds: 1/sqrtf rounds twice (half an ulp each, 2^-24); Quake's guess is off by at most 3.44%
// and 0.175% after one Newton step (Lomont 2003); Intel and AMD document rsqrtps to 1.5 x 2^-12;
// one Newton step squares that (1.5 e^2 = 2e-7) plus a few float roundings.
std::vector<Rsqrt> rsqrts() {
  std::vector<Rsqrt> v = {{"1/std::sqrt", rsqrt_exact, 1.2e-7, "two roundings of half an ulp"},
                          {"Quake, no Newton step", rsqrt_quake0, 0.0345, "Lomont: 3.44%"},
                          {"Quake + 1 Newton step", rsqrt_quake1, 0.00176, "Lomont: 0.175%"}};
#if defined(__AVX__)
  v.push_back({"1/sqrt, SIMD", rsqrt_instruction<false, true>, 1.2e-7, "two roundings of half an ulp"});
  v.push_back({"rsqrt instruction", rsqrt_instruction<false>, 1.5 / 4096, "documented: 1.5 x 2^-12"});
  v.push_back({"rsqrt + 1 Newton step", rsqrt_instruction<true>, 1e-6, "1.5 e^2 + roundings"});
#endif
  return v;
}

// ---------------------------------------------------------------------------------------------
// Inputs and references
// ---------------------------------------------------------------------------------------------

int popcount_reference(std::uint64_t x) {
  int n = 0;
  for (int b = 0; b < 64; ++b) n += static_cast<int>((x >> b) & 1);
  return n;
}

// A word with exactly k bits set, at random places.
std::uint64_t word_with_bits(int k, std::mt19937_64& rng) {
  std::uint64_t x = 0;
  while (popcount_reference(x) < k) x |= std::uint64_t{1} << (rng() % 64);
  return x;
}

std::uint32_t coordinate(int bits, std::mt19937_64& rng) {
  return bits >= 32 ? static_cast<std::uint32_t>(rng()) : static_cast<std::uint32_t>(rng() & ((1u << bits) - 1));
}

// log-uniform in [2^-20, 2^20]: every exponent the lab meets is covered evenly.
std::vector<float> rsqrt_inputs(std::size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> e(-20, 20);
  std::vector<float> x(n);
  for (float& v : x) v = static_cast<float>(std::exp2(e(rng)));
  return x;
}

double max_relative_error(Floats x, Floats y) {
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = 1.0 / std::sqrt(static_cast<double>(x[i]));
    worst = std::max(worst, std::abs(static_cast<double>(y[i]) - want) / want);
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------
// Checks: every variant against the reference, on fresh random input and edge values
// ---------------------------------------------------------------------------------------------

void check_popcounts(dp::LabContext& ctx, std::mt19937_64& rng) {
  std::vector<std::uint64_t> words = {0, ~std::uint64_t{0}, std::uint64_t{1} << 63, 1, 0x8000000000000001ULL};
  for (int i = 0; i < 2000; ++i) words.push_back(word_with_bits(static_cast<int>(rng() % 65), rng));
  for (const Popcount& p : kPopcounts) {
    std::size_t wrong = 0;
    std::string first;
    for (const std::uint64_t& w : words) {  // one word at a time: a wrong count names its word
      const auto got = p.fn(Words(&w, 1));
      const auto want = static_cast<std::uint64_t>(popcount_reference(w));
      if (got != want && wrong++ == 0) first = fmt::format(": {:#x} gave {}, want {}", w, got, want);
    }
    ctx.result.add_check(fmt::format("popcount {}", p.name), wrong == 0,
                         fmt::format("{} of {} words differ from the bit-by-bit count{}", wrong, words.size(), first));
  }
}

void check_mortons(dp::LabContext& ctx, std::mt19937_64& rng) {
  std::vector<std::uint32_t> xs = {0, ~0u, ~0u, 0, 1, 0}, ys = {0, ~0u, 0, ~0u, 0, 1};
  for (int i = 0; i < 3000; ++i) xs.push_back(coordinate(1 + i % 32, rng)), ys.push_back(coordinate(1 + i % 32, rng));
  const std::size_t n = xs.size();
  std::vector<std::uint64_t> want(n), got(n);
  for (std::size_t i = 0; i < n; ++i) want[i] = dp::bits::morton_reference(xs[i], ys[i]);
  for (const Morton& m : mortons()) {
    std::vector<std::uint32_t> dx(n), dy(n);
    m.encode_all(xs, ys, got);
    m.decode_all(want, dx, dy);
    std::size_t wrong = 0;
    std::string first;
    for (std::size_t i = 0; i < n; ++i)
      if ((got[i] != want[i] || dx[i] != xs[i] || dy[i] != ys[i]) && wrong++ == 0)
        first = fmt::format(": ({}, {}) encoded {:#x} (want {:#x}), decoded ({}, {})", xs[i], ys[i], got[i], want[i], dx[i], dy[i]);
    ctx.result.add_check(fmt::format("Morton {}: encode and decode", m.name), wrong == 0,
                         fmt::format("{} of {} points differ from the bit-by-bit definition{}", wrong, n, first));
  }
}

void check_rsqrts(dp::LabContext& ctx, std::mt19937_64& rng) {
  std::vector<float> x = rsqrt_inputs(10007, rng);
  x.insert(x.end(), {1.0f, 4.0f, 0.25f, 2.0f, 1e-30f, 1e30f});  // exact powers, and far ends
  std::vector<float> y(x.size());
  for (const Rsqrt& r : rsqrts()) {
    r.fn(x, y);
    const double err = max_relative_error(x, y);
    ctx.result.add_check(fmt::format("1/sqrt {}: max relative error", r.name), err <= r.max_rel_error,
                         fmt::format("{:.3g} over {} inputs; bound {:.3g} ({})", err, x.size(), r.max_rel_error, r.why));
  }
}

// The set checks run at every size that is timed, before it is timed.
template <std::size_t N>
bool check_sets(dp::LabContext& ctx, Sets<N>& s, const std::vector<char>& ra, const std::vector<char>& rb) {
  std::uint64_t want = 0;
  for (std::size_t i = 0; i < N; ++i) want += ra[i] && rb[i];
  const std::uint64_t got[] = {and_count_words(s), and_count_bitset(s), and_count_vector_bool(s), and_count_bytes(s)};
  or_words(s), or_bitset(s), or_vector_bool(s), or_bytes(s);
  const char* names[] = {"word array (ours)", "std::bitset", "std::vector<bool>", "std::vector<uint8_t>"};
  bool all = true;
  for (int v = 0; v < 4; ++v) {
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < N; ++i) {
      const bool in[] = {((s.wc[i / 64] >> (i % 64)) & 1) != 0, s.bc->test(i), s.vc[i], s.uc[i] != 0};
      wrong += in[v] != (ra[i] || rb[i]);
    }
    const bool ok = got[v] == want && wrong == 0;
    all = all && ok;
    ctx.result.add_check(fmt::format("sets {} (n={}): and-count and or", names[v], N), ok,
                         fmt::format("|a and b| = {} (reference {}); {} of {} union elements wrong", got[v], want, wrong, N));
  }
  return all;
}

// ---------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------

void run_popcount(dp::LabContext& ctx, std::mt19937_64& rng) {
  const std::size_t n = (ctx.machine.cache_bytes(1) ? ctx.machine.cache_bytes(1) : 16384) / 2 / 8;  // half of L1d
  const std::vector<int> densities = ctx.quick ? std::vector<int>{1, 32, 63} : std::vector<int>{1, 4, 8, 16, 24, 32, 40, 48, 56, 63};
  for (const int k : densities) {
    std::vector<std::uint64_t> w(n);
    for (auto& x : w) x = word_with_bits(k, rng);
    for (const Popcount& p : kPopcounts) {
      const dp::Stats s = ctx.measure(fmt::format("popcount {}/bits={}", p.name, k), [&] { benchmark::DoNotOptimize(p.fn(w)); });
      ctx.result.add_point(p.name, "bits set per word", k, s.per(static_cast<double>(n)), static_cast<double>(n) / s.median_ns, "words/ns", "word");
    }
  }
  ctx.result.plots.push_back(dp::PlotSpec{.name = "popcount", .title = fmt::format("popcount of {} words (half of L1d)", n),
                                          .xlabel = "bits set per 64-bit word", .ylabel = "ns per word",
                                          .y = dp::PlotSpec::Y::time, .logx = false, .logy = true});
  const auto ns = [&](const char* v, double k) { return ctx.result.point_at(v, k)->median_ns; };
  ctx.result.headlines.push_back({"popcount at 32 bits per word, ns per word",
      fmt::format("loop {:.2f}, table {:.2f}, SWAR {:.2f}, popcnt {:.2f}, vectorized {:.3f}", ns("loop (Kernighan)", 32),
                  ns("byte table", 32), ns("SWAR", 32), ns("popcnt instruction", 32), ns("builtin, vectorized", 32))});
}

template <std::size_t N>
void run_sets_at(dp::LabContext& ctx, std::mt19937_64& rng) {
  std::vector<char> ra(N), rb(N);  // the reference: one char per element
  std::bernoulli_distribution in_a(0.3), in_b(0.6);
  for (std::size_t i = 0; i < N; ++i) ra[i] = in_a(rng), rb[i] = in_b(rng);
  Sets<N> s{std::vector<std::uint64_t>(N / 64), std::vector<std::uint64_t>(N / 64), std::vector<std::uint64_t>(N / 64),
            std::make_unique<std::bitset<N>>(), std::make_unique<std::bitset<N>>(), std::make_unique<std::bitset<N>>(),
            std::make_unique<std::bitset<N>>(), std::vector<bool>(N), std::vector<bool>(N), std::vector<bool>(N),
            std::vector<std::uint8_t>(N), std::vector<std::uint8_t>(N), std::vector<std::uint8_t>(N)};
  for (std::size_t i = 0; i < N; ++i) {
    s.wa[i / 64] |= std::uint64_t{ra[i] != 0} << (i % 64), s.wb[i / 64] |= std::uint64_t{rb[i] != 0} << (i % 64);
    s.ba->set(i, ra[i]), s.bb->set(i, rb[i]), s.va[i] = ra[i], s.vb[i] = rb[i], s.ua[i] = ra[i], s.ub[i] = rb[i];
  }
  if (!check_sets(ctx, s, ra, rb)) return;
  const auto time = [&](const std::string& series, auto&& body) {
    const dp::Stats st = ctx.measure(fmt::format("{}/n={}", series, N), body);
    ctx.result.add_point(series, "elements", N, st.per(N), N / st.median_ns, "elements/ns", "element");
  };
  time("and-count: word array (ours)", [&] { benchmark::DoNotOptimize(and_count_words(s)); });
  time("and-count: std::bitset", [&] { benchmark::DoNotOptimize(and_count_bitset(s)); });
  time("and-count: std::vector<bool>", [&] { benchmark::DoNotOptimize(and_count_vector_bool(s)); });
  time("and-count: std::vector<uint8_t>", [&] { benchmark::DoNotOptimize(and_count_bytes(s)); });
  time("or: word array (ours)", [&] { or_words(s); benchmark::ClobberMemory(); });
  time("or: std::bitset", [&] { or_bitset(s); benchmark::ClobberMemory(); });
  time("or: std::vector<bool>", [&] { or_vector_bool(s); benchmark::ClobberMemory(); });
  time("or: std::vector<uint8_t>", [&] { or_bytes(s); benchmark::ClobberMemory(); });
}

void run_sets(dp::LabContext& ctx, std::mt19937_64& rng) {
  run_sets_at<1 << 16>(ctx, rng);
  run_sets_at<1 << 20>(ctx, rng);
  if (!ctx.quick) run_sets_at<1 << 24>(ctx, rng);
  if (!ctx.result.all_checks_passed()) return;
  for (const char* op : {"and-count", "or"}) {
    std::vector<std::string> names;
    for (const char* c : {"word array (ours)", "std::bitset", "std::vector<bool>", "std::vector<uint8_t>"}) names.push_back(fmt::format("{}: {}", op, c));
    ctx.result.plots.push_back(dp::PlotSpec{
        .name = fmt::format("sets-{}", op), .title = fmt::format("set {}: a bit or a byte per element", op == std::string("or") ? "union (a or b, stored)" : "intersection size (count of a and b)"),
        .xlabel = "elements in each set", .ylabel = "ns per element", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = names});
    const double n = ctx.quick ? 1 << 20 : 1 << 24;
    ctx.result.headlines.push_back({fmt::format("set {} at n={}: ns per element", op, n),
        fmt::format("words {:.3f}, bitset {:.3f}, vector<bool> {:.3f}, bytes {:.3f}", ctx.result.point_at(names[0], n)->median_ns,
                    ctx.result.point_at(names[1], n)->median_ns, ctx.result.point_at(names[2], n)->median_ns, ctx.result.point_at(names[3], n)->median_ns)});
  }
}

void run_morton(dp::LabContext& ctx, std::mt19937_64& rng) {
  const std::size_t n = (ctx.machine.cache_bytes(2) ? ctx.machine.cache_bytes(2) : 262144) / 2 / 16;  // x, y, code: 16 B a point
  std::vector<std::uint32_t> xs(n), ys(n), dx(n), dy(n);
  std::vector<std::uint64_t> codes(n);
  for (const int bits : ctx.quick ? std::vector<int>{4, 16, 32} : std::vector<int>{2, 4, 8, 12, 16, 20, 24, 28, 32}) {
    for (std::size_t i = 0; i < n; ++i) xs[i] = coordinate(bits, rng), ys[i] = coordinate(bits, rng);
    for (const Morton& m : mortons()) {
      const dp::Stats e = ctx.measure(fmt::format("morton encode {}/bits={}", m.name, bits), [&] {
        m.encode_all(xs, ys, codes);
        benchmark::ClobberMemory();
      });
      const dp::Stats d = ctx.measure(fmt::format("morton decode {}/bits={}", m.name, bits), [&] {
        m.decode_all(codes, dx, dy);
        benchmark::ClobberMemory();
      });
      ctx.result.add_point(fmt::format("encode: {}", m.name), "bits per coordinate", bits, e.per(n), n / e.median_ns, "points/ns", "point");
      ctx.result.add_point(fmt::format("decode: {}", m.name), "bits per coordinate", bits, d.per(n), n / d.median_ns, "points/ns", "point");
    }
  }
  ctx.result.plots.push_back(dp::PlotSpec{.name = "morton", .title = fmt::format("Morton codes of {} points (half of L2)", n),
                                          .xlabel = "bits per coordinate", .ylabel = "ns per point", .y = dp::PlotSpec::Y::time, .logx = false, .logy = true});
  std::string at32;
  for (const Morton& m : mortons())
    at32 += fmt::format("{}{} {:.2f}/{:.2f}", at32.empty() ? "" : ", ", m.name, ctx.result.point_at(fmt::format("encode: {}", m.name), 32)->median_ns,
                        ctx.result.point_at(fmt::format("decode: {}", m.name), 32)->median_ns);
  ctx.result.headlines.push_back({"Morton at 32 bits per coordinate, ns per point (encode/decode)", at32});
  if (!dp::bits::has_bmi2()) ctx.result.notes.push_back("This CPU has no BMI2: the pdep/pext variant was left out.");
#if defined(DP_BITS_X86)
  if (__builtin_cpu_is("znver1") || __builtin_cpu_is("znver2"))
    ctx.result.notes.push_back("This CPU is an AMD Zen 1 or Zen 2: pdep and pext are microcoded here (tens to hundreds of cycles).");
#endif
}

void run_rsqrt(dp::LabContext& ctx, std::mt19937_64& rng) {
  const std::size_t n = (ctx.machine.cache_bytes(1) ? ctx.machine.cache_bytes(1) : 16384) / 2 / 8;  // input and output in half of L1d
  const std::vector<float> x = rsqrt_inputs(n, rng);
  std::vector<float> y(n);
  std::string line;
  for (const Rsqrt& r : rsqrts()) {
    r.fn(x, y);
    const double err = max_relative_error(x, y);
    const dp::Stats s = ctx.measure(fmt::format("rsqrt {}", r.name), [&] { r.fn(x, y); benchmark::ClobberMemory(); });
    ctx.result.add_point(r.name, "max relative error", err, s.per(n), n / s.median_ns, "floats/ns", "float");
    line += fmt::format("{}{} {:.3f} ns ({:.1e})", line.empty() ? "" : ", ", r.name, s.median_ns / n, err);
  }
  ctx.result.plots.push_back(dp::PlotSpec{.name = "rsqrt", .title = fmt::format("1/sqrt(x) of {} floats: time against error", n),
                                          .xlabel = "max relative error (against double precision)", .ylabel = "ns per float",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true});
  ctx.result.headlines.push_back({"1/sqrt: ns per float (max relative error)", line});
#if !defined(__AVX__)
  ctx.result.notes.push_back("Built without AVX: the rsqrt instruction variants were left out.");
#endif
}

void run(dp::LabContext& ctx) {
  std::mt19937_64 rng(std::random_device{}());  // fresh input every run
  if (ctx.machine.cache_bytes(1) == 0) ctx.result.notes.push_back("The machine reports no L1d size: 16 KiB assumed (popcount, 1/sqrt).");
  if (ctx.machine.cache_bytes(2) == 0) ctx.result.notes.push_back("The machine reports no L2 size: 256 KiB assumed (Morton codes).");
  check_popcounts(ctx, rng);
  check_mortons(ctx, rng);
  check_rsqrts(ctx, rng);
  if (!ctx.result.all_checks_passed()) return;
  run_popcount(ctx, rng);
  run_sets(ctx, rng);
  if (!ctx.result.all_checks_passed()) return;
  run_morton(ctx, rng);
  run_rsqrt(ctx, rng);
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "bit-tricks",
             .title = "Bit tricks: popcount, bitsets, Morton codes, fast inverse square root",
             .module = 3,
             .level = 2,
             .tracks = {},
             .question = "Which classic bit tricks still beat the obvious code, and which has the "
                         "hardware made obsolete?",
             .guide_page = "m3/bit-tricks.md",
             .source = "src/labs/m3/bit_tricks.cpp",
             .requires_gpu = {}},
    .params = {},
    .run = run,
});
