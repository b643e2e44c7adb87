// devices.cpp — listing Vulkan devices and reading their limits.
#include "gpu/devices.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>

#include <dlfcn.h>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/portability.hpp"
#include "gpu/physical_device.hpp"
#include "gpu/vk_error.hpp"

namespace dp::gpu {
namespace detail {

bool has_extension(VkPhysicalDevice device, const char* name) {
  std::uint32_t count = 0;
  vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> extensions(count);
  vkEnumerateDeviceExtensionProperties(device, nullptr, &count, extensions.data());
  return std::any_of(extensions.begin(), extensions.end(),
                     [&](const VkExtensionProperties& e) { return std::string(e.extensionName) == name; });
}

void keep_cpu_driver_loaded_under_sanitizers() {
#if defined(DP_ASAN)  // core/portability.hpp
  static void* const lavapipe = dlopen("libvulkan_lvp.so", RTLD_NOW | RTLD_NODELETE);
  (void)lavapipe;
#endif
}

VkInstance create_plain_instance() {
  keep_cpu_driver_loaded_under_sanitizers();
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "dontpanic";
  app.apiVersion = VK_API_VERSION_1_3;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &app;
  VkInstance instance = VK_NULL_HANDLE;
  vk_check_driver(vkCreateInstance(&info, nullptr, &instance), "creating a Vulkan instance");
  return instance;
}

namespace {

std::string type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

std::string component_name(VkComponentTypeNV type) {
  switch (type) {
    case VK_COMPONENT_TYPE_FLOAT16_NV: return "float16";
    case VK_COMPONENT_TYPE_FLOAT32_NV: return "float32";
    case VK_COMPONENT_TYPE_FLOAT64_NV: return "float64";
    case VK_COMPONENT_TYPE_SINT8_NV: return "int8";
    case VK_COMPONENT_TYPE_UINT8_NV: return "uint8";
    case VK_COMPONENT_TYPE_SINT32_NV: return "int32";
    case VK_COMPONENT_TYPE_UINT32_NV: return "uint32";
    default: return fmt::format("type{}", static_cast<int>(type));
  }
}

std::string subgroup_ops(VkSubgroupFeatureFlags flags) {
  const std::pair<VkSubgroupFeatureFlagBits, const char*> names[] = {
      {VK_SUBGROUP_FEATURE_BASIC_BIT, "basic"}, {VK_SUBGROUP_FEATURE_VOTE_BIT, "vote"},
      {VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic"}, {VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "shuffle-relative"},
      {VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered"}, {VK_SUBGROUP_FEATURE_QUAD_BIT, "quad"}};
  std::string out;
  for (auto [bit, name] : names)
    if (flags & bit) {
      if (!out.empty()) out += ' ';
      out += name;
    }
  return out;
}

std::string version_text(std::uint32_t v) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

}  // namespace

DeviceReport read_report(VkInstance instance, VkPhysicalDevice device, int index) {
  DeviceReport r;
  r.index = index;

  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  subgroup.pNext = &driver;
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &subgroup;
  vkGetPhysicalDeviceProperties2(device, &props);
  const VkPhysicalDeviceLimits& limits = props.properties.limits;

  r.name = props.properties.deviceName;
  r.type = type_name(props.properties.deviceType);
  r.driver = fmt::format("{} {}", driver.driverName, driver.driverInfo);
  r.api = "Vulkan " + version_text(props.properties.apiVersion);
  r.vendor_id = props.properties.vendorID;
  r.device_id = props.properties.deviceID;
  r.subgroup_size = subgroup.subgroupSize;
  if (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT)
    r.subgroup_operations = subgroup_ops(subgroup.supportedOperations);
  r.max_shared_memory_bytes = limits.maxComputeSharedMemorySize;
  for (int i = 0; i < 3; ++i) r.max_workgroup_size[i] = limits.maxComputeWorkGroupSize[i];
  for (int i = 0; i < 3; ++i) r.max_workgroup_count[i] = limits.maxComputeWorkGroupCount[i];
  r.max_workgroup_invocations = limits.maxComputeWorkGroupInvocations;
  r.max_storage_buffer_range = limits.maxStorageBufferRange;
  r.timestamp_period_ns = limits.timestampPeriod;

  VkPhysicalDeviceMemoryProperties memory;
  vkGetPhysicalDeviceMemoryProperties(device, &memory);
  for (std::uint32_t h = 0; h < memory.memoryHeapCount; ++h)
    if (memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      r.device_local_bytes = std::max<std::uint64_t>(r.device_local_bytes, memory.memoryHeaps[h].size);

  std::uint32_t families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &families, nullptr);
  std::vector<VkQueueFamilyProperties> family(families);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &families, family.data());
  for (const auto& f : family)
    if ((f.queueFlags & VK_QUEUE_COMPUTE_BIT) && f.timestampValidBits > 0) r.timestamps = true;

  VkPhysicalDeviceShaderAtomicFloatFeaturesEXT atomic_float{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  f11.pNext = &f12;
  const bool has_atomic_float = has_extension(device, VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME);
  if (has_atomic_float) f12.pNext = &atomic_float;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &f11;
  vkGetPhysicalDeviceFeatures2(device, &features);
  r.float16 = f12.shaderFloat16 && f11.storageBuffer16BitAccess;
  r.storage_16bit = f11.storageBuffer16BitAccess;
  r.float_atomic_add = has_atomic_float && atomic_float.shaderBufferFloat32AtomicAdd;

  if (has_extension(device, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME)) {
    auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
        vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
    std::uint32_t count = 0;
    if (get && get(device, &count, nullptr) == VK_SUCCESS && count > 0) {
      std::vector<VkCooperativeMatrixPropertiesNV> shapes(count, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
      get(device, &count, shapes.data());
      for (const auto& s : shapes)
        if (s.scope == VK_SCOPE_SUBGROUP_NV)
          r.coopmat.push_back({s.MSize, s.NSize, s.KSize, component_name(s.AType),
                               component_name(s.BType), component_name(s.CType),
                               VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME});
    }
  }
  r.coopmat_khr_extension = has_extension(device, "VK_KHR_cooperative_matrix");
  return r;
}

}  // namespace detail

std::vector<DeviceReport> list_devices() {
  VkInstance instance = VK_NULL_HANDLE;
  try {
    instance = detail::create_plain_instance();
    std::uint32_t count = 0;
    vk_check_driver(vkEnumeratePhysicalDevices(instance, &count, nullptr), "listing Vulkan devices");
    std::vector<VkPhysicalDevice> handles(count);
    vk_check_driver(vkEnumeratePhysicalDevices(instance, &count, handles.data()), "listing Vulkan devices");
    if (count == 0) throw Unavailable(no_device_message("the Vulkan loader found no device"));
    std::vector<DeviceReport> reports;
    for (std::uint32_t i = 0; i < count; ++i)
      reports.push_back(detail::read_report(instance, handles[i], static_cast<int>(i)));
    vkDestroyInstance(instance, nullptr);
    instance = VK_NULL_HANDLE;
    try {
      reports[static_cast<std::size_t>(choose_device(reports))].chosen = true;
    } catch (const std::exception& e) {
      DeviceReport bad;
      bad.error = e.what();  // DONTPANIC_GPU names no device: say so beside the list
      reports.push_back(bad);
    }
    return reports;
  } catch (const std::exception& e) {
    if (instance) vkDestroyInstance(instance, nullptr);
    DeviceReport failed;
    failed.error = e.what();
    return {failed};
  }
}

int choose_device(const std::vector<DeviceReport>& devices, const std::string& selector_in) {
  std::string selector = selector_in;
  if (selector.empty())
    if (const char* env = std::getenv("DONTPANIC_GPU")) selector = env;
  if (devices.empty()) throw Unavailable(no_device_message("the Vulkan loader found no device"));
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  if (!selector.empty()) {
    const bool is_index = std::all_of(selector.begin(), selector.end(),
                                      [](unsigned char c) { return std::isdigit(c); });
    for (const auto& d : devices) {
      if (is_index ? std::to_string(d.index) == selector
                   : lower(d.name).find(lower(selector)) != std::string::npos)
        return d.index;
    }
    std::string names;
    for (const auto& d : devices) names += fmt::format("{}{}: {} ({})", names.empty() ? "" : ", ", d.index, d.name, d.type);
    throw Error(fmt::format("no Vulkan device matches --gpu/DONTPANIC_GPU '{}'; the devices here are "
                            "{}; give an index or a part of a name", selector, names));
  }
  auto rank = [](const std::string& type) {
    if (type == "discrete") return 0;
    if (type == "integrated") return 1;
    if (type == "virtual") return 2;
    if (type == "cpu") return 3;
    return 4;
  };
  const auto best = std::min_element(devices.begin(), devices.end(), [&](const auto& a, const auto& b) {
    return rank(a.type) < rank(b.type);
  });
  return best->index;
}

GpuInfo to_gpu_info(const DeviceReport& report) {
  GpuInfo info;
  info.name = report.name;
  info.driver = report.driver;
  info.api = report.api;
  info.type = report.type;
  return info;
}

nlohmann::json to_json(const DeviceReport& r) {
  if (!r.error.empty()) return {{"error", r.error}};
  nlohmann::json coop = nlohmann::json::array();
  for (const auto& s : r.coopmat)
    coop.push_back({{"m", s.m}, {"n", s.n}, {"k", s.k}, {"a", s.a_type}, {"b", s.b_type}, {"c", s.c_type},
                    {"extension", s.extension}});
  return {{"index", r.index}, {"chosen", r.chosen}, {"name", r.name}, {"type", r.type}, {"driver", r.driver},
          {"api", r.api}, {"vendor_id", r.vendor_id}, {"device_id", r.device_id},
          {"subgroup_size", r.subgroup_size}, {"subgroup_operations", r.subgroup_operations},
          {"max_shared_memory_bytes", r.max_shared_memory_bytes}, {"max_workgroup_size", r.max_workgroup_size},
          {"max_workgroup_invocations", r.max_workgroup_invocations},
          {"max_workgroup_count", r.max_workgroup_count}, {"max_storage_buffer_range", r.max_storage_buffer_range},
          {"device_local_bytes", r.device_local_bytes}, {"timestamps", r.timestamps},
          {"timestamp_period_ns", r.timestamp_period_ns}, {"float16", r.float16}, {"storage_16bit", r.storage_16bit},
          {"float_atomic_add", r.float_atomic_add}, {"coopmat", coop},
          {"coopmat_khr_extension", r.coopmat_khr_extension}};
}

std::string describe(const DeviceReport& r) {
  if (!r.error.empty()) return r.error;
  std::string coop;
  for (const auto& s : r.coopmat)
    coop += fmt::format("{}{}x{}x{} {}*{}+{}", coop.empty() ? "" : ", ", s.m, s.n, s.k, s.a_type, s.b_type, s.c_type);
  if (coop.empty()) coop = r.coopmat_khr_extension ? "VK_KHR_cooperative_matrix only" : "none";
  return fmt::format(
      "{}{}: {} ({}), {}, {}\n"
      "  subgroup {} ({}), shared memory {} KiB, workgroup max {}x{}x{} / {} threads\n"
      "  largest buffer binding {} MiB, device-local memory {} MiB, fp16 {}, float atomics {}\n"
      "  timestamps {}, cooperative matrices: {}",
      r.chosen ? "* " : "  ", r.index, r.name, r.type, r.driver, r.api, r.subgroup_size,
      r.subgroup_operations, r.max_shared_memory_bytes / 1024, r.max_workgroup_size[0],
      r.max_workgroup_size[1], r.max_workgroup_size[2], r.max_workgroup_invocations,
      r.max_storage_buffer_range >> 20, r.device_local_bytes >> 20, r.float16 ? "yes" : "no",
      r.float_atomic_add ? "yes" : "no",
      r.timestamps ? fmt::format("yes ({:g} ns per tick)", r.timestamp_period_ns) : std::string("no"),
      coop);
}

}  // namespace dp::gpu
