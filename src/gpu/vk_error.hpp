// vk_error.hpp — turning a VkResult into one clear dp::Error (internal to src/gpu).
//
// Every Vulkan call that can fail goes through vk_check(). The messages name what was being done
// and what the learner can do about it: out of memory -> smaller sizes, device lost -> a driver
// reset or a runaway shader, no driver -> which package to install.
#pragma once

#include <string>

#include <vulkan/vulkan.h>

namespace dp::gpu {

const char* vk_result_name(VkResult result);  // "VK_ERROR_DEVICE_LOST"

// Throws dp::Error("<what> failed: <explanation> (<VK_...>)") unless result is VK_SUCCESS
// (dp::Unavailable when the driver is missing or incompatible)
// (or VK_INCOMPLETE, which enumeration calls return harmlessly).
// For creating the instance and listing devices: any failure there means no usable Vulkan
// driver, so it throws dp::Unavailable ("no Vulkan device ...", exit 3) whatever the VkResult.
void vk_check_driver(VkResult result, const std::string& what);
void vk_check(VkResult result, const std::string& what);

// The message used whenever no Vulkan device can be found or opened (thrown as dp::Unavailable,
// so a lab shows as skipped with this reason rather than failed).
std::string no_device_message(const std::string& detail);

}  // namespace dp::gpu
