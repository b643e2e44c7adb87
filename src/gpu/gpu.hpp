// gpu.hpp — Don't Panic's small Vulkan compute layer: include this one header.
//
// Four nouns (after Kompute): a Device, Buffers on it, Kernels (compute pipelines from GLSL) and
// Sequences (recorded commands). The contract is explicit: record -> submit -> wait -> read back.
//
//   dp::gpu::Device device;                                   // DONTPANIC_GPU or the best device
//   dp::gpu::Buffer a(device, n * 4), b(device, n * 4), c(device, n * 4);
//   a.upload(std::span<const float>(x)); b.upload(std::span<const float>(y));
//   dp::gpu::Kernel add(device, {.source = dp::gpu::builtin_shader("add/add.comp"),
//                                .buffers = 3, .push_bytes = 4});
//   dp::gpu::Sequence seq(device);
//   seq.begin().dispatch(add, {a, b, c}, {dp::gpu::groups_for(n, 256)}, std::uint32_t(n)).end();
//   seq.run();                                                // submit + wait on the fence
//   std::vector<float> z = c.download_vector<float>();
//
// (Labs open their device with labs/gpu_lab.hpp: open_lab_device(ctx, {.timestamps = true}).)
//
// Index (header: what it holds)
//   devices.hpp          DeviceReport, list_devices() (never throws; for `dontpanic doctor`),
//                        choose_device(), to_gpu_info(), describe()
//   device.hpp           Device (instance, validation messenger, device, queue, command pool,
//                        shader compiler), DeviceOptions, validation_check()
//   buffer.hpp           Buffer (Memory::device with staging, Memory::host mapped), BufferRange
//   shader_compiler.hpp  ShaderSource, ShaderCompiler (shaderc + memory + disk SPIR-V cache),
//                        spirv_cache_dir()
//   embedded_shaders.hpp embedded_shader("dir/file.comp"): shaders/ compiled into the binary
//   kernel.hpp           KernelSpec, Kernel, builtin_shader(), Groups, groups_for()
//   sequence.hpp         Sequence: begin/dispatch/barrier/upload/download/copy/fill/timestamp/end,
//                        submit/wait/run, gpu_ns()
//   copy_stream.hpp      CopyStream: copies on the transfer queue while kernels run on the compute
//                        queue, ordered by timeline semaphores (Device::transfer_queue())
//   timing.hpp           gpu_time(): repeated runs -> Stats from timestamps
//
// Ownership: the Device owns the Vulkan instance and device; everything else refers to it and
// must be destroyed first. Buffers and Kernels are movable, Sequences and Devices are not.
// Errors: every failure is a dp::Error with one actionable message: no device (what to install),
// out of memory (the sizes), device lost, a shader that does not compile (its name:line).
// Environment: DONTPANIC_GPU (device index or name part), DONTPANIC_GPU_VALIDATION (1/0; default
// on in Debug builds), DONTPANIC_SPIRV_CACHE (cache folder; default
// $XDG_CACHE_HOME/dontpanic/spirv or ~/.cache/dontpanic/spirv).
// Compile-time: DP_HAVE_GPU is defined (PUBLIC, by dp_gpu) wherever this layer is available.
#pragma once

#include "gpu/buffer.hpp"
#include "gpu/copy_stream.hpp"
#include "gpu/device.hpp"
#include "gpu/devices.hpp"
#include "gpu/embedded_shaders.hpp"
#include "gpu/kernel.hpp"
#include "gpu/sequence.hpp"
#include "gpu/shader_compiler.hpp"
#include "gpu/timing.hpp"
