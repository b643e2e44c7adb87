#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"

namespace dp::cli {

void check_level(int level, const std::string& option) {
  if (level < 1 || level > 5)
    throw Error(fmt::format("{} {} is out of range; levels go from 1 (first read) to 5", option, level));
}

void check_module(int module, const std::string& option) {
  if (module < 0 || module > 5)
    throw Error(fmt::format("{} {} is out of range; modules go from 0 to 5", option, module));
}

std::vector<std::string> check_tracks(const std::vector<std::string>& tracks) {
  std::vector<std::string> out;
  for (const auto& t : tracks) {
    if (t == "all") return kTracks;
    if (std::find(kTracks.begin(), kTracks.end(), t) == kTracks.end())
      throw Error(fmt::format("unknown track '{}'; the tracks are {} (deep learning, computer "
                              "graphics, computer vision, signal processing) or all",
                              t, fmt::join(kTracks, ", ")));
    out.push_back(t);
  }
  return out;
}

std::string unknown_lab_message(const std::string& id) {
  const std::string nearest = nearest_lab_id(id);
  return fmt::format("unknown lab '{}'{}; `dontpanic list` shows every lab", id,
                     nearest.empty() ? "" : fmt::format(" (did you mean '{}'?)", nearest));
}

}  // namespace dp::cli
