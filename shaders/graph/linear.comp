// linear.comp — y = act(x · Wᵀ + b), the graph's linear op (act = relu when kRelu is 1).
// x: M x K, W: N x K (one row per output feature, as nn.Linear stores it), b: N, y: M x N.
// One thread per output, 16 x 16 outputs per workgroup. The K loop goes in tiles of 16: the
// workgroup copies a 16 x 16 tile of x and one of W into shared memory (each thread one float of
// each, neighbours reading neighbouring floats), then every thread reads 16 of each from there.
// Global memory traffic per tile: 2 x 256 floats for 16 x 256 multiply-adds.
#version 450
layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const uint kRelu = 0;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(set = 0, binding = 2) readonly buffer B { float b[]; };
layout(set = 0, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint M; uint N; uint K; };

shared float xs[16][17];  // +1 column: threads reading down a column hit different banks
shared float ws[16][17];

void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  const uint row = gl_WorkGroupID.y * 16 + ty;  // output row (batch)
  const uint col = gl_WorkGroupID.x * 16 + tx;  // output column (feature)
  const uint w_row = gl_WorkGroupID.x * 16 + ty;
  float acc = 0.0;
  for (uint k0 = 0; k0 < K; k0 += 16) {
    const uint k = k0 + tx;
    xs[ty][tx] = (row < M && k < K) ? x[row * K + k] : 0.0;
    ws[ty][tx] = (w_row < N && k < K) ? w[w_row * K + k] : 0.0;
    barrier();
    for (uint i = 0; i < 16; ++i) acc += xs[ty][i] * ws[tx][i];
    barrier();
  }
  if (row < M && col < N) {
    acc += b[col];
    if (kRelu != 0) acc = max(acc, 0.0);
    y[row * N + col] = acc;
  }
}
