// channels_queues.hpp — the four queues of the channels lab (channels.cpp), behind one interface.
//
// Every queue has three calls, for one producer thread and one consumer thread:
//   push(items, n)      blocks until all n are in (a bounded queue waits for free slots)
//   pop(out, max)       blocks until at least one message is there, takes up to max, returns how many
//   try_pop(out, max)   the same without waiting: returns 0 when the queue is empty
//
// Index
//   relax(spins)         how a spinning thread waits: pause, and a yield every 64 rounds
//   MutexQueue<T>        ours: a deque behind one mutex, two condition variables; waits asleep
//   SpscRing<T>          ours: a lock-free ring for one producer and one consumer; waits spinning
//   Moodycamel<T>        moodycamel::ConcurrentQueue, bounded through try_enqueue; both sides spin
//   TbbBounded<T>        tbb::concurrent_bounded_queue; pop spins a little, then sleeps
//   for_each_queue(f)    calls f.template operator()<Q>(name) for every queue this build has
//
// Without the moodycamel header (CMake defines DP_HAVE_MOODYCAMEL), and under ThreadSanitizer for
// moodycamel (fences TSan cannot follow) and TBB (not built for TSan: see src/tensor/parallel.cpp),
// a queue is left out: DP_CHANNELS_HAVE_MOODYCAMEL / DP_CHANNELS_HAVE_TBB say which are in.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "core/portability.hpp"  // DP_TSAN

// moodycamel is left out under ThreadSanitizer: it synchronises with atomic_thread_fence, which
// TSan cannot follow (GCC says so: -Wtsan), so TSan would report races that are not there.
#if defined(DP_HAVE_MOODYCAMEL) && !defined(DP_TSAN)
#define DP_CHANNELS_HAVE_MOODYCAMEL 1
// GCC 12 warns, wrongly, of an 8-byte atomic load "into a region of size 0" deep inside
// moodycamel's enqueue_bulk once it is inlined into the lab. The warning comes from the
// optimiser, after push/pop scopes are gone, so it is switched off for every file that includes
// this header (only channels.cpp does).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
#include <concurrentqueue/concurrentqueue.h>
#endif
#if __has_include(<tbb/concurrent_queue.h>) && !defined(DP_TSAN)
#define DP_CHANNELS_HAVE_TBB 1
#include <tbb/concurrent_queue.h>
#endif

namespace dp::channels {

// Waiting without sleeping: a pause instruction (it tells the core we are spinning), and every
// 64 pauses a yield, so a spinning thread gives its core away when the other thread needs it.
inline void relax(unsigned& spins) {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
  if (++spins % 64 == 0) std::this_thread::yield();
}

// ---------------------------------------------------------------------------------------------
// Our queues
// ---------------------------------------------------------------------------------------------

template <class T>
class MutexQueue {
 public:
  explicit MutexQueue(std::size_t capacity) : capacity_(capacity) {}
  void push(const T* items, std::size_t n) {
    while (n > 0) {
      std::unique_lock lock(mutex_);
      not_full_.wait(lock, [&] { return queue_.size() < capacity_; });
      const std::size_t k = std::min(n, capacity_ - queue_.size());
      queue_.insert(queue_.end(), items, items + k);
      lock.unlock();
      not_empty_.notify_one();  // wakes the consumer if it sleeps (a system call), else cheap
      items += k, n -= k;
    }
  }
  std::size_t pop(T* out, std::size_t max) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty(); });
    return take(lock, out, max);
  }
  std::size_t try_pop(T* out, std::size_t max) {
    std::unique_lock lock(mutex_);
    return queue_.empty() ? 0 : take(lock, out, max);
  }

 private:
  std::size_t take(std::unique_lock<std::mutex>& lock, T* out, std::size_t max) {
    const std::size_t k = std::min(max, queue_.size());
    std::copy_n(queue_.begin(), k, out);
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(k));
    lock.unlock();
    not_full_.notify_one();
    return k;
  }

  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> queue_;
};

