// workspace.hpp — the reader's own copies of the exercises, and the hints they have seen.
//
// $DONTPANIC_WORKSPACE/<id>/ when set, else ./exercises-work/<id>/ (beside where dontpanic runs).
// Nothing here ever overwrites the reader's file without keeping a copy.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "exercise/exercise.hpp"

namespace dp::ex {

std::filesystem::path workspace_root();
std::filesystem::path reader_file(const ExerciseInfo& info);  // <root>/<id>/<file>

// Copies the baseline into the workspace. Returns false (and changes nothing) when the reader's
// file is already there. Throws dp::Error when the folder cannot be made or written.
bool start_exercise(const ExerciseInfo& info);

// Puts the baseline back. The reader's version is kept beside it as <file>.bak (or .bak.2, ...);
// returns that path, or "" when there was no file to keep.
std::filesystem::path reset_exercise(const ExerciseInfo& info);

// hints.md, split at its "## " headings.
std::vector<std::string> load_hints(const ExerciseInfo& info);
// How many hints the reader has been shown (kept in the workspace), and recording one more.
int hints_seen(const ExerciseInfo& info);
void set_hints_seen(const ExerciseInfo& info, int count);

std::string read_text_file(const std::filesystem::path& path);  // throws dp::Error if unreadable

}  // namespace dp::ex
