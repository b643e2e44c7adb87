// Test entry point: keeps tests away from the user's own history and caches.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const fs::path scratch = fs::temp_directory_path() / ("dontpanic-tests-" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  setenv("DONTPANIC_HISTORY", (scratch / "history.sqlite").c_str(), 0);
  setenv("XDG_CACHE_HOME", (scratch / "cache").c_str(), 0);
  // Vulkan validation layers on in every test build: any validation message fails the test.
  setenv("DONTPANIC_GPU_VALIDATION", "1", 0);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return rc;
}
