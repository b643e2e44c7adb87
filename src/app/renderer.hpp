// renderer.hpp — the particles as points, in one draw call: each frame the positions go to one
// buffer (AoS: the particle array as it is, stride 16 bytes; SoA: the x array, then the y array)
// and two vertex attributes read x and y from it, so the layout shows in the upload too.
#pragma once

#include "app/particles.hpp"

namespace dp::app {

class ParticleRenderer {
 public:
  ParticleRenderer();   // needs a current GL 3.3 context
  ~ParticleRenderer();
  ParticleRenderer(const ParticleRenderer&) = delete;
  ParticleRenderer& operator=(const ParticleRenderer&) = delete;

  // Draws into the viewport (x, y, w, h) in pixels; the box [-1, 1]^2 fills its largest square.
  void draw(const Particles& particles, int x, int y, int w, int h);

 private:
  unsigned program_ = 0, vao_ = 0, vbo_ = 0;
};

}  // namespace dp::app
