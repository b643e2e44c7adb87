// task_pool.hpp — the textbook thread pool: one queue, one lock, sleeping workers.
//
// The labs on threads and async measure what handing work to other threads costs; this pool is
// the simple design they compare with TBB. It is deliberately plain: a std::deque of tasks behind
// one mutex, workers that sleep on a condition variable when the queue is empty, and a count of
// unfinished tasks that wait() sleeps on. Each submit() takes the lock and may wake a worker (a
// futex system call); that is the cost the labs show.
//
//   dp::TaskPool pool(4);
//   for (...) pool.submit([&, i] { work(i); });
//   pool.wait();                      // every submitted task has finished
//
// Tasks must not throw (an escaping exception ends the program, as from any std::thread).
// The destructor finishes the tasks already queued, then joins the workers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dp {

class TaskPool {
 public:
  explicit TaskPool(int threads);  // threads >= 1
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void submit(std::function<void()> task);  // queues it; wakes one sleeping worker
  void wait();                              // sleeps until every submitted task has finished
  int threads() const { return static_cast<int>(workers_.size()); }

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;  // workers: a task was queued, or stop
  std::condition_variable idle_;  // wait(): pending_ reached 0
  std::deque<std::function<void()>> queue_;
  std::size_t pending_ = 0;       // queued + running
  bool stop_ = false;
  std::vector<std::jthread> workers_;  // last: they start after everything else exists, and are
                                       // joined first
};

}  // namespace dp
