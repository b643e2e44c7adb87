// shader_compiler.cpp — shaderc with a memory cache and a disk cache in front.
#include "gpu/shader_compiler.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <shaderc/shaderc.hpp>
#include <unistd.h>
#include <vulkan/vulkan.h>

#include "core/error.hpp"
#include "gpu/embedded_shaders.hpp"

namespace dp::gpu {
namespace {

constexpr std::uint32_t kSpirvMagic = 0x07230203;
// A cache entry: this tag, the FNV-1a checksum of the SPIR-V words (two 32-bit words), then the
// words. A damaged entry fails the checksum and is compiled again, never handed to the driver.
constexpr std::uint32_t kCacheTag = 0x31565044;  // "DPV1"

// FNV-1a, 64 bit: stable across runs and compilers, unlike std::hash.
struct Fnv1a {
  std::uint64_t h = 14695981039346656037ull;
  void add_bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  void add(std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // a separator, so ("ab","c") and ("a","bc") differ
  }
};

// `#include "x.glsl"` -> the embedded shaders/x.glsl (or a path relative to the including file).
class EmbeddedIncluder : public shaderc::CompileOptions::IncluderInterface {
  struct Held {
    std::string name, text;
    shaderc_include_result result{};
  };

 public:
  shaderc_include_result* GetInclude(const char* requested, shaderc_include_type, const char* requesting,
                                     size_t) override {
    auto held = std::make_unique<Held>();
    std::string dir = requesting;
    dir = dir.find('/') == std::string::npos ? "" : dir.substr(0, dir.rfind('/') + 1);
    for (const std::string& candidate : {dir + requested, std::string(requested)}) {
      for (const auto& s : embedded_shaders())
        if (candidate == s.path) {
          held->name = candidate;
          held->text = s.text;
        }
      if (!held->name.empty()) break;
    }
    if (held->name.empty()) held->text = fmt::format("no built-in shader '{}' under shaders/", requested);
    held->result = {held->name.c_str(), held->name.size(), held->text.c_str(), held->text.size(), held.get()};
    return &held.release()->result;
  }
  void ReleaseInclude(shaderc_include_result* result) override {
    delete static_cast<Held*>(result->user_data);
  }
};

std::string first_errors(const std::string& messages) {
  // shaderc writes "name:LINE: error: what" per problem, then "N errors generated."; keep 3.
  std::istringstream in(messages);
  std::string line, out;
  int kept = 0;
  while (std::getline(in, line) && kept < 3) {
    if (line.find("error") == std::string::npos || line.find("generated") != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += line;
    ++kept;
  }
  return out.empty() ? messages : out;
}

std::uint64_t checksum(const std::vector<std::uint32_t>& words) {
  Fnv1a f;
  f.add_bytes(words.data(), words.size() * 4);
  return f.h;
}

// Reads a cache entry. nullopt: no entry; an empty vector: an entry that is damaged.
std::optional<std::vector<std::uint32_t>> read_cache_entry(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  const auto bytes = static_cast<std::size_t>(in.tellg());
  std::vector<std::uint32_t> file(bytes / 4);
  in.seekg(0);
  if (bytes % 4 != 0 || bytes < 12 + 20 ||
      !in.read(reinterpret_cast<char*>(file.data()), static_cast<std::streamsize>(bytes)) || file[0] != kCacheTag)
    return std::vector<std::uint32_t>{};
  const std::uint64_t stored = file[1] | (std::uint64_t{file[2]} << 32);
  std::vector<std::uint32_t> words(file.begin() + 3, file.end());
  if (words[0] != kSpirvMagic || checksum(words) != stored) return std::vector<std::uint32_t>{};
  return words;
}

}  // namespace

std::filesystem::path spirv_cache_dir() {
  if (const char* dir = std::getenv("DONTPANIC_SPIRV_CACHE"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "dontpanic" / "spirv";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".cache" / "dontpanic" / "spirv";
  return std::filesystem::temp_directory_path() / "dontpanic-spirv";
}

ShaderCompiler::ShaderCompiler(std::uint32_t vulkan_api_version) { set_vulkan_version(vulkan_api_version); }

void ShaderCompiler::set_vulkan_version(std::uint32_t v) {
  std::lock_guard lock(mutex_);
  vulkan_api_version_ = v >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_2;
  memory_.clear();
}

std::uint64_t ShaderCompiler::key(const ShaderSource& source) const {
  Fnv1a f;
  unsigned int spv_version = 0, spv_revision = 0;
  shaderc_get_spv_version(&spv_version, &spv_revision);
  // The compiler's own version is part of the key: a new shaderc may make different SPIR-V.
  f.add(fmt::format("dp-spirv-2 vulkan {} spv {}.{} shaderc {}", vulkan_api_version_, spv_version, spv_revision,
                    DP_SHADERC_VERSION));
  f.add(source.glsl);
  for (const auto& [name, value] : source.defines) f.add(name + "=" + value);
  // Included files are part of the source too: with any #include, hash every embedded .glsl.
  if (source.glsl.find("#include") != std::string::npos)
    for (const auto& s : embedded_shaders())
      if (std::string_view(s.path).ends_with(".glsl")) f.add(s.text);
  return f.h;
}

std::filesystem::path ShaderCompiler::cache_path(const ShaderSource& source) const {
  std::string stem;
  for (char c : source.name) stem += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return spirv_cache_dir() / fmt::format("{}-{:016x}.spv", stem, key(source));
}

CompileStats ShaderCompiler::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::vector<std::uint32_t> ShaderCompiler::compile(const ShaderSource& source) {
  const std::uint64_t k = key(source);
  {
    std::lock_guard lock(mutex_);
    if (auto it = memory_.find(k); it != memory_.end()) {
      ++stats_.memory_hits;
      return it->second;
    }
  }
  const std::filesystem::path path = cache_path(source);

  // 1. The disk cache: an entry whose checksum matches its SPIR-V.
  const auto cached = read_cache_entry(path);
  if (cached && !cached->empty()) {
    std::lock_guard lock(mutex_);
    ++stats_.disk_hits;
    memory_[k] = *cached;
    return *cached;
  }
  if (cached)  // damaged (a bad disk, a copy cut short, an edit): compile again and replace it
    std::cerr << fmt::format("warning: the cached SPIR-V of shader '{}' ({}) is damaged (its checksum "
                             "does not match); compiling it again and replacing the entry\n",
                             source.name, path.string());

  // 2. shaderc.
  shaderc::Compiler compiler;
  shaderc::CompileOptions options;
  options.SetTargetEnvironment(shaderc_target_env_vulkan, vulkan_api_version_ >= VK_API_VERSION_1_3
                                                              ? shaderc_env_version_vulkan_1_3
                                                              : shaderc_env_version_vulkan_1_2);
  options.SetOptimizationLevel(shaderc_optimization_level_performance);
  options.SetIncluder(std::make_unique<EmbeddedIncluder>());
  for (const auto& [name, value] : source.defines) options.AddMacroDefinition(name, value);
  const std::string name = source.name.empty() ? "shader" : source.name;
  auto result = compiler.CompileGlslToSpv(source.glsl, shaderc_compute_shader, name.c_str(), options);
  if (result.GetCompilationStatus() != shaderc_compilation_status_success)
    throw Error(fmt::format("shader '{}' does not compile: {}; fix the GLSL at that line (name:line: "
                            "error)", name, first_errors(result.GetErrorMessage())));
  std::vector<std::uint32_t> words(result.cbegin(), result.cend());

  // 3. Store: write a temporary file, then rename, so a crash never leaves half a file behind.
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (!ec) {
    auto tmp = path;
    tmp += fmt::format(".tmp{}", static_cast<long>(::getpid()));
    std::ofstream out(tmp, std::ios::binary);
    const std::uint64_t sum = checksum(words);
    const std::uint32_t header[3] = {kCacheTag, static_cast<std::uint32_t>(sum), static_cast<std::uint32_t>(sum >> 32)};
    if (out.write(reinterpret_cast<const char*>(header), sizeof header) &&
        out.write(reinterpret_cast<const char*>(words.data()),
                  static_cast<std::streamsize>(words.size() * 4))) {
      out.close();
      std::filesystem::rename(tmp, path, ec);
    }
    if (ec || !out) std::filesystem::remove(tmp, ec);
  }
  std::lock_guard lock(mutex_);
  ++stats_.compiled;
  memory_[k] = words;
  return words;
}

}  // namespace dp::gpu
