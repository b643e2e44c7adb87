// softmax.comp — y = softmax of each row of x (rows x cols), one workgroup per row.
// Three passes over the row: its maximum, the sum of exp(x - max), then exp(x - max) / sum.
// Subtracting the maximum keeps every exponent <= 0: no overflow, the same result. The 256 threads
// each take every 256th element; a tree in shared memory combines their partial results.
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint rows; uint cols; };

shared float part[256];

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint base = gl_WorkGroupID.x * cols;
  float m = -3.402823e38;
  for (uint j = t; j < cols; j += 256) m = max(m, x[base + j]);
  part[t] = m;
  barrier();
  for (uint s = 128; s > 0; s >>= 1) {
    if (t < s) part[t] = max(part[t], part[t + s]);
    barrier();
  }
  m = part[0];
  barrier();
  float sum = 0.0;
  for (uint j = t; j < cols; j += 256) sum += exp(x[base + j] - m);
  part[t] = sum;
  barrier();
  for (uint s = 128; s > 0; s >>= 1) {
    if (t < s) part[t] += part[t + s];
    barrier();
  }
  const float inv = 1.0 / part[0];
  for (uint j = t; j < cols; j += 256) y[base + j] = exp(x[base + j] - m) * inv;
}
