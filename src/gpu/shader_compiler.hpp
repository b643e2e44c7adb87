// shader_compiler.hpp — GLSL to SPIR-V at run time (shaderc), with an on-disk cache.
//
// Index
//   ShaderSource    name (for messages and the cache file), GLSL text, #defines
//   CompileStats    how often a compile was done or served from the caches (tests read these)
//   ShaderCompiler  compile(): memory cache -> disk cache -> shaderc; owned by a Device
//   spirv_cache_dir()  where cached SPIR-V lives
//
// Why at run time: generated kernels (the graph compiler, tile sizes chosen per device) need it,
// and the learner can edit a shader and rerun without a build step. Compiling a matmul shader takes
// ~50 ms, so results are cached in $DONTPANIC_SPIRV_CACHE, else $XDG_CACHE_HOME/dontpanic/spirv,
// else ~/.cache/dontpanic/spirv, one file per (source, defines, target) hash. A cache that cannot
// be written is skipped silently: caching is an optimisation, never a reason to fail.
// `#include "file.glsl"` resolves against the shaders embedded from shaders/ (embedded_shaders.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dp::gpu {

struct ShaderSource {
  std::string name;  // "gpu-add/add.comp": appears in error messages and the cache file name
  std::string glsl;  // the whole compute shader, starting with #version
  std::vector<std::pair<std::string, std::string>> defines;  // {"TILE", "16"} -> #define TILE 16
};

struct CompileStats {
  int compiled = 0;     // shaderc ran
  int memory_hits = 0;  // served from this compiler's memory
  int disk_hits = 0;    // read from the on-disk cache
};

std::filesystem::path spirv_cache_dir();

class ShaderCompiler {
 public:
  // spirv_version: the target environment (Vulkan 1.2 -> SPIR-V 1.5, Vulkan 1.3 -> SPIR-V 1.6).
  explicit ShaderCompiler(std::uint32_t vulkan_api_version = (1u << 22) | (2u << 12));  // 1.2
  void set_vulkan_version(std::uint32_t vulkan_api_version);  // Device sets its device's version

  // SPIR-V words for `source`. Throws dp::Error naming the shader, the line and the compiler's
  // message when the GLSL does not compile.
  std::vector<std::uint32_t> compile(const ShaderSource& source);

  CompileStats stats() const;
  // The cache file a source maps to (whether or not it exists yet).
  std::filesystem::path cache_path(const ShaderSource& source) const;

 private:
  std::uint64_t key(const ShaderSource& source) const;
  std::uint32_t vulkan_api_version_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, std::vector<std::uint32_t>> memory_;
  CompileStats stats_;
};

}  // namespace dp::gpu
