// path_tracer_gpu.hpp — the path-tracer lab's Vulkan variant: the scene, the flat BVH's node
// array and the camera uploaded as storage buffers, and shaders/path_tracer/trace.comp, which
// traces them with the estimator of path_tracer.hpp. Shared with tests/labs/path_tracer_test.cpp.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "gpu/gpu.hpp"
#include "labs/m1/bvh.hpp"
#include "labs/m4/path_tracer.hpp"

namespace dp::pt {

// The scene, BVH and camera on the device, and the kernel that traces them.
class GpuTracer {
 public:
  GpuTracer(dp::gpu::Device& device, const Scene& scene, const dp::bvh::FlatBvh& bvh)
      : device_(device),
        kernel_(device, {.source = dp::gpu::builtin_shader("path_tracer/trace.comp"), .buffers = 7, .push_bytes = 24}),
        spheres_(device, scene.spheres.size() * sizeof(dp::bvh::Sphere)),
        materials_(device, scene.materials.size() * 32),
        nodes_(device, bvh.nodes().size() * sizeof(dp::bvh::FlatBvh::Node)),
        order_(device, bvh.order().size() * 4),
        camera_(device, sizeof(Camera)) {
    static_assert(sizeof(dp::bvh::Sphere) == 16 && sizeof(dp::bvh::FlatBvh::Node) == 32 && sizeof(Camera) == 64,
                  "the shader reads these as they lie");
    spheres_.upload(scene.spheres);
    std::vector<float> mats;  // albedo, param, kind, 3 x padding: the shader's Material
    for (const auto& m : scene.materials)
      mats.insert(mats.end(), {m.albedo.x, m.albedo.y, m.albedo.z, m.param, static_cast<float>(m.kind), 0, 0, 0});
    materials_.upload(mats);
    nodes_.upload(bvh.nodes());
    order_.upload(bvh.order());
  }

  // Records the dispatches that render `spec` into the accumulation buffers (made on first use or
  // when the size changes); at most `per_dispatch` samples per pixel per dispatch.
  void record(dp::gpu::Sequence& seq, const RenderSpec& spec) {
    const std::uint32_t w = static_cast<std::uint32_t>(spec.width), h = static_cast<std::uint32_t>(spec.height);
    const std::uint32_t per_dispatch = std::max<std::uint32_t>(1, (1u << 22) / (w * h));
    for (std::uint32_t s = 0; s < spec.spp; s += per_dispatch) {
      const std::array<std::uint32_t, 6> push{w, h, spec.first_sample + s, std::min(per_dispatch, spec.spp - s),
                                              static_cast<std::uint32_t>(spec.depth), s == 0 ? 0u : 1u};
      if (s > 0) seq.barrier();
      seq.dispatch(kernel_, {spheres_, materials_, nodes_, order_, camera_, *accum_, *rays_}, {(w + 7) / 8, (h + 7) / 8}, push);
    }
  }

  void prepare(const RenderSpec& spec) {
    const std::size_t pixels = static_cast<std::size_t>(spec.width) * spec.height;
    if (!accum_ || accum_->bytes() != pixels * 12) {
      accum_.emplace(device_, pixels * 12);
      rays_.emplace(device_, pixels * 4);
    }
    const Camera cam = make_camera(spec.width, spec.height);
    camera_.upload(std::span<const Camera>(&cam, 1));
  }

  // Renders once and downloads: the image and the rays traced.
  std::uint64_t render(const RenderSpec& spec, Image& out) {
    prepare(spec);
    dp::gpu::Sequence seq(device_);
    seq.begin();
    record(seq, spec);
    seq.end();
    seq.run();
    const auto sums = accum_->download_vector<float>();
    const auto rays = rays_->download_vector<std::uint32_t>();
    out.width = spec.width, out.height = spec.height;
    out.rgb.resize(sums.size());
    for (std::size_t i = 0; i < sums.size(); ++i) out.rgb[i] = sums[i] / static_cast<float>(spec.spp);
    std::uint64_t total = 0;
    for (const auto r : rays) total += r;
    return total;
  }

 private:
  dp::gpu::Device& device_;
  dp::gpu::Kernel kernel_;
  dp::gpu::Buffer spheres_, materials_, nodes_, order_, camera_;
  std::optional<dp::gpu::Buffer> accum_, rays_;
};

}  // namespace dp::pt
