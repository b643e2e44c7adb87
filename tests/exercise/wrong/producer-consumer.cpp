// A deliberately wrong pipeline for the tests: batches of 1024, but the last, partial batch is
// never sent, so the final n % 1024 items are lost (and every input shorter than 1024 with them).
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline.hpp"

extern "C" std::uint64_t pipeline(std::span<const std::uint64_t> input) {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::vector<std::uint64_t>> queue;
  bool closed = false;
  std::uint64_t hash = kHashStart;
  std::jthread consumer([&] {
    for (;;) {
      std::unique_lock lock(mutex);
      ready.wait(lock, [&] { return !queue.empty() || closed; });
      if (queue.empty()) return;
      std::vector<std::uint64_t> batch = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      for (const std::uint64_t item : batch) hash = consume(hash, item);
    }
  });
  std::vector<std::uint64_t> batch;
  for (const std::uint64_t x : input) {
    batch.push_back(produce(x));
    if (batch.size() == 1024) {
      {
        std::lock_guard lock(mutex);
        queue.push_back(std::move(batch));
      }
      ready.notify_one();
      batch.clear();
    }
  }
  {
    std::lock_guard lock(mutex);
    closed = true;
  }
  ready.notify_one();
  consumer.join();
  return hash;
}
