// process.hpp — running a helper program (gnuplot, python3) and capturing what it prints.
#pragma once

#include <cstddef>
#include <cstdint>

#include <optional>
#include <string>
#include <vector>

namespace dp {

struct ProcessResult {
  int exit_code = -1;      // -1: could not start; 128+N: killed by signal N
  bool timed_out = false;
  std::string output;      // stdout and stderr together
};

// What a child may use, for code we do not trust to behave (an exercise's reader's code).
struct ProcessFence {
  std::string cwd;                       // run there ("" = here)
  std::vector<std::string> env;          // "NAME=value" added to (or replacing in) the environment
  std::uint64_t memory_bytes = 0;        // address-space limit (RLIMIT_AS); 0 = none
  std::size_t max_output = 64u << 20;    // keep the last this many bytes of output
};

// Runs argv[0] (searched on PATH) with `input` on its standard input; never throws. A child
// still running at the timeout is killed (SIGKILL, with every process it started).
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = {},
                          double timeout_seconds = 60, const ProcessFence& fence = {});

// Full path of `name` on PATH, if it is there and executable.
std::optional<std::string> find_program(const std::string& name);

}  // namespace dp

namespace dp {

// A Python interpreter that can import torch (for peer comparisons). Debian's torch lives in
// /usr/bin/python3's dist-packages, which a python3 earlier on PATH may not see, so that one
// is tried first. Takes a second or two (importing torch); never throws.
struct PythonTorch {
  std::string interpreter;
  std::string torch_version;
};
std::optional<PythonTorch> find_python_with_torch();

}  // namespace dp
