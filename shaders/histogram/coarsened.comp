// coarsened.comp — per-thread coarsening: each thread walks CHUNK consecutive words on its own,
// keeping a running (bin, count) pair in registers and touching shared memory only when the bin
// changes. Runs of equal values (sorted or skewed data) cost almost nothing; the price is that
// neighbouring threads read words CHUNK*4 bytes apart (less coalesced).
#version 450
layout(local_size_x = 256) in;
#include "common.glsl"
#ifndef CHUNK
#define CHUNK 16
#endif

shared uint local_hist[256];

void main() {
  const uint t = gl_LocalInvocationID.x;
  local_hist[t] = 0;
  barrier();
  const uint first = gl_GlobalInvocationID.x * CHUNK;
  uint run_bin = 0, run_count = 0;
  for (uint w = first; w < min(first + CHUNK, word_count); ++w) {
    const uint word = words[w];
    for (uint i = 0; i < 4; ++i) {
      const uint bin = byte_of(word, i);
      if (bin != run_bin && run_count > 0) {
        atomicAdd(local_hist[run_bin], run_count);
        run_count = 0;
      }
      run_bin = bin;
      ++run_count;
    }
  }
  if (run_count > 0) atomicAdd(local_hist[run_bin], run_count);
  barrier();
  if (local_hist[t] > 0) atomicAdd(hist[t], local_hist[t]);
}
