// rows.comp — pass 1 of the summed-area table: every row's inclusive prefix sum, one workgroup per
// row. The image is u8, four pixels to a uint (byte i of the image is bits 8 (i % 4) .. of word
// i / 4); the table is (width + 1) x (height + 1) uint, row-major, row 0 and column 0 zeros. This
// pass writes rows 1 .. height (column 0 included); columns.comp then adds down the columns.
// The row is scanned 256 pixels at a time: subgroupInclusiveAdd scans inside each subgroup (32
// lanes on NVIDIA, 4 .. 16 on lavapipe) in registers; each subgroup's total goes to shared
// memory, and a lane adds the totals of the subgroups before its own plus the carry (the sum of
// the row's earlier chunks). uint arithmetic wraps modulo 2^32, as the CPU tables.
#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_basic : require
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer Image { uint img[]; };
layout(set = 0, binding = 1) writeonly buffer Table { uint table[]; };
layout(push_constant) uniform Push { uint width; uint height; };

shared uint subgroup_totals[64];  // room for subgroups as small as 4 lanes
shared uint carry;                // the sum of the row's chunks before this one

uint pixel(uint i) { return (img[i >> 2] >> ((i & 3u) * 8u)) & 0xffu; }

void main() {
  const uint stride = width + 1;
  const uint lane = gl_LocalInvocationID.x;
  for (uint y = gl_WorkGroupID.x; y < height; y += gl_NumWorkGroups.x) {  // more rows than groups: loop
    const uint out_row = (y + 1) * stride;
    if (lane == 0) {
      table[out_row] = 0;
      carry = 0;
    }
    barrier();
    for (uint base = 0; base < width; base += 256) {
      const uint x = base + lane;
      const uint s = subgroupInclusiveAdd(x < width ? pixel(y * width + x) : 0u);
      if (gl_SubgroupInvocationID == gl_SubgroupSize - 1) subgroup_totals[gl_SubgroupID] = s;
      barrier();
      uint before = carry;  // at most 63 shared reads: cheap next to the global traffic
      for (uint i = 0; i < gl_SubgroupID; ++i) before += subgroup_totals[i];
      if (x < width) table[out_row + x + 1] = before + s;
      barrier();  // every lane has read carry and the totals
      if (lane == 255) carry = before + s;  // the last lane's sum covers the whole chunk
      barrier();
    }
  }
}
