// A deliberately wrong aos-to-soa for the tests: z is never moved.
#include <vector>

#include "particles.hpp"

// An array of structs: one 64-byte Particle per particle, as a class Particle in a game or a
// simulation usually starts out. particles_step uses 24 of its 64 bytes; the cache line it brings
// in carries the other 40 (info) along for nothing.
struct Particle {
  float x, y, z;
  float vx, vy, vz;
  ParticleInfo info;
};
struct Particles {
  std::vector<Particle> all;
};

extern "C" void particles_step(Particles* p, float dt) {
  for (Particle& q : p->all) {
    q.vy -= 9.81f * dt;
    q.x += q.vx * dt;
    q.y += q.vy * dt;
    // wrong: z never moves
  }
}

// ---- outside the clock: from the checker's arrays into your layout, and back ----------------
extern "C" Particles* particles_make(const ParticleInput& in) {
  auto* p = new Particles;
  p->all.resize(in.x.size());
  for (std::size_t i = 0; i < in.x.size(); ++i)
    p->all[i] = {in.x[i], in.y[i], in.z[i], in.vx[i], in.vy[i], in.vz[i], in.info[i]};
  return p;
}

extern "C" void particles_read(const Particles* p, const ParticleOutput& out) {
  for (std::size_t i = 0; i < p->all.size(); ++i) {
    const Particle& q = p->all[i];
    out.x[i] = q.x, out.y[i] = q.y, out.z[i] = q.z;
    out.vx[i] = q.vx, out.vy[i] = q.vy, out.vz[i] = q.vz;
    out.info[i] = q.info;
  }
}

extern "C" void particles_free(Particles* p) { delete p; }
