// embedded_shaders.cpp — looking up the generated table of shaders.
#include "gpu/embedded_shaders.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::gpu {

const std::vector<EmbeddedShader>& embedded_shaders() { return detail::embedded_shader_table(); }

std::string embedded_shader(std::string_view path) {
  for (const auto& s : embedded_shaders())
    if (path == s.path) return s.text;
  std::string known;
  for (const auto& s : embedded_shaders()) known += fmt::format("{}{}", known.empty() ? "" : ", ", s.path);
  throw Error(fmt::format("no shader '{}' is built in; the shaders are: {} (files under shaders/, "
                          "embedded when the project is built)", path, known));
}

}  // namespace dp::gpu
