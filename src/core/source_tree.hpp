#pragma once
// source_tree — where this build's source checkout lives (guide/, bench/, exercises/).
//
// The path is compiled into one file only (source_tree.cpp), not into every object: two checkouts
// of the same commit then compile every other file identically, and a compiler cache shares them.
#include <filesystem>

namespace dp {

// The checkout this binary was built from (CMake's PROJECT_SOURCE_DIR).
std::filesystem::path source_dir();

}  // namespace dp
