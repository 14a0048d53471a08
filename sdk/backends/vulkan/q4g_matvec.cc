#include "sdk/backends/vulkan/q4g_matvec.h"

#include <utility>

#include "sdk/backends/vulkan/op.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "q4g_matvec";
// Rows per workgroup (the shader's kRowsPerBlock).
constexpr uint32_t kRowsPerWorkgroup = 16;

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t rows;
  uint32_t groups;
  uint32_t group_words;
  uint32_t mins_at;
  RowAddress y;
};

}  // namespace

Result<Q4gMatvec> Q4gMatvec::Create(const Device& device, uint32_t workgroup_size,
                                    uint32_t tile_tokens) {
  KITE_RETURN_IF_ERROR(CheckTileTokens(kName, tile_tokens));
  KITE_ASSIGN_OR_RETURN(const uint32_t wg,
                        ChooseWorkgroupSize(device, workgroup_size, kRowsPerWorkgroup, kName));
  const uint32_t spec[] = {wg, tile_tokens};  // shaders/q4g_matvec.comp's constants 0, 1
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, CreateOpPipeline(device, kName, Q4gMatvecShader(), 5,
                                                            sizeof(Push), spec, 2));
  return Q4gMatvec(std::move(pipeline), wg, tile_tokens);
}

Result<Dispatch> Q4gMatvec::Prepare(DescriptorPool& pool, const Q4MatvecArgs& a) const {
  KITE_CHECK_OR_RETURN(a.group >= 8 && a.group <= kQ4gMaxGroup && a.group % 8 == 0,
                       Error::kInvalidArgument,
                       "%s: group of %u is not a multiple of 8 in [8, %u]", kName, a.group,
                       kQ4gMaxGroup);
  KITE_RETURN_IF_ERROR(CheckQ4Matvec(kName, a, a.group));
  const uint64_t cells = uint64_t{a.rows} * a.groups;
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.w, cells * a.group / 2, "w"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.params, cells * 2 * (a.mins ? 2 : 1), "params"));
  // Word and half indices fit in 32 bits: buffers are within maxStorageBufferRange
  // (< 4 GiB), which Buffer::Create enforces.
  const uint32_t workgroups = (a.rows + kRowsPerWorkgroup - 1) / kRowsPerWorkgroup;
  const Buffer* buffers[] = {a.w, a.params, a.xq, a.xscale, a.y};
  const Push push = {a.rows, a.groups, a.group / 8,
                     a.mins ? static_cast<uint32_t>(cells) : 0u, a.y_at};
  return pipeline_.Prepare(pool, buffers, &push, workgroups, a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
