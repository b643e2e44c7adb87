// copy_stream.hpp — copy the next chunk while a kernel works on this one, on two queues.
//
// CopyStream sends a host-visible source to the GPU in equal chunks and runs the caller's kernel
// on each chunk as soon as it has landed:
//   copy queue      copy chunk i of source() into slot i % 2 (a device-local buffer of one chunk)
//   compute queue   the caller's kernel on slot i % 2 (recorded once, by `record_kernel`)
// Two timeline semaphores, and nothing else, keep them in order, so the two queues overlap:
//   copy i    waits until kernel i-2 has finished reading slot i % 2     (semaphore `computed`)
//   kernel i  waits until copy i has landed                               (semaphore `copied`)
// run() submits one pass, waits for it and returns its GPU time: from a timestamp before the first
// copy to one after the last kernel, both on the compute queue (timestamps written on different
// queues cannot be compared).
//
// CopyQueue::transfer copies on Device::transfer_queue(), a copy engine beside the compute units.
// CopyQueue::compute copies on the compute queue itself (a device without a transfer queue, and the
// tests on lavapipe): the same schedule, submitted in an order one queue can follow without ever
// waiting on itself; nothing overlaps then, but every wait and signal still runs.
// Between two queue families a slot changes hands with a queue-family ownership transfer (released
// after the copy, acquired before the kernel), as Vulkan requires for exclusive buffers.
//
// Lifetime: like a Buffer, a CopyStream belongs to its Device and must be destroyed first. Not
// thread-safe. run() blocks; the kernels' outputs are the caller's buffers, read after run().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include <vulkan/vulkan.h>

#include "gpu/buffer.hpp"
#include "gpu/sequence.hpp"

namespace dp::gpu {

class Device;

enum class CopyQueue {
  transfer,  // Device::transfer_queue(): copies run beside kernels (throws where there is none)
  compute,   // the compute queue: no overlap, the same semaphores (devices without a copy queue)
};

class CopyStream {
 public:
  // Records kernel i for chunk i: bind `slot` (chunk_bytes of chunk i's data) and dispatch.
  using RecordKernel = std::function<void(Sequence& seq, std::size_t chunk, const Buffer& slot)>;

  // Throws dp::Error for zero sizes, CopyQueue::transfer without a transfer queue, or a device
  // that cannot write timestamps on its compute queue.
  CopyStream(Device& device, std::size_t chunk_bytes, std::size_t chunks, const RecordKernel& record_kernel,
             CopyQueue queue = CopyQueue::transfer);
  ~CopyStream();
  CopyStream(const CopyStream&) = delete;
  CopyStream& operator=(const CopyStream&) = delete;

  std::span<std::byte> source() { return source_.staging(); }  // chunks * chunk_bytes; fill first
  double run();                                                 // one pass; GPU nanoseconds

 private:
  struct Step;
  void record_copy_step(std::size_t chunk);
  void record_kernel_step(std::size_t chunk, const RecordKernel& record);
  void submit(const Step& step);
  void release() noexcept;

  Device* device_;
  std::size_t chunk_bytes_, chunks_;
  VkQueue copy_queue_ = VK_NULL_HANDLE;
  std::uint32_t copy_family_ = 0;
  Buffer source_;                                  // host-visible: the copy queue's only input
  std::vector<Buffer> slots_;                      // two device-local chunk buffers
  VkCommandPool copy_pool_ = VK_NULL_HANDLE;       // on the copy queue's family
  std::vector<VkCommandBuffer> copies_;            // copy i, recorded once
  std::unique_ptr<Sequence> start_;                // resets and writes the first timestamp
  std::vector<std::unique_ptr<Sequence>> kernels_; // kernel i; the last writes the second timestamp
  VkQueryPool stamps_ = VK_NULL_HANDLE;
  VkSemaphore copied_ = VK_NULL_HANDLE, computed_ = VK_NULL_HANDLE;  // timeline semaphores
  std::uint64_t passes_ = 0;
};

}  // namespace dp::gpu
