// copy_stream.cpp — the two-queue chunk pipeline: command buffers, ownership transfers, timeline
// semaphores and the two timestamps.
#include "gpu/copy_stream.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/device.hpp"
#include "gpu/vk_error.hpp"

namespace dp::gpu {

namespace {

std::size_t checked_total(std::size_t chunk_bytes, std::size_t chunks) {
  if (chunk_bytes == 0 || chunks == 0 || chunk_bytes % 4 != 0)
    throw Error(fmt::format("a copy stream of {} chunks of {} bytes was asked for; give at least one chunk "
                            "of a positive multiple of 4 bytes", chunks, chunk_bytes));
  return chunk_bytes * chunks;
}

// One side of a queue-family ownership transfer of `buffer` (Vulkan 1.0 barriers): the release is
// recorded on the queue that wrote it, the acquire on the queue that reads it next.
void ownership_barrier(VkCommandBuffer cmd, const Buffer& buffer, std::uint32_t from, std::uint32_t to, bool release) {
  VkBufferMemoryBarrier b{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
  b.srcAccessMask = release ? VK_ACCESS_TRANSFER_WRITE_BIT : 0;
  b.dstAccessMask = release ? 0 : VK_ACCESS_SHADER_READ_BIT;
  b.srcQueueFamilyIndex = from;
  b.dstQueueFamilyIndex = to;
  b.buffer = buffer.handle();
  b.size = VK_WHOLE_SIZE;
  // The acquire's source stage is ALL_COMMANDS so that it chains with the semaphore wait before it.
  vkCmdPipelineBarrier(cmd, release ? VK_PIPELINE_STAGE_TRANSFER_BIT : VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                       release ? VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT : VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                       0, nullptr, 1, &b, 0, nullptr);
}

}  // namespace

// One submission: a command buffer, the semaphore value it waits for, the value it signals.
struct CopyStream::Step {
  VkCommandBuffer commands;
  bool on_copy_queue;
  VkSemaphore wait = VK_NULL_HANDLE;
  std::uint64_t wait_value = 0;
  VkSemaphore signal = VK_NULL_HANDLE;
  std::uint64_t signal_value = 0;
};

CopyStream::CopyStream(Device& device, std::size_t chunk_bytes, std::size_t chunks,
                       const RecordKernel& record_kernel, CopyQueue queue)
    : device_(&device), chunk_bytes_(chunk_bytes), chunks_(chunks),
      source_(device, checked_total(chunk_bytes, chunks), Memory::host) {
  if (queue == CopyQueue::transfer && device.transfer_queue() == VK_NULL_HANDLE)
    throw Error(fmt::format("'{}' has no transfer-only queue; use CopyQueue::compute", device.report().name));
  if (!device.report().timestamps)
    throw Error(fmt::format("'{}' cannot write timestamps on its compute queue, which a copy stream reads",
                            device.report().name));
  copy_queue_ = queue == CopyQueue::transfer ? device.transfer_queue() : device.queue();
  copy_family_ = queue == CopyQueue::transfer ? device.transfer_queue_family() : device.queue_family();
  VkDevice d = device.handle();
  try {
    slots_.emplace_back(device, chunk_bytes);
    slots_.emplace_back(device, chunk_bytes);

    VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool.queueFamilyIndex = copy_family_;
    vk_check(vkCreateCommandPool(d, &pool, nullptr, &copy_pool_), "creating a command pool for copies");
    copies_.resize(chunks);
    VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    alloc.commandPool = copy_pool_;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = static_cast<std::uint32_t>(chunks);
    vk_check(vkAllocateCommandBuffers(d, &alloc, copies_.data()), "allocating command buffers for copies");

    VkQueryPoolCreateInfo query{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    query.queryType = VK_QUERY_TYPE_TIMESTAMP;
    query.queryCount = 2;
    vk_check(vkCreateQueryPool(d, &query, nullptr, &stamps_), "creating a timestamp query pool");

    VkSemaphoreTypeCreateInfo timeline{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
    timeline.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    VkSemaphoreCreateInfo semaphore{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    semaphore.pNext = &timeline;
    vk_check(vkCreateSemaphore(d, &semaphore, nullptr, &copied_), "creating a timeline semaphore");
    vk_check(vkCreateSemaphore(d, &semaphore, nullptr, &computed_), "creating a timeline semaphore");

    start_ = std::make_unique<Sequence>(device, 0);
    start_->begin();
    vkCmdResetQueryPool(start_->command_buffer(), stamps_, 0, 2);
    vkCmdWriteTimestamp(start_->command_buffer(), VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, stamps_, 0);
    start_->end();
    for (std::size_t i = 0; i < chunks; ++i) {
      record_copy_step(i);
      record_kernel_step(i, record_kernel);
    }
  } catch (...) {
    release();
    throw;
  }
}

CopyStream::~CopyStream() { release(); }

void CopyStream::release() noexcept {
  VkDevice d = device_->handle();
  vkDeviceWaitIdle(d);  // run() waits, but an exception may leave a pass in flight
  if (computed_) vkDestroySemaphore(d, computed_, nullptr);
  if (copied_) vkDestroySemaphore(d, copied_, nullptr);
  if (stamps_) vkDestroyQueryPool(d, stamps_, nullptr);
  if (copy_pool_) vkDestroyCommandPool(d, copy_pool_, nullptr);  // frees copies_ too
  computed_ = copied_ = VK_NULL_HANDLE;
  stamps_ = VK_NULL_HANDLE;
  copy_pool_ = VK_NULL_HANDLE;
}

void CopyStream::record_copy_step(std::size_t i) {
  VkCommandBuffer cmd = copies_[i];
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  vk_check(vkBeginCommandBuffer(cmd, &begin), "beginning a copy command buffer");
  const Buffer& slot = slots_[i % 2];
  const VkBufferCopy region{i * chunk_bytes_, 0, chunk_bytes_};
  vkCmdCopyBuffer(cmd, source_.handle(), slot.handle(), 1, &region);
  if (copy_family_ != device_->queue_family())
    ownership_barrier(cmd, slot, copy_family_, device_->queue_family(), true);
  vk_check(vkEndCommandBuffer(cmd), "ending a copy command buffer");
}

void CopyStream::record_kernel_step(std::size_t i, const RecordKernel& record) {
  auto seq = std::make_unique<Sequence>(*device_, 0);
  seq->begin();
  const Buffer& slot = slots_[i % 2];
  if (copy_family_ != device_->queue_family())
    ownership_barrier(seq->command_buffer(), slot, copy_family_, device_->queue_family(), false);
  record(*seq, i, slot);
  if (i + 1 == chunks_)  // after every kernel of the pass, in submission order
    vkCmdWriteTimestamp(seq->command_buffer(), VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, stamps_, 1);
  seq->end();
  kernels_.push_back(std::move(seq));
}

double CopyStream::run() {
  // Semaphore values only grow, so pass p counts on from where pass p-1 stopped:
  //   copied:   copy i signals c0 + i + 1
  //   computed: the start signals k0 + 1, kernel i signals k0 + i + 2
  const std::uint64_t c0 = passes_ * chunks_, k0 = passes_ * (chunks_ + 1);
  ++passes_;
  auto copy = [&](std::size_t i) {  // waits for the start (i < 2) or for kernel i-2 (slot free)
    return Step{copies_[i], true, computed_, k0 + std::max<std::size_t>(i, 1), copied_, c0 + i + 1};
  };
  auto kernel = [&](std::size_t i) {
    return Step{kernels_[i]->command_buffer(), false, copied_, c0 + i + 1, computed_, k0 + i + 2};
  };
  // One submission per step, in an order in which every wait comes after its signal: one queue
  // can follow it without waiting on itself, and between two families each release is submitted
  // before its acquire (as the validation layers track them).
  submit(Step{start_->command_buffer(), false, VK_NULL_HANDLE, 0, computed_, k0 + 1});
  submit(copy(0));
  for (std::size_t i = 1; i < chunks_; ++i) {
    submit(copy(i));
    submit(kernel(i - 1));
  }
  submit(kernel(chunks_ - 1));

  const std::uint64_t done = k0 + chunks_ + 1;
  VkSemaphoreWaitInfo wait{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
  wait.semaphoreCount = 1;
  wait.pSemaphores = &computed_;
  wait.pValues = &done;
  const VkResult r = vkWaitSemaphores(device_->handle(), &wait, 300'000'000'000ull);
  if (r == VK_TIMEOUT)
    throw Error(fmt::format("a copy stream did not finish within 300 s on '{}'; use smaller sizes",
                            device_->report().name));
  vk_check(r, "waiting for a copy stream");

  std::uint64_t ticks[2] = {0, 0};
  vk_check(vkGetQueryPoolResults(device_->handle(), stamps_, 0, 2, sizeof ticks, ticks, 8,
                                 VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
           "reading GPU timestamps");
  return static_cast<double>(static_cast<std::int64_t>(ticks[1] - ticks[0])) * device_->report().timestamp_period_ns;
}

void CopyStream::submit(const Step& s) {
  VkTimelineSemaphoreSubmitInfo values{VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
  VkSubmitInfo info{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  const VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
  info.pNext = &values;
  info.commandBufferCount = 1;
  info.pCommandBuffers = &s.commands;
  if (s.wait) {
    info.waitSemaphoreCount = values.waitSemaphoreValueCount = 1;
    info.pWaitSemaphores = &s.wait;
    info.pWaitDstStageMask = &wait_stage;
    values.pWaitSemaphoreValues = &s.wait_value;
  }
  info.signalSemaphoreCount = values.signalSemaphoreValueCount = 1;
  info.pSignalSemaphores = &s.signal;
  values.pSignalSemaphoreValues = &s.signal_value;
  vk_check(vkQueueSubmit(s.on_copy_queue ? copy_queue_ : device_->queue(), 1, &info, VK_NULL_HANDLE),
           "submitting a step of a copy stream");
}

}  // namespace dp::gpu
