// aos_soa.cpp — array of structs, struct of arrays, and the hybrid: which bytes does a loop drag in?
//
// What: n particles, each with 16 four-byte fields (64 bytes: position, velocity, acceleration,
//   mass, charge, energy, radius, id, kind, flags). Two loops use only a few of those fields:
//     update  x += vx * dt, y += vy * dt, z += vz * dt    (reads 6 fields, writes 3)
//     count   how many particles have energy > threshold   (reads 1 field)
//   in three memory layouts:
//     AoS       one struct per particle; a cache line holds one whole particle, so reading one
//               field brings the other fifteen along.
//     SoA       one array per field; a cache line holds 16 values of the same field.
//     AoSoA-B   blocks of B particles, each block a small SoA (x[B], y[B], ...): SoA's tidy cache
//               lines, with all fields of a particle still near each other. B = 8 and 16.
// The lab counts, from sizeof/offsetof of each layout, how many bytes of cache lines each loop
// touches per byte it actually uses, and measures the time per particle.
// Run:  dontpanic run aos-soa            (n = 512 .. 2M particles: in cache to well past L3)
//       dontpanic run aos-soa --quick    (n up to 32K particles)
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The three layouts
// ---------------------------------------------------------------------------------------------

// alignas(64): a particle starts on a cache line (std::vector honours it since C++17), so one
// particle is exactly one 64-byte line rather than straddling two.
struct alignas(64) Particle {
  float x, y, z;        // position, m
  float vx, vy, vz;     // velocity, m/s
  float ax, ay, az;     // acceleration, m/s^2 (unused by these loops: dead weight in AoS)
  float mass, charge, energy, radius;
  std::uint32_t id, kind, flags;
};
static_assert(sizeof(Particle) == 64, "one particle = 16 fields of 4 bytes");

struct ParticlesSoA {
  std::vector<float> x, y, z, vx, vy, vz, ax, ay, az, mass, charge, energy, radius;
  std::vector<std::uint32_t> id, kind, flags;
};

template <std::size_t B>
struct alignas(64) ParticleBlock {  // B particles, field by field
  float x[B], y[B], z[B], vx[B], vy[B], vz[B], ax[B], ay[B], az[B];
  float mass[B], charge[B], energy[B], radius[B];
  std::uint32_t id[B], kind[B], flags[B];
};
static_assert(sizeof(ParticleBlock<16>) == 16 * sizeof(Particle));

template <std::size_t B>
struct ParticlesAoSoA {
  std::vector<ParticleBlock<B>> blocks;  // ceil(n / B) blocks; spare lanes of the last are padding
  std::size_t n = 0;
};

// ---------------------------------------------------------------------------------------------
// The variants: the interesting lines
// ---------------------------------------------------------------------------------------------

void update_aos(std::span<Particle> ps, float dt) {
  for (Particle& p : ps) {
    p.x += p.vx * dt;
    p.y += p.vy * dt;
    p.z += p.vz * dt;
  }
}

// One loop per coordinate, each walking two arrays. (A single loop over six separate arrays
// is just as valid, but then the compiler must prove that none of x, y, z overlaps any other
// array before it dares use SIMD; with two arrays per loop that check is cheap and it does.)
void update_soa(ParticlesSoA& s, float dt) {
  const auto advance = [dt](std::vector<float>& pos, const std::vector<float>& vel) {
    for (std::size_t i = 0; i < pos.size(); ++i) pos[i] += vel[i] * dt;
  };
  advance(s.x, s.vx);
  advance(s.y, s.vy);
  advance(s.z, s.vz);
}

template <std::size_t B>
void update_aosoa(ParticlesAoSoA<B>& s, float dt) {
  for (ParticleBlock<B>& b : s.blocks)
    for (std::size_t l = 0; l < B; ++l) {  // padding lanes have zero velocity: they stay put
      b.x[l] += b.vx[l] * dt;
      b.y[l] += b.vy[l] * dt;
      b.z[l] += b.vz[l] * dt;
    }
}

std::size_t count_aos(std::span<const Particle> ps, float threshold) {
  std::size_t count = 0;
  for (const Particle& p : ps) count += p.energy > threshold;
  return count;
}

