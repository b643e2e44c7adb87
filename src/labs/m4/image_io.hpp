// image_io.hpp — the computer-vision labs' images: a photograph from disk as u8 or float planes.
//
// The photographs are the ones scikit-image ships in its data folder (Debian python3-skimage):
// camera.png (512 x 512, grey, the cameraman) and astronaut.png (512 x 512, RGB, Eileen
// Collins). They are read with stb_image (Debian libstb-dev), so a lab can run without OpenCV;
// where the file or the library is missing, load_photo throws dp::Unavailable saying which
// package brings it.
//
// Index
//   Image<T>        width x height x channels values of type T, rows top to bottom, channels
//                   interleaved (RGBRGB...), no padding between rows
//   kPhotoDir       where python3-skimage puts its photographs
//   load_photo()    a PNG as Image<uint8_t> with 1 (grey) or 3 (RGB) channels, as stored
//   tiled()         the image repeated `scale` times across and down (a bigger real image)
//   to_float()      u8 -> float in [0, 1] (value / 255)
//   describe()      "astronaut.png, 2048 x 2048 RGB (tiled 4 x 4)"
//   opencv_parallel_framework()  what OpenCV runs its threads on (where OpenCV is built in)
//   use_opencv_peer()  cv::setNumThreads for a lab's peer, and the note that says what ran
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"

#if defined(DP_HAVE_STB)
#include <stb_image.h>
#endif
#if defined(DP_HAVE_OPENCV)
#include <sstream>

#include <opencv2/core/utility.hpp>
#endif

namespace dp::image {

template <class T>
struct Image {
  int width = 0, height = 0, channels = 1;
  std::vector<T> data;  // height rows of width * channels values

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), data(static_cast<std::size_t>(w) * h * c) {}
  std::size_t row_values() const { return static_cast<std::size_t>(width) * channels; }
  std::size_t pixels() const { return static_cast<std::size_t>(width) * height; }
  T* row(int y) { return data.data() + static_cast<std::size_t>(y) * row_values(); }
  const T* row(int y) const { return data.data() + static_cast<std::size_t>(y) * row_values(); }
};

inline const std::filesystem::path kPhotoDir = "/usr/lib/python3/dist-packages/skimage/data";

// The PNG `name` from kPhotoDir (or a path), with the channels it is stored with (1 or 3; an
// alpha channel is dropped). Throws dp::Unavailable when the file or stb_image is missing.
inline Image<std::uint8_t> load_photo(const std::filesystem::path& name) {
  const std::filesystem::path path = name.is_absolute() ? name : kPhotoDir / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw dp::Unavailable(fmt::format("the photograph {} is missing: it comes with scikit-image's data "
                                      "(Debian: apt install python3-skimage; tools/setup installs it)", path.string()));
#if defined(DP_HAVE_STB)
  int w = 0, h = 0, stored = 0;
  if (!stbi_info(path.c_str(), &w, &h, &stored))
    throw dp::Error(fmt::format("{} is not an image stb_image can read: {}", path.string(), stbi_failure_reason()));
  const int channels = stored >= 3 ? 3 : 1;  // grey+alpha -> grey, RGBA -> RGB
  unsigned char* pixels = stbi_load(path.c_str(), &w, &h, &stored, channels);
  if (pixels == nullptr)
    throw dp::Error(fmt::format("stb_image could not decode {}: {}", path.string(), stbi_failure_reason()));
  Image<std::uint8_t> img(w, h, channels);
  std::copy_n(pixels, img.data.size(), img.data.begin());
  stbi_image_free(pixels);
  return img;
#else
  throw dp::Unavailable("this build has no stb_image to read PNG files (Debian: apt install libstb-dev, then "
                        "configure again; tools/setup installs it)");
#endif
}

// `img` repeated scale x scale times: a (scale*W) x (scale*H) image made of the real photograph,
// so that a lab can time the same picture out of cache as well as in it.
template <class T>
Image<T> tiled(const Image<T>& img, int scale) {
  if (scale <= 1) return img;
  Image<T> out(img.width * scale, img.height * scale, img.channels);
  for (int y = 0; y < out.height; ++y) {
    const T* src = img.row(y % img.height);
    T* dst = out.row(y);
    for (int t = 0; t < scale; ++t) std::copy_n(src, img.row_values(), dst + t * img.row_values());
  }
  return out;
}

inline Image<float> to_float(const Image<std::uint8_t>& img) {
  Image<float> out(img.width, img.height, img.channels);
  for (std::size_t i = 0; i < img.data.size(); ++i) out.data[i] = static_cast<float>(img.data[i]) / 255.0f;
  return out;
}

inline std::string describe(const std::string& name, const Image<std::uint8_t>& photo, int scale) {
  return fmt::format("{}, {} x {} {}{}", name, photo.width * scale, photo.height * scale,
                     photo.channels == 3 ? "RGB" : "grey",
                     scale > 1 ? fmt::format(" (the {} x {} photograph tiled {} x {})", photo.width, photo.height, scale, scale)
                               : std::string());
}

#if defined(DP_HAVE_OPENCV)
// The "Parallel framework:" line of OpenCV's build information ("pthreads", "TBB", "OpenMP").
inline std::string opencv_parallel_framework() {
  std::istringstream info(cv::getBuildInformation());
  for (std::string line; std::getline(info, line);)
    if (const auto at = line.find("Parallel framework:"); at != std::string::npos) {
      const auto value = line.find_first_not_of(' ', at + 19);
      return value == std::string::npos ? std::string("?") : line.substr(value);
    }
  return "not stated";
}
#endif

// Gives OpenCV `threads` threads for a lab's peer (cv::setNumThreads) and returns the note that
// says so: its version, what the lab times of it, the threads it reports, its parallel framework,
// whether its optimized code is on. In a build without OpenCV: the note that the peer is left out.
inline std::string use_opencv_peer(int threads, std::string_view timed) {
#if defined(DP_HAVE_OPENCV)
  cv::setNumThreads(threads);
  const int reported = cv::getNumThreads();
  return fmt::format("Peer: OpenCV {} ({}) with cv::setNumThreads({}): it reports {} thread{}, parallel framework '{}', "
                     "optimized code {}.", CV_VERSION, timed, threads, reported, reported == 1 ? "" : "s",
                     opencv_parallel_framework(), cv::useOptimized() ? "on" : "off");
#else
  (void)threads, (void)timed;
  return "OpenCV was not found when this was built (Debian: apt install libopencv-dev, then configure again): the peer is "
         "left out.";
#endif
}

}  // namespace dp::image
