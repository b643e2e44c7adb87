// sequence.cpp — command buffers, descriptor sets, fences and timestamps.
#include "gpu/sequence.hpp"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/device.hpp"
#include "gpu/vk_error.hpp"

namespace dp::gpu {

namespace {
constexpr std::uint32_t kSetsPerPool = 256;
}

Sequence::Sequence(Device& device, std::uint32_t max_timestamps)
    : device_(&device), max_timestamps_(max_timestamps) {
  VkDevice d = device.handle();
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = device.command_pool();
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  vk_check(vkAllocateCommandBuffers(d, &alloc, &cmd_), "allocating a command buffer");
  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if (VkResult r = vkCreateFence(d, &fence_info, nullptr, &fence_); r != VK_SUCCESS) {
    vkFreeCommandBuffers(d, device.command_pool(), 1, &cmd_);
    vk_check(r, "creating a fence");
  }
  if (device.report().timestamps && max_timestamps > 0) {
    VkQueryPoolCreateInfo info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    info.queryType = VK_QUERY_TYPE_TIMESTAMP;
    info.queryCount = max_timestamps;
    if (VkResult r = vkCreateQueryPool(d, &info, nullptr, &queries_); r != VK_SUCCESS) {
      vkDestroyFence(d, fence_, nullptr);
      vkFreeCommandBuffers(d, device.command_pool(), 1, &cmd_);
      vk_check(r, "creating a timestamp query pool");
    }
  }
}

Sequence::~Sequence() {
  VkDevice d = device_->handle();
  if (state_ == State::pending) vkWaitForFences(d, 1, &fence_, VK_TRUE, UINT64_MAX);
  for (VkDescriptorPool pool : pools_) vkDestroyDescriptorPool(d, pool, nullptr);
  if (queries_) vkDestroyQueryPool(d, queries_, nullptr);
  vkDestroyFence(d, fence_, nullptr);
  vkFreeCommandBuffers(d, device_->command_pool(), 1, &cmd_);
}

void Sequence::require(State state, const char* what) const {
  if (state_ == state) return;
  static const char* names[] = {"empty", "recording", "recorded", "submitted"};
  throw Error(fmt::format("Sequence::{} called while the sequence is {}; the order is begin() -> "
                          "dispatch()/barrier()/... -> end() -> submit() -> wait()",
                          what, names[static_cast<int>(state_)]));
}

Sequence& Sequence::begin() {
  if (state_ == State::pending) wait();
  require(state_ == State::recording ? State::empty : state_, "begin");
  VkDevice d = device_->handle();
  for (VkDescriptorPool pool : pools_) vk_check(vkResetDescriptorPool(d, pool, 0), "resetting descriptor sets");
  sets_.clear();
  vk_check(vkResetCommandBuffer(cmd_, 0), "resetting a command buffer");
  VkCommandBufferBeginInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  vk_check(vkBeginCommandBuffer(cmd_, &info), "beginning a command buffer");
  if (queries_) vkCmdResetQueryPool(cmd_, queries_, 0, max_timestamps_);
  timestamps_ = 0;
  dispatches_ = 0;
  bound_ = VK_NULL_HANDLE;
  state_ = State::recording;
  return *this;
}

VkDescriptorSet Sequence::descriptor_set(const Kernel& kernel, const std::vector<BufferRange>& buffers) {
  std::vector<std::uint64_t> key{reinterpret_cast<std::uint64_t>(kernel.set_layout())};
  for (const auto& b : buffers) {
    key.push_back(reinterpret_cast<std::uint64_t>(b.buffer->handle()));
    key.push_back(b.offset);
    key.push_back(b.bytes);
  }
  if (auto it = sets_.find(key); it != sets_.end()) return it->second;

  VkDevice d = device_->handle();
  VkDescriptorSetLayout layout = kernel.set_layout();
  VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  alloc.descriptorSetCount = 1;
  alloc.pSetLayouts = &layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  VkResult r = VK_ERROR_OUT_OF_POOL_MEMORY;
  if (!pools_.empty()) {
    alloc.descriptorPool = pools_.back();
    r = vkAllocateDescriptorSets(d, &alloc, &set);
  }
  if (r == VK_ERROR_OUT_OF_POOL_MEMORY || r == VK_ERROR_FRAGMENTED_POOL) {
    // A new pool: sets for 256 dispatches with up to 8 buffers each.
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * 8};
    VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    info.maxSets = kSetsPerPool;
    info.poolSizeCount = 1;
    info.pPoolSizes = &size;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    vk_check(vkCreateDescriptorPool(d, &info, nullptr, &pool), "creating a descriptor pool");
    pools_.push_back(pool);
    alloc.descriptorPool = pool;
    r = vkAllocateDescriptorSets(d, &alloc, &set);
  }
  vk_check(r, "allocating a descriptor set");

