// Reading Fashion-MNIST's IDX files (src/data/fashion_mnist.hpp): a small set written here round
// trips; every damaged file gets an error naming the file and the problem; where tools/get-data has
// fetched the real set, it has the documented split (60,000 / 10,000, 6,000 / 1,000 per class).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/fashion_mnist.hpp"
#include "support.hpp"

namespace {

using dp::data::read_idx;

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

struct SmallSet {
  std::vector<std::uint8_t> images, labels, pixels, label_values;
};
SmallSet small_set(std::uint32_t count) {
  std::mt19937 rng(std::random_device{}());
  SmallSet s;
  put_u32(s.images, 0x803), put_u32(s.images, count), put_u32(s.images, 28), put_u32(s.images, 28);
  put_u32(s.labels, 0x801), put_u32(s.labels, count);
  for (std::uint32_t i = 0; i < count * 784; ++i) s.pixels.push_back(static_cast<std::uint8_t>(rng()));
  for (std::uint32_t i = 0; i < count; ++i) s.label_values.push_back(static_cast<std::uint8_t>(rng() % 10));
  s.images.insert(s.images.end(), s.pixels.begin(), s.pixels.end());
  s.labels.insert(s.labels.end(), s.label_values.begin(), s.label_values.end());
  return s;
}

std::string error_of(const std::string& images, const std::string& labels) {
  try {
    read_idx(images, labels);
  } catch (const dp::Error& e) {
    return e.what();
  }
  return "";
}

TEST(FashionMnist, ASmallSetRoundTrips) {
  dp::test::ScratchDir dir;
  const SmallSet s = small_set(5);
  write(dir / "i", s.images), write(dir / "l", s.labels);
  const auto set = read_idx(dir / "i", dir / "l");
  EXPECT_EQ(set.count, 5u);
  EXPECT_EQ(set.pixels_per_image(), 784u);
  EXPECT_EQ(set.pixels, s.pixels);
  EXPECT_EQ(set.labels, s.label_values);
  EXPECT_EQ(set.image(4)[783], s.pixels.back());
}

TEST(FashionMnist, DamagedFilesAreNamedWithTheirProblem) {
  dp::test::ScratchDir dir;
  const SmallSet s = small_set(3);
  write(dir / "l", s.labels);
  auto truncated = s.images;
  truncated.pop_back();
  write(dir / "i", truncated);
  EXPECT_NE(error_of(dir / "i", dir / "l").find("truncated"), std::string::npos);
  auto wrong_magic = s.images;
  wrong_magic[3] = 0x01;
  write(dir / "i", wrong_magic);
  EXPECT_NE(error_of(dir / "i", dir / "l").find("magic number"), std::string::npos);
  write(dir / "i", {0, 0, 8});
  EXPECT_NE(error_of(dir / "i", dir / "l").find("shorter than an IDX header"), std::string::npos);
  EXPECT_NE(error_of(dir / "missing", dir / "l").find("cannot open"), std::string::npos);
  write(dir / "i", s.images);
  auto bad_label = s.labels;
  bad_label.back() = 10;
  write(dir / "l", bad_label);
  EXPECT_NE(error_of(dir / "i", dir / "l").find("is not a class 0-9"), std::string::npos);
  write(dir / "l", small_set(4).labels);
  EXPECT_NE(error_of(dir / "i", dir / "l").find("has 3 images but"), std::string::npos);
}

TEST(FashionMnist, TheFetchedSetHasTheDocumentedSplit) {
  dp::data::LabelledImages train, test;
  try {
    train = dp::data::load_fashion_mnist(dp::data::Split::train);
    test = dp::data::load_fashion_mnist(dp::data::Split::test);
  } catch (const dp::Unavailable& e) {
    GTEST_SKIP() << e.what();
  }
  EXPECT_EQ(train.count, 60000u);
  EXPECT_EQ(test.count, 10000u);
  std::array<int, 10> train_per_class{}, test_per_class{};
  for (auto l : train.labels) ++train_per_class[l];
  for (auto l : test.labels) ++test_per_class[l];
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(train_per_class[c], 6000) << dp::data::kFashionMnistClasses[c];
    EXPECT_EQ(test_per_class[c], 1000) << dp::data::kFashionMnistClasses[c];
  }
  // Interleaved: the first 1,000 training images hold every class.
  std::array<int, 10> first{};
  for (std::size_t i = 0; i < 1000; ++i) ++first[train.labels[i]];
  for (int c = 0; c < 10; ++c) EXPECT_GT(first[c], 50);
}

TEST(FashionMnist, AbsentDataSaysHowToGetIt) {
  const char* old = std::getenv("XDG_DATA_HOME");
  const std::string saved = old ? old : "";
  dp::test::ScratchDir dir;
  setenv("XDG_DATA_HOME", dir.path().c_str(), 1);
  try {
    dp::data::load_fashion_mnist(dp::data::Split::test);
    ADD_FAILURE() << "no data, yet it loaded";
  } catch (const dp::Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("tools/get-data"), std::string::npos);
  }
  if (old) setenv("XDG_DATA_HOME", saved.c_str(), 1);
  else unsetenv("XDG_DATA_HOME");
}

}  // namespace
