// gpu_particles.hpp — the app's particles stepped on the GPU (Vulkan compute, src/gpu).
//
// The particles live in one GPU buffer in the AoS layout (x, y, vx, vy: a vec4 each). A step is one
// dispatch of shaders/app/particles.comp, then the positions come back to the CPU for drawing with
// OpenGL (the app draws through GL, the simulation runs through Vulkan: sharing the buffer between
// the two APIs needs interop extensions, so this copy is the price of keeping the app simple, and
// the frame-time plot shows it). The buffer is host-visible memory, so "coming back" is a memcpy.
//
// Owns its Vulkan device; constructing one throws dp::Error with the reason (no Vulkan loader, no
// device) where there is none.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "app/particles.hpp"

namespace dp::app {

class GpuParticles {
 public:
  explicit GpuParticles(std::span<const Particle> start);
  ~GpuParticles();
  GpuParticles(const GpuParticles&) = delete;
  GpuParticles& operator=(const GpuParticles&) = delete;

  void step(float dt);                          // one dispatch, waited for
  std::span<const Particle> particles() const;  // after the last step
  const std::string& device_name() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dp::app
