// page_mapping.cpp — mmap with room to align, madvise, and reading smaps back.
#include "core/page_mapping.hpp"

#include <sys/mman.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/machine.hpp"

namespace dp {

std::string thp_mode() {
  std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string text;
  std::getline(file, text);
  const auto open = text.find('['), close = text.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  return text.substr(open + 1, close - open - 1);
}

PageMapping::PageMapping(std::size_t bytes, bool huge) : mapped_(bytes + kHugePageBytes) {
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw Error(fmt::format("could not map {} for the chase; choose a smaller max-kib", format_bytes(mapped_)));
  raw_ = static_cast<std::byte*>(p);
  const auto address = reinterpret_cast<std::uintptr_t>(raw_);
  data_ = raw_ + ((kHugePageBytes - address % kHugePageBytes) % kHugePageBytes);
#ifdef MADV_HUGEPAGE
  advised_ = madvise(data_, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) == 0;
#else
  (void)huge;
#endif
}

PageMapping::~PageMapping() { munmap(raw_, mapped_); }

std::uint64_t PageMapping::huge_bytes() const {
  std::ifstream smaps("/proc/self/smaps");
  const auto here = reinterpret_cast<std::uintptr_t>(data_);
  bool ours = false;
  for (std::string line; std::getline(smaps, line);) {
    const std::string first = line.substr(0, line.find(' '));
    if (first.empty()) continue;
    if (first.back() != ':') {  // a mapping header: "start-end perms offset dev inode path"
      std::uintptr_t start = 0, end = 0;
      char dash = 0;
      std::istringstream(first) >> std::hex >> start >> dash >> end;
      ours = start <= here && here < end;
    } else if (ours && first == "AnonHugePages:") {
      std::uint64_t kib = 0;
      std::istringstream(line.substr(first.size())) >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

}  // namespace dp
