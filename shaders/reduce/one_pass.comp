// one_pass.comp — the sum in one dispatch at full memory bandwidth:
//   - 16-byte loads (vec4), four of them in flight per thread per step: more bytes requested
//     before the first one arrives, which is what a memory-bound kernel lives on;
//   - subgroupAdd, then shared memory between subgroups, as in subgroup.comp;
//   - no float atomics: each workgroup writes its total to partial[], then counts itself in with
//     an integer atomic; the workgroup that arrives last adds the partials up, in index order, so
//     the answer is the same every run (unlike atomicAdd on a float, whose order varies).
// Buffers: x as vec4 (binding 0) and the same buffer as floats (binding 1, for the last n % 4);
// partial[] (one per workgroup); out = {total, arrivals}: arrivals must be 0 before the first run,
// and the last workgroup sets it back to 0 for the next.
#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_basic : require
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 1) readonly buffer X1 { float x1[]; };
layout(set = 0, binding = 2) coherent buffer Partials { float partial[]; };
layout(set = 0, binding = 3) coherent buffer Out { float total; uint arrivals; };
layout(push_constant) uniform Push { uint n; };

shared float subgroup_sums[64];  // room for subgroups as small as 4 lanes
shared bool last;

// The workgroup's sum of `mine`, valid in invocation 0.
float workgroup_sum(float mine) {
  const float s = subgroupAdd(mine);
  if (subgroupElect()) subgroup_sums[gl_SubgroupID] = s;
  barrier();
  float t = 0.0;
  if (gl_SubgroupID == 0) {
    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) t += subgroup_sums[i];
    t = subgroupAdd(t);
  }
  barrier();  // subgroup_sums is reused by the next call
  return t;
}

void main() {
  const uint n4 = n / 4, threads = gl_NumWorkGroups.x * 256, groups = gl_NumWorkGroups.x;
  uint i = gl_GlobalInvocationID.x;
  vec4 a = vec4(0.0), b = vec4(0.0), c = vec4(0.0), d = vec4(0.0);  // four independent loads
  for (; i + 3 * threads < n4; i += 4 * threads) {
    a += x4[i];
    b += x4[i + threads];
    c += x4[i + 2 * threads];
    d += x4[i + 3 * threads];
  }
  for (; i < n4; i += threads) a += x4[i];
  const vec4 v = (a + b) + (c + d);
  float mine = (v.x + v.y) + (v.z + v.w);
  if (gl_GlobalInvocationID.x < n % 4) mine += x1[n4 * 4 + gl_GlobalInvocationID.x];

  const float t = workgroup_sum(mine);
  if (gl_LocalInvocationIndex == 0) {
    partial[gl_WorkGroupID.x] = t;
    memoryBarrierBuffer();  // the partial is visible before the count says it is there
    last = atomicAdd(arrivals, 1u) == groups - 1;
  }
  barrier();
  if (!last) return;
  memoryBarrierBuffer();
  float s = 0.0;
  for (uint g = gl_LocalInvocationIndex; g < groups; g += 256) s += partial[g];
  const float sum = workgroup_sum(s);
  if (gl_LocalInvocationIndex == 0) {
    total = sum;
    arrivals = 0u;  // ready for the next run
  }
}
