// kernel.cpp — GLSL -> SPIR-V -> compute pipeline.
#include "gpu/kernel.hpp"

#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/device.hpp"
#include "gpu/embedded_shaders.hpp"
#include "gpu/vk_error.hpp"

namespace dp::gpu {

ShaderSource builtin_shader(const std::string& path, std::vector<std::pair<std::string, std::string>> defines) {
  return {path, embedded_shader(path), std::move(defines)};
}

Kernel::Kernel(Device& device, KernelSpec spec)
    : device_(&device), name_(spec.source.name), buffers_(spec.buffers), push_bytes_(spec.push_bytes) {
  if (spec.push_bytes % 4 != 0)
    throw Error(fmt::format("kernel '{}': push_bytes {} is not a multiple of 4; pad the push-constant "
                            "struct", name_, spec.push_bytes));
  const std::vector<std::uint32_t> spirv = device.compiler().compile(spec.source);
  VkDevice d = device.handle();
  try {
    VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    module_info.codeSize = spirv.size() * 4;
    module_info.pCode = spirv.data();
    vk_check(vkCreateShaderModule(d, &module_info, nullptr, &module_), "creating shader module '" + name_ + "'");

    std::vector<VkDescriptorSetLayoutBinding> bindings(spec.buffers);
    for (std::uint32_t i = 0; i < spec.buffers; ++i)
      bindings[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    set_info.bindingCount = spec.buffers;
    set_info.pBindings = bindings.data();
    vk_check(vkCreateDescriptorSetLayout(d, &set_info, nullptr, &set_layout_), "creating a descriptor set layout");

    VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, spec.push_bytes};
    VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    layout_info.setLayoutCount = 1;
    layout_info.pSetLayouts = &set_layout_;
    layout_info.pushConstantRangeCount = spec.push_bytes > 0 ? 1 : 0;
    layout_info.pPushConstantRanges = &push;
    vk_check(vkCreatePipelineLayout(d, &layout_info, nullptr, &layout_), "creating a pipeline layout");

    std::vector<VkSpecializationMapEntry> entries(spec.specialization.size());
    for (std::uint32_t i = 0; i < entries.size(); ++i) entries[i] = {i, i * 4, 4};
    VkSpecializationInfo special{static_cast<std::uint32_t>(entries.size()), entries.data(),
                                 spec.specialization.size() * 4, spec.specialization.data()};
    VkPipelineShaderStageRequiredSubgroupSizeCreateInfo subgroup{
        VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO};
    subgroup.requiredSubgroupSize = spec.required_subgroup_size;

    VkComputePipelineCreateInfo info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    info.stage.pNext = spec.required_subgroup_size ? &subgroup : nullptr;
    info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    info.stage.module = module_;
    info.stage.pName = "main";
    info.stage.pSpecializationInfo = entries.empty() ? nullptr : &special;
    info.layout = layout_;
    vk_check(vkCreateComputePipelines(d, VK_NULL_HANDLE, 1, &info, nullptr, &pipeline_),
             "creating the compute pipeline for '" + name_ + "'");
  } catch (...) {
    release();
    throw;
  }
}

Kernel::~Kernel() { release(); }

Kernel::Kernel(Kernel&& o) noexcept { *this = std::move(o); }

Kernel& Kernel::operator=(Kernel&& o) noexcept {
  if (this != &o) {
    release();
    device_ = std::exchange(o.device_, nullptr);
    name_ = std::move(o.name_);
    buffers_ = o.buffers_;
    push_bytes_ = o.push_bytes_;
    module_ = std::exchange(o.module_, VK_NULL_HANDLE);
    set_layout_ = std::exchange(o.set_layout_, VK_NULL_HANDLE);
    layout_ = std::exchange(o.layout_, VK_NULL_HANDLE);
    pipeline_ = std::exchange(o.pipeline_, VK_NULL_HANDLE);
  }
  return *this;
}

void Kernel::release() noexcept {
  if (!device_) return;
  VkDevice d = device_->handle();
  if (pipeline_) {
    vkDeviceWaitIdle(d);  // a pipeline may not be destroyed while a submission still uses it
    vkDestroyPipeline(d, pipeline_, nullptr);
  }
  if (layout_) vkDestroyPipelineLayout(d, layout_, nullptr);
  if (set_layout_) vkDestroyDescriptorSetLayout(d, set_layout_, nullptr);
  if (module_) vkDestroyShaderModule(d, module_, nullptr);
  pipeline_ = VK_NULL_HANDLE;
  layout_ = VK_NULL_HANDLE;
  set_layout_ = VK_NULL_HANDLE;
  module_ = VK_NULL_HANDLE;
  device_ = nullptr;
}

}  // namespace dp::gpu
