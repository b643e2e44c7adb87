// `dontpanic exercise watch` driven as a reader would drive it: in a pseudo-terminal (forkpty), a
// save re-checks, `h` shows a hint, `q` quits; and without a terminal it falls back to Enter.
#include <gtest/gtest.h>

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/process.hpp"
#include "support.hpp"

namespace dp::test {
namespace {

// dontpanic running in a pseudo-terminal, with its output collected as it comes.
class PtySession {
 public:
  PtySession(const ScratchDir& dir, std::vector<std::string> args) {
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      setenv("DONTPANIC_WORKSPACE", (dir / "work").c_str(), 1);
      setenv("DONTPANIC_HISTORY", (dir / "history.sqlite").c_str(), 1);
      setenv("DONTPANIC_EXERCISE_CACHE", (dir / "cache").c_str(), 1);
      std::vector<char*> argv = {const_cast<char*>(DP_CLI_PATH)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(DP_CLI_PATH, argv.data());
      _exit(127);
    }
  }
  ~PtySession() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  bool started() const { return pid_ > 0; }

  // Reads until `text` appears after position `from` of the output, or `seconds` pass.
  bool wait_for(const std::string& text, std::size_t from, double seconds = 120) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (output_.find(text, from) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd fd{master_, POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t got = read(master_, buffer, sizeof buffer);
      if (got <= 0) return output_.find(text, from) != std::string::npos;  // the program ended
      output_.append(buffer, static_cast<std::size_t>(got));
    }
    return true;
  }
  void press(char key) { ASSERT_EQ(write(master_, &key, 1), 1); }
  int wait_exit(double seconds = 30) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) return -1;
      wait_for("\x01never\x01", output_.size(), 0.05);  // keep draining the terminal
    }
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& output() const { return output_; }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string output_;
};

TEST(ExerciseWatch, ASaveRechecksHShowsAHintQQuits) {
  ScratchDir dir;
  const auto start = run_process({DP_CLI_PATH, "exercise", "start", "transpose"}, {}, 60,
                                 {.env = {"DONTPANIC_WORKSPACE=" + dir / "work"}});
  ASSERT_EQ(start.exit_code, 0) << start.output;

  PtySession watch(dir, {"exercise", "watch", "transpose", "--quick"});
  ASSERT_TRUE(watch.started());
  ASSERT_TRUE(watch.wait_for("watching", 0)) << watch.output();
  EXPECT_NE(watch.output().find("✓ correct"), std::string::npos) << watch.output();

  // A save (an editor's write of a changed file) triggers a check on its own.
  std::size_t mark = watch.output().size();
  std::ofstream(dir / "work/transpose/transpose.cpp", std::ios::app) << "\n// an edit\n";
  ASSERT_TRUE(watch.wait_for("saved: checking again", mark)) << watch.output();
  ASSERT_TRUE(watch.wait_for("watching", mark)) << watch.output();

  mark = watch.output().size();
  watch.press('h');
  ASSERT_TRUE(watch.wait_for("Hint 1 of 3", mark)) << watch.output();

  watch.press('q');
  EXPECT_EQ(watch.wait_exit(), 0) << watch.output();
}

TEST(ExerciseWatch, WithoutATerminalEnterRechecksAndQQuits) {
  ScratchDir dir;
  const ProcessFence env{.env = {"DONTPANIC_WORKSPACE=" + dir / "work", "DONTPANIC_HISTORY=" + dir / "history.sqlite",
                                 "DONTPANIC_EXERCISE_CACHE=" + dir / "cache"}};
  ASSERT_EQ(run_process({DP_CLI_PATH, "exercise", "start", "transpose"}, {}, 60, env).exit_code, 0);
  const auto r = run_process({DP_CLI_PATH, "exercise", "watch", "transpose", "--quick"}, "\nq\n", 300, env);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("press Enter to re-check"), std::string::npos) << r.output;
  // One check at the start, one for the Enter.
  const auto first = r.output.find("✓ correct");
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_NE(r.output.find("✓ correct", first + 1), std::string::npos) << r.output;
}

}  // namespace
}  // namespace dp::test
