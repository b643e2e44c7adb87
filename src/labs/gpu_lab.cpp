// gpu_lab.cpp — opening the device for a lab, and the validation check.
#include "labs/gpu_lab.hpp"

#include <ostream>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::gpu {

std::unique_ptr<Device> open_lab_device(LabContext& ctx, const LabDeviceNeeds& needs) {
  auto device = std::make_unique<Device>(DeviceOptions{.selector = ctx.gpu});
  const DeviceReport& report = device->report();
  ctx.result.machine.gpu = device->info();
  ctx.log << "GPU: " << report.name << " (" << report.type << ", " << report.driver << ")"
          << (device->validation_enabled() ? ", validation on" : "") << "\n";
  if (needs.timestamps && !report.timestamps)
    throw Unavailable(fmt::format("'{}' cannot write GPU timestamps, which this lab reads", report.name));
  return device;
}

void add_validation_check(const Device& device, LabContext& ctx) {
  const ValidationCheck c = validation_check(device);
  if (c.enabled) ctx.result.add_check("no Vulkan validation messages", c.passed, c.detail);
}

int gpu_reps(const LabContext& ctx) { return ctx.measure_config.repetitions; }

double gpu_warmup_seconds(const LabContext& ctx) { return ctx.quick ? 0.01 : 0.1; }

}  // namespace dp::gpu
