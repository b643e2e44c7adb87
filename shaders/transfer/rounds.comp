// rounds.comp — work for a chunk that has just arrived: each word goes through `rounds` steps of
// x -> x * 747796405 + 2891336453 (mod 2^32, an LCG step), and lands at its place in the output.
// gpu-transfer sets `rounds` so that the kernel on one chunk takes about as long as copying the
// chunk: then overlapping the copies with the kernels can save the most.
#version 450
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Chunk { uint x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { uint y[]; };
layout(push_constant) uniform Push {
  uint n;       // words in the chunk
  uint rounds;  // steps per word
  uint first;   // where the chunk starts in the output, in words
};

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
    uint v = x[i];
    for (uint r = 0; r < rounds; ++r) v = v * 747796405u + 2891336453u;
    y[first + i] = v;
  }
}
