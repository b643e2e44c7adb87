// columns.comp — pass 2 of the summed-area table: after rows.comp, each column's running sum
// down the rows, in place. One thread per column (width + 1 of them): neighbouring threads read
// neighbouring words of a row, so each step of the loop is one coalesced row read and write. The
// loop itself is serial (height dependent adds per thread): with few columns a big GPU has few
// threads to run, which is where a blocked column scan or a transpose would help.
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) buffer Table { uint table[]; };
layout(push_constant) uniform Push { uint width; uint height; };

void main() {
  const uint x = gl_GlobalInvocationID.x;
  if (x > width) return;
  const uint stride = width + 1;
  table[x] = 0;  // row 0: the zeros above the image
  uint run = 0;
  for (uint y = 1; y <= height; ++y) {
    run += table[y * stride + x];
    table[y * stride + x] = run;
  }
}
