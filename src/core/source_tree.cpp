#include "core/source_tree.hpp"

#include <cstdlib>

namespace dp {

std::filesystem::path source_dir() {
  const char* moved = std::getenv("DONTPANIC_SOURCE_DIR");
  return moved && *moved ? std::filesystem::path(moved) : std::filesystem::path(DP_SOURCE_DIR);
}

}  // namespace dp