  std::vector<VkDescriptorBufferInfo> infos;
  std::vector<VkWriteDescriptorSet> writes;
  infos.reserve(buffers.size());
  for (std::uint32_t i = 0; i < buffers.size(); ++i) {
    infos.push_back({buffers[i].buffer->handle(), buffers[i].offset, buffers[i].bytes});
    VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w.dstSet = set;
    w.dstBinding = i;
    w.descriptorCount = 1;
    w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w.pBufferInfo = &infos.back();
    writes.push_back(w);
  }
  vkUpdateDescriptorSets(d, static_cast<std::uint32_t>(writes.size()), writes.data(), 0, nullptr);
  sets_.emplace(std::move(key), set);
  return set;
}

Sequence& Sequence::dispatch(const Kernel& kernel, const std::vector<BufferRange>& buffers, Groups groups,
                             std::span<const std::byte> push) {
  require(State::recording, "dispatch");
  if (buffers.size() != kernel.buffers())
    throw Error(fmt::format("kernel '{}' binds {} buffers but the dispatch gave {}; pass one per binding, "
                            "in binding order", kernel.name(), kernel.buffers(), buffers.size()));
  if (push.size() != kernel.push_bytes())
    throw Error(fmt::format("kernel '{}' takes {} bytes of push constants but the dispatch gave {}",
                            kernel.name(), kernel.push_bytes(), push.size()));
  const std::uint64_t limit = device_->report().max_storage_buffer_range;
  for (const auto& b : buffers) {
    const std::uint64_t seen = b.bytes == VK_WHOLE_SIZE ? b.buffer->bytes() - b.offset : b.bytes;
    if (seen > limit)
      throw Error(fmt::format("kernel '{}': a buffer binding of {} bytes is larger than this device's "
                              "largest storage-buffer binding ({} bytes on '{}'); use smaller sizes",
                              kernel.name(), seen, limit, device_->report().name));
  }
  if (groups.x == 0 || groups.y == 0 || groups.z == 0) return *this;  // nothing to do
  const auto& max_count = device_->report().max_workgroup_count;
  const std::uint32_t g[3] = {groups.x, groups.y, groups.z};
  for (std::size_t i = 0; i < 3; ++i)
    if (g[i] > max_count[i])
      throw Error(fmt::format("kernel '{}': {} workgroups in dimension {} exceed the device's limit of {}; "
                              "use larger workgroups or a grid-stride loop", kernel.name(), g[i], i,
                              max_count[i]));

  VkDescriptorSet set = descriptor_set(kernel, buffers);
  if (bound_ != kernel.pipeline()) {
    vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.pipeline());
    bound_ = kernel.pipeline();
  }
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.layout(), 0, 1, &set, 0, nullptr);
  if (!push.empty())
    vkCmdPushConstants(cmd_, kernel.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       static_cast<std::uint32_t>(push.size()), push.data());
  vkCmdDispatch(cmd_, groups.x, groups.y, groups.z);
  ++dispatches_;
  return *this;
}

Sequence& Sequence::barrier() {
  require(State::recording, "barrier");
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                    VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cmd_, stages, stages, 0, 1, &b, 0, nullptr, 0, nullptr);
  return *this;
}

Sequence& Sequence::copy(VkBuffer from, VkBuffer to, std::size_t bytes, std::size_t from_offset, std::size_t to_offset) {
  require(State::recording, "copy");
  VkBufferCopy region{from_offset, to_offset, bytes};
  vkCmdCopyBuffer(cmd_, from, to, 1, &region);
  return *this;
}

Sequence& Sequence::upload(Buffer& buffer) {
  require(State::recording, "upload");
  if (buffer.memory() == Memory::host) return *this;
  return copy(buffer.staging_handle(), buffer.handle(), buffer.bytes());
}

Sequence& Sequence::download(Buffer& buffer) {
  require(State::recording, "download");
  VkPipelineStageFlags src_stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
  VkAccessFlags src_access = VK_ACCESS_SHADER_WRITE_BIT;
  if (buffer.memory() == Memory::device) {
    copy(buffer.handle(), buffer.staging_handle(), buffer.bytes());
    src_stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
    src_access = VK_ACCESS_TRANSFER_WRITE_BIT;
  }
  // Device writes become visible to the host only through a barrier to HOST_READ.
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = src_access;
  b.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd_, src_stage, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &b, 0, nullptr, 0, nullptr);
  return *this;
}

