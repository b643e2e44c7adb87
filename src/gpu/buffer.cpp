// buffer.cpp — allocating buffers and their staging mirrors. (The blocking upload/download are
// one-copy Sequences: they live beside Sequence, in sequence.cpp.)
#include "gpu/buffer.hpp"

#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/machine.hpp"
#include "gpu/device.hpp"
#include "gpu/vk_error.hpp"

namespace dp::gpu {

Buffer::Allocation Buffer::allocate(Device& device, std::size_t bytes, Memory memory, bool staging) {
  const char* what = staging ? "staging buffer" : memory == Memory::device ? "device buffer" : "host-visible buffer";
  if (bytes == 0) throw Error(fmt::format("a {} of 0 bytes was asked for; give a size of at least 1 byte", what));
  Allocation a;
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = bytes;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  vk_check(vkCreateBuffer(device.handle(), &info, nullptr, &a.buffer),
           fmt::format("creating a {} of {}", what, format_bytes(bytes)));
  try {
    VkMemoryRequirements needs;
    vkGetBufferMemoryRequirements(device.handle(), a.buffer, &needs);
    const bool on_device = memory == Memory::device && !staging;
    const std::uint32_t type =
        on_device ? device.memory_type(needs.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0,
                                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
                  : device.memory_type(needs.memoryTypeBits,
                                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                       VK_MEMORY_PROPERTY_HOST_CACHED_BIT, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (needs.size > device.heap_bytes(type))
      throw Error(fmt::format("out of GPU memory: a {} of {} does not fit the {} memory heap of '{}'; "
                              "use smaller sizes (--param)", what, format_bytes(bytes),
                              format_bytes(device.heap_bytes(type)), device.report().name));
    VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc.allocationSize = needs.size;
    alloc.memoryTypeIndex = type;
    vk_check(vkAllocateMemory(device.handle(), &alloc, nullptr, &a.memory),
             fmt::format("allocating {} for a {}", format_bytes(bytes), what));
    vk_check(vkBindBufferMemory(device.handle(), a.buffer, a.memory, 0), "binding buffer memory");
    if (!on_device)
      vk_check(vkMapMemory(device.handle(), a.memory, 0, VK_WHOLE_SIZE, 0, &a.mapped), "mapping buffer memory");
  } catch (...) {
    if (a.memory) vkFreeMemory(device.handle(), a.memory, nullptr);
    vkDestroyBuffer(device.handle(), a.buffer, nullptr);
    throw;
  }
  return a;
}

Buffer::Buffer(Device& device, std::size_t bytes, Memory memory) : device_(&device), bytes_(bytes), memory_(memory) {
  Allocation a = allocate(device, bytes, memory, false);
  buffer_ = a.buffer;
  device_memory_ = a.memory;
  mapped_ = a.mapped;
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& o) noexcept { *this = std::move(o); }

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    device_ = std::exchange(o.device_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    memory_ = o.memory_;
    buffer_ = std::exchange(o.buffer_, VK_NULL_HANDLE);
    device_memory_ = std::exchange(o.device_memory_, VK_NULL_HANDLE);
    mapped_ = std::exchange(o.mapped_, nullptr);
    staging_buffer_ = std::exchange(o.staging_buffer_, VK_NULL_HANDLE);
    staging_memory_ = std::exchange(o.staging_memory_, VK_NULL_HANDLE);
    staging_mapped_ = std::exchange(o.staging_mapped_, nullptr);
  }
  return *this;
}

void Buffer::release() noexcept {
  if (!device_) return;
  VkDevice d = device_->handle();
  // Memory is freed only after the GPU is done with it; callers wait on their sequences, but a
  // buffer destroyed by an exception mid-run may still be in flight.
  if (buffer_ || staging_buffer_) vkDeviceWaitIdle(d);
  if (staging_buffer_) vkDestroyBuffer(d, staging_buffer_, nullptr);
  if (staging_memory_) vkFreeMemory(d, staging_memory_, nullptr);
  if (buffer_) vkDestroyBuffer(d, buffer_, nullptr);
  if (device_memory_) vkFreeMemory(d, device_memory_, nullptr);
  buffer_ = staging_buffer_ = VK_NULL_HANDLE;
  device_memory_ = staging_memory_ = VK_NULL_HANDLE;
  device_ = nullptr;
}

std::span<std::byte> Buffer::staging() {
  if (memory_ == Memory::host) return {static_cast<std::byte*>(mapped_), bytes_};
  if (!staging_buffer_) {
    Allocation a = allocate(*device_, bytes_, Memory::host, true);
    staging_buffer_ = a.buffer;
    staging_memory_ = a.memory;
    staging_mapped_ = a.mapped;
  }
  return {static_cast<std::byte*>(staging_mapped_), bytes_};
}

VkBuffer Buffer::staging_handle() {
  staging();
  return memory_ == Memory::host ? buffer_ : staging_buffer_;
}

}  // namespace dp::gpu
