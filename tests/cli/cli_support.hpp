// cli_support.hpp — running the `dontpanic` binary in end-to-end tests, and what every run must
// satisfy: no crash (exit >= 128), no hang.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/process.hpp"
#include "support.hpp"

namespace dp::test {

// Runs the CLI and checks it neither crashed nor hung.
inline ProcessResult cli(std::vector<std::string> args, double timeout_seconds = 300) {
  auto r = run_cli(std::move(args), timeout_seconds);
  EXPECT_FALSE(r.timed_out);
  EXPECT_GE(r.exit_code, 0);
  EXPECT_LT(r.exit_code, 128) << r.output;
  return r;
}

// A run that must fail (exit 1-127) and say `words`.
inline ProcessResult expect_error(std::vector<std::string> args, const std::string& words) {
  const auto r = cli(std::move(args));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(words), std::string::npos) << "missing '" << words << "' in:\n" << r.output;
  return r;
}

inline nlohmann::json last_json(const std::string& output) {
  return nlohmann::json::parse(output.substr(output.find_first_of("[{")));
}

// A shell script, with $DP set to the dontpanic binary; output is stdout and stderr together.
inline ProcessResult shell(const std::string& script, double timeout_seconds = 300) {
  return run_process({"/bin/sh", "-c", std::string("DP='") + DP_CLI_PATH + "'\n" + script}, {}, timeout_seconds);
}

}  // namespace dp::test
