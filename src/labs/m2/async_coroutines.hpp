// async_coroutines.hpp — the async lab's small C++20 coroutine machinery (async.cpp uses it).
//
// Index
//   Loop      an event loop on one thread: a queue of suspended coroutines, resumed in order;
//             co_await loop.yield() suspends the caller behind everything already queued
//   Task<T>   a coroutine that produces a T: starts at once, co_await waits for its result, and
//             its end resumes the awaiting coroutine directly (symmetric transfer)
#pragma once

#include <coroutine>
#include <deque>
#include <exception>
#include <utility>

namespace dp::async_lab {

class Loop {
 public:
  void run() {
    while (!ready_.empty()) {
      const auto h = ready_.front();
      ready_.pop_front();
      h.resume();
    }
  }
  // co_await loop.yield(): suspend, queued behind everything already waiting.
  auto yield() {
    struct Awaiter {
      Loop& loop;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) { loop.ready_.push_back(h); }
      void await_resume() const noexcept {}
    };
    return Awaiter{*this};
  }

 private:
  std::deque<std::coroutine_handle<>> ready_;
};

// A coroutine that produces a T. It starts at once (eagerly); co_await on it suspends the caller
// until it has finished, and its end resumes the caller directly (symmetric transfer: no trip
// through the loop, no stack growth).
template <class T>
class Task {
 public:
  struct promise_type {
    T value{};
    std::coroutine_handle<> continuation;  // who co_awaits us, if anyone yet
    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_never initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct Final {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          const auto next = h.promise().continuation;
          return next ? next : std::noop_coroutine();
        }
        void await_resume() const noexcept {}
      };
      return Final{};
    }
    void return_value(T v) { value = std::move(v); }
    void unhandled_exception() { std::terminate(); }
  };

  explicit Task(std::coroutine_handle<promise_type> h) : h_(h) {}
  Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }
  bool done() const { return h_.done(); }
  const T& result() const { return h_.promise().value; }

  bool await_ready() const noexcept { return h_.done(); }
  void await_suspend(std::coroutine_handle<> awaiting) noexcept { h_.promise().continuation = awaiting; }
  T await_resume() const { return h_.promise().value; }

 private:
  std::coroutine_handle<promise_type> h_;
};

}  // namespace dp::async_lab
