// Row addressing of per-token buffers, shared by every op (shaders/rows.glsl is the shader
// side): token t of a call starting at position pos has its row at element
//   offset + pos * pos_stride + t * stride.
// With pos_stride = stride = the row length an op reads or writes a KV cache's rows at the
// call's positions; with pos_stride = 0 the rows are the call's own (t = 0 at `offset`);
// `offset` also selects a part of a wider row (the first output row of a split matrix).
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Where the rows of a call's tokens are in a buffer, in elements (floats, ints, ...). A
/// plain struct of three uint32 (push blocks embed it in this order). Thread-compatible.
struct RowAddress {
  uint32_t offset = 0;      ///< element index of token 0's row at position 0
  uint32_t pos_stride = 0;  ///< elements the rows move per position (0: fixed)
  uint32_t stride = 0;      ///< elements between consecutive tokens' rows

  /// One past the last element touched by calls of up to `max_tokens` (>= 1) tokens
  /// starting at positions up to `max_pos`, rows of `row_len` elements. Pure.
  uint64_t EndElements(uint32_t max_pos, uint32_t max_tokens, uint32_t row_len) const {
    return offset + static_cast<uint64_t>(max_pos) * pos_stride +
           static_cast<uint64_t>(max_tokens - 1) * stride + row_len;
  }
};

/// Rows each workgroup computes when an op gives every workgroup whole output rows: the
/// fewest that keep the workgroups along x within 65535, the least
/// maxComputeWorkGroupCount[0] Vulkan allows (1 for up to 65535 rows). Pure.
inline uint32_t RowsPerWorkgroup(uint32_t rows) {
  constexpr uint32_t kMaxGroupsX = 65535;
  return rows <= kMaxGroupsX ? 1 : (rows + kMaxGroupsX - 1) / kMaxGroupsX;
}

/// Checks that `buffer` (named `what` in messages of `shader`) holds the rows `at`
/// addresses, `row_len` elements of `element_bytes` each, for calls of up to `max_tokens`
/// (>= 1) tokens at positions up to `max_pos`; and, when max_tokens > 1, that the tokens'
/// rows do not overlap (stride >= row_len). kInvalidArgument naming both otherwise. Pure.
Status CheckRows(const char* shader, const Buffer* buffer, const RowAddress& at,
                 uint32_t max_pos, uint32_t max_tokens, uint32_t row_len,
                 uint32_t element_bytes, const char* what);

}  // namespace kite::vulkan
