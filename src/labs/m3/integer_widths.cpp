// integer_widths.cpp — how much faster is a narrower integer, and what does it cost you?
//
// What:
//   1. sum, min and max over arrays of u8, u16, u32, u64 and float (the same count of elements,
//      in cache): elements per ns. A SIMD register holds a fixed number of bits, so it holds 4x
//      as many u8 lanes as u32 lanes; the lab says how wide this build's registers are.
//   2. overflow and widening: the same u8 array summed into a u8, u16, u32 and u64 accumulator.
//      The narrow ones are faster, and wrong: they count modulo 2^8 and 2^16.
//   3. saturating arithmetic: adding two u8 images, pixel by pixel, where 200 + 100 must give 255
//      (white), not 44: wrapping add, saturating add in scalar code, the same loop left to the
//      compiler's vectorizer, and the CPU's saturating-add instruction (x86: adds_epu8).
// Run:  dontpanic run integer-widths           dontpanic run integer-widths --quick
// Checks: every sum against a 64-bit reference (the u8 and u16 accumulators against the 64-bit
// sum taken modulo 2^8 and 2^16: they are wrong on purpose, but wrong exactly as the arithmetic
// says), min and max exactly, saturating adds against a clamp in int.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join

#include "core/lab.hpp"
#include "core/machine.hpp"
#include "core/portability.hpp"
#include "core/sweep.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DP_HAVE_X86_SIMD 1
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// 1 and 2. Reductions, written plainly: GCC -O3 vectorizes the integer ones
// ---------------------------------------------------------------------------------------------

// Acc is the accumulator's type: summing u8 into u8 wraps around at 256.
template <class Acc, class T>
[[gnu::noinline]] Acc sum(std::span<const T> x) {
  Acc s = 0;
  for (const T v : x) s = static_cast<Acc>(s + v);
  return s;
}

template <class T>
[[gnu::noinline]] T min_of(std::span<const T> x) {
  T m = x[0];
  for (const T v : x) m = v < m ? v : m;
  return m;
}

template <class T>
[[gnu::noinline]] T max_of(std::span<const T> x) {
  T m = x[0];
  for (const T v : x) m = v > m ? v : m;
  return m;
}

// ---------------------------------------------------------------------------------------------
// 3. Adding two u8 images
// ---------------------------------------------------------------------------------------------

using Pixels = std::span<const std::uint8_t>;

[[gnu::noinline]] void add_wrapping(Pixels a, Pixels b, std::span<std::uint8_t> out) {
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = static_cast<std::uint8_t>(a[i] + b[i]);  // mod 256
}

DP_NO_VECTORIZE void add_saturating_scalar(Pixels a, Pixels b, std::span<std::uint8_t> out) {
  DP_LOOP_SCALAR
  for (std::size_t i = 0; i < a.size(); ++i) {
    const int s = a[i] + b[i];  // in int: 0..510, no overflow
    out[i] = static_cast<std::uint8_t>(s > 255 ? 255 : s);
  }
}

// The same loop, the vectorizer free to do what it can with it.
[[gnu::noinline]] void add_saturating_compiler(Pixels a, Pixels b, std::span<std::uint8_t> out) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const int s = a[i] + b[i];
    out[i] = static_cast<std::uint8_t>(s > 255 ? 255 : s);
  }
}

#ifdef DP_HAVE_X86_SIMD
// One instruction adds 16, 32 or 64 pixels and clamps each at 255 (SSE2 paddusb, AVX2 vpaddusb,
// AVX-512BW vpaddusb on zmm): the widest this build may use. The tail is the scalar loop.
[[gnu::noinline]] void add_saturating_intrinsic(Pixels a, Pixels b, std::span<std::uint8_t> out) {
  std::size_t i = 0;
#if defined(__AVX512BW__)
  for (; i + 64 <= a.size(); i += 64)
    _mm512_storeu_si512(out.data() + i, _mm512_adds_epu8(_mm512_loadu_si512(a.data() + i), _mm512_loadu_si512(b.data() + i)));
#elif defined(__AVX2__)
  for (; i + 32 <= a.size(); i += 32) {
    const auto va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.data() + i));
    const auto vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.data() + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.data() + i), _mm256_adds_epu8(va, vb));
  }
#else
  for (; i + 16 <= a.size(); i += 16) {
    const auto va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.data() + i));
    const auto vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.data() + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out.data() + i), _mm_adds_epu8(va, vb));
  }
#endif
  for (; i < a.size(); ++i) out[i] = static_cast<std::uint8_t>(std::min(a[i] + b[i], 255));
}
#endif

