// physical_device.hpp — reading a VkPhysicalDevice's facts (internal to src/gpu).
//
// Shared by list_devices() (doctor) and Device (which keeps the report of the device it opened).
#pragma once

#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "gpu/devices.hpp"

namespace dp::gpu::detail {

// Fills every field of DeviceReport except `chosen`.
DeviceReport read_report(VkInstance instance, VkPhysicalDevice device, int index);

// Does the device offer this device extension?
bool has_extension(VkPhysicalDevice device, const char* name);

// Under AddressSanitizer: keeps Mesa's lavapipe loaded for the life of the process. Lavapipe holds
// 128 bytes per instance reachable only from its own globals; when the Vulkan loader unloads it
// at vkDestroyInstance, LeakSanitizer reports them as a leak of ours. A no-op in normal builds.
void keep_cpu_driver_loaded_under_sanitizers();

// An instance with no layers and no extensions, for listing; throws dp::Error (no-device text).
VkInstance create_plain_instance();

}  // namespace dp::gpu::detail
