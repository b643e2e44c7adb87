#include "guide/selection.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "core/lab.hpp"

namespace dp::guide {

namespace {
std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return s;
}
}  // namespace

bool Selection::includes(int page_level, const std::vector<std::string>& page_tracks) const {
  if (page_level > level) return false;
  if (page_tracks.empty() || all_tracks) return true;
  return std::any_of(page_tracks.begin(), page_tracks.end(),
                     [&](const std::string& t) { return tracks.count(t) > 0; });
}

bool Selection::includes(const PageMeta& meta) const { return includes(meta.level, meta.tracks); }

std::string Selection::describe() const {
  const std::string levels = level == 1 ? "level 1" : fmt::format("levels 1-{}", level);
  if (all_tracks) return levels + ", common sections and every track";
  if (tracks.empty()) return levels + ", common sections only (no track chosen)";
  std::vector<std::string> upper_tracks;
  for (const auto& t : tracks) upper_tracks.push_back(upper(t));
  const std::string names = fmt::format("{}", fmt::join(upper_tracks, ", "));
  return fmt::format("{}, common sections plus the {} track{}", levels, names,
                     tracks.size() > 1 ? "s" : "");
}

std::string Selection::options_to_include(int page_level,
                                          const std::vector<std::string>& page_tracks) const {
  std::string options;
  if (page_level > level) options = fmt::format("--level {}", page_level);
  if (!page_tracks.empty() && !includes(1, page_tracks))
    options += fmt::format("{}--track {}", options.empty() ? "" : " ", page_tracks.front());
  return options;
}

Selection parse_selection(int level, const std::vector<std::string>& tracks) {
  if (level < 1 || level > 5)
    throw Error(fmt::format("--level {} is not valid; levels go from 1 (first read) to 5 (deepest)",
                            level));
  Selection s;
  s.level = level;
  for (const auto& t : tracks) {
    if (t == "all") {
      s.all_tracks = true;
    } else if (std::find(kTracks.begin(), kTracks.end(), t) != kTracks.end()) {
      s.tracks.insert(t);
    } else {
      throw Error(fmt::format("--track '{}' is not known; tracks are dl (deep learning), cg "
                              "(computer graphics), cv (computer vision), sp (signal processing) "
                              "or all",
                              t));
    }
  }
  return s;
}

std::string badge_text(int level, const std::vector<std::string>& tracks) {
  std::string text = fmt::format("L{}", level);
  for (const auto& t : tracks) text += " · " + upper(t);
  return text;
}

std::string track_name(const std::string& track) {
  if (track == "dl") return "deep learning";
  if (track == "cg") return "computer graphics";
  if (track == "cv") return "computer vision";
  if (track == "sp") return "signal processing";
  return track;
}

}  // namespace dp::guide
