// builder.hpp — compiling the reader's file into a shared object the runner can load.
//
// The compiler and flags are the project's own (the compiler CMake found; Release: -O3
// -march=native), so the reader's code is built as the labs are. Builds are cached by the hash
// of everything that goes in (compiler, flags, the file, the exercise's header): a re-check of an
// unchanged file reuses its build.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <string>
#include <vector>

namespace dp::ex {

struct BuildRequest {
  std::filesystem::path source;       // the file to compile
  std::filesystem::path include_dir;  // the exercise's folder (its header)
  std::vector<std::string> extra_flags;
  bool sanitize = false;              // ASan + UBSan, -O1 -g: for finding the line of a crash
};

struct BuildOutcome {
  bool ok = false;
  std::filesystem::path shared_object;  // in the cache; valid when ok
  std::string compiler_output;          // as the compiler printed it (paths relative to the file's folder)
  bool reused = false;                  // found in the cache, nothing compiled
  std::string command;                  // the compile command, to show the reader on failure
};

// FNV-1a, 64 bits: the content hash that names a build (and a checked file in the progress).
std::uint64_t fnv1a64(std::string_view text, std::uint64_t h = 0xcbf29ce484222325ull);

// Where builds are kept: $DONTPANIC_EXERCISE_CACHE, else $XDG_CACHE_HOME/dontpanic/exercises,
// else ~/.cache/dontpanic/exercises.
std::filesystem::path build_cache_dir();

// Compiles (or finds in the cache) `request`. Never throws for a compile error: that is an outcome.
// Throws dp::Error when the compiler cannot be started or the cache cannot be written.
BuildOutcome build_shared_object(const BuildRequest& request);

// A GLSL exercise: compiles `shader` with shaderc (as the runner will) to report errors with their
// line numbers before anything runs. ok -> shared_object is the shader file itself. Throws
// dp::Unavailable when this build has no shader compiler (no Vulkan/shaderc).
BuildOutcome check_shader(const std::filesystem::path& shader);

// The compiler's runtime library for AddressSanitizer (to preload into the runner), "" if none.
std::string asan_runtime();

}  // namespace dp::ex
