#include "core/source_tree.hpp"

namespace dp {

std::filesystem::path source_dir() { return DP_SOURCE_DIR; }

}  // namespace dp
