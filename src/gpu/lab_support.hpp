// lab_support.hpp — the two lines every GPU lab needs around its work.
//
//   auto device = dp::gpu::open_lab_device(ctx);   // records machine.gpu, logs the device
//   ... check, then measure ...
//   dp::gpu::add_validation_check(*device, ctx);   // last: any validation message fails the run
#pragma once

#include <memory>

#include "core/lab.hpp"
#include "gpu/device.hpp"

namespace dp::gpu {

// Opens the device chosen by --gpu / DONTPANIC_GPU and records it in ctx.result.machine.gpu.
// Throws dp::Error (no Vulkan device: what to install) when there is none.
std::unique_ptr<Device> open_lab_device(LabContext& ctx);

// Adds the check "no Vulkan validation messages" when validation is on.
void add_validation_check(const Device& device, LabContext& ctx);

// Repetitions for GPU timing loops: the run's configured repetitions.
int gpu_reps(const LabContext& ctx);

// Seconds of GPU warm-up before timing (a GPU idles at a low clock): 0.01 quick, 0.1 full.
double gpu_warmup_seconds(const LabContext& ctx);

}  // namespace dp::gpu
