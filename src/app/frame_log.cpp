// frame_log.cpp — the per-frame log line, through the ring or straight to the kernel.
#include "app/frame_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::app {

FrameLog::~FrameLog() { set_mode(LogMode::off); }

void FrameLog::set_mode(LogMode mode) {
  if (mode == mode_) return;
  ring_.reset();  // writes what is left and joins its writer
  if (fd_ >= 0) ::close(fd_), fd_ = -1;
  if (mode == LogMode::ring) {
    ring_ = std::make_unique<logring::RingLogger>(path_, 4096, logring::Overflow::drop);
  } else if (mode == LogMode::sync) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(fmt::format("cannot open the frame log {}: {}", path_, std::strerror(errno)));
  }
  mode_ = mode;
}

void FrameLog::frame(std::uint64_t index, double frame_ms, double sim_ms) {
  if (mode_ == LogMode::ring) {
    ring_->log("frame {} took {:.3f} ms (simulation {:.3f} ms)", index, frame_ms, sim_ms);
  } else if (mode_ == LogMode::sync) {
    fmt::memory_buffer line;
    fmt::format_to(std::back_inserter(line), "frame {} took {:.3f} ms (simulation {:.3f} ms)\n", index, frame_ms, sim_ms);
    [[maybe_unused]] const ssize_t w = ::write(fd_, line.data(), line.size());
  }
}

}  // namespace dp::app
