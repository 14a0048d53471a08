// Row addressing of per-token buffers (sdk/backends/vulkan/rows.h, RowAddress): the element
// index where token t's row starts in a call whose first token is at position pos. Push
// blocks hold a RowAddress as three uints in this order: offset, pos_stride, stride.
// Included by shaders (#extension GL_GOOGLE_include_directive : require).
uint RowStart(uint offset, uint pos_stride, uint stride, uint pos, uint t) {
  return offset + pos * pos_stride + t * stride;
}
