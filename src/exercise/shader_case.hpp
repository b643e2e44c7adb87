// shader_case.hpp — the Case of a GLSL exercise: float buffers in, one float buffer out, a
// push-constant block, a fixed dispatch shape. An exercise subclasses it, fills the inputs and the
// reference answer in its constructor, and says how many workgroups to launch.
//
// The binding contract (the reader's shader keeps it; baseline.comp states it in its header):
//   binding 0 .. inputs-1   the input buffers, in order;  binding `inputs`  the output buffer
//   push constants          `push` (32-bit words, as the exercise documents them)
//   workgroups              groups(): fixed by the exercise, so the shader chooses its own
//                           local size and how each workgroup shares out its outputs
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/check.hpp"
#include "exercise/exercise.hpp"

#ifdef DP_HAVE_GPU
#include "gpu/gpu.hpp"
#endif

namespace dp::ex {

#ifdef DP_HAVE_GPU

// The device every shader case in this process uses: opened once, on first use (DONTPANIC_GPU
// chooses it, as for labs; lavapipe where there is no GPU).
gpu::Device& exercise_device();

class ShaderCase : public Case {
 public:
  std::function<void()> bind(const Code& code) override;
  Verdict check() const override;
  std::optional<Stats> time(const Code& code, bool quick) override;

 protected:
  // For the subclass's constructor.
  std::vector<std::vector<float>> inputs_;
  std::vector<std::uint32_t> push_;
  std::vector<double> want_;        // the reference answer, one value per output float
  Tolerance tolerance_;
  gpu::Groups groups_;
  const char* index_words = "i";    // how an output index reads, for mismatch messages

 private:
  struct Pipeline;  // a Kernel and the Sequence that dispatches it once, per Code
  Pipeline& pipeline_for(const Code& code);
  void upload_once();
  std::map<const Code*, std::shared_ptr<Pipeline>> pipelines_;
  std::vector<std::unique_ptr<gpu::Buffer>> buffers_;  // inputs, then the output
  std::vector<float> got_;
};

#endif

}  // namespace dp::ex
