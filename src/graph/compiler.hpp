// compiler.hpp — the graph compiler behind gpu-compiled: op codes, chains, generated GLSL.
//
// Three steps, each small enough to read:
//   1. lower   the fused plan (plan.hpp) becomes a list of op codes: LOAD, LINEAR (with its
//              epilogue: RELU, ADD, SUB applied before the result is stored), RELU, ADD, SUB,
//              SOFTMAX, STORE, SUM. Constants (weights, biases) move into one parameter block per
//              kernel, weights transposed to K x N so neighbouring threads read neighbouring floats.
//   2. chain   consecutive row-wise ops where each reads the previous one's result, and nobody else
//              does, form a chain. Row r of a chain's output depends only on row r of its input
//              (true of linear, relu, softmax, add, sub), so one workgroup can take a block of rows
//              through the *whole* chain with the activations in shared memory: no global memory,
//              no barrier between workgroups, one dispatch for the chain. (cpu-fused splits rows
//              between threads for the same reason.)
//      Runs of identical square layers (same width, same epilogue) are rolled into one LINEAR xN
//      instruction that the kernel runs as a loop, so its size does not grow with depth (a
//      shader with hundreds of unrolled layers takes a driver's compiler minutes).
//   3. generate  one GLSL compute shader per chain, with every size and offset a constant; it is
//              compiled with shaderc at run time (gpu/shader_compiler.hpp) and cached by the hash
//              of its text (KernelCache below, plus the compiler's own SPIR-V cache).
//      Wide layers are the exception. A chain kernel has every workgroup read every weight of the
//      chain: free while the weights are few, ruinous when they are many (64 layers of 256 x 256
//      are 16 MiB, read by each of 64 workgroups: 1 GiB per pass). So the compiler estimates the
//      bytes both ways: the chain kernel's, and those of one tiled GEMM dispatch per layer (the
//      register-blocked matmul of gpu-matmul, shaders/matmul/vec4.comp, with bias and relu), which
//      reads each weight once per tile row but pays a dispatch and a barrier per layer (counted
//      as CompileOptions::dispatch_cost_bytes). When the GEMMs win, the leading run of linear
//      layers leaves the chain as a chain of its own, marked `per_layer`; what follows the run
//      (a softmax, say) stays a generated kernel.
// compile_graph() needs no GPU: tests and the graph-compiler lab can print the code anywhere.
//
// Index
//   OpCode, opcode_name()   the instruction set
//   Instr, Chain            one instruction; one chain = one generated kernel
//   CompileOptions          shared memory per workgroup, how many workgroups to aim for
//   CompiledGraph           chains + a listing; compile_graph()
//   fnv1a64()               the hash naming a kernel
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.hpp"
#include "graph/plan.hpp"

namespace dp::graph {

enum class OpCode : std::uint8_t { load, linear, relu, add, sub, softmax, store, sum };
const char* opcode_name(OpCode code);  // "LINEAR"

struct Instr {
  OpCode code = OpCode::load;
  std::uint32_t in_width = 0;     // columns read
  std::uint32_t out_width = 0;    // columns produced
  std::uint64_t weights = 0;      // LINEAR: offset of Wᵀ (in_width x out_width) in the params block
  std::uint64_t bias = 0;         // LINEAR: offset of b (out_width)
  std::vector<OpCode> epilogue;   // LINEAR: RELU / ADD / SUB applied in registers before storing
  std::vector<int> operands;      // ADD/SUB (own or in the epilogue): binding of the other operand
  std::uint32_t repeat = 1;       // LINEAR: this many identical layers in a row, run as a loop
  std::uint64_t stride = 0;       // LINEAR x repeat: params floats from one layer to the next
  NodeId node = 0;                // the graph node this instruction finishes
};

// One GEMM tile shape of shaders/matmul/vec4.comp: BM x BN outputs per workgroup, BK deep, TM x TN
// per thread.
struct GemmTile {
  std::uint32_t bm = 0, bn = 0, bk = 0, tm = 0, tn = 0;
  std::uint32_t threads() const { return (bm / tm) * (bn / tn); }
  bool operator==(const GemmTile&) const = default;
};

struct Chain {
  std::vector<Instr> code;
  NodeId input = 0;               // node read by LOAD (binding 0)
  NodeId output = 0;              // node written by STORE (binding 2)
  std::vector<NodeId> operands;   // nodes read by ADD/SUB, bindings 3, 4, ...
  std::vector<float> params;      // binding 1: weights (transposed) and biases, concatenated
  std::size_t rows = 0;           // M: batch rows
  std::size_t rows_per_group = 1; // R: rows one workgroup carries through the chain
  std::size_t groups = 1;         // ceil(M / R) workgroups
  std::uint32_t threads = 256;    // per workgroup
  std::optional<GemmTile> per_layer;  // set: LOAD, LINEAR..., STORE run as one GEMM per layer
  std::string glsl;               // the generated kernel (per_layer: a comment saying so)
  std::uint64_t hash = 0;         // fnv1a64(glsl): names the kernel and keys the caches
  std::string name() const;       // "chain-3f2a9c1e0b7d5a64"
};

// How the compiler runs runs of linear layers: by its estimate, or always one way (the lab and
// the tests compare the two).
enum class Layering { automatic, chain_kernel, per_layer };

struct CompileOptions {
  std::uint64_t shared_memory_bytes = 32768;  // per workgroup (the device's limit)
  std::uint32_t target_groups = 64;           // enough workgroups to fill the device
  // Most iterations any one loop may run in one invocation, all its entries together (0: no
  // limit). lavapipe stops loops at 65535 as a guard against endless ones, and the result is
  // then silently wrong; compile_graph throws instead when a kernel would need more.
  std::uint64_t max_loop_iterations = 0;
  Layering layering = Layering::automatic;
  // What one more layer dispatch costs, as bytes of memory traffic: on an NVIDIA H200 a
  // per-layer GEMM chain of 64 layers of 32 took 0.43 ms, 6.7 us a layer (new bindings and a
  // full barrier each), which is ~27 MB at the ~4 TB/s its memory delivers.
  std::uint64_t dispatch_cost_bytes = 27u << 20;
};

struct CompiledGraph {
  Plan plan;                      // the fused plan the chains were cut from
  std::vector<Chain> chains;      // in execution order
  std::string listing(const Graph& graph) const;  // op codes per chain, human-readable
};

CompiledGraph compile_graph(const Graph& graph, const CompileOptions& options = {});

std::uint64_t fnv1a64(std::string_view text);

}  // namespace dp::graph