std::size_t count_soa(const ParticlesSoA& s, float threshold) {
  std::size_t count = 0;
  for (float e : s.energy) count += e > threshold;
  return count;
}

// One counter per lane, summed at the end: the natural AoSoA way, and the shape that lets the
// compiler compare all B energies of a block in one SIMD instruction.
template <std::size_t B>
std::size_t count_aosoa(const ParticlesAoSoA<B>& s, float threshold) {
  std::array<std::uint32_t, B> per_lane{};
  for (const ParticleBlock<B>& b : s.blocks)
    for (std::size_t l = 0; l < B; ++l) per_lane[l] += b.energy[l] > threshold;  // padding: -inf
  std::size_t count = 0;
  for (std::uint32_t c : per_lane) count += c;
  return count;
}

// ---------------------------------------------------------------------------------------------
// Building the layouts from one list of particles
// ---------------------------------------------------------------------------------------------

ParticlesSoA to_soa(std::span<const Particle> ps) {
  ParticlesSoA s;
  const auto column = [&](auto member) {
    std::vector<std::remove_cvref_t<decltype(ps[0].*member)>> v;
    v.reserve(ps.size());
    for (const Particle& p : ps) v.push_back(p.*member);
    return v;
  };
  s.x = column(&Particle::x); s.y = column(&Particle::y); s.z = column(&Particle::z);
  s.vx = column(&Particle::vx); s.vy = column(&Particle::vy); s.vz = column(&Particle::vz);
  s.ax = column(&Particle::ax); s.ay = column(&Particle::ay); s.az = column(&Particle::az);
  s.mass = column(&Particle::mass); s.charge = column(&Particle::charge);
  s.energy = column(&Particle::energy); s.radius = column(&Particle::radius);
  s.id = column(&Particle::id); s.kind = column(&Particle::kind); s.flags = column(&Particle::flags);
  return s;
}

template <std::size_t B>
void set_lane(ParticleBlock<B>& b, std::size_t l, const Particle& p) {
  b.x[l] = p.x; b.y[l] = p.y; b.z[l] = p.z;
  b.vx[l] = p.vx; b.vy[l] = p.vy; b.vz[l] = p.vz;
  b.ax[l] = p.ax; b.ay[l] = p.ay; b.az[l] = p.az;
  b.mass[l] = p.mass; b.charge[l] = p.charge; b.energy[l] = p.energy; b.radius[l] = p.radius;
  b.id[l] = p.id; b.kind[l] = p.kind; b.flags[l] = p.flags;
}

template <std::size_t B>
ParticlesAoSoA<B> to_aosoa(std::span<const Particle> ps) {
  ParticlesAoSoA<B> s;
  s.n = ps.size();
  s.blocks.resize((ps.size() + B - 1) / B);
  Particle padding{};  // zero velocity, energy below any threshold
  padding.energy = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < s.blocks.size() * B; ++i)
    set_lane(s.blocks[i / B], i % B, i < ps.size() ? ps[i] : padding);
  return s;
}

