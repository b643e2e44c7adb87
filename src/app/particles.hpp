// particles.hpp — the app's simulation: N particles in a 2D box, stepped on the CPU, stored as an
// array of structs (AoS) or a struct of arrays (SoA), on 1..n threads.
//
// The lesson of module 1 (layout) and module 2 (threads), live: the same arithmetic on the same
// numbers, only the memory order and the number of threads change, and the frame-time plot shows
// what that costs. Every variant gives the same positions (the tests check it): each particle's
// update reads only that particle, so the order of particles and threads cannot change a bit.
//
// Index
//   Layout           aos | soa
//   Particle         one particle, as the AoS layout stores it (16 bytes)
//   step_particle()  the update of one particle: a pull toward the centre, a bounce off the walls
//   Particles        the particles in the chosen layout; step(dt, threads); positions for drawing
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dp::app {

enum class Layout { aos, soa };
std::string to_string(Layout layout);

struct Particle {
  float x, y, vx, vy;
};

// One particle's update, written once and used by both layouts, so that they agree bit for bit.
// The box is [-1, 1]^2; a spring pulls each particle toward the centre (so the cloud swirls) and
// the walls reflect it.
inline void step_particle(float& x, float& y, float& vx, float& vy, float dt) {
  constexpr float kPull = 0.5f;
  vx -= kPull * x * dt;
  vy -= kPull * y * dt;
  x += vx * dt;
  y += vy * dt;
  if (x < -1.0f) { x = -2.0f - x; vx = -vx; }
  if (x > 1.0f) { x = 2.0f - x; vx = -vx; }
  if (y < -1.0f) { y = -2.0f - y; vy = -vy; }
  if (y > 1.0f) { y = 2.0f - y; vy = -vy; }
}

class Particles {
 public:
  // n particles placed by a fixed-seed generator (the same start in every layout).
  Particles(std::size_t n, Layout layout, std::uint64_t seed = 42);

  // Advance every particle by dt, split into `threads` contiguous shares (threads >= 1).
  void step(float dt, int threads);

  std::size_t size() const { return n_; }
  Layout layout() const { return layout_; }
  Particle get(std::size_t i) const;  // for tests and for the JSON
  std::vector<Particle> all() const;   // every particle, in AoS form (the GPU path starts from it)
  void assign(std::span<const Particle> all);  // replace every particle (the GPU path's results)

  // What the renderer uploads: AoS gives one interleaved array (stride 16 bytes, x and y first);
  // SoA gives two arrays of floats.
  const Particle* aos() const { return aos_.data(); }
  const float* soa_x() const { return x_.data(); }
  const float* soa_y() const { return y_.data(); }

 private:
  void step_range(std::size_t begin, std::size_t end, float dt);

  // The threads that share a step: with TBB, an arena of `threads` workers, made on the first
  // threaded step and kept until the count changes (making one costs tens of microseconds, which
  // a frame should not pay every time).
  struct Workers;
  struct WorkersDeleter {
    void operator()(Workers* w) const;
  };

  std::size_t n_;
  Layout layout_;
  std::vector<Particle> aos_;             // Layout::aos
  std::vector<float> x_, y_, vx_, vy_;    // Layout::soa
  std::unique_ptr<Workers, WorkersDeleter> workers_;
};

}  // namespace dp::app
