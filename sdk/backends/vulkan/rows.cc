#include "sdk/backends/vulkan/rows.h"

namespace kite::vulkan {

Status CheckRows(const char* shader, const Buffer* buffer, const RowAddress& at,
                 uint32_t max_pos, uint32_t max_tokens, uint32_t row_len,
                 uint32_t element_bytes, const char* what) {
  KITE_CHECK_OR_RETURN(max_tokens <= 1 || at.stride >= row_len, Error::kInvalidArgument,
                       "%s: rows of '%s' overlap: stride %u < row length %u", shader, what,
                       at.stride, row_len);
  return CheckBufferSize(shader, buffer,
                         at.EndElements(max_pos, max_tokens, row_len) * element_bytes, what);
}

}  // namespace kite::vulkan
