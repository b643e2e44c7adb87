// commands.hpp — the `dontpanic` subcommands. Each lives in its own cmd_<name>.cpp and adds
// itself to the CLI11 app; its callback stores the action that main() runs after parsing.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace dp {
struct LabDef;
}

namespace dp::cli {

// Exit codes, the same for every command.
enum Exit : int {
  kOk = 0,
  kCheckFailed = 1,   // a lab ran but a check against its reference failed
  kUsage = 2,         // bad input: unknown lab, bad parameter, unwritable path ...
  kNotReady = 3,      // doctor: a required part is missing; run: the lab cannot run here
};

struct CliState {
  std::function<int()> action;  // set by the chosen subcommand's callback
};

void add_doctor_command(CLI::App& app, CliState& state);
void add_list_command(CLI::App& app, CliState& state);
void add_run_command(CLI::App& app, CliState& state);
void add_tour_command(CLI::App& app, CliState& state);
void add_history_command(CLI::App& app, CliState& state);
void add_guide_command(CLI::App& app, CliState& state);
void add_exercise_command(CLI::App& app, CliState& state);
void add_profile_command(CLI::App& app, CliState& state);
void add_app_command(CLI::App& app, CliState& state);

// Can a profiler run here? `dontpanic profile` checks before it starts; `dontpanic doctor` reports.
struct ProfilerCheck {
  std::string tool;                // "perf" or "cachegrind"
  bool usable = false;
  bool hardware_counters = false;  // perf: cycles, instructions... (most virtual machines: no)
  std::string path;                // the program found on PATH
  std::string detail;              // usable: what it will count
  std::string why;                 // not usable: why, in words
  std::string fix;                 // not usable: what to do
};
ProfilerCheck check_perf();        // runs `perf stat -e task-clock -- true` and one hardware event
ProfilerCheck check_cachegrind();  // runs `valgrind --tool=cachegrind true`
int perf_event_paranoid();         // /proc/sys/kernel/perf_event_paranoid (99 where unreadable)

// Was `dontpanic app` built (GLFW, Dear ImGui, OpenGL, stb found)? `dontpanic doctor` reports it.
struct AppCheck {
  bool built = false;
  std::string detail;
  std::string fix;  // not built: the Debian packages to install
};
AppCheck check_app();

// Shared validation, so every command rejects bad filters with the same words.
void check_level(int level, const std::string& option);
void check_module(int module, const std::string& option);
std::vector<std::string> check_tracks(const std::vector<std::string>& tracks);  // "all" -> every track
std::string unknown_lab_message(const std::string& id);

// `dontpanic run <lab> --help`: the lab's parameters with their ranges and defaults.
void print_lab_parameters(const LabDef& lab, std::ostream& out);

}  // namespace dp::cli
