// sequence.hpp — recorded GPU commands: record -> submit -> wait -> read back.
//
// Index
//   Sequence   owns one command buffer, its fence, descriptor sets and a timestamp query pool
//     begin()            start (re)recording; waits for a previous submission first
//     dispatch()         run a Kernel over Groups with buffers bound in order and push constants
//     barrier()          every earlier GPU write is visible to every later GPU read/write
//     upload()/download()  record staging -> buffer / buffer -> staging copies (Buffer.staging())
//     copy(), fill()     raw buffer copy, fill with a 32-bit value
//     timestamp()        record the GPU clock here; returns its index
//     end()              finish recording
//     submit(), wait(), run()   send to the queue, block on the fence; run() = both
//     gpu_ns(a, b)       GPU time between two timestamps of the last completed run
//
// A recorded sequence can be submitted again and again without re-recording (that is what makes
// one big command buffer cheap). Dispatches are not ordered against each other unless a barrier()
// sits between them: the GPU may overlap them, which is correct only when they touch different data.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <type_traits>
#include <vector>

#include <vulkan/vulkan.h>

#include "gpu/buffer.hpp"
#include "gpu/kernel.hpp"

namespace dp::gpu {

class Device;

class Sequence {
 public:
  explicit Sequence(Device& device, std::uint32_t max_timestamps = 64);
  ~Sequence();
  Sequence(const Sequence&) = delete;
  Sequence& operator=(const Sequence&) = delete;

  Sequence& begin();
  Sequence& dispatch(const Kernel& kernel, const std::vector<BufferRange>& buffers, Groups groups,
                     std::span<const std::byte> push = {});
  template <typename Push>
    requires std::is_trivially_copyable_v<Push>
  Sequence& dispatch(const Kernel& kernel, const std::vector<BufferRange>& buffers, Groups groups,
                     const Push& push) {
    return dispatch(kernel, buffers, groups, std::as_bytes(std::span<const Push>(&push, 1)));
  }
  Sequence& barrier();
  Sequence& upload(Buffer& buffer);    // staging -> buffer (no-op for Memory::host)
  Sequence& download(Buffer& buffer);  // buffer -> staging, then visible to the host after wait()
  Sequence& copy(VkBuffer from, VkBuffer to, std::size_t bytes, std::size_t from_offset = 0,
                 std::size_t to_offset = 0);
  Sequence& fill(Buffer& buffer, std::uint32_t value);
  std::uint32_t timestamp();           // throws if the device has no timestamps (check
                                       // Device::report().timestamps) or max_timestamps is reached
  Sequence& end();

  void submit();
  void wait(double timeout_seconds = 300);  // throws dp::Error on timeout or device loss
  void run() { submit(); wait(); }

  bool recorded() const { return state_ == State::recorded; }
  std::uint32_t dispatches() const { return dispatches_; }   // in the current recording
  double gpu_ns(std::uint32_t from, std::uint32_t to) const; // after wait()
  VkCommandBuffer command_buffer() const { return cmd_; }    // to record your own commands

 private:
  enum class State { empty, recording, recorded, pending };
  void require(State state, const char* what) const;
  VkDescriptorSet descriptor_set(const Kernel& kernel, const std::vector<BufferRange>& buffers);
  void read_timestamps();

  Device* device_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  std::uint32_t max_timestamps_, timestamps_ = 0;
  std::vector<std::uint64_t> ticks_;
  std::vector<VkDescriptorPool> pools_;
  std::map<std::vector<std::uint64_t>, VkDescriptorSet> sets_;  // (layout, buffers...) -> set
  VkPipeline bound_ = VK_NULL_HANDLE;
  std::uint32_t dispatches_ = 0;
  State state_ = State::empty;
};

}  // namespace dp::gpu
