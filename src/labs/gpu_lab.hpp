// gpu_lab.hpp — the two lines every GPU lab needs around its work (the labs' side of src/gpu:
// the Vulkan layer itself knows nothing of labs).
//
//   auto device = dp::gpu::open_lab_device(ctx, {.timestamps = true});  // records machine.gpu
//   ... check, then measure ...
//   dp::gpu::add_validation_check(*device, ctx);   // last: any validation message fails the run
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/lab.hpp"
#include "gpu/device.hpp"

namespace dp::gpu {

// LabInfo::requires_gpu for a lab that runs on any Vulkan device, the CPU's included.
inline constexpr const char* kAnyVulkanDevice =
    "a Vulkan device (lavapipe, from mesa-vulkan-drivers, runs it on the CPU)";

struct LabDeviceNeeds {
  bool timestamps = false;  // the lab reads GPU timestamps: a device without them is Unavailable
};

// Opens the device chosen by --gpu (ctx.gpu; empty: DONTPANIC_GPU, then the best device), records
// it in ctx.result.machine.gpu and logs it. Throws dp::Error (no Vulkan device: what to install)
// when there is none, dp::Unavailable when the device lacks something the lab `needs`.
std::unique_ptr<Device> open_lab_device(LabContext& ctx, const LabDeviceNeeds& needs = {});

// Adds the check "no Vulkan validation messages" when validation is on.
void add_validation_check(const Device& device, LabContext& ctx);

// The largest size <= `wanted`, stepping down by `step`, whose largest buffer (`bytes_of(size)`)
// one binding can see and of which `buffers` fit in a quarter of the device's memory. When that is
// less than `wanted`, adds a note naming the device's limit (and logs it): a size the device cannot
// bind is capped before anything is measured, never found out after minutes of measuring.
long long cap_to_device(LabContext& ctx, const DeviceReport& report, const std::string& param, long long wanted,
                        long long step, int buffers, const std::function<std::uint64_t(long long)>& bytes_of);

// Repetitions for GPU timing loops: the run's configured repetitions.
int gpu_reps(const LabContext& ctx);

// Seconds of GPU warm-up before timing (a GPU idles at a low clock): 0.01 quick, 0.1 full.
double gpu_warmup_seconds(const LabContext& ctx);

}  // namespace dp::gpu
