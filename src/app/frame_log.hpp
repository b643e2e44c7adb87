// frame_log.hpp — one log line per frame, the logging lab's lesson live: `ring` copies the numbers
// into the lock-free ring (labs/m5/log_ring.hpp) and a background thread formats and writes them;
// `sync` formats and calls write() on the frame's own thread, so every frame pays for the kernel.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "app/options.hpp"
#include "labs/m5/log_ring.hpp"

namespace dp::app {

class FrameLog {
 public:
  explicit FrameLog(std::string path) : path_(std::move(path)) {}
  ~FrameLog();
  FrameLog(const FrameLog&) = delete;
  FrameLog& operator=(const FrameLog&) = delete;

  void set_mode(LogMode mode);  // opens or closes what the mode needs
  void frame(std::uint64_t index, double frame_ms, double sim_ms);
  std::uint64_t dropped() const { return ring_ ? ring_->dropped() : 0; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  LogMode mode_ = LogMode::off;
  std::unique_ptr<logring::RingLogger> ring_;
  int fd_ = -1;  // sync mode
};

}  // namespace dp::app
