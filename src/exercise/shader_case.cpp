#include "exercise/shader_case.hpp"

#ifdef DP_HAVE_GPU

#include <cmath>
#include <limits>
#include <span>

#include <fmt/format.h>

namespace dp::ex {

gpu::Device& exercise_device() {
  static gpu::Device device;  // one per runner process, which checks one exercise and exits
  return device;
}

struct ShaderCase::Pipeline {
  gpu::Kernel kernel;
  gpu::Sequence sequence;
  Pipeline(gpu::Device& device, gpu::KernelSpec spec) : kernel(device, std::move(spec)), sequence(device) {}
};

void ShaderCase::upload_once() {
  if (!buffers_.empty()) return;
  gpu::Device& device = exercise_device();
  for (const auto& in : inputs_) {
    buffers_.push_back(std::make_unique<gpu::Buffer>(device, std::max<std::size_t>(in.size(), 1) * sizeof(float)));
    buffers_.back()->upload(std::span<const float>(in));
  }
  // The output starts as NaN, so an output the shader never writes shows as a mismatch.
  const std::vector<float> nan(want_.size(), std::numeric_limits<float>::quiet_NaN());
  buffers_.push_back(std::make_unique<gpu::Buffer>(device, std::max<std::size_t>(nan.size(), 1) * sizeof(float)));
  buffers_.back()->upload(std::span<const float>(nan));
}

ShaderCase::Pipeline& ShaderCase::pipeline_for(const Code& code) {
  auto& slot = pipelines_[&code];
  if (!slot) {
    upload_once();
    slot = std::make_shared<Pipeline>(
        exercise_device(),
        gpu::KernelSpec{.source = {.name = code.file_name(), .glsl = code.glsl()},
                        .buffers = static_cast<std::uint32_t>(buffers_.size()),
                        .push_bytes = static_cast<std::uint32_t>(push_.size() * 4)});
    std::vector<gpu::BufferRange> bound;
    for (const auto& b : buffers_) bound.emplace_back(*b);
    slot->sequence.begin()
        .dispatch(slot->kernel, bound, groups_, std::as_bytes(std::span<const std::uint32_t>(push_)))
        .end();
  }
  return *slot;
}

std::function<void()> ShaderCase::bind(const Code& code) {
  Pipeline& p = pipeline_for(code);
  return [this, &p] {
    p.sequence.run();
    got_ = buffers_.back()->download_vector<float>();
    got_.resize(want_.size());
  };
}

Verdict ShaderCase::check() const {
  const CompareResult cmp = compare(std::span<const float>(got_), std::span<const double>(want_), tolerance_);
  return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("output[{}]: {}", index_words, cmp.detail)};
}

std::optional<Stats> ShaderCase::time(const Code& code, bool quick) {
  Pipeline& p = pipeline_for(code);
  std::vector<gpu::BufferRange> bound;
  for (const auto& b : buffers_) bound.emplace_back(*b);
  return gpu::gpu_time_repeated(
      exercise_device(),
      [&](gpu::Sequence& seq) {
        seq.dispatch(p.kernel, bound, groups_, std::as_bytes(std::span<const std::uint32_t>(push_)));
      },
      quick ? 3 : 5, quick ? 0.02 : 0.05);
}

}  // namespace dp::ex

#endif
