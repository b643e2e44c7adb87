// gpu_particles.cpp — see gpu_particles.hpp.
#include "app/gpu_particles.hpp"

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"

#if defined(DP_HAVE_GPU)
#include "gpu/gpu.hpp"
#endif

namespace dp::app {

#if defined(DP_HAVE_GPU)

struct GpuParticles::State {
  gpu::Device device;
  gpu::Buffer buffer;
  gpu::Kernel kernel;
  std::vector<Particle> host;  // the positions after the last step, for the renderer
  std::string name;

  explicit State(std::span<const Particle> start)
      : device(),
        buffer(device, std::max<std::size_t>(start.size(), 1) * sizeof(Particle), gpu::Memory::host),
        kernel(device, {.source = gpu::builtin_shader("app/particles.comp"), .buffers = 1, .push_bytes = 8}),
        host(start.begin(), start.end()),
        name(device.report().name) {
    if (!host.empty()) buffer.upload(std::span<const Particle>(host));
  }
};

GpuParticles::GpuParticles(std::span<const Particle> start) : state_(std::make_unique<State>(start)) {}
GpuParticles::~GpuParticles() = default;

void GpuParticles::step(float dt) {
  State& s = *state_;
  if (s.host.empty()) return;
  struct Push {
    std::uint32_t n;
    float dt;
  } push{static_cast<std::uint32_t>(s.host.size()), dt};
  gpu::Sequence seq(s.device);
  seq.begin().dispatch(s.kernel, {s.buffer}, gpu::Groups{gpu::groups_for(s.host.size(), 256)}, push).end();
  seq.run();
  s.buffer.download(std::span<Particle>(s.host));
}

std::span<const Particle> GpuParticles::particles() const { return state_->host; }
const std::string& GpuParticles::device_name() const { return state_->name; }

#else

struct GpuParticles::State {};
GpuParticles::GpuParticles(std::span<const Particle>) {
  throw Error("the GPU simulation needs Vulkan, and this build has none (Debian: apt install libvulkan-dev glslc "
              "libshaderc-dev mesa-vulkan-drivers, then rebuild)");
}
GpuParticles::~GpuParticles() = default;
void GpuParticles::step(float) {}
std::span<const Particle> GpuParticles::particles() const { return {}; }
const std::string& GpuParticles::device_name() const {
  static const std::string none;
  return none;
}

#endif

}  // namespace dp::app