// The vector registers this build may use (the compiler's target, from -march), in bits.
struct VectorWidth {
  int bits;
  const char* isa;
};
constexpr VectorWidth kBuildVectors =
#if defined(__AVX512BW__)
    {512, "AVX-512"};
#elif defined(__AVX2__)
    {256, "AVX2"};
#elif defined(__SSE2__)
    {128, "SSE2"};
#elif defined(__ARM_NEON)
    {128, "NEON"};
#else
    {0, "none known"};
#endif

// What the CPU itself offers (it may be more than the build uses: a portable build targets less).
std::string cpu_vectors() {
#if defined(DP_HAVE_X86_SIMD)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512bw")) return "AVX-512 (512-bit registers)";
  if (__builtin_cpu_supports("avx2")) return "AVX2 (256-bit registers)";
  return "SSE2 (128-bit registers)";
#else
  return "not detected (not x86)";
#endif
}

// ---------------------------------------------------------------------------------------------
// Inputs, references, checks
// ---------------------------------------------------------------------------------------------

// Random values over the type's whole range; u64 below 2^40, so that a sum of up to 2^23 of them
// fits in the 64-bit reference. Floats in [0, 1).
template <class T>
std::vector<T> random_values(std::size_t n, std::mt19937_64& rng) {
  std::vector<T> v(n);
  if constexpr (std::is_floating_point_v<T>) {
    std::uniform_real_distribution<T> d(0, 1);
    for (auto& x : v) x = d(rng);
  } else {
    const std::uint64_t top = sizeof(T) == 8 ? (std::uint64_t{1} << 40) - 1 : std::numeric_limits<T>::max();
    std::uniform_int_distribution<std::uint64_t> d(0, top);
    for (auto& x : v) x = static_cast<T>(d(rng));
  }
  return v;
}

// The references: plain loops in 64 bits (integers) or double (floats), indices checked.
template <class T>
auto sum_reference(const std::vector<T>& x) {
  std::conditional_t<std::is_floating_point_v<T>, double, std::uint64_t> s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x.at(i);
  return s;
}
template <class T>
T min_reference(const std::vector<T>& x) {
  T m = std::numeric_limits<T>::max();
  for (std::size_t i = 0; i < x.size(); ++i) m = std::min(m, x.at(i));
  return m;
}
template <class T>
T max_reference(const std::vector<T>& x) {
  T m = std::numeric_limits<T>::lowest();
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, x.at(i));
  return m;
}

template <class T>
constexpr const char* type_name() {
  if constexpr (std::is_floating_point_v<T>) return "float";
  else if constexpr (sizeof(T) == 1) return "u8";
  else if constexpr (sizeof(T) == 2) return "u16";
  else if constexpr (sizeof(T) == 4) return "u32";
  else return "u64";
}

// Integers sum into u64 (the answer is right); floats into float, as written.
template <class T>
using WideSum = std::conditional_t<std::is_floating_point_v<T>, float, std::uint64_t>;

template <class... Ts, class F>
void for_each_type(F&& f) {
  (f.template operator()<Ts>(), ...);
}
#define DP_WIDTH_TYPES std::uint8_t, std::uint16_t, std::uint32_t, std::uint64_t, float

void check_reductions(dp::LabContext& ctx, std::mt19937_64& rng) {
  constexpr std::size_t n = 10007;  // odd: the vector loops' scalar tails run too
  for_each_type<DP_WIDTH_TYPES>([&]<class T>() {
    const std::vector<T> x = random_values<T>(n, rng);
    const auto want = sum_reference(x);
    const WideSum<T> got = sum<WideSum<T>, T>(x);
    if constexpr (std::is_floating_point_v<T>) {
      const double bound = (n - 1) * 0x1p-24 / (1 - (n - 1) * 0x1p-24) * want;  // gamma_{n-1} sum|x|
      ctx.result.add_check("sum float (float accumulator)", std::abs(got - want) <= bound,
                           fmt::format("got {:.9g}, double reference {:.9g}, allowed {:.3g}", got, want, bound));
    } else {
      ctx.result.add_check(fmt::format("sum {} (u64 accumulator)", type_name<T>()), got == want,
                           fmt::format("got {}, 64-bit reference {}", got, want));
    }
    const T mn = min_of<T>(x), mx = max_of<T>(x);
    ctx.result.add_check(fmt::format("min and max {}", type_name<T>()),
                         mn == min_reference(x) && mx == max_reference(x),
                         fmt::format("got {} and {}, reference {} and {}", mn, mx, min_reference(x), max_reference(x)));
  });
  // The narrow accumulators are checked against the 64-bit sum reduced modulo 2^bits: the
  // arithmetic they do. (A plain comparison with the true sum would fail, which is the lesson.)
  const std::vector<std::uint8_t> bytes = random_values<std::uint8_t>(n, rng);
  const std::uint64_t total = sum_reference(bytes);
  const auto widen = [&](const char* acc, std::uint64_t got, int bits) {
    const std::uint64_t want = bits == 64 ? total : total % (std::uint64_t{1} << bits);
    ctx.result.add_check(fmt::format("u8 summed into {}", acc), got == want,
                         fmt::format("got {}, 64-bit reference {} (mod 2^{}: {})", got, total, bits, want));
  };
  widen("u8", sum<std::uint8_t, std::uint8_t>(bytes), 8);
  widen("u16", sum<std::uint16_t, std::uint8_t>(bytes), 16);
  widen("u32", sum<std::uint32_t, std::uint8_t>(bytes), 32);
  widen("u64", sum<std::uint64_t, std::uint8_t>(bytes), 64);
}

