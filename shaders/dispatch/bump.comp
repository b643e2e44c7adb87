// bump.comp — the smallest useful kernel: 64 threads each add 1 to their counter in one slot.
// The work is nothing; what gpu-dispatch-overhead measures is everything around it.
#version 450
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) buffer Counts { uint counts[]; };
layout(push_constant) uniform Push { uint slot; };

// atomicAdd, because dispatches recorded without a barrier may run at the same time, and two of
// them may bump the same slot: a plain += would lose updates.
void main() { atomicAdd(counts[slot * 64 + gl_LocalInvocationID.x], 1u); }
