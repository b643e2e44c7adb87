// devices.hpp — what Vulkan devices this machine has, and which one a lab would use.
//
// Index
//   CoopMatShape     one cooperative-matrix (tensor core) shape a device offers: M x N x K and types
//   DeviceReport     one device's name, type, driver, API and the limits compute code cares about
//   list_devices()   every device, for `dontpanic doctor`; never throws
//   choose_device()  the index Device() would open: DONTPANIC_GPU, else discrete > integrated > cpu
//   to_gpu_info(), to_json(), describe()   for results, `doctor --json` and `doctor`
//
// Choosing: a selector (`dontpanic run --gpu`, which labs pass on as DeviceOptions::selector; or,
// when that is empty, the environment variable DONTPANIC_GPU) is either an index into
// list_devices() ("1") or a case-insensitive part of the device name ("nvidia", "llvmpipe").
// Without one the first discrete GPU wins, then integrated, virtual, then a CPU
// implementation such as lavapipe ("llvmpipe" in the name).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/machine.hpp"

namespace dp::gpu {

struct CoopMatShape {
  std::uint32_t m = 0, n = 0, k = 0;  // C[m x n] += A[m x k] * B[k x n], per subgroup
  std::string a_type, b_type, c_type; // "float16", "float32", "int8" ...
  std::string extension;              // "VK_NV_cooperative_matrix"
};

struct DeviceReport {
  std::string error;                  // non-empty: listing failed; only this field is meaningful
  int index = -1;                     // position in list_devices(), what DONTPANIC_GPU=<index> picks
  bool chosen = false;                // the device Device() would open with the current environment
  std::string name;                   // "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)"
  std::string type;                   // "discrete", "integrated", "virtual", "cpu", "other"
  std::string driver;                 // "NVIDIA 580.159.04", "llvmpipe Mesa 22.3.6"
  std::string api;                    // "Vulkan 1.3.230"
  std::uint32_t vendor_id = 0, device_id = 0;
  std::uint32_t subgroup_size = 0;    // threads that run in lock step (warp 32 on NVIDIA, 8 on lavapipe/AVX2)
  std::string subgroup_operations;    // "basic vote arithmetic ballot shuffle ..." in compute shaders
  std::uint64_t max_shared_memory_bytes = 0;    // shared (workgroup) memory per workgroup
  std::array<std::uint32_t, 3> max_workgroup_size{};
  std::uint32_t max_workgroup_invocations = 0;  // threads per workgroup
  std::array<std::uint32_t, 3> max_workgroup_count{};  // workgroups per dispatch, per dimension
  std::uint64_t max_storage_buffer_range = 0;   // the largest buffer one binding can see, bytes
  std::uint64_t device_local_bytes = 0;         // the largest device-local heap
  bool timestamps = false;            // can the compute queue write timestamps?
  double timestamp_period_ns = 0;     // nanoseconds per timestamp tick
  bool float16 = false;               // shaderFloat16 + 16-bit storage buffers
  bool storage_16bit = false;         // 16-bit values in storage buffers (storageBuffer16BitAccess):
                                      // loading fp16 and widening it, without fp16 arithmetic
  bool float_atomic_add = false;      // atomicAdd on float in buffers (VK_EXT_shader_atomic_float)
  std::vector<CoopMatShape> coopmat;  // empty: no cooperative matrices (tensor cores) exposed
  bool coopmat_khr_extension = false; // VK_KHR_cooperative_matrix is offered (our headers predate it)
};

// Every Vulkan device, in the loader's order. Never throws: if there is no loader, no driver or no
// device, it returns one report whose `error` says so and what to install.
std::vector<DeviceReport> list_devices();

// The index list_devices() marks `chosen`, for `selector` (empty: the DONTPANIC_GPU variable, then
// the type ranking). Throws dp::Error naming the devices when the selector matches none, and
// dp::Unavailable when the list is empty.
int choose_device(const std::vector<DeviceReport>& devices, const std::string& selector = {});

// The GpuInfo a result records (machine.gpu) for a report.
GpuInfo to_gpu_info(const DeviceReport& report);

// Every field of a report as JSON (for `dontpanic doctor --json`).
nlohmann::json to_json(const DeviceReport& report);

// Short text of a report for `dontpanic doctor`, several lines, no trailing newline.
std::string describe(const DeviceReport& report);

}  // namespace dp::gpu
