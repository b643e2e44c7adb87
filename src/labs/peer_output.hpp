// peer_output.hpp — what the labs share when they run a peer script (bench/peers/*.py) beside
// their own code: a scratch folder for the files both sides read and write, and the JSON the
// script prints as its last line.
//
//   PeerScratch scratch("nearest-neighbour");   // /tmp/dontpanic-nearest-neighbour-<pid>, removed at scope end
//   const auto proc = dp::run_process({python, script, "--dir", scratch.dir().string()}, {}, 600);
//   const nlohmann::json j = peer_json(proc.output);
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace dp::labs {

// The last line of a peer's output that starts a JSON object: numpy, torch and scipy may print
// warnings before it. Throws nlohmann::json::parse_error when there is none.
inline nlohmann::json peer_json(const std::string& output) {
  const auto start = output.rfind("\n{");
  return nlohmann::json::parse(start == std::string::npos ? output : output.substr(start + 1));
}

// A folder under the system's temp directory, named after the lab and this process, created now
// and removed with everything in it when this object goes out of scope (errors ignored: it is scratch).
class PeerScratch {
 public:
  explicit PeerScratch(const std::string& lab)
      : dir_(std::filesystem::temp_directory_path() / fmt::format("dontpanic-{}-{}", lab, ::getpid())) {
    std::filesystem::create_directories(dir_);
  }
  ~PeerScratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PeerScratch(const PeerScratch&) = delete;
  PeerScratch& operator=(const PeerScratch&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace dp::labs
