// screenshot.hpp — the window's picture as a PNG: glReadPixels from the frame just drawn, rows
// flipped (GL counts from the bottom), written by stb_image_write.
#pragma once

#include <string>

namespace dp::app {

// Reads the back buffer (call before swapping) of size width x height and writes `path`.
// Throws dp::Error when the file cannot be written.
void save_screenshot(const std::string& path, int width, int height);

}  // namespace dp::app
