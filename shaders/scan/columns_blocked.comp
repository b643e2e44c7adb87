// columns_blocked.comp — pass 2 of the summed-area table, blocked: the same running sums down
// every column as columns.comp, with many more threads. columns.comp gives each column one thread
// that makes `height` dependent steps, each a round trip to memory; with 4097 columns a big GPU
// has one warp per multiprocessor and nothing to hide that latency with. Here the rows 1 .. height
// are cut into segments of `segment_rows` rows, and the scan runs in three dispatches (the phase
// push constant), barriers between them:
//   phase 0  one thread per (column, segment): the running sum inside its segment, in place; the
//            segment's total to totals[segment][column]
//   phase 1  one thread per column: the running sum of its segment totals (height / segment_rows
//            steps), in place: totals[s][x] becomes the sum of segments 0 .. s
//   phase 2  one thread per (column, segment >= 1): adds the sum of every segment above its own
// With segment_rows near sqrt(height), no thread makes more than about 3 sqrt(height) dependent
// steps, and a 4096-row table has 64 times as many threads as columns.comp. Each value is read and
// written twice instead of once: more bytes, less waiting.
// batch = 8 (the push constant; 1 is the plain loop) hides more of the waiting inside each thread:
// phases 0 and 2 load 8 rows' values first, then add and store them. The loads do not depend on
// one another, so all 8 are in flight at once; the plain loop cannot start the next row's load
// before its store (the shader compiler does not know the two addresses differ).
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) buffer Table { uint table[]; };
layout(set = 0, binding = 1) buffer Totals { uint totals[]; };  // segments x (width + 1)
layout(push_constant) uniform Push { uint width; uint height; uint segment_rows; uint phase; uint batch; };

const uint kBatch = 8u;

void main() {
  const uint x = gl_GlobalInvocationID.x;
  if (x > width) return;
  const uint stride = width + 1;
  if (phase == 1u) {
    const uint segments = (height + segment_rows - 1u) / segment_rows;
    uint run = 0;
    for (uint s = 0; s < segments; ++s) {
      run += totals[s * stride + x];
      totals[s * stride + x] = run;
    }
    return;
  }
  const uint s = gl_WorkGroupID.y;
  const uint first = 1u + s * segment_rows;
  const uint last = min(height, first + segment_rows - 1u);
  uint y = first;
  uint v[kBatch];
  if (phase == 0u) {
    if (s == 0u) table[x] = 0;  // row 0: the zeros above the image
    uint run = 0;
    if (batch == kBatch) {
      for (; y + kBatch - 1u <= last; y += kBatch) {
        for (uint i = 0u; i < kBatch; ++i) v[i] = table[(y + i) * stride + x];
        for (uint i = 0u; i < kBatch; ++i) {
          run += v[i];
          table[(y + i) * stride + x] = run;
        }
      }
    }
    for (; y <= last; ++y) {
      run += table[y * stride + x];
      table[y * stride + x] = run;
    }
    totals[s * stride + x] = run;
  } else if (s > 0u) {
    const uint above = totals[(s - 1u) * stride + x];
    if (batch == kBatch) {
      for (; y + kBatch - 1u <= last; y += kBatch) {
        for (uint i = 0u; i < kBatch; ++i) v[i] = table[(y + i) * stride + x];
        for (uint i = 0u; i < kBatch; ++i) table[(y + i) * stride + x] = v[i] + above;
      }
    }
    for (; y <= last; ++y) table[y * stride + x] += above;
  }
}
