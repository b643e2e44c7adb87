// screenshot.cpp — glReadPixels -> PNG.
#include "app/screenshot.hpp"

#include <cstring>
#include <vector>

#include <GLFW/glfw3.h>
#include <fmt/format.h>
#include <stb_image_write.h>

#include "core/error.hpp"

namespace dp::app {

void save_screenshot(const std::string& path, int width, int height) {
  const auto row = static_cast<std::size_t>(width) * 3;
  std::vector<unsigned char> pixels(row * static_cast<std::size_t>(height));
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());
  std::vector<unsigned char> flipped(pixels.size());
  for (int y = 0; y < height; ++y)
    std::memcpy(&flipped[static_cast<std::size_t>(y) * row], &pixels[static_cast<std::size_t>(height - 1 - y) * row], row);
  if (!stbi_write_png(path.c_str(), width, height, 3, flipped.data(), static_cast<int>(row)))
    throw Error(fmt::format("cannot write the screenshot {} (is the folder writable?)", path));
}

}  // namespace dp::app
