// support.hpp — small helpers shared by the tests: scratch folders and running the CLI.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "core/process.hpp"

namespace dp::test {

// A fresh folder under /tmp, removed when the object goes away.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("dp-scratch-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs the built `dontpanic` binary with `args`; output is stdout and stderr together.
inline ProcessResult run_cli(std::vector<std::string> args, double timeout_seconds = 300) {
  args.insert(args.begin(), DP_CLI_PATH);
  return run_process(args, {}, timeout_seconds);
}

}  // namespace dp::test
