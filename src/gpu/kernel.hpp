// kernel.hpp — a compute pipeline made from GLSL: the "kernel" a Sequence dispatches.
//
// Index
//   KernelSpec      the shader, how many storage buffers it binds, push-constant bytes,
//                   specialization constants, an optional required subgroup size
//   Kernel          owns shader module, descriptor-set layout, pipeline layout, pipeline
//   builtin_shader()  a ShaderSource for a file under shaders/ (embedded in the binary)
//   Groups, groups_for()  how many workgroups to launch
//
// The binding contract every shader here follows:
//   layout(set = 0, binding = i) buffer ... for i = 0 .. buffers-1   (storage buffers, in order)
//   layout(push_constant) uniform ... { ... }                        (push_bytes bytes, optional)
//   layout(constant_id = j) const ...                                (specialization[j])
// Workgroup size: fixed in the shader, or `layout(local_size_x_id = 0) in;` with specialization[0].
// Validation reports a shader that declares more than the spec says.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "gpu/shader_compiler.hpp"

namespace dp::gpu {

class Device;

struct KernelSpec {
  ShaderSource source{};
  std::uint32_t buffers = 1;                  // storage buffers at bindings 0..buffers-1, set 0
  std::uint32_t push_bytes = 0;               // size of the push-constant block (multiple of 4)
  std::vector<std::uint32_t> specialization{};  // constant_id 0, 1, ...; floats via std::bit_cast
  std::uint32_t required_subgroup_size = 0;   // 0: the driver's choice (needs subgroupSizeControl)
};

// ShaderSource for shaders/<path>, embedded at build time: builtin_shader("add/add.comp").
ShaderSource builtin_shader(const std::string& path,
                            std::vector<std::pair<std::string, std::string>> defines = {});

class Kernel {
 public:
  // Compiles (or fetches from the cache) and creates the pipeline. Throws dp::Error for GLSL that
  // does not compile (with its line) or a pipeline the device refuses.
  Kernel(Device& device, KernelSpec spec);
  ~Kernel();
  Kernel(Kernel&& other) noexcept;
  Kernel& operator=(Kernel&& other) noexcept;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  const std::string& name() const { return name_; }
  std::uint32_t buffers() const { return buffers_; }
  std::uint32_t push_bytes() const { return push_bytes_; }
  VkPipeline pipeline() const { return pipeline_; }
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }

 private:
  void release() noexcept;
  Device* device_ = nullptr;
  std::string name_;
  std::uint32_t buffers_ = 0, push_bytes_ = 0;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
};

struct Groups {
  std::uint32_t x = 1, y = 1, z = 1;
};

// ceil(n / per_group), for 1D launches: groups_for(1'000'000, 256) -> 3907.
constexpr std::uint32_t groups_for(std::uint64_t n, std::uint32_t per_group) {
  return static_cast<std::uint32_t>((n + per_group - 1) / per_group);
}

}  // namespace dp::gpu
