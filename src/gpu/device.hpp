// device.hpp — the Vulkan instance, the chosen GPU, its compute queue: the root of src/gpu.
//
// Index
//   DeviceOptions   which device, validation on/off
//   Device          owns instance, debug messenger, logical device, compute queue (and a transfer
//                   queue where the device has one), command pool, shader compiler; every Buffer/Kernel/Sequence refers to one and must not
//                   outlive it
//   ValidationMessage  what the validation layers said (recorded, never printed mid-run)
//
// Lifetime: create one Device per lab run (opening lavapipe takes ~10 ms, an NVIDIA GPU ~100 ms),
// then buffers, kernels and sequences from it; destroy those first (declare the Device first).
// A Device is not thread-safe: record and submit from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "core/machine.hpp"
#include "gpu/devices.hpp"
#include "gpu/shader_compiler.hpp"

namespace dp::gpu {

struct DeviceOptions {
  std::string selector;             // index or name part; empty: $DONTPANIC_GPU, then the ranking
  std::optional<bool> validation;   // empty: on in Debug builds or when DONTPANIC_GPU_VALIDATION=1
                                    // (=0 turns it off); needs vulkan-validationlayers installed
};

struct ValidationMessage {
  std::string severity;             // "error", "warning"
  std::string text;
};

class Device {
 public:
  // Opens the chosen device. Throws dp::Error: no Vulkan (which package to install), a selector
  // that matches nothing (with the list), or a device too old (Vulkan 1.2 is needed).
  explicit Device(const DeviceOptions& options = {});
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // --- what it is ---
  const DeviceReport& report() const { return report_; }  // name, limits, coopmat shapes ...
  GpuInfo info() const { return to_gpu_info(report_); }   // for ctx.result.machine.gpu
  bool is_cpu() const { return report_.type == "cpu"; }   // lavapipe: size work accordingly
  bool has_coopmat() const { return coopmat_enabled_; }   // VK_NV_cooperative_matrix enabled
  bool has_float16() const { return report_.float16; }
  bool has_float_atomic_add() const { return float_atomic_enabled_; }

  // --- validation ---
  bool validation_enabled() const { return messenger_ != VK_NULL_HANDLE; }
  // Validation was asked for (DONTPANIC_GPU_VALIDATION, a Debug build) but the layer is not
  // installed, so this device runs without it.
  bool validation_missing() const { return validation_missing_; }
  std::vector<ValidationMessage> validation_messages() const;  // since creation or last clear
  void clear_validation_messages();

  // --- shaders ---
  ShaderCompiler& compiler() { return compiler_; }

  // --- raw handles, for code that records its own Vulkan commands ---
  VkInstance instance() const { return instance_; }
  VkPhysicalDevice physical() const { return physical_; }
  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  std::uint32_t queue_family() const { return queue_family_; }
  // A queue of a family that copies but neither computes nor draws (the copy engines of NVIDIA and
  // AMD GPUs), when the device has one; VK_NULL_HANDLE otherwise (lavapipe, many integrated GPUs).
  // Copies submitted there can run while the compute queue runs kernels.
  VkQueue transfer_queue() const { return transfer_queue_; }
  std::uint32_t transfer_queue_family() const { return transfer_family_; }
  VkCommandPool command_pool() const { return command_pool_; }

  // A memory type index allowed by `type_bits` with all `required` flags, preferring `preferred`
  // too; throws dp::Error if none.
  std::uint32_t memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required,
                            VkMemoryPropertyFlags preferred = 0,
                            VkMemoryPropertyFlags avoided = 0) const;
  VkMemoryPropertyFlags memory_flags(std::uint32_t type_index) const;
  std::uint64_t heap_bytes(std::uint32_t type_index) const;

  void wait_idle() const;  // finishes all GPU work (destructors call it)

 private:
  static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                  VkDebugUtilsMessageTypeFlagsEXT type,
                                                  const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                  void* self);
  void destroy() noexcept;

  VkInstance instance_ = VK_NULL_HANDLE;
  bool validation_missing_ = false;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  std::uint32_t queue_family_ = 0;
  VkQueue transfer_queue_ = VK_NULL_HANDLE;
  std::uint32_t transfer_family_ = 0;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  VkPhysicalDeviceMemoryProperties memory_{};
  DeviceReport report_;
  bool coopmat_enabled_ = false;
  bool float_atomic_enabled_ = false;
  ShaderCompiler compiler_;
  mutable std::mutex messages_mutex_;
  std::vector<ValidationMessage> messages_;
};

// The result check a GPU lab adds last: "no Vulkan validation messages", with the first messages
// as detail. Adds nothing when validation is off (a check that cannot fail says nothing).
struct ValidationCheck {
  bool enabled = false;
  bool passed = true;
  std::string detail;
};
ValidationCheck validation_check(const Device& device);

}  // namespace dp::gpu
