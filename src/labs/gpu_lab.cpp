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
  if (device->validation_missing()) {
    const std::string why =
        "Vulkan validation was asked for (DONTPANIC_GPU_VALIDATION or a Debug build), but the layer "
        "VK_LAYER_KHRONOS_validation is not installed, so this run was not validated; install "
        "vulkan-validationlayers (tools/setup does)";
    ctx.log << "warning: " << why << "\n";
    ctx.result.notes.push_back(why);
  }
  if (needs.timestamps && !report.timestamps)
    throw Unavailable(fmt::format("'{}' cannot write GPU timestamps, which this lab reads", report.name));
  return device;
}

void add_validation_check(const Device& device, LabContext& ctx) {
  const ValidationCheck c = validation_check(device);
  if (c.enabled) ctx.result.add_check("no Vulkan validation messages", c.passed, c.detail);
}

long long cap_to_device(LabContext& ctx, const DeviceReport& report, const std::string& param, long long wanted,
                        long long step, int buffers, const std::function<std::uint64_t(long long)>& bytes_of) {
  const auto fits = [&](long long size) {
    const std::uint64_t bytes = bytes_of(size);
    return bytes <= report.max_storage_buffer_range &&
           (report.device_local_bytes == 0 || buffers * bytes <= report.device_local_bytes / 4);
  };
  long long size = wanted;
  while (size > step && !fits(size)) size -= step;
  if (size == wanted) return wanted;
  ctx.result.notes.push_back(fmt::format("{} capped at {}: '{}' binds at most {} per buffer, and {}={} needs {}",
                                         param, size, report.name, format_bytes(report.max_storage_buffer_range),
                                         param, wanted, format_bytes(bytes_of(wanted))));
  ctx.log << "note: " << ctx.result.notes.back() << "\n";
  return size;
}

int gpu_reps(const LabContext& ctx) { return ctx.measure_config.repetitions; }

double gpu_warmup_seconds(const LabContext& ctx) { return ctx.quick ? 0.01 : 0.1; }

}  // namespace dp::gpu
