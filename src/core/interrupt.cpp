#include "core/interrupt.hpp"

#include <signal.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <array>
#include <atomic>
#include <cstring>

namespace dp {

namespace {

constexpr int kSlots = 16;
constexpr std::size_t kPathBytes = 4096;

// A slot is claimed by compare-and-swap on `used`, filled, then published by `ready`: the
// handler reads only ready slots, so it never sees half a path.
struct FileSlot {
  std::atomic<bool> used{false};
  std::atomic<bool> ready{false};
  char path[kPathBytes] = {};
};
struct ChildSlot {
  std::atomic<pid_t> pid{0};
};

std::array<FileSlot, kSlots> g_files;
std::array<ChildSlot, kSlots> g_children;

void on_interrupt(int signal) {
  for (auto& child : g_children)
    if (const pid_t pid = child.pid.load(); pid > 0) kill(pid, SIGTERM);
  for (auto& file : g_files)
    if (file.ready.load()) unlink(file.path);
  static const char message[] = "\ndontpanic: interrupted\n";
  [[maybe_unused]] const auto n = write(STDERR_FILENO, message, sizeof message - 1);
  // Die of the same signal, so whoever started us sees "interrupted by SIGINT" (a shell loop stops).
  ::signal(signal, SIG_DFL);
  raise(signal);
}

}  // namespace

void install_interrupt_cleanup() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);  // one cleanup at a time
  sigaddset(&action.sa_mask, SIGTERM);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

TempFileGuard::TempFileGuard(const std::string& path) {
  if (path.size() + 1 > kPathBytes) return;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!g_files[static_cast<std::size_t>(i)].used.compare_exchange_strong(expected, true)) continue;
    auto& slot = g_files[static_cast<std::size_t>(i)];
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.ready.store(true);
    slot_ = i;
    return;
  }
}

TempFileGuard::~TempFileGuard() {
  if (slot_ < 0) return;
  auto& slot = g_files[static_cast<std::size_t>(slot_)];
  slot.ready.store(false);
  slot.used.store(false);
}

ChildGuard::ChildGuard(pid_t pid) {
  for (int i = 0; i < kSlots; ++i) {
    pid_t expected = 0;
    if (g_children[static_cast<std::size_t>(i)].pid.compare_exchange_strong(expected, pid)) {
      slot_ = i;
      return;
    }
  }
}

ChildGuard::~ChildGuard() {
  if (slot_ >= 0) g_children[static_cast<std::size_t>(slot_)].pid.store(0);
}

void die_with_parent(pid_t parent) {
#if defined(__linux__)
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1);  // the parent is already gone: nobody to serve
#else
  (void)parent;
#endif
}

}  // namespace dp
