// gl_context.hpp — an OpenGL 3.3 core context for the graphics-2d lab: GLFW opens a hidden window
// (X11: it needs $DISPLAY; ./test starts an Xvfb), and the GL functions the lab calls are loaded
// through glfwGetProcAddress, by name, into one table (no loader library: the lab calls about
// forty functions, and a table of them is a dozen lines).
//
// Index
//   Gl           the function table; gl.DrawArrays(...) etc.
//   GlContext    RAII: glfwInit, a hidden 3.3 core window, the table loaded; throws dp::Error with
//                GLFW's own words when any step fails (no display, no GL 3.3, a missing function)
//   compile_program   vertex + fragment shader -> program, the compiler's log in the error
#pragma once

#if defined(DP_HAVE_GL)

#include <string>
#include <vector>

#define GLFW_INCLUDE_NONE
#include <GL/glcorearb.h>
#include <GLFW/glfw3.h>
#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::gl {

// X(type, name): every GL function the lab calls, loaded as gl.name from "gl" #name.
#define DP_GL_FUNCTIONS(X)                                                                              \
  X(PFNGLGETSTRINGPROC, GetString)                                                                      \
  X(PFNGLGETERRORPROC, GetError)                                                                        \
  X(PFNGLVIEWPORTPROC, Viewport)                                                                        \
  X(PFNGLCLEARCOLORPROC, ClearColor)                                                                    \
  X(PFNGLCLEARPROC, Clear)                                                                              \
  X(PFNGLENABLEPROC, Enable)                                                                            \
  X(PFNGLBLENDFUNCSEPARATEPROC, BlendFuncSeparate)                                                      \
  X(PFNGLFINISHPROC, Finish)                                                                            \
  X(PFNGLREADPIXELSPROC, ReadPixels)                                                                    \
  X(PFNGLPIXELSTOREIPROC, PixelStorei)                                                                  \
  X(PFNGLCREATESHADERPROC, CreateShader)                                                                \
  X(PFNGLSHADERSOURCEPROC, ShaderSource)                                                                \
  X(PFNGLCOMPILESHADERPROC, CompileShader)                                                              \
  X(PFNGLGETSHADERIVPROC, GetShaderiv)                                                                  \
  X(PFNGLGETSHADERINFOLOGPROC, GetShaderInfoLog)                                                        \
  X(PFNGLDELETESHADERPROC, DeleteShader)                                                                \
  X(PFNGLCREATEPROGRAMPROC, CreateProgram)                                                              \
  X(PFNGLATTACHSHADERPROC, AttachShader)                                                                \
  X(PFNGLLINKPROGRAMPROC, LinkProgram)                                                                  \
  X(PFNGLGETPROGRAMIVPROC, GetProgramiv)                                                                \
  X(PFNGLGETPROGRAMINFOLOGPROC, GetProgramInfoLog)                                                      \
  X(PFNGLDELETEPROGRAMPROC, DeleteProgram)                                                              \
  X(PFNGLUSEPROGRAMPROC, UseProgram)                                                                    \
  X(PFNGLGETUNIFORMLOCATIONPROC, GetUniformLocation)                                                    \
  X(PFNGLUNIFORM2FPROC, Uniform2f)                                                                      \
  X(PFNGLUNIFORM3FPROC, Uniform3f)                                                                      \
  X(PFNGLUNIFORM4FPROC, Uniform4f)                                                                      \
  X(PFNGLGENVERTEXARRAYSPROC, GenVertexArrays)                                                          \
  X(PFNGLBINDVERTEXARRAYPROC, BindVertexArray)                                                          \
  X(PFNGLDELETEVERTEXARRAYSPROC, DeleteVertexArrays)                                                    \
  X(PFNGLGENBUFFERSPROC, GenBuffers)                                                                    \
  X(PFNGLBINDBUFFERPROC, BindBuffer)                                                                    \
  X(PFNGLBUFFERDATAPROC, BufferData)                                                                    \
  X(PFNGLDELETEBUFFERSPROC, DeleteBuffers)                                                              \
  X(PFNGLVERTEXATTRIBPOINTERPROC, VertexAttribPointer)                                                  \
  X(PFNGLENABLEVERTEXATTRIBARRAYPROC, EnableVertexAttribArray)                                          \
  X(PFNGLVERTEXATTRIBDIVISORPROC, VertexAttribDivisor)                                                  \
  X(PFNGLDRAWARRAYSPROC, DrawArrays)                                                                    \
  X(PFNGLDRAWARRAYSINSTANCEDPROC, DrawArraysInstanced)                                                  \
  X(PFNGLGENFRAMEBUFFERSPROC, GenFramebuffers)                                                          \
  X(PFNGLBINDFRAMEBUFFERPROC, BindFramebuffer)                                                          \
  X(PFNGLDELETEFRAMEBUFFERSPROC, DeleteFramebuffers)                                                    \
  X(PFNGLGENRENDERBUFFERSPROC, GenRenderbuffers)                                                        \
  X(PFNGLBINDRENDERBUFFERPROC, BindRenderbuffer)                                                        \
  X(PFNGLDELETERENDERBUFFERSPROC, DeleteRenderbuffers)                                                  \
  X(PFNGLRENDERBUFFERSTORAGEPROC, RenderbufferStorage)                                                  \
  X(PFNGLFRAMEBUFFERRENDERBUFFERPROC, FramebufferRenderbuffer)                                          \
  X(PFNGLCHECKFRAMEBUFFERSTATUSPROC, CheckFramebufferStatus)                                            \
  X(PFNGLGENQUERIESPROC, GenQueries)                                                                    \
  X(PFNGLDELETEQUERIESPROC, DeleteQueries)                                                              \
  X(PFNGLBEGINQUERYPROC, BeginQuery)                                                                    \
  X(PFNGLENDQUERYPROC, EndQuery)                                                                        \
  X(PFNGLGETQUERYOBJECTUI64VPROC, GetQueryObjectui64v)

