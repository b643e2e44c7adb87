// integral_images_gpu.hpp — the summed-area table on a GPU (Vulkan, src/gpu), in two passes
// (shaders/scan/): rows.comp scans every row (one workgroup per row: a subgroup scan inside each
// 256-pixel chunk, shared memory between subgroups, a carry from chunk to chunk), then the
// columns, one of three ways (ColumnScan; kColumnScans lists them, column_scan_name() names them):
//   per_column  columns.comp: one thread per column runs down it, adding each value to the one
//               above (height dependent steps per thread, W + 1 threads)
//   blocked     columns_blocked.comp: segments of about sqrt(H) rows scanned in parallel, their
//               totals scanned per column, then added below (three dispatches, ~3 sqrt(H) steps)
//   blocked_batched  the same, each thread loading 8 rows before it adds and stores them
// Same layout and arithmetic as integral_images.hpp's Table: (W + 1) x (H + 1) uint32, row 0 and
// column 0 zeros, sums modulo 2^32. Compiled only where the build has the Vulkan layer
// (DP_HAVE_GPU); without it the lab skips its GPU variants with a note.
//
//   GpuSat sat(device);                  compiles the kernels (once)
//   GpuSat::Buffers b(device, w, h);     the image (u8, 4 to a word), the table, the segment totals
//   b.image.upload(...); sat.record(seq, b, w, h, scan);  or  Table t = sat.build(img, scan)  (blocking)
#pragma once

#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/gpu.hpp"
#include "labs/m4/image_io.hpp"
#include "labs/m4/integral_images.hpp"

namespace dp::integral {

enum class ColumnScan { per_column, blocked, blocked_batched };
inline constexpr std::array kColumnScans{ColumnScan::per_column, ColumnScan::blocked, ColumnScan::blocked_batched};

inline const char* column_scan_name(ColumnScan s) {
  return s == ColumnScan::per_column ? "a thread per column" : s == ColumnScan::blocked ? "blocked columns" : "blocked columns, 8 loads ahead";
}

// Rows per segment of the blocked column scan: the power of two nearest above sqrt(height), so
// a thread's dependent steps (segment_rows in phases 0 and 2, height / segment_rows in phase 1)
// stay near 3 sqrt(height).
inline std::uint32_t segment_rows_for(int height) {
  std::uint32_t s = 1;
  while (static_cast<std::uint64_t>(s) * s < static_cast<std::uint64_t>(height)) s *= 2;
  return s;
}

class GpuSat {
 public:
  struct Push {
    std::uint32_t width, height;
  };
  struct BlockedPush {
    std::uint32_t width, height, segment_rows, phase, batch;
  };

  // The device's side of one table: the image bytes (rounded up to whole words), the sums, and
  // one total per (segment, column) for the blocked column scan.
  struct Buffers {
    dp::gpu::Buffer image, table, totals;
    Buffers(dp::gpu::Device& device, int w, int h)
        : image(device, (static_cast<std::size_t>(w) * h + 3) / 4 * 4),
          table(device, (static_cast<std::size_t>(w) + 1) * (h + 1) * 4),
          totals(device, (static_cast<std::size_t>(w) + 1) * segments(h) * 4) {}
    static std::size_t segments(int h) {
      const std::uint32_t s = segment_rows_for(h);
      return (static_cast<std::size_t>(h) + s - 1) / s;
    }
  };

  explicit GpuSat(dp::gpu::Device& device)
      : device_(device),
        rows_(device, {.source = dp::gpu::builtin_shader("scan/rows.comp"), .buffers = 2, .push_bytes = sizeof(Push)}),
        columns_(device, {.source = dp::gpu::builtin_shader("scan/columns.comp"), .buffers = 1, .push_bytes = sizeof(Push)}),
        blocked_(device, {.source = dp::gpu::builtin_shader("scan/columns_blocked.comp"), .buffers = 2, .push_bytes = sizeof(BlockedPush)}) {}

  // Records the row pass alone (rows 1 .. h of the table hold each row's running sum): for timing
  // the passes apart.
  void record_rows(dp::gpu::Sequence& seq, Buffers& b, int w, int h) const {
    const Push push{static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h)};
    seq.dispatch(rows_, {b.image, b.table}, {std::min<std::uint32_t>(push.height, kMaxGroups)}, push);
  }

  // Records the row pass, a barrier, the column pass: the table of the image already in b.image.
  void record(dp::gpu::Sequence& seq, Buffers& b, int w, int h, ColumnScan scan) const {
    const Push push{static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h)};
    record_rows(seq, b, w, h);
    seq.barrier();
    const std::uint32_t column_groups = dp::gpu::groups_for(push.width + 1ull, 256);
    if (scan == ColumnScan::per_column) {
      seq.dispatch(columns_, {b.table}, {column_groups}, push);
      return;
    }
    const std::uint32_t rows = segment_rows_for(h), segments = static_cast<std::uint32_t>(Buffers::segments(h));
    for (const std::uint32_t phase : {0u, 1u, 2u}) {
      if (phase > 0) seq.barrier();
      seq.dispatch(blocked_, {b.table, b.totals}, {column_groups, phase == 1 ? 1u : segments},
                   BlockedPush{push.width, push.height, rows, phase, scan == ColumnScan::blocked_batched ? kLoadsAhead : 1u});
    }
  }

  // Upload, both passes, download: the whole round trip, blocking (for checks and tests).
  Table build(const Image<std::uint8_t>& in, ColumnScan scan) {
    if (in.channels != 1 || in.width < 1 || in.height < 1)
      throw dp::Error(fmt::format("the GPU table takes a grey u8 image of at least 1 x 1; this one is {} x {} with {} channels",
                                  in.width, in.height, in.channels));
    Buffers b(device_, in.width, in.height);
    b.image.upload(std::span<const std::uint8_t>(in.data));
    dp::gpu::Sequence seq(device_);
    seq.begin();
    record(seq, b, in.width, in.height, scan);
    seq.end();
    seq.run();
    Table t(in.width, in.height);
    b.table.download(std::span<std::uint32_t>(t.s));
    return t;
  }

  static constexpr std::uint32_t kMaxGroups = 65535;  // every Vulkan device launches this many in x
  static constexpr std::uint32_t kLoadsAhead = 8;     // blocked_batched: columns_blocked.comp's kBatch

 private:
  dp::gpu::Device& device_;
  dp::gpu::Kernel rows_, columns_, blocked_;
};

}  // namespace dp::integral

#endif  // DP_HAVE_GPU
