// interrupt.hpp — Ctrl-C and `kill` leave nothing behind: no half-written file, no orphan child.
//
// install_interrupt_cleanup() sets SIGINT/SIGTERM handlers (main() calls it once). While a
// TempFileGuard or ChildGuard is alive, a signal removes that temporary file or stops that child
// process before dontpanic exits; the handler prints "dontpanic: interrupted" and then dies of
// the same signal, so a shell sees the usual "killed by SIGINT" status.
//
// The handler may only use async-signal-safe calls, so the registry is a small fixed table of
// atomics and char arrays, written before the file or child exists and cleared after it is gone.
#pragma once

#include <sys/types.h>

#include <string>

namespace dp {

void install_interrupt_cleanup();

// Registers `path` to be removed if a signal arrives while the guard lives. A path too long for
// the table (over 4 KiB) or a full table (16 at once) is simply not registered.
class TempFileGuard {
 public:
  explicit TempFileGuard(const std::string& path);
  ~TempFileGuard();
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;

 private:
  int slot_ = -1;
};

// Registers a child process to be sent SIGTERM if a signal arrives while the guard lives.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid);
  ~ChildGuard();
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;

 private:
  int slot_ = -1;
};

// In a forked child before exec: ask the kernel to send SIGTERM to this process when its parent
// dies, even by SIGKILL (Linux; a no-op elsewhere). `parent` is the parent's pid before fork, to
// catch a parent that died before the request was made. Async-signal-safe.
void die_with_parent(pid_t parent);

}  // namespace dp
