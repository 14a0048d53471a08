// The loop every optimized 4-bit x int8 GEMM variant (qd8-q4r16-gemm, qd8-q4sp24-gemm)
// shares: 16-row blocks, tokens in tiles of the variant's width, the last m % width tokens as
// one narrower tile, and the prefetch of the next block row during the first tile's pass over
// a block row. Each family's driver.h binds its arguments to its policy's Tile through this
// loop.
//
// Instantiate only from an ISA file (through its family's driver.h), with a tile callable
// built on a policy in that file's anonymous namespace: the instantiation then has internal
// linkage and that file's ISA flags.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace kite::kernels::gemm_driver {

/// Calls tile(std::integral_constant<size_t, r>{}, args...) for the runtime r,
/// 1 <= r <= T.
template <size_t T, class Tile, class... Args>
inline void NarrowTile(size_t r, Tile& tile, Args... args) {
  if constexpr (T >= 1) {
    if (r == T) {
      tile(std::integral_constant<size_t, T>{}, args...);
    } else {
      NarrowTile<T - 1>(r, tile, args...);
    }
  } else {
    assert(false);
  }
}

/// For each block row of kBlockRows rows (row_block_bytes apart from w) and each tile of
/// tokens, calls tile(std::integral_constant<size_t, T>{}, wb, t, r0, n, next): T tokens from
/// token t (T = kTokenTile, or the m % kTokenTile tokens left as one narrower tile) on the
/// first n rows of the block row at wb, whose first row is r0; `next` is the next block row
/// for the first tile of a block row to prefetch (null otherwise, after the last, and
/// whenever m = 1).
template <size_t kTokenTile, size_t kBlockRows, class Tile>
inline void ForEachTile(size_t m, size_t rows, size_t row_block_bytes, const uint8_t* w,
                        Tile tile) {
  const size_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* wb = w + b * row_block_bytes;
    const size_t r0 = b * kBlockRows;
    const size_t n = rows - r0 < kBlockRows ? rows - r0 : kBlockRows;
    // The first pass over this block row prefetches the next one, when there are several
    // tokens. A single token (decode) reads the block rows back to back, one stream the
    // hardware prefetchers keep up with: prefetching the next block row (tens of KiB
    // ahead) made m = 1 10-15% slower from DRAM (docs/performance.md, "Decode at the
    // memory roof").
    const uint8_t* next = m > 1 && b + 1 < blocks ? wb + row_block_bytes : nullptr;
    size_t t = 0;
    for (; t + kTokenTile <= m; t += kTokenTile) {
      tile(std::integral_constant<size_t, kTokenTile>{}, wb, t, r0, n, t == 0 ? next : nullptr);
    }
    if (t < m) NarrowTile<kTokenTile - 1>(m - t, tile, wb, t, r0, n, t == 0 ? next : nullptr);
  }
}

}  // namespace kite::kernels::gemm_driver
