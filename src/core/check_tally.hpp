// check_tally.hpp — one check that a lab repeats at every size, reported as one line.
//
// A lab that checks the same property at many sizes records each size's outcome here and reports
// one check: "passed at all 7 sizes (largest: 65536 records: 0 values differ)", or, when any size
// failed, how many did and what the first failure showed. The report says what was seen, not just
// that it passed.
#pragma once

#include <string>

#include <fmt/format.h>

#include "core/result.hpp"

namespace dp {

struct CheckTally {
  std::string name;           // the check's name, e.g. "vector-copy holds the reference values"
  int sizes = 0;              // sizes recorded
  int failed = 0;             // of which failed
  std::string first_failure;  // what the first failing size showed
  std::string last;           // what the last (largest) size showed

  // `seen` says what this size showed, in words that read well whether it passed or not:
  // "4 KiB: 0 values differ", "65536 records: 12 own a new buffer".
  void record(bool passed, const std::string& seen) {
    ++sizes;
    last = seen;
    if (!passed && failed++ == 0) first_failure = seen;
  }

  // Adds the check to `result`. `passed_detail` says what held: "equal to the reference".
  void report(Result& result, const std::string& passed_detail) const {
    if (sizes == 0) {
      result.add_check(name, false, "never checked: no size was run");
      return;
    }
    result.add_check(name, failed == 0,
                     failed == 0 ? fmt::format("{} at all {} sizes (largest: {})", passed_detail, sizes, last)
                                 : fmt::format("{} of {} sizes failed; first: {}", failed, sizes, first_failure));
  }
};

}  // namespace dp