// One producer, one consumer. The producer alone writes tail_, the consumer alone writes head_;
// each reads the other's index with acquire, which makes the slots written before the matching
// release visible. Two habits keep the cores from trading cache lines for every message:
//   - each side keeps a copy of the other's index and reloads it only when the ring looks full
//     (or empty);
//   - the consumer gives slots back (stores head_) every kGiveBack messages, or before it waits,
//     not after each one: the producer only needs head_ when the ring is full.
template <class T>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity)
      : slots_(std::bit_ceil(capacity)), mask_(slots_.size() - 1), give_back_(std::max<std::size_t>(1, std::min<std::size_t>(32, slots_.size() / 4))) {}
  void push(const T* items, std::size_t n) {
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    unsigned spins = 0;
    while (n > 0) {
      if (tail - head_cached_ == slots_.size()) {  // full, as far as we know: look again
        head_cached_ = head_.load(std::memory_order_acquire);
        if (tail - head_cached_ == slots_.size()) { relax(spins); continue; }
      }
      const std::size_t k = std::min(n, slots_.size() - (tail - head_cached_));
      for (std::size_t i = 0; i < k; ++i) slots_[(tail + i) & mask_] = items[i];
      tail += k, items += k, n -= k;
      tail_.store(tail, std::memory_order_release);  // publishes the k slots
    }
  }
  std::size_t pop(T* out, std::size_t max) {
    unsigned spins = 0;
    for (;;) {
      if (const std::size_t k = try_pop(out, max)) return k;
      relax(spins);
    }
  }
  std::size_t try_pop(T* out, std::size_t max) {
    if (tail_cached_ == head_mine_) {  // empty, as far as we know
      if (head_given_ != head_mine_) give_back();  // before waiting: the producer may be waiting too
      tail_cached_ = tail_.load(std::memory_order_acquire);
      if (tail_cached_ == head_mine_) return 0;
    }
    const std::size_t k = std::min(max, tail_cached_ - head_mine_);
    for (std::size_t i = 0; i < k; ++i) out[i] = slots_[(head_mine_ + i) & mask_];
    head_mine_ += k;
    if (head_mine_ - head_given_ >= give_back_) give_back();
    return k;
  }

 private:
  void give_back() {
    head_.store(head_mine_, std::memory_order_release);  // after the copies: the slots may be reused
    head_given_ = head_mine_;
  }

  static constexpr std::size_t kLine = 64;
  std::vector<T> slots_;
  std::size_t mask_, give_back_;
  alignas(kLine) std::atomic<std::size_t> tail_{0};  // written by the producer
  std::size_t head_cached_ = 0;                      // the producer's copy of head_
  alignas(kLine) std::atomic<std::size_t> head_{0};  // written by the consumer
  std::size_t head_mine_ = 0, head_given_ = 0;       // the consumer's: read so far, and stored in head_
  std::size_t tail_cached_ = 0;                      // the consumer's copy of tail_
};

// ---------------------------------------------------------------------------------------------
// The library queues, behind the same calls
// ---------------------------------------------------------------------------------------------

#ifdef DP_CHANNELS_HAVE_MOODYCAMEL
// Bounded like the others, so that a fast producer waits for the consumer here too: the queue
// preallocates `capacity` slots and try_enqueue never allocates, it fails when they are taken.
// (Its plain enqueue would grow the queue instead; a producer that never waits wins any race.)
template <class T>
class Moodycamel {
 public:
  explicit Moodycamel(std::size_t capacity)
      : queue_(capacity), chunk_(std::max<std::size_t>(1, capacity / 4)), producer_(queue_), consumer_(queue_) {}
  void push(const T* items, std::size_t n) {
    unsigned spins = 0;
    while (n > 0) {
      const std::size_t k = std::min(n, chunk_);  // a bulk larger than the free space never fits
      if (!queue_.try_enqueue_bulk(producer_, items, k)) { relax(spins); continue; }
      items += k, n -= k;
    }
  }
  std::size_t pop(T* out, std::size_t max) {
    unsigned spins = 0;
    for (;;) {
      if (const std::size_t k = try_pop(out, max)) return k;
      relax(spins);
    }
  }
  std::size_t try_pop(T* out, std::size_t max) { return queue_.try_dequeue_bulk(consumer_, out, max); }

 private:
  moodycamel::ConcurrentQueue<T> queue_;
  std::size_t chunk_;
  moodycamel::ProducerToken producer_;  // tokens: the fast path for a known producer/consumer
  moodycamel::ConsumerToken consumer_;
};
#endif

#ifdef DP_CHANNELS_HAVE_TBB
template <class T>
class TbbBounded {
 public:
  explicit TbbBounded(std::size_t capacity) { queue_.set_capacity(static_cast<std::ptrdiff_t>(capacity)); }
  void push(const T* items, std::size_t n) {  // no bulk push: one call per message
    for (std::size_t i = 0; i < n; ++i) queue_.push(items[i]);
  }
  std::size_t pop(T* out, std::size_t max) {
    queue_.pop(out[0]);  // blocks: spins briefly, then sleeps
    return 1 + more(out + 1, max - 1);
  }
  std::size_t try_pop(T* out, std::size_t max) { return queue_.try_pop(out[0]) ? 1 + more(out + 1, max - 1) : 0; }

 private:
  std::size_t more(T* out, std::size_t max) {  // no bulk pop either: what is there, one by one
    std::size_t k = 0;
    while (k < max && queue_.try_pop(out[k])) ++k;
    return k;
  }

  tbb::concurrent_bounded_queue<T> queue_;
};
#endif

// Every queue this build has, as one call: F(name) with the queue template as its argument.
template <class F>
void for_each_queue(F&& f) {
  f.template operator()<MutexQueue>("mutex-cv");
  f.template operator()<SpscRing>("spsc-ring");
#ifdef DP_CHANNELS_HAVE_MOODYCAMEL
  f.template operator()<Moodycamel>("moodycamel");
#endif
#ifdef DP_CHANNELS_HAVE_TBB
  f.template operator()<TbbBounded>("tbb");
#endif
}

}  // namespace dp::channels