struct Gl {
#define DP_GL_MEMBER(type, name) type name = nullptr;
  DP_GL_FUNCTIONS(DP_GL_MEMBER)
#undef DP_GL_MEMBER
};

class GlContext {
 public:
  GlContext() {
    glfwSetErrorCallback([](int, const char* what) { last_error() = what; });
    if (glfwInit() != GLFW_TRUE) throw Error(fmt::format("GLFW could not start: {}", take_error()));
    glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
    glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
    glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
    window_ = glfwCreateWindow(64, 64, "dontpanic graphics-2d", nullptr, nullptr);
    if (window_ == nullptr) {
      const std::string why = take_error();
      glfwTerminate();
      throw Error(fmt::format("no OpenGL 3.3 core context: {}", why));
    }
    glfwMakeContextCurrent(window_);
    std::vector<std::string> missing;
#define DP_GL_LOAD(type, name)                                                        \
  gl.name = reinterpret_cast<type>(glfwGetProcAddress("gl" #name));                    \
  if (gl.name == nullptr) missing.push_back("gl" #name);
    DP_GL_FUNCTIONS(DP_GL_LOAD)
#undef DP_GL_LOAD
    if (!missing.empty()) {
      glfwDestroyWindow(window_);
      glfwTerminate();
      throw Error(fmt::format("the OpenGL driver lacks {} (and {} more)", missing.front(), missing.size() - 1));
    }
  }
  ~GlContext() {
    glfwDestroyWindow(window_);
    glfwTerminate();
  }
  GlContext(const GlContext&) = delete;
  GlContext& operator=(const GlContext&) = delete;

  std::string renderer() const { return text(GL_RENDERER); }
  std::string version() const { return text(GL_VERSION); }

  Gl gl;

 private:
  static std::string& last_error() {
    static std::string e;
    return e;
  }
  static std::string take_error() {
    std::string e = last_error().empty() ? std::string("no reason given") : last_error();
    last_error().clear();
    return e;
  }
  std::string text(GLenum what) const {
    const auto* s = reinterpret_cast<const char*>(gl.GetString(what));
    return s ? s : "?";
  }
  GLFWwindow* window_ = nullptr;
};

inline GLuint compile_program(const Gl& gl, const char* vertex, const char* fragment) {
  const auto stage = [&](GLenum kind, const char* src, const char* what) {
    const GLuint s = gl.CreateShader(kind);
    gl.ShaderSource(s, 1, &src, nullptr);
    gl.CompileShader(s);
    GLint ok = 0;
    gl.GetShaderiv(s, GL_COMPILE_STATUS, &ok);
    if (!ok) {
      char log[2048] = {};
      gl.GetShaderInfoLog(s, sizeof log, nullptr, log);
      gl.DeleteShader(s);
      throw Error(fmt::format("the {} shader does not compile: {}", what, log));
    }
    return s;
  };
  const GLuint vs = stage(GL_VERTEX_SHADER, vertex, "vertex");
  const GLuint fs = stage(GL_FRAGMENT_SHADER, fragment, "fragment");
  const GLuint p = gl.CreateProgram();
  gl.AttachShader(p, vs);
  gl.AttachShader(p, fs);
  gl.LinkProgram(p);
  gl.DeleteShader(vs);
  gl.DeleteShader(fs);
  GLint ok = 0;
  gl.GetProgramiv(p, GL_LINK_STATUS, &ok);
  if (!ok) {
    char log[2048] = {};
    gl.GetProgramInfoLog(p, sizeof log, nullptr, log);
    gl.DeleteProgram(p);
    throw Error(fmt::format("the shaders do not link: {}", log));
  }
  return p;
}

}  // namespace dp::gl

#endif  // DP_HAVE_GL
