// lab_support.cpp — opening the device for a lab, and the validation check.
#include "gpu/lab_support.hpp"

#include <ostream>

namespace dp::gpu {

std::unique_ptr<Device> open_lab_device(LabContext& ctx) {
  auto device = std::make_unique<Device>();
  ctx.result.machine.gpu = device->info();
  ctx.log << "GPU: " << device->report().name << " (" << device->report().type << ", "
          << device->report().driver << ")" << (device->validation_enabled() ? ", validation on" : "")
          << "\n";
  return device;
}

void add_validation_check(const Device& device, LabContext& ctx) {
  const ValidationCheck c = validation_check(device);
  if (c.enabled) ctx.result.add_check("no Vulkan validation messages", c.passed, c.detail);
}

int gpu_reps(const LabContext& ctx) { return ctx.measure_config.repetitions; }

double gpu_warmup_seconds(const LabContext& ctx) { return ctx.quick ? 0.01 : 0.1; }

}  // namespace dp::gpu
