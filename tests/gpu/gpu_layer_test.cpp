// Tests of the Vulkan compute layer (src/gpu) on whatever device is here; lavapipe on CI.
// Validation is on for every device these tests open, and each test fails on any message.
#include <gtest/gtest.h>

#if defined(DP_HAVE_GPU)

#include <bit>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

#include "core/check.hpp"
#include "core/error.hpp"
#include "gpu/gpu.hpp"
#include "support.hpp"

namespace dp::gpu {
namespace {

// Opens the default device with validation on; skips the test where no Vulkan device exists.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      device_.emplace(DeviceOptions{.selector = {}, .validation = true});
    } catch (const Unavailable& e) {
      GTEST_SKIP() << "no Vulkan device here: " << e.what();
    }
  }
  void TearDown() override {
    if (!device_) return;
    const ValidationCheck c = validation_check(*device_);
    EXPECT_TRUE(c.passed) << c.detail;
  }
  Device& device() { return *device_; }
  std::optional<Device> device_;
};

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(GpuDevices, ListingNeverThrowsAndMarksOneChosen) {
  const auto devices = list_devices();
  ASSERT_FALSE(devices.empty());
  if (!devices.front().error.empty()) GTEST_SKIP() << devices.front().error;
  int chosen = 0;
  for (const auto& d : devices) {
    if (!d.error.empty()) continue;
    chosen += d.chosen;
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.subgroup_size, 0u);
    EXPECT_GT(d.max_workgroup_invocations, 0u);
    EXPECT_FALSE(describe(d).empty());
    EXPECT_EQ(to_json(d)["name"], d.name);
  }
  EXPECT_EQ(chosen, 1);
}

TEST(GpuDevices, UnknownDeviceGivesClearError) {
  try {
    Device device(DeviceOptions{.selector = "no-such-gpu-anywhere", .validation = false});
    FAIL() << "a selector that matches nothing must throw";
  } catch (const Unavailable& e) {
    GTEST_SKIP() << "no Vulkan device here at all: " << e.what();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no Vulkan device matches"), std::string::npos) << what;
    EXPECT_NE(what.find("no-such-gpu-anywhere"), std::string::npos) << what;
  }
}

TEST(GpuDevices, EnvironmentVariableChoosesTheDevice) {
  setenv("DONTPANIC_GPU", "definitely-not-a-gpu", 1);
  bool threw = false;
  try {
    Device device(DeviceOptions{.selector = {}, .validation = false});
  } catch (const Unavailable&) {
    threw = true;  // no device at all: also an error, with the install hint
  } catch (const Error& e) {
    threw = std::string(e.what()).find("definitely-not-a-gpu") != std::string::npos;
  }
  unsetenv("DONTPANIC_GPU");
  EXPECT_TRUE(threw);
}

TEST_F(GpuTest, BuffersRoundTrip) {
  for (Memory memory : {Memory::device, Memory::host}) {
    const auto data = random_floats(10007, 1);
    Buffer buffer(device(), data.size() * sizeof(float), memory);
    buffer.upload(data);
    EXPECT_EQ(buffer.download_vector<float>(), data);
    // A partial transfer at an offset touches only its range.
    const std::vector<float> patch = {1.5f, 2.5f, 3.5f};
    buffer.upload(std::span<const float>(patch), 100 * sizeof(float));
    std::vector<float> back(3);
    buffer.download(std::span<float>(back), 100 * sizeof(float));
    EXPECT_EQ(back, patch);
    EXPECT_EQ(buffer.download_vector<float>()[99], data[99]);
    EXPECT_THROW(buffer.upload(std::span<const float>(patch), buffer.bytes() - 4), Error);
  }
}

TEST_F(GpuTest, AddKernelMatchesCpuOnRandomData) {
  const std::uint32_t n = 100'003;  // not a multiple of the workgroup size
  const auto a = random_floats(n, 2), b = random_floats(n, 3);
  Buffer ga(device(), n * 4), gb(device(), n * 4), gc(device(), n * 4);
  ga.upload(a);
  gb.upload(b);
  Kernel add(device(), {.source = builtin_shader("add/add.comp"), .buffers = 3, .push_bytes = 4,
                        .specialization = {256}});
  Sequence seq(device());
  seq.begin().dispatch(add, {ga, gb, gc}, {groups_for(n, 256)}, n).end();
  seq.run();
  std::vector<float> want(n);
  for (std::uint32_t i = 0; i < n; ++i) want[i] = a[i] + b[i];
  // IEEE addition is correctly rounded on both sides: the results must be identical.
  const auto got = gc.download_vector<float>();
  const auto r = compare(std::span<const float>(got), std::span<const float>(want));
  EXPECT_TRUE(r.passed) << r.detail;
}

TEST_F(GpuTest, PushAndSpecializationConstantsReachTheShader) {
  const std::uint32_t n = 1000;
  const auto x = random_floats(n, 4);
  Buffer gx(device(), n * 4, Memory::host), gy(device(), n * 4, Memory::host);
  gx.upload(x);
  Kernel scale(device(), {.source = builtin_shader("test/scale.comp"), .buffers = 2, .push_bytes = 8,
                          .specialization = {64, std::bit_cast<std::uint32_t>(0.25f)}});
  struct Push {
    std::uint32_t n;
    float alpha;
  } push{n, 2.0f};
  Sequence seq(device());
  seq.begin().dispatch(scale, {gx, gy}, {groups_for(n, 64)}, push).download(gy).end();
  seq.run();
  std::vector<float> want(n);
  for (std::uint32_t i = 0; i < n; ++i) want[i] = 2.0f * x[i] + 0.25f;
  const auto got = gy.download_vector<float>();
  const auto r = compare(std::span<const float>(got), std::span<const float>(want), {1e-6, 1e-6});
  EXPECT_TRUE(r.passed) << r.detail;
}

