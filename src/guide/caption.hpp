// caption.hpp — what a figure's caption says about the run that drew it.
//
// A number without its machine means little, so every figure in the guide says where it came
// from: the CPU (model, cores, cache sizes), the compiler, the GPU its GPU series ran on (a real
// GPU's name, or llvmpipe: Vulkan emulated on the CPU), quick or full run, every parameter that
// differs from the lab's default, and the date. The site builder adds the link to the JSON.
//
//   "Measured on AMD EPYC (2 cores; L1 32 KiB, L2 1 MiB, L3 32 MiB), g++ 12.2.0 Release build;
//    GPU series on llvmpipe (LLVM 15.0.6, 256 bits), Vulkan on the CPU; full run, max-width=512;
//    2026-11-30."
//
// Index
//   machine_summary()     CPU, cores, caches, compiler
//   gpu_summary()         the device of the GPU series
//   changed_params()      "name=value" for each parameter that is not the lab's default
//   caption_note()        all of the above in one sentence
#pragma once

#include <string>
#include <vector>

#include "core/machine.hpp"
#include "core/params.hpp"
#include "core/result.hpp"

namespace dp::guide {

// "AMD EPYC (2 cores; L1 32 KiB, L2 1 MiB, L3 32 MiB), g++ 12.2.0 Release build"
std::string machine_summary(const MachineInfo& machine);

// "NVIDIA H200 (discrete)", or "llvmpipe (LLVM 15.0.6, 256 bits), Vulkan on the CPU"
std::string gpu_summary(const GpuInfo& gpu);

// The parameters of `result` that differ from the defaults of `specs` for its mode (quick or
// full), as "name=value", in name order. The repetitions count the runner records is compared
// with the mode's default; a parameter `specs` does not know (a lab since changed) is listed.
std::vector<std::string> changed_params(const Result& result, const std::vector<ParamSpec>& specs);

// The caption's second half. The lab's parameter specs come from the registry (none when the
// lab is not registered, so that every parameter is listed).
std::string caption_note(const Result& result);

}  // namespace dp::guide