Sequence& Sequence::fill(Buffer& buffer, std::uint32_t value) {
  require(State::recording, "fill");
  vkCmdFillBuffer(cmd_, buffer.handle(), 0, VK_WHOLE_SIZE, value);
  return *this;
}

std::uint32_t Sequence::timestamp() {
  require(State::recording, "timestamp");
  if (!queries_)
    throw Error(fmt::format("the Vulkan device '{}' cannot write timestamps on its compute queue; "
                            "time with the wall clock instead", device_->report().name));
  if (timestamps_ >= max_timestamps_)
    throw Error(fmt::format("more than {} timestamps in one sequence; create the Sequence with a "
                            "larger max_timestamps", max_timestamps_));
  vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, timestamps_);
  return timestamps_++;
}

Sequence& Sequence::end() {
  require(State::recording, "end");
  vk_check(vkEndCommandBuffer(cmd_), "ending a command buffer");
  state_ = State::recorded;
  return *this;
}

void Sequence::submit() {
  require(State::recorded, "submit");
  VkDevice d = device_->handle();
  vk_check(vkResetFences(d, 1, &fence_), "resetting a fence");
  VkSubmitInfo info{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  info.commandBufferCount = 1;
  info.pCommandBuffers = &cmd_;
  vk_check(vkQueueSubmit(device_->queue(), 1, &info, fence_), "submitting GPU work");
  state_ = State::pending;
}

void Sequence::wait(double timeout_seconds) {
  require(State::pending, "wait");
  const auto timeout_ns = static_cast<std::uint64_t>(timeout_seconds * 1e9);
  VkResult r = vkWaitForFences(device_->handle(), 1, &fence_, VK_TRUE, timeout_ns);
  if (r == VK_TIMEOUT)
    throw Error(fmt::format("the GPU did not finish within {:g} s on '{}'; use smaller sizes (a CPU "
                            "implementation like lavapipe is much slower than a GPU)",
                            timeout_seconds, device_->report().name));
  vk_check(r, "waiting for the GPU");
  state_ = State::recorded;
  if (timestamps_ > 0) read_timestamps();
}

void Sequence::read_timestamps() {
  ticks_.assign(timestamps_, 0);
  vk_check(vkGetQueryPoolResults(device_->handle(), queries_, 0, timestamps_, ticks_.size() * 8, ticks_.data(), 8,
                                 VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
           "reading GPU timestamps");
}

double Sequence::gpu_ns(std::uint32_t from, std::uint32_t to) const {
  if (from >= ticks_.size() || to >= ticks_.size())
    throw Error(fmt::format("timestamps {} and {} were asked for but the last run recorded {}; call "
                            "gpu_ns() after wait() with indices from timestamp()", from, to, ticks_.size()));
  const double ticks = static_cast<double>(static_cast<std::int64_t>(ticks_[to] - ticks_[from]));
  return ticks * device_->report().timestamp_period_ns;
}

// --- Buffer's blocking transfers: a one-copy sequence each, submitted and waited for --------

namespace {
void check_range(std::size_t offset, std::size_t n, std::size_t bytes, const char* what) {
  if (offset > bytes || n > bytes - offset)
    throw Error(fmt::format("{} of {} bytes at offset {} runs past the end of a {}-byte buffer; "
                            "transfer at most {} bytes there", what, n, offset, bytes,
                            offset > bytes ? 0 : bytes - offset));
}
}  // namespace

void Buffer::upload_bytes(std::span<const std::byte> data, std::size_t offset) {
  check_range(offset, data.size(), bytes_, "an upload");
  if (data.empty()) return;
  std::memcpy(staging().data() + offset, data.data(), data.size());
  if (memory_ == Memory::host) return;
  Sequence seq(*device_);
  seq.begin().copy(staging_buffer_, buffer_, data.size(), offset, offset).end();
  seq.run();
}

void Buffer::download_bytes(std::span<std::byte> data, std::size_t offset) {
  check_range(offset, data.size(), bytes_, "a download");
  if (data.empty()) return;
  auto host = staging();
  if (memory_ == Memory::device) {
    Sequence seq(*device_);
    seq.begin().copy(buffer_, staging_buffer_, data.size(), offset, offset).end();
    seq.run();
  }
  std::memcpy(data.data(), host.data() + offset, data.size());
}

}  // namespace dp::gpu