TEST_F(GpuTest, SequenceRerunsWithoutRerecordingAndTimestamps) {
  const std::uint32_t n = 4096;
  Buffer a(device(), n * 4), b(device(), n * 4), c(device(), n * 4);
  a.upload(std::vector<float>(n, 1.0f));
  b.upload(std::vector<float>(n, 2.0f));
  Kernel add(device(), {.source = builtin_shader("add/add.comp"), .buffers = 3, .push_bytes = 4,
                        .specialization = {256}});
  Sequence seq(device());
  seq.begin();
  const bool timestamps = device().report().timestamps;
  const std::uint32_t t0 = timestamps ? seq.timestamp() : 0;
  for (int i = 0; i < 10; ++i) seq.dispatch(add, {a, b, c}, {groups_for(n, 256)}, n).barrier();
  const std::uint32_t t1 = timestamps ? seq.timestamp() : 0;
  seq.end();
  EXPECT_EQ(seq.dispatches(), 10u);
  for (int run = 0; run < 3; ++run) {
    seq.run();
    if (timestamps) {
      EXPECT_GE(seq.gpu_ns(t0, t1), 0.0);
    }
  }
  EXPECT_EQ(c.download_vector<float>(), std::vector<float>(n, 3.0f));
  EXPECT_THROW(seq.dispatch(add, {a, b, c}, {1}, n), Error) << "dispatch outside begin/end";
  seq.begin();
  EXPECT_THROW(seq.dispatch(add, {a, b}, {1}, n), Error) << "wrong buffer count";
  EXPECT_THROW(seq.dispatch(add, {a, b, c}, {1}), Error) << "missing push constants";
}

TEST_F(GpuTest, ShaderCacheIsReusedOnASecondCompile) {
  test::ScratchDir dir;
  setenv("DONTPANIC_SPIRV_CACHE", dir.path().c_str(), 1);
  // A source no earlier run has seen, so the first compile really compiles.
  const std::string nonce = std::to_string(std::random_device{}()) + std::to_string(::getpid());
  ShaderSource source{"test/cache-probe", "#version 450\n// " + nonce + R"(
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer X { float x[]; };
void main() { x[gl_GlobalInvocationID.x] *= 2.0; }
)", {{"UNUSED", "1"}}};
  {
    Kernel k(device(), {.source = source, .buffers = 1});
    EXPECT_EQ(device().compiler().stats().compiled, 1);
    EXPECT_TRUE(std::filesystem::exists(device().compiler().cache_path(source)));
    Kernel again(device(), {.source = source, .buffers = 1});
    EXPECT_EQ(device().compiler().stats().memory_hits, 1);
  }
  {
    Device fresh(DeviceOptions{.selector = {}, .validation = true});  // a new process would do the same
    const auto t0 = std::chrono::steady_clock::now();
    Kernel k(fresh, {.source = source, .buffers = 1});
    const auto t1 = std::chrono::steady_clock::now();
    EXPECT_EQ(fresh.compiler().stats().compiled, 0);
    EXPECT_EQ(fresh.compiler().stats().disk_hits, 1);
    (void)(t1 - t0);
    // A different define is a different program: it compiles.
    source.defines = {{"UNUSED", "2"}};
    Kernel other(fresh, {.source = source, .buffers = 1});
    EXPECT_EQ(fresh.compiler().stats().compiled, 1);
    EXPECT_TRUE(validation_check(fresh).passed) << validation_check(fresh).detail;
  }
  unsetenv("DONTPANIC_SPIRV_CACHE");
}

TEST_F(GpuTest, BrokenShaderNamesItsLine) {
  ShaderSource broken{"test/broken.comp", R"(#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer X { float x[]; };
void main() {
  x[gl_GlobalInvocationID.x] = undeclared_thing;
}
)", {}};
  try {
    Kernel k(device(), {.source = broken, .buffers = 1});
    FAIL() << "a shader that does not compile must throw";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("test/broken.comp:5"), std::string::npos) << what;
    EXPECT_NE(what.find("undeclared_thing"), std::string::npos) << what;
  }
}

TEST_F(GpuTest, UnknownBuiltinShaderListsTheKnownOnes) {
  try {
    builtin_shader("no/such.comp");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("add/add.comp"), std::string::npos) << e.what();
  }
}

TEST_F(GpuTest, OutOfMemoryIsAClearError) {
  try {
    Buffer huge(device(), std::size_t{1} << 50);  // 1 PiB
    FAIL() << "a 1 PiB buffer cannot exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of"), std::string::npos) << e.what();
  }
}

TEST_F(GpuTest, ValidationMessagesAreRecordedAndFailTheCheck) {
  if (!device().validation_enabled()) GTEST_SKIP() << "vulkan-validationlayers is not installed";
  // The shader reads 8 bytes of push constants; the pipeline layout declares only 4: a
  // validation error at pipeline creation, which the driver itself would not notice.
  ShaderSource bad{"test/push-mismatch", R"(#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer X { float x[]; };
layout(push_constant) uniform Push { uint n; float alpha; };
void main() { x[0] = alpha * float(n); }
)", {}};
  try {
    Kernel k(device(), {.source = bad, .buffers = 1, .push_bytes = 4});
  } catch (const Error&) {
    // Some drivers also refuse the pipeline; the validation message is what this test is about.
  }
  const ValidationCheck c = validation_check(device());
  EXPECT_FALSE(c.passed) << "the validation layer should have reported the push-constant mismatch";
  EXPECT_NE(c.detail.find("message"), std::string::npos);
  device().clear_validation_messages();  // it was expected: do not fail TearDown
}

}  // namespace
}  // namespace dp::gpu

#endif  // DP_HAVE_GPU
