// selection.hpp — which pages a build of the guide contains: levels up to N, plus chosen tracks.
//
// A reader builds the guide at their level ("--level 2") and for the tracks they care about
// ("--track dl"). Pages with no track are common to everyone and always included up to the level;
// with no --track only those common pages are built, "--track all" includes every track.
//
// Index
//   Selection         the level and tracks of one build; includes(), describe()
//   parse_selection() checks --level/--track values with the same messages as `dontpanic list`
//   badge_text()      "L2 · DL": the short badge shown in the navigation
//   track_name()      "dl" -> "deep learning"
#pragma once

#include <set>
#include <string>
#include <vector>

#include "guide/page.hpp"

namespace dp::guide {

struct Selection {
  int level = 5;                    // include pages of level 1..level
  std::set<std::string> tracks;     // tracks whose pages are added to the common ones
  bool all_tracks = false;

  bool includes(const PageMeta& meta) const;
  bool includes(int page_level, const std::vector<std::string>& page_tracks) const;
  std::string describe() const;     // "levels 1-2, common sections plus the DL track"
  // The dontpanic options that would include a page of this level and tracks, given this build:
  // "--level 3", "--track dl", "--level 3 --track dl".
  std::string options_to_include(int page_level, const std::vector<std::string>& page_tracks) const;
};

// Throws dp::Error for a level outside 1..5 or a track other than dl, cg, cv, sp, all.
Selection parse_selection(int level, const std::vector<std::string>& tracks);

std::string badge_text(int level, const std::vector<std::string>& tracks);  // "L2 · DL"
std::string track_name(const std::string& track);                          // "deep learning"

}  // namespace dp::guide
