// common.glsl — the histogram kernels' shared interface: bytes packed 4 to a uint, 256 bins.
layout(set = 0, binding = 0) readonly buffer Words { uint words[]; };
layout(set = 0, binding = 1) buffer Histogram { uint hist[256]; };
layout(push_constant) uniform Push { uint word_count; };

uint byte_of(uint word, uint i) { return (word >> (8u * i)) & 0xffu; }
