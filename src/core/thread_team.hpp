// thread_team.hpp — a team of pinned, spinning threads for timing multi-threaded work.
//
// Timing a multi-threaded loop asks for two things a general thread pool does not give:
//   - every thread on its own CPU (a busy machine may otherwise run two of them on one core,
//     and a round then waits for the scheduler instead of for memory): PinnedToCpu;
//   - a round that starts in well under a microsecond (creating threads, or waking sleeping
//     ones, for each timed iteration costs tens of microseconds): ThreadTeam spins.
//
//   dp::ThreadTeam team(threads, [&](int t) { work_on_share(t); });
//   dp::measure(..., [&] { team.run(); });   // one round: every thread runs job(t) once
//
// Index
//   allowed_cpus()  the CPUs this process may run on
//   PinnedToCpu     RAII: the calling thread on one CPU while it lives
//   ThreadTeam      threads 1..n-1 spin between rounds; the caller runs share 0 itself
//   run_together    n fresh threads (the caller is one) start job(t) together, then join: for
//                   more threads than CPUs, where a spinning, pinned team would fight itself
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sched.h>
#endif

namespace dp {

// The CPUs this process may run on, in order (empty where the OS does not say).
std::vector<int> allowed_cpus();

// Pins the calling thread to one CPU, and gives it back its old CPU set when it goes out of
// scope. cpu < 0, or an OS without affinity: no pinning.
class PinnedToCpu {
 public:
  explicit PinnedToCpu(int cpu);
  ~PinnedToCpu();
  PinnedToCpu(const PinnedToCpu&) = delete;
  PinnedToCpu& operator=(const PinnedToCpu&) = delete;

 private:
#ifdef __linux__
  cpu_set_t before_{};
#endif
  bool pinned_ = false;
};

// A team of threads that lives for one measurement, thread t pinned to the t-th allowed CPU
// (wrapping around when there are more threads than CPUs). Each worker spins until the caller
// starts a round, runs job(t), and reports back; the caller runs job(0) itself, on the first CPU.
// Spinning keeps every worker awake on its own core; it also keeps those cores busy, so a team
// should live only as long as the measurement. Only one team may live at a time (a second one
// throws dp::Error): two spinning teams pinned to the same CPUs take turns at the scheduler's
// pace, and every round then costs milliseconds instead of the work.
class ThreadTeam {
 public:
  ThreadTeam(int threads, std::function<void(int)> job);  // threads >= 1
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  void run();  // one round: job(t) for every t, returns when all are done

 private:
  int cpu_for(int t) const;
  void work(int t);

  // Counts the live teams; constructed first, so a second team throws before it pins or spawns.
  struct OnlyOne {
    OnlyOne();
    ~OnlyOne();
    OnlyOne(const OnlyOne&) = delete;
    OnlyOne& operator=(const OnlyOne&) = delete;
  };

  OnlyOne only_one_;
  std::function<void(int)> job_;
  std::atomic<std::uint64_t> round_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  std::vector<int> cpus_;              // read before the caller is pinned (threads inherit its set)
  PinnedToCpu pin_caller_;             // the caller runs job(0) on the first CPU
  std::vector<std::jthread> workers_;  // last: they start after everything else exists
};

// Runs job(t) for t = 0..threads-1 on fresh, unpinned threads (the caller runs job(0)), all
// released at once by a latch, and returns when every one has finished. Starting the threads
// costs tens of microseconds, so time it only around jobs that take milliseconds. Unlike
// ThreadTeam, nobody spins: with more threads than CPUs the OS shares the CPUs fairly.
void run_together(int threads, const std::function<void(int)>& job);  // threads >= 1

}  // namespace dp
