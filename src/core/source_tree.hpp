#pragma once
// source_tree — where this build's source checkout lives (guide/, bench/, exercises/).
//
// The path is compiled into one file only (source_tree.cpp), not into every object: two checkouts
// of the same commit then compile every other file identically, and a compiler cache shares them.
#include <filesystem>

namespace dp {

// The checkout this binary was built from (CMake's PROJECT_SOURCE_DIR), or $DONTPANIC_SOURCE_DIR
// where that is set: a binary copied to another machine (bench/gpu/make_bundle.sh) finds the
// peers' scripts and the exercises in the copy of the tree that travelled with it.
std::filesystem::path source_dir();

}  // namespace dp
