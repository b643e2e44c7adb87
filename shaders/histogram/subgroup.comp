// subgroup.comp — privatization plus aggregation inside a subgroup: the lanes that hold the same
// bin elect one of them, which adds the whole group's count with ONE shared atomic. Each loop
// round serves every lane that shares the first remaining lane's bin: few rounds on skewed data
// (many lanes agree), up to one per lane on uniform data.
#version 450
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_KHR_shader_subgroup_basic : require
layout(local_size_x = 256) in;
#include "common.glsl"

shared uint local_hist[256];

void add_aggregated(uint bin) {
  bool done = false;
  while (!done) {
    const uint leader_bin = subgroupBroadcastFirst(bin);
    const uvec4 same = subgroupBallot(bin == leader_bin);
    if (bin == leader_bin) {
      if (subgroupElect()) atomicAdd(local_hist[leader_bin], subgroupBallotBitCount(same));
      done = true;
    }
  }
}

void main() {
  const uint t = gl_LocalInvocationID.x;
  local_hist[t] = 0;
  barrier();
  const uint stride = gl_NumWorkGroups.x * 256;
  // Every lane runs the same number of rounds so that whole subgroups stay together.
  const uint rounds = (word_count + stride - 1) / stride;
  for (uint r = 0; r < rounds; ++r) {
    const uint w = gl_GlobalInvocationID.x + r * stride;
    const uint word = w < word_count ? words[w] : 0u;
    for (uint i = 0; i < 4; ++i) {
      if (w < word_count) add_aggregated(byte_of(word, i));
    }
  }
  barrier();
  if (local_hist[t] > 0) atomicAdd(hist[t], local_hist[t]);
}
