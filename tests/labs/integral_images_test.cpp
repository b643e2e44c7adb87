// The integral-images lab's tables and box sums (src/labs/m4/integral_images.hpp): the serial and
// the parallel scan against uint64 sums on images with fewer rows than threads, the modulo-2^32
// wrap of a table that overflows while its box sums stay exact, and box sums from a padded table
// for kernels larger than the image; the GPU's two-pass table against the serial one (skipped
// without a Vulkan device).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "core/thread_team.hpp"
#include "labs/m4/image_filters.hpp"
#include "labs/m4/integral_images.hpp"
#include "labs/m4/integral_images_gpu.hpp"
#if defined(DP_HAVE_GPU)
#include <optional>

#include "core/error.hpp"
#include "gpu/gpu.hpp"
#endif

namespace {

using dp::image::Image;
using dp::integral::Table;
namespace in = dp::integral;

Image<std::uint8_t> random_image(int w, int h, std::mt19937& rng) {
  Image<std::uint8_t> img(w, h, 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& v : img.data) v = static_cast<std::uint8_t>(byte(rng));
  return img;
}

void expect_table(const Table& t, const std::vector<std::uint64_t>& want, const std::string& what) {
  ASSERT_EQ(t.s.size(), want.size()) << what;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) bad += t.s[i] != static_cast<std::uint32_t>(want[i]);
  EXPECT_EQ(bad, 0u) << what;
}

TEST(IntegralImages, SerialAndParallelMatchReference) {
  std::mt19937 rng(3);
  for (const auto& [w, h] : {std::pair{1, 1}, {7, 1}, {1, 9}, {16, 2}, {33, 17}, {64, 3}, {100, 101}}) {
    const auto img = random_image(w, h, rng);
    const auto want = in::reference_sat(img);
    Table t(w, h);
    in::sat_serial(img, t);
    expect_table(t, want, fmt::format("serial {}x{}", w, h));
    Table v(w, h);
    std::fill(v.s.begin(), v.s.end(), 0xdeadbeefu);
    in::sat_simd(img, v);
    expect_table(v, want, fmt::format("SIMD {}x{}", w, h));
    for (const int threads : {1, 2, 3, 5}) {  // 5 threads on 1 or 3 rows: empty bands
      Table p(w, h);
      std::fill(p.s.begin(), p.s.end(), 0xdeadbeefu);
      in::ParallelSat scan(img, p, threads);
      for (int round = 0; round < 2; ++round) {  // the barrier is reused from one table to the next
        dp::run_together(threads, [&](int i) { scan.job(i); });
        expect_table(p, want, fmt::format("parallel {}x{} on {} threads, round {}", w, h, threads, round));
      }
    }
  }
}

TEST(IntegralImages, TableWrapsButBoxSumsStayExact) {
  const int w = 4200, h = 4100;  // 255 * w * h = 4.39e9 > 2^32
  Image<std::uint8_t> img(w, h, 1);
  std::fill(img.data.begin(), img.data.end(), 255);
  Table t(w, h);
  in::sat_serial(img, t);
  const std::uint64_t total = 255ull * w * h;
  ASSERT_GT(total, 0xffffffffull);
  EXPECT_EQ(t.row(h)[w], static_cast<std::uint32_t>(total));
  Table v(w, h);
  in::sat_simd(img, v);
  EXPECT_EQ(v.s, t.s) << "the SIMD scan wraps the same way";
  // A 3 x 3 box at the far corner, from four sums that have all wrapped: still 255 * 9.
  const auto box = [&](int x0, int y0, int x1, int y1) { return t.row(y1 + 1)[x1 + 1] - t.row(y0)[x1 + 1] - t.row(y1 + 1)[x0] + t.row(y0)[x0]; };
  EXPECT_EQ(box(w - 3, h - 3, w - 1, h - 1), 255u * 9);
  EXPECT_EQ(box(w / 2, h / 2, w / 2 + 2, h / 2 + 2), 255u * 9);
}

TEST(IntegralImages, BoxFromPaddedTableMatchesReference) {
  std::mt19937 rng(5);
  for (const auto& [w, h] : {std::pair{1, 1}, {5, 3}, {40, 23}})
    for (const int k : {1, 3, 9, 15}) {
      const int pad = k / 2 + 1;  // more than needed is fine
      const auto img = random_image(w, h, rng);
      const auto p = in::padded(img, pad);
      Table t(p.width, p.height);
      in::sat_serial(p, t);
      Image<std::uint32_t> out(w, h, 1), running(w, h, 1);
      in::box_sat(t, pad, k, out);
      std::vector<std::uint32_t> col;
      dp::filters::box_running_sums(img, running, k, col, [](std::uint32_t s) { return s; });
      const auto want = dp::filters::reference(img, std::vector<double>(static_cast<std::size_t>(k) * k, 1.0), k);
      for (std::size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(out.data[i], static_cast<std::uint32_t>(want[i])) << w << "x" << h << " K=" << k << " at " << i;
        ASSERT_EQ(running.data[i], static_cast<std::uint32_t>(want[i])) << "running sums " << w << "x" << h << " K=" << k;
      }
    }
}

#if defined(DP_HAVE_GPU)
TEST(IntegralImages, BlockedColumnSegmentsAreNearTheSquareRootOfTheHeight) {
  EXPECT_EQ(in::segment_rows_for(1), 1u);
  EXPECT_EQ(in::segment_rows_for(4), 2u);
  EXPECT_EQ(in::segment_rows_for(5), 4u);
  EXPECT_EQ(in::segment_rows_for(512), 32u);
  EXPECT_EQ(in::segment_rows_for(4096), 64u);
}

// The GPU's table equals the serial one exactly, on random images whose rows are shorter than,
// equal to and longer than a workgroup's 256-pixel chunk, and on a white image whose sums wrap.
// Every column scan; the blocked ones' segments (a power of two near sqrt(height) rows) leave a
// short last segment at heights 3, 5, 7, 33 and 300 (300: segments of 32 rows, 8 loaded ahead
// four times, then 4 more), and one segment at heights 1 and 2.
TEST(IntegralImages, GpuTwoPassMatchesSerial) {
  std::optional<dp::gpu::Device> device;
  try {
    device.emplace(dp::gpu::DeviceOptions{.selector = {}, .validation = true});
  } catch (const dp::Unavailable& e) {
    GTEST_SKIP() << "no Vulkan device here: " << e.what();
  }
  in::GpuSat sat(*device);
  std::mt19937 rng(17);
  for (const auto& [w, h] : {std::pair{1, 1}, {3, 1}, {1, 5}, {255, 2}, {256, 3}, {257, 4}, {600, 33}, {97, 300}, {1029, 7}}) {
    const auto img = random_image(w, h, rng);
    Table t(w, h);
    in::sat_serial(img, t);
    for (const auto scan : in::kColumnScans)
      EXPECT_EQ(sat.build(img, scan).s, t.s) << w << "x" << h << ", " << in::column_scan_name(scan);
  }
  Image<std::uint8_t> white(16500, 1025, 1);  // 255 * 16500 * 1025 = 4.3e9 > 2^32: the last sums wrap
  std::fill(white.data.begin(), white.data.end(), 255);
  Table t(white.width, white.height);
  in::sat_serial(white, t);
  for (const auto scan : in::kColumnScans)
    EXPECT_EQ(sat.build(white, scan).s, t.s) << "wrapping modulo 2^32 as the CPU";
  const auto c = dp::gpu::validation_check(*device);
  EXPECT_TRUE(c.passed) << c.detail;
}
#endif

}  // namespace
