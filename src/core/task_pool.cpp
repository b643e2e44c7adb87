#include "core/task_pool.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp {

TaskPool::TaskPool(int threads) {
  if (threads < 1) throw Error(fmt::format("TaskPool({}): a pool needs at least one thread", threads));
  workers_.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
}

TaskPool::~TaskPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  workers_.clear();  // joins them while the queue and the lock still exist
}

void TaskPool::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(task));
    ++pending_;
  }
  wake_.notify_one();  // a sleeping worker: a futex call, and the scheduler must run it
}

void TaskPool::wait() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return pending_ == 0; });
}

void TaskPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to do
    auto task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
    if (--pending_ == 0) idle_.notify_all();
  }
}

}  // namespace dp
