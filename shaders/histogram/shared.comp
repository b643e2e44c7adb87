// shared.comp — privatization: each workgroup counts into its own 256 bins in shared memory
// (fast atomics, contention only inside the workgroup), then adds its bins to the global
// histogram once: 256 global atomics per workgroup instead of one per value.
#version 450
layout(local_size_x = 256) in;
#include "common.glsl"

shared uint local_hist[256];

void main() {
  const uint t = gl_LocalInvocationID.x;
  local_hist[t] = 0;
  barrier();
  const uint stride = gl_NumWorkGroups.x * 256;
  for (uint w = gl_GlobalInvocationID.x; w < word_count; w += stride) {
    const uint word = words[w];
    for (uint i = 0; i < 4; ++i) atomicAdd(local_hist[byte_of(word, i)], 1u);
  }
  barrier();
  if (local_hist[t] > 0) atomicAdd(hist[t], local_hist[t]);
}
