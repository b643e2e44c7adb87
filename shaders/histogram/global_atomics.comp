// global_atomics.comp — one atomicAdd on the global histogram per value. With skewed data,
// thousands of threads hit the same few counters and wait for each other.
#version 450
layout(local_size_x = 256) in;
#include "common.glsl"

void main() {
  const uint stride = gl_NumWorkGroups.x * 256;
  for (uint w = gl_GlobalInvocationID.x; w < word_count; w += stride) {
    const uint word = words[w];
    for (uint i = 0; i < 4; ++i) atomicAdd(hist[byte_of(word, i)], 1u);
  }
}