// Positions back out of each layout, as x0 y0 z0 x1 y1 z1 ..., for the check.
std::vector<float> positions(std::span<const Particle> ps) {
  std::vector<float> out;
  for (const Particle& p : ps) out.insert(out.end(), {p.x, p.y, p.z});
  return out;
}
std::vector<float> positions(const ParticlesSoA& s) {
  std::vector<float> out;
  for (std::size_t i = 0; i < s.x.size(); ++i) out.insert(out.end(), {s.x[i], s.y[i], s.z[i]});
  return out;
}
template <std::size_t B>
std::vector<float> positions(const ParticlesAoSoA<B>& s) {
  std::vector<float> out;
  for (std::size_t i = 0; i < s.n; ++i) {
    const ParticleBlock<B>& b = s.blocks[i / B];
    out.insert(out.end(), {b.x[i % B], b.y[i % B], b.z[i % B]});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Bytes touched per useful byte, from the layouts themselves
// ---------------------------------------------------------------------------------------------

// Where field f of particle i lives, in bytes from the start of the layout. SoA arrays are
// separate allocations: we place each at its own far-apart, line-aligned base.
enum Field { kX, kY, kZ, kVx, kVy, kVz, kEnergy };

std::size_t aos_address(Field f, std::size_t i) {
  static const std::size_t offsets[] = {offsetof(Particle, x),  offsetof(Particle, y),
                                        offsetof(Particle, z),  offsetof(Particle, vx),
                                        offsetof(Particle, vy), offsetof(Particle, vz),
                                        offsetof(Particle, energy)};
  return i * sizeof(Particle) + offsets[f];
}
std::size_t soa_address(Field f, std::size_t i) {
  return static_cast<std::size_t>(f) * (std::size_t{1} << 40) + i * sizeof(float);
}
template <std::size_t B>
std::size_t aosoa_address(Field f, std::size_t i) {
  using Block = ParticleBlock<B>;
  static const std::size_t offsets[] = {offsetof(Block, x),  offsetof(Block, y),
                                        offsetof(Block, z),  offsetof(Block, vx),
                                        offsetof(Block, vy), offsetof(Block, vz),
                                        offsetof(Block, energy)};
  return (i / B) * sizeof(Block) + offsets[f] + (i % B) * sizeof(float);
}

struct Access {
  std::vector<Field> reads, writes;
};
const Access kUpdate = {{kX, kY, kZ, kVx, kVy, kVz}, {kX, kY, kZ}};
const Access kCount = {{kEnergy}, {}};

// A loop moves whole cache lines: every line holding a field it reads or writes comes in from
// memory, and every line it writes goes back out as well. Useful bytes are the fields' own bytes
// (4 per field read, 4 per field written). Counted over `sample` particles.
template <typename AddressOf>
double touched_per_useful(const Access& access, AddressOf address_of, std::size_t line_bytes,
                          std::size_t sample = 4096) {
  std::set<std::size_t> lines_in, lines_written;
  for (std::size_t i = 0; i < sample; ++i) {
    for (Field f : access.reads) lines_in.insert(address_of(f, i) / line_bytes);
    for (Field f : access.writes) {
      lines_in.insert(address_of(f, i) / line_bytes);
      lines_written.insert(address_of(f, i) / line_bytes);
    }
  }
  const double touched = static_cast<double>((lines_in.size() + lines_written.size()) * line_bytes);
  const double useful =
      static_cast<double>(sample * (access.reads.size() + access.writes.size()) * sizeof(float));
  return touched / useful;
}

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

constexpr float kDt = 0.01f;          // s
constexpr float kThreshold = 0.75f;   // energies are uniform in [0, 1): about a quarter pass
constexpr unsigned kSeed = 20240603;

std::vector<Particle> random_particles(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> pos(-10.0f, 10.0f), vel(-1.0f, 1.0f), unit(0.0f, 1.0f);
  std::vector<Particle> ps(n);
  for (std::size_t i = 0; i < n; ++i) {
    Particle& p = ps[i];
    p = {pos(rng), pos(rng), pos(rng), vel(rng), vel(rng), vel(rng), vel(rng), vel(rng), vel(rng),
         unit(rng), vel(rng), unit(rng), unit(rng), static_cast<std::uint32_t>(i), 0, 0};
  }
  return ps;
}

// Simple and in double precision: positions after one step, and the count.
std::vector<double> reference_positions(std::span<const Particle> ps) {
  std::vector<double> out;
  for (const Particle& p : ps)
    for (auto [pos, vel] : {std::pair{p.x, p.vx}, {p.y, p.vy}, {p.z, p.vz}})
      out.push_back(static_cast<double>(pos) + static_cast<double>(vel) * static_cast<double>(kDt));
  return out;
}
std::size_t reference_count(std::span<const Particle> ps) {
  std::size_t count = 0;
  for (const Particle& p : ps)
    if (p.energy > kThreshold) ++count;
  return count;
}

// A float step may round differently from the double one (and may or may not use a fused
// multiply-add): allow 2 units in the last place of the position, plus 1e-6 m for positions
// near zero. A missed step would be off by |v| * dt, typically 5e-3 m.
const dp::Tolerance kPositionTolerance{.abs = 1e-6, .rel = 2 * 1.1920929e-7};

void check_layout(dp::LabContext& ctx, const std::string& layout, std::vector<float> got_positions,
                  std::size_t got_count, const std::vector<double>& want_positions,
                  std::size_t want_count) {
  const auto cmp = dp::compare(std::span<const float>(got_positions),
                               std::span<const double>(want_positions), kPositionTolerance);
  ctx.result.add_check(fmt::format("update {} matches the reference", layout), cmp.passed,
                       cmp.detail);
  ctx.result.add_check(fmt::format("count {} matches the reference", layout),
                       got_count == want_count,
                       fmt::format("got {}, want {} of {} particles with energy > {}", got_count,
                                   want_count, want_positions.size() / 3, kThreshold));
}

void check_all(dp::LabContext& ctx, std::size_t n, std::mt19937& rng) {
  std::vector<Particle> ps = random_particles(n, rng);
  const std::vector<double> want = reference_positions(ps);
  const std::size_t want_count = reference_count(ps);

  ParticlesSoA soa = to_soa(ps);
  ParticlesAoSoA<8> aosoa8 = to_aosoa<8>(ps);
  ParticlesAoSoA<16> aosoa16 = to_aosoa<16>(ps);
  const std::size_t c_aos = count_aos(ps, kThreshold), c_soa = count_soa(soa, kThreshold);
  const std::size_t c_8 = count_aosoa(aosoa8, kThreshold), c_16 = count_aosoa(aosoa16, kThreshold);
  update_aos(ps, kDt);
  update_soa(soa, kDt);
  update_aosoa(aosoa8, kDt);
  update_aosoa(aosoa16, kDt);
  check_layout(ctx, "AoS", positions(std::span<const Particle>(ps)), c_aos, want, want_count);
  check_layout(ctx, "SoA", positions(soa), c_soa, want, want_count);
  check_layout(ctx, "AoSoA-8", positions(aosoa8), c_8, want, want_count);
  check_layout(ctx, "AoSoA-16", positions(aosoa16), c_16, want, want_count);
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto n_max = static_cast<std::size_t>(ctx.params.integer("n"));
  const std::size_t line = static_cast<std::size_t>(ctx.machine.cache_line_bytes());

  // Particle counts 512, 2K, 8K, ... (x4) up to n: 32 KiB of AoS (about L1) to 128 MiB (DRAM).
  const auto sizes = dp::geometric_sizes(512, n_max, 4);

  // 1. Check every layout, at a count that leaves the last AoSoA block partly empty.
  std::mt19937 rng(kSeed);
  check_all(ctx, 1000 + 5, rng);
  if (!ctx.result.all_checks_passed()) return;

  // 2. Time, one layout at a time (only the AoS source and one copy are alive at once).
  const std::vector<std::string> layouts = {"AoS", "SoA", "AoSoA-8", "AoSoA-16"};
  std::map<std::string, double> ns_at_max;
  const dp::SweepOptions sweep_options{
      .label = [](std::uint64_t n) { return fmt::format("{} ({} as AoS)", n, dp::format_bytes(n * sizeof(Particle))); },
      .stops_early = false};
  for (std::size_t n : dp::Sweep(ctx, "particles:", sizes, sweep_options)) {
    std::vector<Particle> source = random_particles(n, rng);
    const auto time_pair = [&](const std::string& layout, auto&& update, auto&& count) {
      std::size_t sink = 0;
      const dp::Stats su = ctx.measure(fmt::format("update {}/n={}", layout, n), [&] {
        update();
        benchmark::ClobberMemory();
      });
      const dp::Stats sc = ctx.measure(fmt::format("count {}/n={}", layout, n), [&] {
        sink += count();
        benchmark::DoNotOptimize(sink);
      });
      const double per = static_cast<double>(n);
      ctx.result.add_point("update " + layout, "particles", per, su.per(per),
                           per / su.median_ns * 1e3, "M particles/s", "particle");
      ctx.result.add_point("count " + layout, "particles", per, sc.per(per),
                           per / sc.median_ns * 1e3, "M particles/s", "particle");
      if (n == n_max) {
        ns_at_max["update " + layout] = su.median_ns / per;
        ns_at_max["count " + layout] = sc.median_ns / per;
      }
    };
    {
      std::vector<Particle> aos = source;
      time_pair("AoS", [&] { update_aos(aos, kDt); }, [&] { return count_aos(aos, kThreshold); });
    }
    {
      ParticlesSoA soa = to_soa(source);
      time_pair("SoA", [&] { update_soa(soa, kDt); }, [&] { return count_soa(soa, kThreshold); });
    }
    {
      ParticlesAoSoA<8> s = to_aosoa<8>(source);
      time_pair("AoSoA-8", [&] { update_aosoa(s, kDt); }, [&] { return count_aosoa(s, kThreshold); });
    }
    {
      ParticlesAoSoA<16> s = to_aosoa<16>(source);
      time_pair("AoSoA-16", [&] { update_aosoa(s, kDt); }, [&] { return count_aosoa(s, kThreshold); });
    }
  }

  // 3. Plots, headlines, notes.
  std::vector<std::string> updates, counts;
  for (const std::string& l : layouts) updates.push_back("update " + l), counts.push_back("count " + l);
  const std::vector<dp::Marker> cache_markers = [&] {
    std::vector<dp::Marker> m;
    for (int level = 1; level <= 3; ++level)
      if (const auto bytes = ctx.machine.cache_bytes(level))
        m.push_back({static_cast<double>(bytes / sizeof(Particle)), fmt::format("L{}", level)});
    return m;
  }();
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "update", .title = "position += velocity * dt",
      .xlabel = "particles (markers: where the AoS array fills each cache)",
      .ylabel = "ns per particle", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = updates, .markers = cache_markers});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "count", .title = "count particles with energy > threshold",
      .xlabel = "particles (markers: where the AoS array fills each cache)",
      .ylabel = "ns per particle", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = counts, .markers = cache_markers});

  const auto ratio_text = [&](const Access& access, const std::string& layout) {
    double r = 0;
    if (layout == "AoS") r = touched_per_useful(access, aos_address, line);
    if (layout == "SoA") r = touched_per_useful(access, soa_address, line);
    if (layout == "AoSoA-8") r = touched_per_useful(access, aosoa_address<8>, line);
    if (layout == "AoSoA-16") r = touched_per_useful(access, aosoa_address<16>, line);
    return fmt::format("{:.2f}", r);
  };
  for (const auto& [op, access] : {std::pair{std::string("update"), kUpdate}, {"count", kCount}}) {
    std::string ratios;
    for (const std::string& l : layouts)
      ratios += fmt::format("{}{} {}", ratios.empty() ? "" : ", ", l, ratio_text(access, l));
    ctx.result.headlines.push_back({op + ": bytes touched per useful byte", ratios});
    const double aos = ns_at_max[op + " AoS"], soa = ns_at_max[op + " SoA"];
    if (aos > 0 && soa > 0)
      ctx.result.headlines.push_back(
          {fmt::format("{}: AoS / SoA time at n={}", op, n_max),
           fmt::format("{:.1f}x ({:.2f} vs {:.2f} ns per particle)", aos / soa, aos, soa)});
  }
  ctx.result.notes.push_back(fmt::format(
      "sizeof(Particle) = {} bytes, cache line = {} bytes. update uses 6 fields read + 3 written "
      "= 36 useful bytes per particle; AoS moves its whole line in and back out = {} bytes.",
      sizeof(Particle), line, 2 * sizeof(Particle)));
  ctx.result.notes.push_back(fmt::format(
      "count uses 4 useful bytes per particle (energy); AoS brings in a {}-byte line for them.",
      sizeof(Particle)));
  ctx.result.notes.push_back(
      "Bytes touched counts whole cache lines: lines read come in once, lines written go back "
      "out too. Hardware prefetchers may fetch more; the model is a lower bound.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "aos-soa",
             .title = "Array of structs vs struct of arrays",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "When a loop uses only a few fields of a struct, what does the layout "
                         "of the others cost?",
             .guide_page = "m1/aos-soa.md",
             .source = "src/labs/m1/aos_soa.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("n", "largest particle count; counts 512, 2048, ... up to n",
                                      1 << 21, 1 << 15, 16, 1 << 24)},
    .run = run,
});
