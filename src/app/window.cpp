// window.cpp — GLFW + OpenGL 3.3 core + Dear ImGui.
#include "app/window.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>

#include "app/gl.hpp"
#include "core/error.hpp"

namespace dp::app {

namespace {
std::string last_glfw_error;  // GLFW reports errors through a callback without user data
void on_glfw_error(int code, const char* text) { last_glfw_error = fmt::format("{} (GLFW error {:#x})", text, code); }
}  // namespace

Window::Window(int width, int height, const std::string& title, bool vsync) {
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  if ((!display || !*display) && (!wayland || !*wayland))
    throw Unavailable("no display: DISPLAY is not set. Run it in a desktop session, or headless under Xvfb: "
                      "xvfb-run -a -s '-screen 0 1280x720x24' dontpanic app --frames 600 --screenshot app.png "
                      "(Debian: apt install xvfb xauth)");
  glfwSetErrorCallback(on_glfw_error);
  if (!glfwInit()) throw Unavailable(fmt::format("cannot open the display {}: {}", display ? display : "", last_glfw_error));
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_RESIZABLE, GLFW_TRUE);
  window_ = glfwCreateWindow(width, height, title.c_str(), nullptr, nullptr);
  if (!window_) {
    glfwTerminate();
    throw Unavailable(fmt::format("cannot create an OpenGL 3.3 core window: {} (Debian: apt install libgl1-mesa-dri "
                                  "for Mesa's drivers; `glxinfo -B` shows what the display offers)", last_glfw_error));
  }
  glfwMakeContextCurrent(window_);
  set_vsync(vsync);
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini left in the reader's folder
  ImGui::StyleColorsDark();
  ImGui_ImplGlfw_InitForOpenGL(window_, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");
}

Window::~Window() {
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window_);
  glfwTerminate();
}

bool Window::should_close() const { return glfwWindowShouldClose(window_); }
void Window::set_vsync(bool on) { glfwSwapInterval(on ? 1 : 0); }

void Window::begin_frame() {
  glfwPollEvents();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
}

void Window::end_frame() {
  ImGui::Render();
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

void Window::swap() { glfwSwapBuffers(window_); }
void Window::framebuffer_size(int& width, int& height) const { glfwGetFramebufferSize(window_, &width, &height); }

std::string Window::renderer() const {
  const auto* text = glGetString(GL_RENDERER);
  return text ? reinterpret_cast<const char*>(text) : "unknown";
}

}  // namespace dp::app
