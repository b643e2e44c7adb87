// fashion_mnist.hpp — the Fashion-MNIST images that tools/get-data keeps, read from their files.
//
// Index
//   data_dir()            $XDG_DATA_HOME/dontpanic/data, else ~/.local/share/dontpanic/data
//   LabelledImages        count images of rows x cols uint8 pixels, one label each
//   read_idx()            an images file and a labels file in MNIST's IDX format, checked
//   load_fashion_mnist()  the training (60,000) or test (10,000) set; says how to get it if absent
//   kFashionMnistClasses  the ten labels' names
//
// IDX: a big-endian header (magic 0x00000803 and three sizes for images, 0x00000801 and a count
// for labels), then the raw bytes. The split and the order are tools/fashion_mnist_idx.py's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace dp::data {

std::filesystem::path data_dir();
std::filesystem::path fashion_mnist_dir();

struct LabelledImages {
  std::size_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count x rows x cols
  std::vector<std::uint8_t> labels;  // count, each below 10

  std::size_t pixels_per_image() const { return rows * cols; }
  std::span<const std::uint8_t> image(std::size_t i) const {
    return {pixels.data() + i * pixels_per_image(), pixels_per_image()};
  }
};

// Throws dp::Error naming the file and what is wrong with it (magic, sizes, a short file, a label
// of 10 or more, image and label counts that differ).
LabelledImages read_idx(const std::filesystem::path& images, const std::filesystem::path& labels);

enum class Split { train, test };
// Throws dp::Unavailable, saying how to get the data, where the files are not there.
LabelledImages load_fashion_mnist(Split split);

inline constexpr const char* kFashionMnistClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

}  // namespace dp::data
