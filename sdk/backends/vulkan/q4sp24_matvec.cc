#include "sdk/backends/vulkan/q4sp24_matvec.h"

#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "q4sp24_matvec";

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t rows;
  uint32_t groups;
  RowAddress y;
};

}  // namespace

Result<Q4Sp24Matvec> Q4Sp24Matvec::Create(const Device& device, uint32_t workgroup_size,
                                          uint32_t tile_tokens) {
  KITE_RETURN_IF_ERROR(CheckTileTokens(kName, tile_tokens));
  KITE_ASSIGN_OR_RETURN(const uint32_t wg,
                        ChooseWorkgroupSize(device, workgroup_size, kQ4SP24BlockRows, kName));
  // The block geometry in 32-bit words (shaders/q4sp24_matvec.comp's constants 1..4), then
  // the tile (constant 5).
  const uint32_t spec[] = {wg, static_cast<uint32_t>(kQ4SP24BlockBytes / 4),
                           static_cast<uint32_t>(kQ4SP24SubBlockBytes / 4),
                           static_cast<uint32_t>(kQ4SP24PositionsOffset / 4),
                           static_cast<uint32_t>(kQ4SP24ScalesOffset / 4), tile_tokens};
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                        CreateOpPipeline(device, kName, Q4Sp24MatvecShader(), 4, sizeof(Push),
                                         spec, sizeof(spec) / sizeof(spec[0])));
  return Q4Sp24Matvec(std::move(pipeline), wg, tile_tokens);
}

Result<Dispatch> Q4Sp24Matvec::Prepare(DescriptorPool& pool, const Q4MatvecArgs& a) const {
  KITE_RETURN_IF_ERROR(CheckQ4Matvec(kName, a, kQ4SP24GroupSize));
  const uint64_t groups = a.groups;
  KITE_RETURN_IF_ERROR(CheckBufferSize(
      kName, a.w,
      PackedBytes(DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, a.rows, groups * kQ4SP24GroupSize,
                  kQ4SP24BlockCols),
      "w"));
  // Word indices fit in 32 bits: buffers are within maxStorageBufferRange (< 4 GiB).
  const uint32_t blocks = (a.rows + kQ4SP24BlockRows - 1) / kQ4SP24BlockRows;
  const Buffer* buffers[] = {a.w, a.xq, a.xscale, a.y};
  const Push push = {a.rows, a.groups, a.y_at};
  return pipeline_.Prepare(pool, buffers, &push, blocks, a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
