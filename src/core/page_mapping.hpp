// page_mapping.hpp — memory whose page size a lab chooses: base pages or transparent huge pages.
//
// Labs that ask what the TLB costs need the same buffer on 4 KiB pages and on 2 MiB pages. Linux
// backs an anonymous mapping with huge pages when it is 2 MiB-aligned and madvise(MADV_HUGEPAGE)
// asks for them (in the "madvise" mode; "always" does it unasked, MADV_NOHUGEPAGE keeps it off).
//
// Index
//   kHugePageBytes   2 MiB, the x86-64 and arm64 huge page
//   thp_mode()       the kernel's transparent-huge-page mode: "always", "madvise", "never" or ""
//   PageMapping      an anonymous mapping aligned to 2 MiB, huge pages advised on or off;
//                    huge_bytes() says how much the kernel really backed with huge pages
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dp {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// /sys/kernel/mm/transparent_hugepage/enabled reads "always [madvise] never", the bracketed word
// being the mode. Empty when the file is missing (no THP support).
std::string thp_mode();

class PageMapping {
 public:
  // `bytes` of zeroed memory starting on a 2 MiB boundary. Throws dp::Error when the mapping fails.
  PageMapping(std::size_t bytes, bool huge);
  ~PageMapping();
  PageMapping(const PageMapping&) = delete;
  PageMapping& operator=(const PageMapping&) = delete;

  std::byte* data() const { return data_; }
  bool advised() const { return advised_; }  // did the kernel accept the madvise?

  // How much of the mapping the kernel has backed with huge pages: the AnonHugePages line of the
  // mapping in /proc/self/smaps (0 where unknown).
  std::uint64_t huge_bytes() const;

 private:
  std::size_t mapped_;
  std::byte* raw_ = nullptr;
  std::byte* data_ = nullptr;
  bool advised_ = false;
};

}  // namespace dp
