// watch.hpp — `dontpanic exercise watch <id>`: re-check on every save, with keys as in rustlings.
//
//   a save of the reader's file   re-check (inotify on its folder, so editors that save by
//                                 writing a new file and renaming it are seen too; debounced)
//   h  the next hint    c  check now    r  reset to the baseline (asks first)
//   l  the list of exercises            q  quit
// Without a terminal (stdin is a pipe or a file) or without inotify, it says so and falls back to
// "press Enter to re-check; q and Enter to quit".
#pragma once

#include <iosfwd>

#include "exercise/commands.hpp"

namespace dp::ex {

// Returns the exit code of the last check (0 correct, 1 not).
int watch_exercise(const ExerciseDef& def, const CheckCommand& command, std::ostream& out, std::ostream& err);

}  // namespace dp::ex
