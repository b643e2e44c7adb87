// vk_error.cpp — VkResult to dp::Error.
#include "gpu/vk_error.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::gpu {

const char* vk_result_name(VkResult result) {
  switch (result) {
#define DP_CASE(x) case x: return #x;
    DP_CASE(VK_SUCCESS) DP_CASE(VK_NOT_READY) DP_CASE(VK_TIMEOUT) DP_CASE(VK_INCOMPLETE)
    DP_CASE(VK_ERROR_OUT_OF_HOST_MEMORY) DP_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    DP_CASE(VK_ERROR_INITIALIZATION_FAILED) DP_CASE(VK_ERROR_DEVICE_LOST)
    DP_CASE(VK_ERROR_MEMORY_MAP_FAILED) DP_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    DP_CASE(VK_ERROR_EXTENSION_NOT_PRESENT) DP_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    DP_CASE(VK_ERROR_INCOMPATIBLE_DRIVER) DP_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    DP_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED) DP_CASE(VK_ERROR_FRAGMENTED_POOL)
    DP_CASE(VK_ERROR_OUT_OF_POOL_MEMORY) DP_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    DP_CASE(VK_ERROR_FRAGMENTATION) DP_CASE(VK_ERROR_UNKNOWN)
#undef DP_CASE
    default: return "VK_ERROR_(unnamed)";
  }
}

std::string no_device_message(const std::string& detail) {
  return fmt::format(
      "no Vulkan device: {}; install mesa-vulkan-drivers for lavapipe (Vulkan on the CPU) or your "
      "GPU's Vulkan driver, then check with `dontpanic doctor`",
      detail);
}

void vk_check_driver(VkResult result, const std::string& what) {
  if (result == VK_SUCCESS || result == VK_INCOMPLETE) return;
  // Before any device exists, a failure is the driver's set-up (a missing or broken ICD manifest,
  // a driver that does not load), never a size the user chose: the labs cannot run here.
  throw Unavailable(no_device_message(fmt::format(
      "{} failed ({}): the Vulkan driver could not be loaded; if VK_ICD_FILENAMES or "
      "VK_DRIVER_FILES is set, check the file it names",
      what, vk_result_name(result))));
}

void vk_check(VkResult result, const std::string& what) {
  if (result == VK_SUCCESS || result == VK_INCOMPLETE) return;
  const char* name = vk_result_name(result);
  switch (result) {
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      throw Error(fmt::format("{} failed: out of GPU memory ({}); try smaller sizes (--param)", what, name));
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      throw Error(fmt::format("{} failed: out of host memory ({}); try smaller sizes (--param)", what, name));
    case VK_ERROR_DEVICE_LOST:
      throw Error(fmt::format(
          "{} failed: the GPU device was lost ({}): the driver reset it, usually because a shader "
          "ran too long or accessed memory out of bounds; run again with smaller sizes, and check "
          "the kernel log (dmesg) for the driver's reason", what, name));
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_INITIALIZATION_FAILED:
      throw Unavailable(no_device_message(fmt::format("{} failed ({})", what, name)));
    default:
      throw Error(fmt::format("{} failed: {}", what, name));
  }
}

}  // namespace dp::gpu
