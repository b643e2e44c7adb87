// The aos-to-soa exercise: its cases and its registration (README.md has the task).
//
// One case owns the particles as plain arrays. bind() hands a copy to the code's particles_make
// (outside the clock) and returns a call of two time steps, the part that is timed; check() reads
// the particles back from the code that ran last and compares them with a double-precision
// reference of the same two steps.
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include "core/check.hpp"
#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "particles.hpp"

namespace {

constexpr float kDt = 1.0f / 128;  // exact in binary: the reference's dt is the reader's dt
constexpr int kSteps = 2;          // two calls, so a step that forgets to store its velocity shows
constexpr double kGravity = 9.81f;  // the float constant the header's formula means, widened

// Each coordinate is a few roundings of float arithmetic away from the double reference
// (about 1e-7 of a value near 1): abs 1e-6 + rel 1e-6 allows any order of those and no more.
const dp::Tolerance kTolerance{.abs = 1e-6, .rel = 1e-6};

using Make = decltype(particles_make);
using Step = decltype(particles_step);
using Read = decltype(particles_read);
using Free = decltype(particles_free);

// Names the first field of ParticleInfo that differs, with both values.
std::string info_difference(const ParticleInfo& got, const ParticleInfo& want) {
#define DP_FIELD(f) \
  if (std::memcmp(&got.f, &want.f, sizeof(got.f)) != 0) return fmt::format(#f " got {} want {}", got.f, want.f);
  DP_FIELD(mass) DP_FIELD(charge) DP_FIELD(radius) DP_FIELD(temperature)
  DP_FIELD(id) DP_FIELD(colour) DP_FIELD(birth_time) DP_FIELD(lifetime)
#undef DP_FIELD
  return "the bytes differ";
}

class ParticlesCase final : public dp::ex::Case {
 public:
  ParticlesCase(std::int64_t n, std::uint64_t seed) : n_(static_cast<std::size_t>(n)), info_(n_) {
    for (int f = 0; f < 6; ++f) fields_[f] = dp::ex::random_floats(n_, seed * 8 + static_cast<std::uint64_t>(f));
    std::mt19937_64 rng(seed * 8 + 7);
    auto u = [&] { return static_cast<float>(rng() >> 40) * 0x1.0p-24f; };
    for (std::size_t i = 0; i < n_; ++i)
      info_[i] = {.mass = 1 + u(), .charge = u() - 0.5f, .radius = u(), .temperature = 300 * u(),
                  .id = static_cast<std::uint32_t>(i), .colour = static_cast<std::uint32_t>(rng()),
                  .birth_time = u() * 10.0, .lifetime = 1 + u() * 100.0};
  }
  ~ParticlesCase() override {
    for (auto& [p, free] : owned_) free(p);
  }
  ParticlesCase(const ParticlesCase&) = delete;
  ParticlesCase& operator=(const ParticlesCase&) = delete;

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* make = code.function<Make>("particles_make");
    auto* step = code.function<Step>("particles_step");
    auto* read = code.function<Read>("particles_read");
    auto* free = code.function<Free>("particles_free");
    const ParticleInput in{fields_[0], fields_[1], fields_[2], fields_[3], fields_[4], fields_[5], info_};
    Particles* p = make(in);
    if (p != nullptr) owned_.emplace_back(p, free);
    return [this, p, step, read] {
      if (p == nullptr) throw std::runtime_error("particles_make returned a null pointer");
      for (int s = 0; s < kSteps; ++s) step(p, kDt);
      last_ = {p, read};
    };
  }

  dp::ex::Verdict check() const override {
    if (last_.first == nullptr) return {false, "particles_step was never called"};
    std::array<std::vector<float>, 6> got;
    for (auto& g : got) g.assign(n_, std::numeric_limits<float>::quiet_NaN());  // unwritten shows
    std::vector<ParticleInfo> got_info(n_);
    std::memset(got_info.data(), 0xff, n_ * sizeof(ParticleInfo));
    last_.second(last_.first, {got[0], got[1], got[2], got[3], got[4], got[5], got_info});

    // The reference: the header's two formulas, kSteps times, in double.
    std::array<std::vector<double>, 6> want;
    for (int f = 0; f < 6; ++f) want[f].assign(fields_[f].begin(), fields_[f].end());
    for (int s = 0; s < kSteps; ++s)
      for (std::size_t i = 0; i < n_; ++i) {
        want[4][i] -= kGravity * kDt;
        for (int d = 0; d < 3; ++d) want[d][i] += want[3 + d][i] * kDt;
      }
    static constexpr const char* kNames[6] = {"x", "y", "z", "vx", "vy", "vz"};
    for (int f = 0; f < 6; ++f) {
      const dp::CompareResult cmp =
          dp::compare(std::span<const float>(got[f]), std::span<const double>(want[f]), kTolerance);
      if (!cmp.passed) return {false, fmt::format("{}[particle]: {}", kNames[f], cmp.detail)};
    }
    for (std::size_t i = 0; i < n_; ++i)
      if (std::memcmp(&got_info[i], &info_[i], sizeof(ParticleInfo)) != 0)
        return {false, fmt::format("info[{}] is not what particles_make was given: {}", i, info_difference(got_info[i], info_[i]))};
    return {true, fmt::format("all {} particles agree within {}, info unchanged", n_, kTolerance.describe())};
  }

 private:
  std::size_t n_;
  std::array<std::vector<float>, 6> fields_;  // x, y, z, vx, vy, vz
  std::vector<ParticleInfo> info_;
  std::vector<std::pair<Particles*, Free*>> owned_;  // every Particles made, freed by its own code
  std::pair<Particles*, Read*> last_{nullptr, nullptr};  // the particles stepped last, to check
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "aos-to-soa",
             .title = "Particles: from an array of structs to a struct of arrays",
             .module = 1,
             .level = 2,
             .file = "particles.cpp",
             .header = "particles.hpp",
             .function = "particles_make, particles_step (timed), particles_read, particles_free",
             .builds_on = "aos-soa",
             .size_name = "particles",
             .check_sizes = {1, 2, 3, 7, 17, 31, 33, 100, 1001},
             .seeds = 2,
             .timed_sizes = {20'000, 2'000'000},
             .tolerance = "abs 1e-6 + rel 1e-6 against a double-precision reference; info exactly",
             .target_speedup = 4.5,
             .points = 10},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<ParticlesCase>(n, seed); },
}};

}  // namespace
