// linear_relu_softmax.comp — y = softmax(relu(x · Wᵀ + b)) per row, one workgroup per row: the
// fused last layer of the MLP. The row of x is read into shared memory once; each thread computes
// outputs j, j + 256, ... of the row and keeps them in shared memory, so the softmax that follows
// reads them from there instead of from a buffer written and read back. Rows up to kMaxCols wide.
// x: M x K, W: N x K, b: N, y: M x N.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint kMaxCols = 4096;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(set = 0, binding = 2) readonly buffer B { float b[]; };
layout(set = 0, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint M; uint N; uint K; };

shared float xrow[kMaxCols];
shared float v[kMaxCols];
shared float part[256];

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint r = gl_WorkGroupID.x;
  for (uint k = t; k < K; k += 256) xrow[k] = x[r * K + k];
  barrier();
  float m = -3.402823e38;
  for (uint j = t; j < N; j += 256) {
    float acc = b[j];
    for (uint k = 0; k < K; ++k) acc += xrow[k] * w[j * K + k];
    acc = max(acc, 0.0);
    v[j] = acc;
    m = max(m, acc);
  }
  part[t] = m;
  barrier();
  for (uint s = 128; s > 0; s >>= 1) {
    if (t < s) part[t] = max(part[t], part[t + s]);
    barrier();
  }
  m = part[0];
  barrier();
  float sum = 0.0;
  for (uint j = t; j < N; j += 256) {
    const float e = exp(v[j] - m);
    v[j] = e;
    sum += e;
  }
  part[t] = sum;
  barrier();
  for (uint s = 128; s > 0; s >>= 1) {
    if (t < s) part[t] += part[t + s];
    barrier();
  }
  const float inv = 1.0 / part[0];
  for (uint j = t; j < N; j += 256) y[r * N + j] = v[j] * inv;
}
