#version 450
// gpu-conv1d — make this faster. (exercises/m2/gpu-conv1d/README.md has the task.)
//
// The contract with the checker (keep it; everything else is yours to change, local size included):
//   binding 0  in_data[n + k - 1]     the signal
//   binding 1  taps[k]                the filter, k <= 64
//   binding 2  out_data[n]            out_data[i] = sum over j < k of in_data[i + j] * taps[j]
//   push constants: uint n, uint k
//   the checker launches ceil(n / 256) workgroups along x; workgroup g writes out_data[256 g]
//   to out_data[256 g + 255] (those below n), however its invocations share that out.
//
//   dontpanic exercise check gpu-conv1d     is it right, and how much faster?
//   dontpanic exercise hint gpu-conv1d      a nudge (three, each more specific)
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer Signal { float in_data[]; };
layout(set = 0, binding = 1) readonly buffer Taps { float taps[]; };
layout(set = 0, binding = 2) writeonly buffer Result { float out_data[]; };
layout(push_constant) uniform Push { uint n; uint k; };

// One output per invocation, every input read from the storage buffer: output i reads inputs i to
// i + k - 1, so each input is read k times by k neighbouring invocations.
void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= n) return;
  float sum = 0.0;
  for (uint j = 1; j < k; ++j) sum += in_data[i + j] * taps[j];  // wrong: skips tap 0
  out_data[i] = sum;
}
