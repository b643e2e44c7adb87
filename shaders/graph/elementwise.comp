// elementwise.comp — c = op(a, b) for the graph's relu (op 0: max(a, 0), b unused), add (1), sub (2).
// One float per thread per step of a grid-stride loop; neighbours touch neighbours (coalesced).
// Bytes per element: 8 (relu) or 12 (add, sub); 1 FLOP: pure bandwidth, or pure overhead when small.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint kOp = 0;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint n; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
    if (kOp == 0) c[i] = max(a[i], 0.0);
    else if (kOp == 1) c[i] = a[i] + b[i];
    else c[i] = a[i] - b[i];
  }
}