struct ImageAdd {
  std::string name;
  void (*fn)(Pixels, Pixels, std::span<std::uint8_t>);
  bool saturates;
};
const std::vector<ImageAdd>& image_adds() {
  static const std::vector<ImageAdd> adds = {
      {"wrapping", add_wrapping, false},
      {"saturating scalar", add_saturating_scalar, true},
      {"saturating compiler", add_saturating_compiler, true},
#ifdef DP_HAVE_X86_SIMD
      {"saturating intrinsic", add_saturating_intrinsic, true},
#endif
  };
  return adds;
}

void check_image_adds(dp::LabContext& ctx, std::mt19937_64& rng) {
  constexpr std::size_t n = 10007;
  const auto a = random_values<std::uint8_t>(n, rng), b = random_values<std::uint8_t>(n, rng);
  std::vector<std::uint8_t> out(n);
  for (const ImageAdd& add : image_adds()) {
    std::fill(out.begin(), out.end(), std::uint8_t{7});
    add.fn(a, b, out);
    std::size_t wrong = 0;
    std::string first;
    for (std::size_t i = 0; i < n; ++i) {
      const int s = int{a[i]} + int{b[i]};
      const int want = add.saturates ? std::min(s, 255) : s % 256;
      if (out[i] != want && wrong++ < 3) first += fmt::format(" [{}] {}+{} gave {}, want {};", i, a[i], b[i], out[i], want);
    }
    ctx.result.add_check(fmt::format("image add {} (n={})", add.name, n), wrong == 0,
                         fmt::format("{} of {} pixels differ from the reference ({}){}", wrong, n,
                                     add.saturates ? "min(a + b, 255) in int" : "(a + b) mod 256 in int", first));
  }
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time
// ---------------------------------------------------------------------------------------------

void run_widths(dp::LabContext& ctx, std::size_t n, std::mt19937_64& rng) {
  std::vector<std::string> lanes;
  for_each_type<DP_WIDTH_TYPES>([&]<class T>() {
    const std::vector<T> x = random_values<T>(n, rng);
    const double bits = 8.0 * sizeof(T), nd = static_cast<double>(n);
    const std::string prefix = std::is_floating_point_v<T> ? "float " : "";
    const auto time = [&](const std::string& op, auto&& body) {
      const dp::Stats s = ctx.measure(fmt::format("{} {}/n={}", op, type_name<T>(), n), body);
      ctx.result.add_point(prefix + op, "bits per element", bits, s.per(nd), nd / s.median_ns, "elements/ns", "element");
    };
    time("sum", [&] { benchmark::DoNotOptimize(sum<WideSum<T>, T>(x)); });
    time("min", [&] { benchmark::DoNotOptimize(min_of<T>(x)); });
    time("max", [&] { benchmark::DoNotOptimize(max_of<T>(x)); });
    if (kBuildVectors.bits > 0) lanes.push_back(fmt::format("{} {}", kBuildVectors.bits / (8 * sizeof(T)), type_name<T>()));
  });
  ctx.result.headlines.push_back({"vector registers", fmt::format("this CPU: {}; this build uses {} ({} bits)",
                                                                  cpu_vectors(), kBuildVectors.isa, kBuildVectors.bits)});
  if (!lanes.empty())
    ctx.result.headlines.push_back({"lanes per register (this build)", fmt::format("{}", fmt::join(lanes, ", "))});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "widths", .title = fmt::format("sum (into u64), min and max over {} elements in cache", n),
      .xlabel = "bits per element (u8 u16 u32 u64; float at 32)", .ylabel = "elements/ns",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true,
      .variants = {"sum", "min", "max", "float sum", "float min", "float max"}});
}

