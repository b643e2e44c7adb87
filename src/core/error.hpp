// error.hpp — the error types library code throws.
//
// Library code never exits: it throws dp::Error with a message a learner can act on
// ("what was wrong, what would be right"). Only main() turns it into one line and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace dp {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// This machine cannot run the lab (no Vulkan device, a missing optional library...): the lab is
// reported as skipped with the reason, which is not a failure of the lab itself.
class Unavailable : public Error {
 public:
  using Error::Error;
};

}  // namespace dp
