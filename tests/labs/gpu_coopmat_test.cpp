// The gpu-coopmat lab's host side (src/labs/m3/gpu_coopmat_error.hpp): inputs rounded to fp16 and
// bf16 to nearest, ties to even, NaN kept; the bf16 values the host checks against are exactly
// what the shader's widening (bits << 16) reads; the bounds; and that judge() and record_order()
// fail when they should.
#include <gtest/gtest.h>

#if defined(DP_HAVE_GPU)

#include <bit>
#include <cmath>
#include <sstream>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/runner.hpp"
#include "labs/m3/gpu_coopmat_error.hpp"
#include "support.hpp"

namespace dp::m3::coopmat {
namespace {

float round_one(float x, Input t) { return round_to({x}, t).values[0]; }
std::uint16_t bits_of(float x, Input t) { return round_to({x}, t).bits[0]; }

TEST(GpuCoopmat, RoundsToNearestTiesToEven) {
  // bf16 keeps 8 significant bits: next to 1 the step is 2^-7, so 1 + 2^-8 is a tie.
  EXPECT_EQ(round_one(1.0f + 0x1p-8f, Input::bf16), 1.0f);                  // tie: to the even 1.0
  EXPECT_EQ(round_one(1.0f + 3 * 0x1p-8f, Input::bf16), 1.0f + 0x1p-6f);    // tie: to even 1 + 2^-6
  EXPECT_EQ(round_one(1.0f + 0x1p-8f + 0x1p-20f, Input::bf16), 1.0f + 0x1p-7f);  // past the tie: up
  EXPECT_EQ(round_one(-1.0f - 0x1p-8f, Input::bf16), -1.0f);
  // fp16 keeps 11: next to 1 the step is 2^-10.
  EXPECT_EQ(round_one(1.0f + 0x1p-11f, Input::fp16), 1.0f);
  EXPECT_EQ(round_one(1.0f + 3 * 0x1p-11f, Input::fp16), 1.0f + 0x1p-9f);
  EXPECT_EQ(round_one(65504.0f, Input::fp16), 65504.0f);                    // fp16's largest
  EXPECT_TRUE(std::isinf(round_one(65520.0f, Input::fp16)));                // rounds past it
  EXPECT_NEAR(round_one(1e30f, Input::bf16), 1e30f, 1e30f * 0x1p-8f);      // bf16 has fp32's range
  EXPECT_TRUE(std::isinf(round_one(1e30f, Input::fp16)));                   // fp16 has not
}

TEST(GpuCoopmat, NanStaysNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(round_one(nan, Input::bf16)));
  EXPECT_TRUE(std::isnan(round_one(-nan, Input::fp16)));
  // A NaN whose payload sits only in the low 16 bits must not round to infinity (0x7F80).
  const float low_payload = std::bit_cast<float>(0x7f800001u);
  EXPECT_TRUE(std::isnan(round_one(low_payload, Input::bf16))) << std::hex << bits_of(low_payload, Input::bf16);
}

TEST(GpuCoopmat, Bf16ValuesAreWhatTheShaderWidens) {
  // vec4.comp turns a bf16 into a float as uintBitsToFloat(bits << 16): for every code, the value
  // the host's reference uses must be that float.
  for (std::uint32_t code = 0; code <= 0xffff; ++code) {
    const float shader = std::bit_cast<float>(code << 16);
    const float host = smallfloat::decode(code, smallfloat::kBF16);
    if (std::isnan(shader)) EXPECT_TRUE(std::isnan(host)) << code;
    else EXPECT_EQ(std::bit_cast<std::uint32_t>(host), code << 16) << code;
  }
}

TEST(GpuCoopmat, BoundsGrowWithTheTypeAndTheLength) {
  const Bounds fp32 = bounds_for(Input::fp32, kFp32Accumulation, 1024);
  const Bounds fp16 = bounds_for(Input::fp16, kFp32Accumulation, 1024);
  const Bounds bf16 = bounds_for(Input::bf16, kFp32Accumulation, 1024);
  EXPECT_DOUBLE_EQ(fp32.type, fp32.kernel);                // fp32 inputs are the reference's own
  EXPECT_DOUBLE_EQ(fp32.kernel, 1024 * 0x1p-24 / (1 - 1024 * 0x1p-24));  // gamma_K = K u / (1 - K u)
  EXPECT_NEAR(fp16.type - fp16.kernel, 2 * 0x1p-11, 1e-6); // (1 + u)^2 - 1 ~ 2u
  EXPECT_NEAR(bf16.type - bf16.kernel, 2 * 0x1p-8, 1e-4);
  EXPECT_GT(bounds_for(Input::fp32, kTensorCoreAccumulation, 1024).kernel, fp32.kernel);
  EXPECT_GT(bounds_for(Input::fp32, kFp32Accumulation, 4096).kernel, fp32.kernel);
}

TEST(GpuCoopmat, JudgeCountsElementsBeyondTheBound) {
  // A 2 x 2 C, both rows checked; sum |a||b| = 1 everywhere, so the bounds are absolute.
  const std::vector<std::size_t> rows{0, 1};
  const std::vector<double> want{1, 2, 3, 4}, abs(4, 1.0);
  const Bounds b{1e-6, 1e-3};
  Verdict v = judge({1, 2, 3, 4}, 2, rows, want, want, abs, b);
  EXPECT_EQ(v.kernel_over, 0u);
  EXPECT_EQ(v.type_over, 0u);
  EXPECT_EQ(v.relative_error, 0.0);

  v = judge({1, 2, 3.0001f, 4}, 2, rows, want, want, abs, b);  // beyond the kernel bound only
  EXPECT_EQ(v.kernel_over, 1u);
  EXPECT_EQ(v.type_over, 0u);
  EXPECT_NE(v.kernel_first.find("C[1][0]"), std::string::npos) << v.kernel_first;
  EXPECT_NEAR(v.relative_error, 1e-4 / 4, 1e-7);

  v = judge({1, std::nanf(""), 3, 4}, 2, rows, want, want, abs, b);  // an element never written
  EXPECT_EQ(v.kernel_over, 1u);
  EXPECT_EQ(v.type_over, 1u);
  EXPECT_TRUE(std::isinf(v.kernel_worst));
}

TEST(GpuCoopmat, OrderFailsWhenA16BitTypeIsNotWorseThanFp32) {
  const Variant fp32{"fp32-tiles", "", {}, Input::fp32}, fp16{"fp16-tiles", "", {}, Input::fp16},
      bf16{"bf16-tiles", "", {}, Input::bf16};
  CheckTally good{"order"}, bad{"order"};
  record_order({{&fp32, 1e-7}, {&fp16, 2e-4}, {&bf16, 2e-3}}, 256, good);
  record_order({{&fp32, 1e-7}, {&fp16, 2e-3}, {&bf16, 2e-3}}, 256, bad);  // fp16 as bad as bf16
  EXPECT_EQ(good.failed, 0);
  EXPECT_EQ(bad.failed, 1);
  EXPECT_NE(bad.first_failure.find("fp16-tiles 0.002"), std::string::npos) << bad.first_failure;
}

TEST(GpuCoopmat, ASizeThatIsNotAMultipleOf128IsAClearError) {
  const LabDef* lab = find_lab("gpu-coopmat");
  ASSERT_NE(lab, nullptr);
  test::ScratchDir dir;
  RunOptions options;
  options.quick = true;
  options.assignments = {"max-n=300"};
  options.out_dir = dir.path().string();
  options.plot = PlotMode::none;
  options.record_history = false;
  std::ostringstream out;
  try {
    run_lab(*lab, options, out);
    FAIL() << "max-n=300 must be refused";
  } catch (const Unavailable& e) {
    GTEST_SKIP() << "no Vulkan device here: " << e.what();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max-n=300 is not a multiple of 128"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("use e.g. 384"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dp::m3::coopmat

#endif  // DP_HAVE_GPU
