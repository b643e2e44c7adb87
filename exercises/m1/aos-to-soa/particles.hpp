// particles.hpp — the functions you write. Do not change this file: the checker uses it as it is.
//
// The checker hands you particles as plain arrays (one per field) and reads them back the same
// way; in between, they live in a `Particles` that you define, laid out as you like. Only
// particles_step() is timed: particles_make() and particles_read() are where a change of layout
// costs what it costs, outside the clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

// What the rest of a program keeps about each particle. particles_step() never reads or writes it,
// but particles_read() must give it back unchanged. 40 bytes.
struct ParticleInfo {
  float mass, charge, radius, temperature;
  std::uint32_t id, colour;
  double birth_time, lifetime;
};

// Particle i is at (x[i], y[i], z[i]), moves with velocity (vx[i], vy[i], vz[i]), and has info[i].
// Every span has the same size, the number of particles (1 or more).
struct ParticleInput {
  std::span<const float> x, y, z, vx, vy, vz;
  std::span<const ParticleInfo> info;
};
struct ParticleOutput {
  std::span<float> x, y, z, vx, vy, vz;
  std::span<ParticleInfo> info;
};

struct Particles;  // yours: define it in your file

// extern "C" lets the checker find the functions by their names in your build.
// Copies the input into a new Particles (the checker frees it with particles_free).
extern "C" Particles* particles_make(const ParticleInput& in);
// One time step of dt seconds, for every particle: gravity pulls the velocity down,
//   vy -= 9.81 * dt,
// then the particle moves with its new velocity:
//   x += vx * dt,  y += vy * dt,  z += vz * dt.
extern "C" void particles_step(Particles* p, float dt);
// Writes every particle's fields into `out` (whose spans have the particle count's size).
extern "C" void particles_read(const Particles* p, const ParticleOutput& out);
extern "C" void particles_free(Particles* p);
