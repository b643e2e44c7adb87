// thread_team.cpp — pinning (Linux sched_setaffinity) and the spinning rounds of ThreadTeam.
#include "core/thread_team.hpp"

#include <latch>

#include "core/error.hpp"
#include "core/portability.hpp"  // cpu_relax

namespace dp {

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
#endif
  return cpus;
}

PinnedToCpu::PinnedToCpu(int cpu) {
#ifdef __linux__
  if (cpu < 0 || sched_getaffinity(0, sizeof before_, &before_) != 0) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  pinned_ = sched_setaffinity(0, sizeof one, &one) == 0;
#else
  (void)cpu;
#endif
}

PinnedToCpu::~PinnedToCpu() {
#ifdef __linux__
  if (pinned_) sched_setaffinity(0, sizeof before_, &before_);
#endif
}

namespace {
std::atomic<int> live_teams{0};
}  // namespace

ThreadTeam::OnlyOne::OnlyOne() {
  if (live_teams.fetch_add(1, std::memory_order_acq_rel) != 0) {
    live_teams.fetch_sub(1, std::memory_order_acq_rel);
    throw Error("a ThreadTeam was made while another one lives: their spinning threads would share CPUs and each round "
                "would wait for the scheduler (milliseconds); end the first team (leave its scope, or reset it) before "
                "making the next");
  }
}

ThreadTeam::OnlyOne::~OnlyOne() { live_teams.fetch_sub(1, std::memory_order_acq_rel); }

ThreadTeam::ThreadTeam(int threads, std::function<void(int)> job)
    : job_(std::move(job)), cpus_(allowed_cpus()), pin_caller_(cpu_for(0)) {
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { work(t); });
}

ThreadTeam::~ThreadTeam() {
  stop_.store(true, std::memory_order_release);
  workers_.clear();  // joins
}

void ThreadTeam::run() {
  done_.store(0, std::memory_order_relaxed);
  round_.fetch_add(1, std::memory_order_release);
  job_(0);
  while (done_.load(std::memory_order_acquire) != static_cast<int>(workers_.size())) cpu_relax();
}

int ThreadTeam::cpu_for(int t) const {
  return cpus_.empty() ? -1 : cpus_[static_cast<std::size_t>(t) % cpus_.size()];
}

void ThreadTeam::work(int t) {
  const PinnedToCpu pin(cpu_for(t));
  std::uint64_t seen = 0;
  for (;;) {
    std::uint64_t round;
    while ((round = round_.load(std::memory_order_acquire)) == seen) {
      if (stop_.load(std::memory_order_acquire)) return;
      cpu_relax();
    }
    seen = round;
    job_(t);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void run_together(int threads, const std::function<void(int)>& job) {
  std::latch start(threads);
  {
    std::vector<std::jthread> helpers;
    for (int t = 1; t < threads; ++t)
      helpers.emplace_back([&, t] {
        start.arrive_and_wait();
        job(t);
      });
    start.arrive_and_wait();
    job(0);
  }  // joined here
}

}  // namespace dp
