// renderer.cpp — GL 3.3 core points with additive blending (dense regions glow).
#include "app/renderer.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "app/gl.hpp"
#include "core/error.hpp"

namespace dp::app {

namespace {

const char* kVertex = R"(#version 330 core
layout(location = 0) in float x;
layout(location = 1) in float y;
void main() { gl_Position = vec4(x, y, 0.0, 1.0); }
)";

const char* kFragment = R"(#version 330 core
out vec4 colour;
void main() { colour = vec4(1.0, 0.55, 0.15, 0.5); }
)";

unsigned compile(GLenum kind, const char* source) {
  const GLuint s = glCreateShader(kind);
  glShaderSource(s, 1, &source, nullptr);
  glCompileShader(s);
  GLint ok = 0;
  glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
  if (!ok) {
    char log[1024] = {};
    glGetShaderInfoLog(s, sizeof log, nullptr, log);
    throw Error(fmt::format("the particle shader does not compile: {}", log));
  }
  return s;
}

}  // namespace

ParticleRenderer::ParticleRenderer() {
  const GLuint vs = compile(GL_VERTEX_SHADER, kVertex), fs = compile(GL_FRAGMENT_SHADER, kFragment);
  program_ = glCreateProgram();
  glAttachShader(program_, vs);
  glAttachShader(program_, fs);
  glLinkProgram(program_);
  glDeleteShader(vs);
  glDeleteShader(fs);
  GLint ok = 0;
  glGetProgramiv(program_, GL_LINK_STATUS, &ok);
  if (!ok) throw Error("the particle shaders do not link");
  glGenVertexArrays(1, &vao_);
  glGenBuffers(1, &vbo_);
}

ParticleRenderer::~ParticleRenderer() {
  glDeleteBuffers(1, &vbo_);
  glDeleteVertexArrays(1, &vao_);
  glDeleteProgram(program_);
}

void ParticleRenderer::draw(const Particles& p, int x, int y, int w, int h) {
  const int side = std::max(1, std::min(w, h));
  glViewport(x + (w - side) / 2, y + (h - side) / 2, side, side);
  glBindVertexArray(vao_);
  glBindBuffer(GL_ARRAY_BUFFER, vbo_);
  const auto n = static_cast<GLsizeiptr>(p.size());
  if (p.layout() == Layout::aos) {
    // Velocities travel too: the price of the interleaved layout when only positions are drawn.
    glBufferData(GL_ARRAY_BUFFER, n * static_cast<GLsizeiptr>(sizeof(Particle)), p.aos(), GL_STREAM_DRAW);
    glVertexAttribPointer(0, 1, GL_FLOAT, GL_FALSE, sizeof(Particle), reinterpret_cast<void*>(offsetof(Particle, x)));
    glVertexAttribPointer(1, 1, GL_FLOAT, GL_FALSE, sizeof(Particle), reinterpret_cast<void*>(offsetof(Particle, y)));
  } else {
    const GLsizeiptr bytes = n * static_cast<GLsizeiptr>(sizeof(float));
    glBufferData(GL_ARRAY_BUFFER, 2 * bytes, nullptr, GL_STREAM_DRAW);  // orphan last frame's
    glBufferSubData(GL_ARRAY_BUFFER, 0, bytes, p.soa_x());
    glBufferSubData(GL_ARRAY_BUFFER, bytes, bytes, p.soa_y());
    glVertexAttribPointer(0, 1, GL_FLOAT, GL_FALSE, sizeof(float), nullptr);
    glVertexAttribPointer(1, 1, GL_FLOAT, GL_FALSE, sizeof(float), reinterpret_cast<void*>(static_cast<std::intptr_t>(bytes)));
  }
  glEnableVertexAttribArray(0);
  glEnableVertexAttribArray(1);
  glEnable(GL_BLEND);
  glBlendFunc(GL_SRC_ALPHA, GL_ONE);  // additive: where particles crowd, the picture brightens
  glUseProgram(program_);
  glPointSize(2.0f);
  glDrawArrays(GL_POINTS, 0, static_cast<GLsizei>(n));
  glBindVertexArray(0);
  glUseProgram(0);
}

}  // namespace dp::app
