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

// An instance with no layers and no extensions, for listing; throws dp::Error (no-device text).
VkInstance create_plain_instance();

}  // namespace dp::gpu::detail
