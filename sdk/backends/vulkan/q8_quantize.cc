#include "sdk/backends/vulkan/q8_quantize.h"

#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/format/format.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "q8_quantize";

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t cols;
  uint32_t groups;
  RowAddress x;
  uint32_t group_words;
};

}  // namespace

Result<Q8Quantize> Q8Quantize::Create(const Device& device, uint32_t workgroup_size) {
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, kName));
  const uint32_t spec[] = {wg};
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, CreateOpPipeline(device, kName, Q8QuantizeShader(), 4,
                                                            sizeof(Push), spec, 1));
  return Q8Quantize(std::move(pipeline), wg);
}

Result<Dispatch> Q8Quantize::Prepare(DescriptorPool& pool, const Q8QuantizeArgs& a) const {
  KITE_CHECK_OR_RETURN(a.max_tokens >= 1 && a.cols >= 1, Error::kInvalidArgument,
                       "%s: bad shape max_tokens=%u cols=%u", kName, a.max_tokens, a.cols);
  KITE_CHECK_OR_RETURN(a.group >= 4 && a.group <= kQ8QuantizeMaxGroup && a.group % 4 == 0,
                       Error::kInvalidArgument,
                       "%s: group of %u is not a multiple of 4 in [4, %u]", kName, a.group,
                       kQ8QuantizeMaxGroup);
  const uint32_t groups = (a.cols + a.group - 1) / a.group;
  const uint64_t m = a.max_tokens;
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.x, a.x_at, a.max_pos, a.max_tokens, a.cols, 4, "x"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.xq, m * groups * a.group, "xq"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.xscale, m * groups * 4, "xscale"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.xsum, m * groups * 4, "xsum"));
  const Buffer* buffers[] = {a.x, a.xq, a.xscale, a.xsum};
  const Push push = {a.cols, groups, a.x_at, a.group / 4};
  return pipeline_.Prepare(pool, buffers, &push, (groups + workgroup_size_ - 1) / workgroup_size_,
                           a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
