// subgroup.comp — the workgroup reduction with subgroup operations: subgroupAdd sums across the
// 32 (NVIDIA) or 8 (lavapipe) lanes of a subgroup in registers, with no shared memory and no
// barrier; only the per-subgroup totals go through shared memory.
//   default:     one atomicAdd per workgroup into out[0]
//   TWO_PASS=1:  out[workgroup] = the workgroup's total (no atomics; run again over the totals)
#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_basic : require
#if !TWO_PASS
#extension GL_EXT_shader_atomic_float : require
#endif
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Out { float out_[]; };
layout(push_constant) uniform Push { uint n; };

shared float subgroup_sums[64];  // room for subgroups as small as 4 lanes

void main() {
  const uint stride = gl_NumWorkGroups.x * 256;
  float mine = 0.0;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) mine += x[i];
  const float s = subgroupAdd(mine);
  if (subgroupElect()) subgroup_sums[gl_SubgroupID] = s;
  barrier();
  if (gl_SubgroupID == 0) {
    float t = 0.0;
    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) t += subgroup_sums[i];
    t = subgroupAdd(t);
    if (subgroupElect()) {
#if TWO_PASS
      out_[gl_WorkGroupID.x] = t;
#else
      atomicAdd(out_[0], t);
#endif
    }
  }
}
