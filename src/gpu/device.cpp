// device.cpp — opening the instance and the chosen device with the features compute code uses.
#include "gpu/device.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/physical_device.hpp"
#include "gpu/vk_error.hpp"

namespace dp::gpu {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

bool validation_wanted(const DeviceOptions& options) {
  if (options.validation) return *options.validation;
  if (const char* env = std::getenv("DONTPANIC_GPU_VALIDATION"); env && *env) return std::strcmp(env, "0") != 0;
#ifdef DP_GPU_VALIDATION_DEFAULT
  return true;
#else
  return false;
#endif
}

bool instance_has_layer(const char* name) {
  std::uint32_t count = 0;
  vkEnumerateInstanceLayerProperties(&count, nullptr);
  std::vector<VkLayerProperties> layers(count);
  vkEnumerateInstanceLayerProperties(&count, layers.data());
  return std::any_of(layers.begin(), layers.end(), [&](const auto& l) { return std::strcmp(l.layerName, name) == 0; });
}

}  // namespace

VKAPI_ATTR VkBool32 VKAPI_CALL Device::on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                  VkDebugUtilsMessageTypeFlagsEXT,
                                                  const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                  void* self) {
  auto* device = static_cast<Device*>(self);
  std::lock_guard lock(device->messages_mutex_);
  device->messages_.push_back({severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
                               data && data->pMessage ? data->pMessage : "(no text)"});
  return VK_FALSE;  // never abort the call: the message is reported by the check afterwards
}

