// sort.comp — sort-based: a workgroup sorts a tile of 1024 values in shared memory (bitonic
// sort: 55 compare-exchange rounds, a barrier each), after which equal values sit together.
// The first element of each run finds the run's end by binary search and adds the run's
// length with one atomic: one atomic per distinct value per tile, however skewed the data.
// Requires word_count to be a multiple of 256 (tiles of 1024 values).
#version 450
layout(local_size_x = 256) in;
#include "common.glsl"

const uint TILE = 1024;
shared uint tile[TILE];
shared uint local_hist[256];

void main() {
  const uint t = gl_LocalInvocationID.x;
  local_hist[t] = 0;
  const uint tiles = word_count / 256;
  for (uint tile_index = gl_WorkGroupID.x; tile_index < tiles; tile_index += gl_NumWorkGroups.x) {
    const uint word = words[tile_index * 256 + t];
    for (uint i = 0; i < 4; ++i) tile[t * 4 + i] = byte_of(word, i);
    barrier();
    for (uint k = 2; k <= TILE; k <<= 1) {
      for (uint j = k >> 1; j > 0; j >>= 1) {
        for (uint p = t; p < TILE / 2; p += 256) {
          const uint lo = 2 * p - (p & (j - 1)), hi = lo + j;  // the pair (lo, lo + j)
          const bool ascending = (lo & k) == 0;
          const uint a = tile[lo], b = tile[hi];
          if ((a > b) == ascending) {
            tile[lo] = b;
            tile[hi] = a;
          }
        }
        barrier();
      }
    }
    for (uint i = t * 4; i < t * 4 + 4; ++i) {
      const uint v = tile[i];
      if (i > 0 && tile[i - 1] == v) continue;  // not the start of a run
      uint lo = i + 1, hi = TILE;                // first index with tile[index] > v
      while (lo < hi) {
        const uint mid = (lo + hi) / 2;
        if (tile[mid] > v) hi = mid; else lo = mid + 1;
      }
      atomicAdd(local_hist[v], lo - i);
    }
    barrier();  // the tile is read before the next one overwrites it
  }
  barrier();
  if (local_hist[t] > 0) atomicAdd(hist[t], local_hist[t]);
}
