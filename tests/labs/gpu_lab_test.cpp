// Tests of labs/gpu_lab.hpp: the GPU choice travels in LabContext (not the environment), and the
// device a lab opens is recorded in its result.
#include <gtest/gtest.h>

#if defined(DP_HAVE_GPU)

#include <sstream>
#include <string>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "gpu/devices.hpp"
#include "labs/gpu_lab.hpp"

namespace dp::gpu {
namespace {

// A LabContext with no parameters, for calling the lab-side helpers directly.
struct FakeLab {
  Params params = Params::resolve({}, true, {});
  MachineInfo machine;
  Result result;
  std::ostringstream log;
  LabContext context(const std::string& gpu) {
    return LabContext{params, true, MeasureConfig{}, machine, result, log, gpu};
  }
};

TEST(GpuLab, SizesTheDeviceCannotBindAreCappedWithANote) {
  FakeLab lab;
  auto ctx = lab.context("");
  DeviceReport lavapipe;  // what lavapipe reports: 128 MiB per binding
  lavapipe.name = "llvmpipe";
  lavapipe.max_storage_buffer_range = 128u << 20;
  lavapipe.device_local_bytes = std::uint64_t{24} << 30;
  const auto matrix = [](long long n) { return static_cast<std::uint64_t>(n * n) * 4; };
  EXPECT_EQ(cap_to_device(ctx, lavapipe, "max-n", 4096, 128, 3, matrix), 4096);  // 64 MiB: fits
  EXPECT_TRUE(lab.result.notes.empty());
  EXPECT_EQ(cap_to_device(ctx, lavapipe, "max-n", 8192, 128, 3, matrix), 5760);  // 5760^2 * 4 B < 128 MiB
  ASSERT_EQ(lab.result.notes.size(), 1u);
  EXPECT_NE(lab.result.notes[0].find("max-n capped at 5760: 'llvmpipe' binds at most 128 MiB per buffer"),
            std::string::npos) << lab.result.notes[0];
  DeviceReport small_memory = lavapipe;  // three buffers in a quarter of 192 MiB: 16 MiB each
  small_memory.device_local_bytes = 192u << 20;
  EXPECT_EQ(cap_to_device(ctx, small_memory, "max-n", 8192, 128, 3, matrix), 2048);
}

TEST(GpuLab, OpensTheDeviceAndRecordsIt) {
  FakeLab lab;
  LabContext ctx = lab.context("");
  try {
    const auto device = open_lab_device(ctx);
    ASSERT_TRUE(lab.result.machine.gpu.has_value());
    EXPECT_EQ(lab.result.machine.gpu->name, device->report().name);
    EXPECT_NE(lab.log.str().find("GPU: " + device->report().name), std::string::npos) << lab.log.str();
  } catch (const Unavailable& e) {
    GTEST_SKIP() << "no Vulkan device here: " << e.what();
  }
}

TEST(GpuLab, TheContextsGpuChoiceIsTheSelector) {
  FakeLab lab;
  LabContext ctx = lab.context("definitely-not-a-gpu");
  try {
    open_lab_device(ctx);
    FAIL() << "a selector that names no device must not open one";
  } catch (const Unavailable& e) {
    GTEST_SKIP() << "no Vulkan device here: " << e.what();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("definitely-not-a-gpu"), std::string::npos) << e.what();
  }
}

TEST(GpuLab, AMissingTimestampNeedIsUnavailableNotAnError) {
  int opened = 0;
  for (const auto& d : list_devices()) {
    if (!d.error.empty()) continue;  // the listing's way of saying "no device"
    ++opened;
    FakeLab lab;
    LabContext ctx = lab.context(std::to_string(d.index));
    if (d.timestamps) {
      EXPECT_NO_THROW(open_lab_device(ctx, {.timestamps = true})) << d.name;
    } else {
      EXPECT_THROW(open_lab_device(ctx, {.timestamps = true}), Unavailable) << d.name;
    }
  }
  if (opened == 0) GTEST_SKIP() << "no Vulkan device here";
}

}  // namespace
}  // namespace dp::gpu

#endif  // DP_HAVE_GPU