Device::Device(const DeviceOptions& options) {
  detail::keep_cpu_driver_loaded_under_sanitizers();
  try {
    std::uint32_t loader_version = 0;
    vkEnumerateInstanceVersion(&loader_version);
    if (loader_version < VK_API_VERSION_1_2)
      throw Unavailable(no_device_message(fmt::format("the Vulkan loader is {}.{}, 1.2 or newer is needed",
                                                VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version))));

    // 1. The instance, with the validation layer and a messenger that records what it says.
    const bool validation_asked = validation_wanted(options);
    const bool validation = validation_asked && instance_has_layer(kValidationLayer);
    validation_missing_ = validation_asked && !validation;  // asked for, not installed: say so
    std::vector<const char*> layers, extensions;
    if (validation) {
      layers.push_back(kValidationLayer);
      extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    }
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "dontpanic";
    app.apiVersion = VK_API_VERSION_1_3;
    VkInstanceCreateInfo instance_info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    instance_info.pApplicationInfo = &app;
    instance_info.enabledLayerCount = static_cast<std::uint32_t>(layers.size());
    instance_info.ppEnabledLayerNames = layers.data();
    instance_info.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
    instance_info.ppEnabledExtensionNames = extensions.data();
    vk_check_driver(vkCreateInstance(&instance_info, nullptr, &instance_), "creating a Vulkan instance");

    if (validation) {
      VkDebugUtilsMessengerCreateInfoEXT info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
      info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
      info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
      info.pfnUserCallback = &Device::on_message;
      info.pUserData = this;
      auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
          vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
      if (create) vk_check(create(instance_, &info, nullptr, &messenger_), "creating the validation messenger");
    }

    // 2. Choose the physical device.
    std::uint32_t count = 0;
    vk_check_driver(vkEnumeratePhysicalDevices(instance_, &count, nullptr), "listing Vulkan devices");
    std::vector<VkPhysicalDevice> handles(count);
    vk_check_driver(vkEnumeratePhysicalDevices(instance_, &count, handles.data()), "listing Vulkan devices");
    if (count == 0) throw Unavailable(no_device_message("the Vulkan loader found no device"));
    std::vector<DeviceReport> reports;
    for (std::uint32_t i = 0; i < count; ++i)
      reports.push_back(detail::read_report(instance_, handles[i], static_cast<int>(i)));
    const int chosen = choose_device(reports, options.selector);
    physical_ = handles[static_cast<std::size_t>(chosen)];
    report_ = reports[static_cast<std::size_t>(chosen)];
    report_.chosen = true;

    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(physical_, &props);
    if (props.apiVersion < VK_API_VERSION_1_2)
      throw Error(fmt::format("the Vulkan device '{}' supports only {}; these labs need Vulkan 1.2 "
                              "(update the driver, or pick another device with --gpu)", report_.name, report_.api));
    compiler_.set_vulkan_version(props.apiVersion);
    vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);

    // 3. A compute queue, preferably one that can write timestamps.
    std::uint32_t families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical_, &families, nullptr);
    std::vector<VkQueueFamilyProperties> family(families);
    vkGetPhysicalDeviceQueueFamilyProperties(physical_, &families, family.data());
    int best = -1;
    for (std::uint32_t i = 0; i < families; ++i) {
      if (!(family[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
      if (best < 0 || (family[i].timestampValidBits > 0 && family[static_cast<std::size_t>(best)].timestampValidBits == 0))
        best = static_cast<int>(i);
    }
    if (best < 0) throw Error(fmt::format("the Vulkan device '{}' has no compute queue; pick another with --gpu", report_.name));
    queue_family_ = static_cast<std::uint32_t>(best);
    // And a copy-only family, if there is one: its queue runs transfers beside the compute queue.
    std::optional<std::uint32_t> transfer_family;
    for (std::uint32_t i = 0; i < families && !transfer_family; ++i)
      if ((family[i].queueFlags & (VK_QUEUE_TRANSFER_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_GRAPHICS_BIT)) ==
              VK_QUEUE_TRANSFER_BIT && family[i].queueCount > 0)
        transfer_family = i;

    // 4. The logical device with the features our shaders use, each only where supported.
    VkPhysicalDeviceVulkan11Features s11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    VkPhysicalDeviceVulkan12Features s12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan13Features s13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    s11.pNext = &s12;
    const bool v13 = props.apiVersion >= VK_API_VERSION_1_3;
    if (v13) s12.pNext = &s13;
    VkPhysicalDeviceFeatures2 supported{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    supported.pNext = &s11;
    vkGetPhysicalDeviceFeatures2(physical_, &supported);

    VkPhysicalDeviceFeatures2 enable{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    enable.features.shaderInt64 = supported.features.shaderInt64;
    enable.features.shaderInt16 = supported.features.shaderInt16;
    VkPhysicalDeviceVulkan11Features e11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    e11.storageBuffer16BitAccess = s11.storageBuffer16BitAccess;
    e11.uniformAndStorageBuffer16BitAccess = s11.uniformAndStorageBuffer16BitAccess;
    VkPhysicalDeviceVulkan12Features e12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    e12.shaderFloat16 = s12.shaderFloat16;
    e12.shaderInt8 = s12.shaderInt8;
    e12.storageBuffer8BitAccess = s12.storageBuffer8BitAccess;
    e12.uniformAndStorageBuffer8BitAccess = s12.uniformAndStorageBuffer8BitAccess;
    e12.vulkanMemoryModel = s12.vulkanMemoryModel;
    e12.vulkanMemoryModelDeviceScope = s12.vulkanMemoryModelDeviceScope;
    e12.shaderSubgroupExtendedTypes = s12.shaderSubgroupExtendedTypes;
    e12.subgroupBroadcastDynamicId = s12.subgroupBroadcastDynamicId;
    e12.scalarBlockLayout = s12.scalarBlockLayout;
    e12.hostQueryReset = s12.hostQueryReset;
    e12.timelineSemaphore = s12.timelineSemaphore;  // core in 1.2; orders work across two queues
    VkPhysicalDeviceVulkan13Features e13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    e13.subgroupSizeControl = s13.subgroupSizeControl;
    e13.computeFullSubgroups = s13.computeFullSubgroups;
    e13.maintenance4 = s13.maintenance4;
    enable.pNext = &e11;
    e11.pNext = &e12;
    void** tail = v13 ? (e12.pNext = &e13, &e13.pNext) : &e12.pNext;

    std::vector<const char*> device_extensions;
    VkPhysicalDeviceShaderAtomicFloatFeaturesEXT atomic_float{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT};
    if (report_.float_atomic_add) {
      device_extensions.push_back(VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME);
      atomic_float.shaderBufferFloat32Atomics = VK_TRUE;
      atomic_float.shaderBufferFloat32AtomicAdd = VK_TRUE;
      *tail = &atomic_float;
      tail = &atomic_float.pNext;
      float_atomic_enabled_ = true;
    }
    VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    if (!report_.coopmat.empty()) {
      device_extensions.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
      coopmat.cooperativeMatrix = VK_TRUE;
      *tail = &coopmat;
      tail = &coopmat.pNext;
      coopmat_enabled_ = true;
    }

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info[2]{{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO},
                                          {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO}};
    queue_info[0].queueFamilyIndex = queue_family_;
    queue_info[0].queueCount = 1;
    queue_info[0].pQueuePriorities = &priority;
    queue_info[1] = queue_info[0];
    queue_info[1].queueFamilyIndex = transfer_family.value_or(0);
    VkDeviceCreateInfo device_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    device_info.pNext = &enable;
    device_info.queueCreateInfoCount = transfer_family ? 2 : 1;
    device_info.pQueueCreateInfos = queue_info;
    device_info.enabledExtensionCount = static_cast<std::uint32_t>(device_extensions.size());
    device_info.ppEnabledExtensionNames = device_extensions.data();
    vk_check(vkCreateDevice(physical_, &device_info, nullptr, &device_), "opening the Vulkan device '" + report_.name + "'");
    vkGetDeviceQueue(device_, queue_family_, 0, &queue_);
    if (transfer_family) {
      transfer_family_ = *transfer_family;
      vkGetDeviceQueue(device_, transfer_family_, 0, &transfer_queue_);
    }

    VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool_info.queueFamilyIndex = queue_family_;
    vk_check(vkCreateCommandPool(device_, &pool_info, nullptr, &command_pool_), "creating a command pool");
  } catch (...) {
    destroy();
    throw;
  }
}

Device::~Device() { destroy(); }

void Device::destroy() noexcept {
  if (device_) {
    vkDeviceWaitIdle(device_);
    if (command_pool_) vkDestroyCommandPool(device_, command_pool_, nullptr);
    vkDestroyDevice(device_, nullptr);
  }
  if (messenger_) {
    auto destroy_messenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy_messenger) destroy_messenger(instance_, messenger_, nullptr);
  }
  if (instance_) vkDestroyInstance(instance_, nullptr);
  command_pool_ = VK_NULL_HANDLE;
  device_ = VK_NULL_HANDLE;
  messenger_ = VK_NULL_HANDLE;
  instance_ = VK_NULL_HANDLE;
}

std::vector<ValidationMessage> Device::validation_messages() const {
  std::lock_guard lock(messages_mutex_);
  return messages_;
}

void Device::clear_validation_messages() {
  std::lock_guard lock(messages_mutex_);
  messages_.clear();
}

std::uint32_t Device::memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required,
                                  VkMemoryPropertyFlags preferred, VkMemoryPropertyFlags avoided) const {
  int best = -1, best_score = -1;
  for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    const VkMemoryPropertyFlags flags = memory_.memoryTypes[i].propertyFlags;
    if (!(type_bits & (1u << i)) || (flags & required) != required) continue;
    const int score = ((flags & preferred) == preferred ? 2 : 0) + ((flags & avoided) == 0 ? 1 : 0);
    if (score > best_score) best = static_cast<int>(i), best_score = score;
  }
  if (best < 0)
    throw Error(fmt::format("the Vulkan device '{}' has no memory type with flags {:#x} for this buffer; "
                            "this device cannot run the lab, pick another with --gpu", report_.name, required));
  return static_cast<std::uint32_t>(best);
}

VkMemoryPropertyFlags Device::memory_flags(std::uint32_t type_index) const {
  return memory_.memoryTypes[type_index].propertyFlags;
}

std::uint64_t Device::heap_bytes(std::uint32_t type_index) const {
  return memory_.memoryHeaps[memory_.memoryTypes[type_index].heapIndex].size;
}

void Device::wait_idle() const { vk_check(vkDeviceWaitIdle(device_), "waiting for the GPU"); }

ValidationCheck validation_check(const Device& device) {
  ValidationCheck c;
  c.enabled = device.validation_enabled();
  const auto messages = device.validation_messages();
  c.passed = messages.empty();
  if (c.passed) {
    c.detail = "the Vulkan validation layers reported nothing";
  } else {
    c.detail = fmt::format("{} message(s); first: ", messages.size());
    for (std::size_t i = 0; i < std::min<std::size_t>(messages.size(), 2); ++i)
      c.detail += fmt::format("[{}] {} ", messages[i].severity, messages[i].text.substr(0, 400));
  }
  return c;
}

}  // namespace dp::gpu
