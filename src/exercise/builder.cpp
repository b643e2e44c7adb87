#include "exercise/builder.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/process.hpp"
#include "exercise/workspace.hpp"  // read_text_file
#ifdef DP_HAVE_GPU
#include "gpu/shader_compiler.hpp"
#endif

namespace fs = std::filesystem;

namespace dp::ex {

namespace {

// The compiler CMake used for the project (DP_EXERCISE_CXX is set for this file alone).
const char* compiler() { return DP_EXERCISE_CXX; }

std::vector<std::string> project_flags(bool sanitize) {
  std::vector<std::string> flags = {"-std=c++20", "-fPIC", "-shared", "-Wall", "-Wextra"};
  if (sanitize) {
    for (const char* f : {"-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                          "-fno-sanitize-recover=all"})
      flags.emplace_back(f);
  } else {
    for (const char* f : {"-O3", "-DNDEBUG", "-march=native"}) flags.emplace_back(f);
  }
  return flags;
}

// Everything that makes one build differ from another: the compiler (and its version), the flags,
// the file, and every header in the exercise's folder it may include.
std::uint64_t build_key(const BuildRequest& r, const std::vector<std::string>& flags) {
  static const std::string version = run_process({compiler(), "--version"}, {}, 30).output;
  std::uint64_t h = fnv1a64(compiler());
  h = fnv1a64(version, h);
  for (const auto& f : flags) h = fnv1a64(f + '\n', h);
  h = fnv1a64(read_text_file(r.source), h);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(r.include_dir, ec))
    if (entry.path().extension() == ".hpp") h = fnv1a64(read_text_file(entry.path()), h);
  return h;
}

}  // namespace

std::uint64_t fnv1a64(std::string_view text, std::uint64_t h) {
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

fs::path build_cache_dir() {
  if (const char* dir = std::getenv("DONTPANIC_EXERCISE_CACHE"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg && xdg[0] == '/')
    return fs::path(xdg) / "dontpanic" / "exercises";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "dontpanic" / "exercises";
  return fs::temp_directory_path() / "dontpanic-exercises";
}

BuildOutcome build_shared_object(const BuildRequest& r) {
  std::vector<std::string> flags = project_flags(r.sanitize);
  flags.insert(flags.end(), r.extra_flags.begin(), r.extra_flags.end());
  flags.push_back("-I" + r.include_dir.string());

  const fs::path cache = build_cache_dir();
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) throw Error(fmt::format("cannot create the exercise build cache {}: {}; set DONTPANIC_EXERCISE_CACHE "
                                  "to a writable folder", cache.string(), ec.message()));
  BuildOutcome out;
  out.shared_object = cache / fmt::format("{:016x}.so", build_key(r, flags));
  if (fs::exists(out.shared_object)) {
    out.ok = out.reused = true;
    return out;
  }
  // Compile in the file's own folder, naming the file without its path, so the compiler's
  // messages say "transpose.cpp:12:5", as the reader sees the file. Write to a temporary name and
  // rename, so an interrupted build never leaves half a library in the cache.
  const fs::path partial = cache / fmt::format(".{}-{}.so.tmp", out.shared_object.stem().string(), getpid());
  std::vector<std::string> argv = {compiler()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {r.source.filename().string(), "-o", partial.string()});
  for (const auto& a : argv) out.command += (out.command.empty() ? "" : " ") + a;

  const ProcessResult run = run_process(argv, {}, 300, ProcessFence{.cwd = r.source.parent_path().string()});
  out.compiler_output = run.output;
  if (run.exit_code == -1) throw Error(fmt::format("cannot start the compiler {}: {}", compiler(), run.output));
  if (run.timed_out) {
    out.compiler_output += "\n(the compiler ran for 300 s and was stopped)";
    fs::remove(partial, ec);
    return out;
  }
  if (run.exit_code != 0) {
    fs::remove(partial, ec);
    return out;
  }
  fs::rename(partial, out.shared_object, ec);
  if (ec) throw Error(fmt::format("cannot store the build in {}: {}", cache.string(), ec.message()));
  out.ok = true;
  return out;
}

BuildOutcome check_shader(const fs::path& shader) {
#ifdef DP_HAVE_GPU
  BuildOutcome out;
  out.shared_object = shader;
  out.command = "shaderc (GLSL -> SPIR-V, as the runner compiles it)";
  try {
    gpu::ShaderCompiler compiler;
    compiler.compile({.name = shader.filename().string(), .glsl = read_text_file(shader)});
    out.ok = true;
  } catch (const Error& e) {
    out.compiler_output = e.what();
  }
  return out;
#else
  throw Unavailable(fmt::format("{} is a GPU exercise, and this build of dontpanic has no Vulkan and shaderc "
                                "(install libvulkan-dev, libshaderc-dev, glslang-dev and spirv-tools, then rebuild)",
                                shader.filename().string()));
#endif
}

std::string asan_runtime() {
  const ProcessResult r = run_process({compiler(), "-print-file-name=libasan.so"}, {}, 30);
  std::string path = r.output;
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  return r.exit_code == 0 && fs::path(path).is_absolute() && fs::exists(path) ? path : "";
}

}  // namespace dp::ex
