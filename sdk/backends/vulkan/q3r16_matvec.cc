#include "sdk/backends/vulkan/q3r16_matvec.h"

#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "q3r16_matvec";

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t rows;
  uint32_t groups;
  uint32_t groups_per_scale;
  RowAddress y;
};

}  // namespace

Result<Q3R16Matvec> Q3R16Matvec::Create(const Device& device, uint32_t workgroup_size,
                                        uint32_t tile_tokens, Q4R16MatvecVariant variant) {
  KITE_RETURN_IF_ERROR(CheckTileTokens(kName, tile_tokens));
  KITE_ASSIGN_OR_RETURN(const bool integer_dot, UseIntegerDot(device.facts(), variant, kName));
  KITE_ASSIGN_OR_RETURN(const uint32_t wg,
                        ChooseWorkgroupSize(device, workgroup_size, kQ4R16BlockRows, kName));
  // Constants 0..4 as every Q3_R16 shader, then the tile (constant 5).
  const Q3R16Spec q3 = MakeQ3R16Spec(wg);
  const uint32_t spec[] = {q3.values[0], q3.values[1], q3.values[2], q3.values[3], q3.values[4],
                           tile_tokens};
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                        CreateOpPipeline(device, kName,
                                         integer_dot ? Q3R16MatvecDotShader() : Q3R16MatvecShader(),
                                         5, sizeof(Push), spec, sizeof(spec) / sizeof(spec[0])));
  return Q3R16Matvec(std::move(pipeline), wg, tile_tokens, integer_dot);
}

Result<Dispatch> Q3R16Matvec::Prepare(DescriptorPool& pool, const Q4MatvecArgs& a) const {
  KITE_RETURN_IF_ERROR(CheckQ4Matvec(kName, a, kQ4R16GroupSize));
  const uint32_t s = a.groups_per_scale;
  KITE_CHECK_OR_RETURN(s == 1 || s == 2, Error::kInvalidArgument,
                       "%s: groups_per_scale of %u is not 1 (q3_r16_g32) or 2 (q3_r16_g64)",
                       kName, s);
  const uint64_t m = a.max_tokens, groups = a.groups;
  KITE_RETURN_IF_ERROR(CheckBufferSize(
      kName, a.w,
      PackedBytes(DType::Q4_G, s == 1 ? Layout::Q3_R16_G32 : Layout::Q3_R16_G64, a.rows,
                  groups * kQ4R16GroupSize, s * static_cast<uint32_t>(kQ4R16GroupSize)),
      "w"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.xsum, m * groups * 4, "xsum"));
  // Word indices fit in 32 bits: buffers are within maxStorageBufferRange (< 4 GiB).
  const uint32_t blocks = (a.rows + kQ4R16BlockRows - 1) / kQ4R16BlockRows;
  const Buffer* buffers[] = {a.w, a.xq, a.xscale, a.xsum, a.y};
  const Push push = {a.rows, a.groups, s, a.y_at};
  return pipeline_.Prepare(pool, buffers, &push, blocks, a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
