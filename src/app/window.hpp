// window.hpp — the app's window: GLFW, an OpenGL 3.3 core context, and Dear ImGui on top
// (its GLFW and OpenGL 3 backends). One object owns them all and tears them down in reverse.
#pragma once

#include <string>

struct GLFWwindow;

namespace dp::app {

class Window {
 public:
  // Throws dp::Unavailable, saying why, where there is no display or no OpenGL 3.3.
  Window(int width, int height, const std::string& title, bool vsync);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  bool should_close() const;
  void set_vsync(bool on);
  void begin_frame();   // poll events, start an ImGui frame
  void end_frame();     // render ImGui's draw lists (call after drawing the scene)
  void swap();
  void framebuffer_size(int& width, int& height) const;
  std::string renderer() const;  // GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"

 private:
  GLFWwindow* window_ = nullptr;
};

}  // namespace dp::app
