// Tests of core/peak.hpp: the datasheet table by device name, and the CPU estimate's arithmetic.
#include <gtest/gtest.h>

#include "core/peak.hpp"

namespace dp {
namespace {

TEST(Peak, KnownGpusByName) {
  EXPECT_EQ(known_gpu_peak("NVIDIA H100 PCIe")->fp32_gflops, 51200);
  EXPECT_EQ(known_gpu_peak("NVIDIA H100 80GB HBM3")->fp16_gflops, 989400);  // SXM
  EXPECT_EQ(known_gpu_peak("NVIDIA H200")->fp32_gflops, 66900);
  EXPECT_EQ(known_gpu_peak("NVIDIA A100-SXM4-40GB")->fp32_gflops, 19500);
  EXPECT_FALSE(known_gpu_peak("llvmpipe (LLVM 15.0.6, 256 bits)").has_value());
}

TEST(Peak, CpuEstimateIsThreadsTimesClockTimes32) {
  MachineInfo m;
  m.threads = 2;
  const double mhz = cpu_mhz_now();
  const auto peak = estimated_cpu_peak(m);
  if (mhz <= 0) {
    EXPECT_FALSE(peak.has_value());
    GTEST_SKIP() << "this kernel reports no CPU clock";
  }
  ASSERT_TRUE(peak.has_value());
  // The clock moves between the two reads; the arithmetic must hold within that drift.
  EXPECT_NEAR(peak->fp32_gflops, 2 * mhz / 1000.0 * 32, 0.5 * 2 * mhz / 1000.0 * 32);
  EXPECT_EQ(peak->fp16_gflops, peak->fp32_gflops);
  EXPECT_NE(peak->source.find("2 threads"), std::string::npos) << peak->source;
}

}  // namespace
}  // namespace dp
