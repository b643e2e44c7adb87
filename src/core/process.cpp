#include "core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/interrupt.hpp"

namespace dp {

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return access(name.c_str(), X_OK) == 0 ? std::optional(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::stringstream ss(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    const auto candidate = (std::filesystem::path(dir) / name).string();
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

namespace {
// The environment for the child: ours, with `extra` ("NAME=value") added or replacing.
std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || x.rfind(name, 0) == 0;
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}
}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input,
                          double timeout_seconds, const ProcessFence& fence) {
  ProcessResult result;
  if (argv.empty()) return result;
  const auto program = find_program(argv[0]);
  if (!program) {
    result.output = argv[0] + ": not found on PATH";
    return result;
  }
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return result;
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    close(in_pipe[0]);
    close(in_pipe[1]);
    return result;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> env_strings = child_environment(fence.env);
  std::vector<char*> envp;
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {  // child: only async-signal-safe calls from here on
    die_with_parent(parent);  // a killed dontpanic takes its gnuplot or python along
    setpgid(0, 0);            // its own process group: a timeout kills whatever it started too
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(out_pipe[1], STDERR_FILENO);
    if (!fence.cwd.empty() && chdir(fence.cwd.c_str()) != 0) _exit(126);
    if (fence.memory_bytes > 0) {
      const rlimit memory{fence.memory_bytes, fence.memory_bytes};
      setrlimit(RLIMIT_AS, &memory);
    }
    const rlimit no_core{0, 0};  // a crash is reported, not dumped
    setrlimit(RLIMIT_CORE, &no_core);
    execve(program->c_str(), args.data(), envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (pid < 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    return result;
  }
  const ChildGuard stop_on_interrupt(pid);  // Ctrl-C stops the child too
  // Feed the input while draining the output, so neither side can block the other.
  signal(SIGPIPE, SIG_IGN);
  std::size_t written = 0;
  if (input.empty()) {
    close(in_pipe[1]);
    in_pipe[1] = -1;
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
  char buffer[4096];
  bool output_open = true;
  while (output_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {in_pipe[1], POLLOUT, 0}};
    const int n = poll(fds, in_pipe[1] >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0) break;
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      const ssize_t got = read(out_pipe[0], buffer, sizeof buffer);
      if (got <= 0) output_open = false;
      else result.output.append(buffer, static_cast<std::size_t>(got));
      if (result.output.size() > 2 * fence.max_output)  // keep the tail: that is where a crash is
        result.output.erase(0, result.output.size() - fence.max_output);
    }
    if (in_pipe[1] >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t put = write(in_pipe[1], input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<std::size_t>(put);
      if (put <= 0 || written == input.size()) {
        close(in_pipe[1]);
        in_pipe[1] = -1;
      }
    }
  }
  if (in_pipe[1] >= 0) close(in_pipe[1]);
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  return result;
}

}  // namespace dp

namespace dp {

std::optional<PythonTorch> find_python_with_torch() {
  for (const char* candidate : {"/usr/bin/python3", "python3", "python"}) {
    const auto path = find_program(candidate);
    if (!path) continue;
    const auto run = run_process({*path, "-c", "import torch; print(torch.__version__)"}, {}, 120);
    if (run.exit_code != 0) continue;
    std::string version = run.output;
    // The version is the last non-empty line (torch may print warnings first).
    while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
    if (const auto nl = version.rfind('\n'); nl != std::string::npos) version = version.substr(nl + 1);
    return PythonTorch{*path, version};
  }
  return std::nullopt;
}

}  // namespace dp
