// copy_flat.comp — the same number of bytes copied as one flat array of vec4s: no rows, no
// pitch, consecutive threads on consecutive 16-byte words. The memory system's best case.
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer In { vec4 src[]; };
layout(set = 0, binding = 1) readonly buffer Weights { float w[]; };  // unused: the same bindings
layout(set = 0, binding = 2) writeonly buffer Out { vec4 dst[]; };
layout(push_constant) uniform Size { uint W, H, IN_PITCH, OUT_PITCH; };

void main() {
  const uint n4 = W * H / 4, stride = gl_NumWorkGroups.x * 256;
  for (uint i = gl_GlobalInvocationID.x; i < n4; i += stride) dst[i] = src[i];
}
