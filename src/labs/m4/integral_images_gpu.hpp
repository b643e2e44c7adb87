// integral_images_gpu.hpp — the summed-area table on a GPU (Vulkan, src/gpu), in two passes
// (shaders/scan/): rows.comp scans every row (one workgroup per row: a subgroup scan inside each
// 256-pixel chunk, shared memory between subgroups, a carry from chunk to chunk), then
// columns.comp runs down every column (one thread per column) adding each value to the one above.
// Same layout and arithmetic as integral_images.hpp's Table: (W + 1) x (H + 1) uint32, row 0 and
// column 0 zeros, sums modulo 2^32. Compiled only where the build has the Vulkan layer
// (DP_HAVE_GPU); without it the lab skips its GPU variants with a note.
//
//   GpuSat sat(device);                  compiles both kernels (once)
//   GpuSat::Buffers b(device, w, h);     the image (u8, 4 to a word) and the table on the device
//   b.image.upload(...); sat.record(seq, b, w, h);  or  Table t = sat.build(img)  (all blocking)
#pragma once

#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/gpu.hpp"
#include "labs/m4/image_io.hpp"
#include "labs/m4/integral_images.hpp"

namespace dp::integral {

class GpuSat {
 public:
  struct Push {
    std::uint32_t width, height;
  };

  // The device's side of one table: the image bytes (rounded up to whole words) and the sums.
  struct Buffers {
    dp::gpu::Buffer image, table;
    Buffers(dp::gpu::Device& device, int w, int h)
        : image(device, (static_cast<std::size_t>(w) * h + 3) / 4 * 4), table(device, (static_cast<std::size_t>(w) + 1) * (h + 1) * 4) {}
  };

  explicit GpuSat(dp::gpu::Device& device)
      : device_(device),
        rows_(device, {.source = dp::gpu::builtin_shader("scan/rows.comp"), .buffers = 2, .push_bytes = sizeof(Push)}),
        columns_(device, {.source = dp::gpu::builtin_shader("scan/columns.comp"), .buffers = 1, .push_bytes = sizeof(Push)}) {}

  // Records both passes, a barrier between them: the table of the image already in b.image.
  void record(dp::gpu::Sequence& seq, Buffers& b, int w, int h) const {
    const Push push{static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h)};
    seq.dispatch(rows_, {b.image, b.table}, {std::min<std::uint32_t>(push.height, kMaxGroups)}, push);
    seq.barrier();
    seq.dispatch(columns_, {b.table}, {dp::gpu::groups_for(push.width + 1ull, 256)}, push);
  }

  // Upload, both passes, download: the whole round trip, blocking (for checks and tests).
  Table build(const Image<std::uint8_t>& in) {
    if (in.channels != 1 || in.width < 1 || in.height < 1)
      throw dp::Error(fmt::format("the GPU table takes a grey u8 image of at least 1 x 1; this one is {} x {} with {} channels",
                                  in.width, in.height, in.channels));
    Buffers b(device_, in.width, in.height);
    b.image.upload(std::span<const std::uint8_t>(in.data));
    dp::gpu::Sequence seq(device_);
    seq.begin();
    record(seq, b, in.width, in.height);
    seq.end();
    seq.run();
    Table t(in.width, in.height);
    b.table.download(std::span<std::uint32_t>(t.s));
    return t;
  }

  static constexpr std::uint32_t kMaxGroups = 65535;  // every Vulkan device launches this many in x

 private:
  dp::gpu::Device& device_;
  dp::gpu::Kernel rows_, columns_;
};

}  // namespace dp::integral

#endif  // DP_HAVE_GPU
