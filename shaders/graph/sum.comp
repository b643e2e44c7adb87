// sum.comp — y[0] = the sum of all n elements of x, in one workgroup: each of the 256 threads adds
// every 256th element, then a tree in shared memory adds the 256 partial sums. One workgroup is
// enough for the graph's small tensors and needs no second pass or atomics.
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; };

shared float part[256];

void main() {
  const uint t = gl_LocalInvocationID.x;
  float s = 0.0;
  for (uint i = t; i < n; i += 256) s += x[i];
  part[t] = s;
  barrier();
  for (uint h = 128; h > 0; h >>= 1) {
    if (t < h) part[t] += part[t + h];
    barrier();
  }
  if (t == 0) y[0] = part[0];
}
