// int8_amx.hpp — the int8 product on AMX tiles (Intel Sapphire Rapids and later).
//
// Index
//   AmxTiles         RAII: configures the tiles on this thread, releases them at the end
//   block_amx()      a 32 x 32 block of outputs from 2 x 2 tiles of sums
//
// AMX adds eight tile registers of up to 16 rows x 64 bytes and one instruction that matters here:
// tdpbusd C, A, B: for each of C's 16 x 16 int32 sums, 16 lanes of 4 u8 x s8 products of A's row
// and B's column: 16,384 multiply-adds in one instruction (vpdpbusd zmm does 64). B's layout is
// exactly our packed panel's: row g of a B tile is lane g of 16 columns, 64 bytes, and the next
// lane is 128 bytes on (a panel is 32 columns wide), so tiles load straight from PackedWeights.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/quant/int8_layout.hpp"

namespace dp::quant {

#if DP_INT8_X86
// Palette 1, eight tiles of 16 rows x 64 bytes: 0-3 the sums, 4-5 inputs, 6-7 weights.
class AmxTiles {
 public:
  [[gnu::target("amx-tile")]] AmxTiles() {
    struct alignas(64) Config {
      std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
      std::uint16_t bytes_per_row[16] = {};
      std::uint8_t rows[16] = {};
    } config;
    for (int t = 0; t < 8; ++t) config.bytes_per_row[t] = 64, config.rows[t] = 16;
    // ldtilecfg in asm with the whole config as its memory operand: GCC 12's _tile_loadconfig
    // does not say it reads the 64 bytes, and -O2 dropped the stores above as dead, leaving
    // every tile unconfigured (the first tile instruction then faults: SIGILL). Found on the
    // H200 machine's Xeon.
    asm volatile("ldtilecfg %0" : : "m"(config));
  }
  [[gnu::target("amx-tile")]] ~AmxTiles() { _tile_release(); }
  AmxTiles(const AmxTiles&) = delete;
  AmxTiles& operator=(const AmxTiles&) = delete;
};

// Rows r0 .. r0 + 31 of x (padded: they exist) times one panel of 32 columns; stores `rows` rows
// and `cols` columns. Needs an AmxTiles alive on this thread.
[[gnu::target("amx-tile,amx-int8,avx512f,avx512bw")]] inline void
block_amx(const PackedInput& x, std::size_t r0, std::size_t rows, const std::uint32_t* panel, const Epilogue& e,
          float* out, std::size_t ldo, std::size_t cols) {
  const unsigned char* a = x.row(r0);
  const std::size_t lda = x.row_bytes();
  const auto* b = reinterpret_cast<const unsigned char*>(panel);
  // GCC 12 writes the tile intrinsics as asm statements that do not tell the compiler which memory
  // they read or write: the empty asm statements here do, so no load or store moves across them.
  asm volatile("" ::: "memory");
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (std::size_t g = 0; g < x.groups; g += 16) {  // 16 lanes = 64 values of K per step
    _tile_loadd(4, a + 4 * g, lda);             // input rows 0-15
    _tile_loadd(5, a + 16 * lda + 4 * g, lda);  // input rows 16-31
    _tile_loadd(6, b + g * 128, 128);           // columns 0-15
    _tile_loadd(7, b + g * 128 + 64, 128);      // columns 16-31
    _tile_dpbusd(0, 4, 6);  // sums rows 0-15 x columns 0-15 += inputs 0-15 . weights 0-15
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  alignas(64) std::int32_t sums[32][32];
  _tile_stored(0, &sums[0][0], 128);
  _tile_stored(1, &sums[0][16], 128);
  _tile_stored(2, &sums[16][0], 128);
  _tile_stored(3, &sums[16][16], 128);
  asm volatile("" : "+m"(sums));  // the tiles wrote `sums`
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t first = 0; first < cols; first += 16)
      store_row_zmm(_mm512_load_si512(&sums[r][first]), e, first, cols, out + r * ldo);
}
#endif

}  // namespace dp::quant
