// buffer.hpp — GPU memory: device-local buffers with a host staging copy, or host-visible ones.
//
// Index
//   Memory        device (fast for kernels; transfers go through staging) or host (mapped: the CPU
//                 writes it directly, the GPU reads it over the bus)
//   Buffer        one VkBuffer + its memory, owned; upload()/download() block until done
//   BufferRange   a buffer, or part of it, as a kernel binding
//
// Transfers, explicitly: for Memory::device, staging() is a host-visible mirror of the same size
// (created on first use). upload() = copy into staging + a GPU copy staging -> buffer + wait;
// download() the reverse. Inside a Sequence, record the GPU copies yourself (Sequence::upload /
// download) and touch staging() before submit / after wait: that is how labs time each part.
// For Memory::host, staging() is the buffer's own mapped memory and the GPU copies are no-ops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include <vulkan/vulkan.h>

namespace dp::gpu {

class Device;

enum class Memory {
  device,  // DEVICE_LOCAL: VRAM on a discrete GPU; the fastest memory for kernels
  host,    // HOST_VISIBLE | HOST_COHERENT (cached where offered): no copies, slower kernel access
};

class Buffer {
 public:
  // `bytes` > 0. Throws dp::Error when the device cannot hold it (out of GPU memory, or larger
  // than the memory heap), with the sizes.
  Buffer(Device& device, std::size_t bytes, Memory memory = Memory::device);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::size_t bytes() const { return bytes_; }
  Memory memory() const { return memory_; }
  VkBuffer handle() const { return buffer_; }
  Device& device() const { return *device_; }

  // The host side of transfers (see above). For Memory::device this allocates the staging mirror
  // on first use; the span stays valid as long as the buffer.
  std::span<std::byte> staging();
  bool has_staging() const { return staging_buffer_ != VK_NULL_HANDLE || memory_ == Memory::host; }
  VkBuffer staging_handle();  // the VkBuffer behind staging() (the buffer itself for Memory::host)

  // Blocking transfers of `data` to/from byte `offset`. Throw dp::Error if out of range. Each is
  // a one-copy Sequence, submitted and waited for (defined beside Sequence, in sequence.cpp).
  void upload_bytes(std::span<const std::byte> data, std::size_t offset = 0);
  void download_bytes(std::span<std::byte> data, std::size_t offset = 0);

  template <typename T> void upload(std::span<const T> data, std::size_t offset = 0) {
    upload_bytes(std::as_bytes(data), offset);
  }
  template <typename T> void upload(const std::vector<T>& data) { upload(std::span<const T>(data)); }
  template <typename T> void download(std::span<T> data, std::size_t offset = 0) {
    download_bytes(std::as_writable_bytes(data), offset);
  }
  template <typename T> std::vector<T> download_vector() {
    std::vector<T> out(bytes_ / sizeof(T));
    download(std::span<T>(out));
    return out;
  }

 private:
  struct Allocation {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void* mapped = nullptr;
  };
  static Allocation allocate(Device& device, std::size_t bytes, Memory memory, bool staging);
  void release() noexcept;

  Device* device_ = nullptr;
  std::size_t bytes_ = 0;
  Memory memory_ = Memory::device;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory device_memory_ = VK_NULL_HANDLE;
  void* mapped_ = nullptr;                       // Memory::host: the buffer itself
  VkBuffer staging_buffer_ = VK_NULL_HANDLE;     // Memory::device: the mirror
  VkDeviceMemory staging_memory_ = VK_NULL_HANDLE;
  void* staging_mapped_ = nullptr;
};

struct BufferRange {
  const Buffer* buffer = nullptr;
  std::size_t offset = 0;            // bytes; a multiple of minStorageBufferOffsetAlignment
  std::size_t bytes = VK_WHOLE_SIZE; // VK_WHOLE_SIZE: to the end
  BufferRange(const Buffer& b) : buffer(&b) {}  // NOLINT: a whole buffer binds implicitly
  BufferRange(const Buffer& b, std::size_t off, std::size_t n) : buffer(&b), offset(off), bytes(n) {}
};

}  // namespace dp::gpu