void run_widening(dp::LabContext& ctx, std::size_t n, std::mt19937_64& rng) {
  const std::vector<std::uint8_t> x = random_values<std::uint8_t>(n, rng);
  const double nd = static_cast<double>(n);
  const auto time = [&](int bits, auto&& body) {
    const dp::Stats s = ctx.measure(fmt::format("u8 into u{}/n={}", bits, n), body);
    ctx.result.add_point("u8 array summed", "accumulator bits", bits, s.per(nd), nd / s.median_ns, "elements/ns", "element");
    return s.median_ns / nd;
  };
  const double ns8 = time(8, [&] { benchmark::DoNotOptimize(sum<std::uint8_t, std::uint8_t>(x)); });
  time(16, [&] { benchmark::DoNotOptimize(sum<std::uint16_t, std::uint8_t>(x)); });
  const double ns32 = time(32, [&] { benchmark::DoNotOptimize(sum<std::uint32_t, std::uint8_t>(x)); });
  time(64, [&] { benchmark::DoNotOptimize(sum<std::uint64_t, std::uint8_t>(x)); });
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "widening", .title = fmt::format("one u8 array ({} elements) summed into a wider and wider accumulator", n),
      .xlabel = "accumulator bits (8 and 16 overflow)", .ylabel = "elements/ns", .y = dp::PlotSpec::Y::throughput,
      .logx = true, .logy = false, .variants = {"u8 array summed"}});
  ctx.result.headlines.push_back(
      {"u8 sum into a u8 accumulator vs u32",
       fmt::format("u8 says {}, u32 says {} (the true sum): {:.1f}x faster and wrong", sum<std::uint8_t, std::uint8_t>(x),
                   sum<std::uint32_t, std::uint8_t>(x), ns32 / ns8)});
}

void run_image_adds(dp::LabContext& ctx, std::mt19937_64& rng) {
  // Three arrays of one byte per pixel: the largest image fills 4x the last-level cache.
  const dp::SizeLimit limit = dp::limit_working_set(4 * dp::llc_bytes_or(ctx.machine, 8 << 20), ctx.machine, ctx.quick, "the images");
  if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
  const auto sizes = dp::geometric_sizes(4096, limit.bytes / 3, 4);
  dp::Sweep sweep(ctx, "image", sizes, {.label = [](std::uint64_t n) { return fmt::format("{} pixels", n); }});
  for (const std::uint64_t n : sweep) {
    const auto a = random_values<std::uint8_t>(n, rng), b = random_values<std::uint8_t>(n, rng);
    std::vector<std::uint8_t> out(n);
    for (const ImageAdd& add : image_adds()) {
      const dp::Stats s = ctx.measure(fmt::format("{}/n={}", add.name, n), [&] {
        add.fn(a, b, out);
        benchmark::DoNotOptimize(out.data());
      });
      const double nd = static_cast<double>(n);
      ctx.result.add_point(add.name, "bytes", 3 * nd, s.per(nd), 3 * nd / s.median_ns, "GB/s", "pixel");
    }
  }
  std::vector<dp::Marker> markers;
  for (int level = 1; level <= 3; ++level)
    if (const auto bytes = ctx.machine.cache_bytes(level)) markers.push_back({static_cast<double>(bytes), fmt::format("L{}", level)});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "saturating", .title = "adding two u8 images, pixel by pixel",
      .xlabel = "bytes touched (two images in, one out; markers: cache sizes)", .ylabel = "ns per pixel",
      .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .markers = markers});
#ifndef DP_HAVE_X86_SIMD
  ctx.result.notes.push_back("saturating intrinsic: written for x86 (adds_epu8) only; skipped on this CPU.");
#endif
}

void run(dp::LabContext& ctx) {
  std::mt19937_64 rng(20261202);
  check_reductions(ctx, rng);
  check_image_adds(ctx, rng);
  if (!ctx.result.all_checks_passed()) return;
  // Default n: the u64 array fills half of L2, so every width is timed in cache.
  auto n = static_cast<std::size_t>(ctx.params.integer("n"));
  if (n == 0) n = std::max<std::size_t>(1024, (ctx.machine.cache_bytes(2) ? ctx.machine.cache_bytes(2) : 256 << 10) / 16);
  run_widths(ctx, n, rng);
  run_widening(ctx, n, rng);
  run_image_adds(ctx, rng);
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "integer-widths",
             .title = "Integers: widths, overflow, SIMD lanes",
             .module = 3,
             .level = 1,
             .tracks = {},
             .question = "How much faster is work on narrower integers, and where do they give wrong answers?",
             .guide_page = "m3/integer-widths.md",
             .source = "src/labs/m3/integer_widths.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("n", "elements per array in parts 1 and 2 (0: the u64 array fills half of L2)",
                                      0, 0, 0, 1 << 23)},
    .run = run,
});
