// embedded_shaders.hpp — the GLSL files under shaders/, compiled into the binary.
//
// src/gpu/embed_shaders.cmake turns every shaders/**/*.comp and *.glsl into a table at build time,
// so the binary runs anywhere (a GPU machine without our source tree) and the shaders still live
// in their own files where glslc and editors can read them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dp::gpu {

struct EmbeddedShader {
  const char* path;  // relative to shaders/: "add/add.comp"
  const char* text;
};

// The text of shaders/<path>; throws dp::Error listing what exists when the path is unknown.
std::string embedded_shader(std::string_view path);
// Every embedded shader, sorted by path.
const std::vector<EmbeddedShader>& embedded_shaders();

namespace detail {
const std::vector<EmbeddedShader>& embedded_shader_table();  // generated
}

}  // namespace dp::gpu
