// particles.comp — the app's particle update on the GPU: one thread per particle.
// The same arithmetic as step_particle() in src/app/particles.hpp, in the same order. `precise`
// forbids the compiler to fuse a multiply and an add into one FMA (the CPU side is compiled
// without contraction too), so both give the same bits: the app's test checks it.
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) buffer Particles { vec4 p[]; };  // x, y, vx, vy: the AoS layout
layout(push_constant) uniform Push { uint n; float dt; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= n) return;
  precise float x = p[i].x, y = p[i].y, vx = p[i].z, vy = p[i].w;
  const float kPull = 0.5;
  vx -= kPull * x * dt;
  vy -= kPull * y * dt;
  x += vx * dt;
  y += vy * dt;
  if (x < -1.0) { x = -2.0 - x; vx = -vx; }
  if (x > 1.0) { x = 2.0 - x; vx = -vx; }
  if (y < -1.0) { y = -2.0 - y; vy = -vy; }
  if (y > 1.0) { y = 2.0 - y; vy = -vy; }
  p[i] = vec4(x, y, vx, vy);
}
