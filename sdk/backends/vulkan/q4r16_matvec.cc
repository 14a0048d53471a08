#include "sdk/backends/vulkan/q4r16_matvec.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "q4r16_matvec";

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t rows;
  uint32_t groups;
  RowAddress y;
  CodebookWords codebook;  // the codebook op's entries, 4 per word
};

}  // namespace

Q4R16MatvecVariant Q4R16MatvecVariantFromEnvironment() {
  const char* value = std::getenv(kIntegerDotEnv);
  return value != nullptr && std::strcmp(value, "1") == 0 ? Q4R16MatvecVariant::kIntegerDot
                                                          : Q4R16MatvecVariant::kAuto;
}

Result<bool> UseIntegerDot(const DeviceFacts& facts, Q4R16MatvecVariant variant,
                           const char* name) {
  switch (variant) {
    case Q4R16MatvecVariant::kPlain: return false;
    case Q4R16MatvecVariant::kAuto:
      return facts.integer_dot_product && facts.integer_dot_accelerated;
    case Q4R16MatvecVariant::kIntegerDot: break;
  }
  KITE_CHECK_OR_RETURN(facts.integer_dot_product, Error::kUnsupported,
                       "%s: Vulkan device '%s' lacks integer dot products "
                       "(VK_KHR_shader_integer_dot_product, shaderIntegerDotProduct)",
                       name, facts.name);
  return true;
}

Result<Q4R16Matvec> Q4R16Matvec::Create(const Device& device, bool symmetric,
                                        uint32_t workgroup_size, uint32_t tile_tokens,
                                        Q4R16MatvecVariant variant, bool codebook) {
  KITE_RETURN_IF_ERROR(CheckTileTokens(kName, tile_tokens));
  KITE_CHECK_OR_RETURN(!codebook || symmetric, Error::kInvalidArgument,
                       "%s: the codebook layout Q4_R16_G32_CB has the symmetric blocks", kName);
  KITE_ASSIGN_OR_RETURN(const bool integer_dot, UseIntegerDot(device.facts(), variant, kName));
  KITE_ASSIGN_OR_RETURN(const uint32_t wg,
                        ChooseWorkgroupSize(device, workgroup_size, kQ4R16BlockRows, kName));
  const Q4R16Spec q4 = MakeQ4R16Spec(wg, symmetric);
  // Constants 0..4 as every Q4_R16 shader, then the tile (constant 5) and the codebook
  // switch (constant 6), in both shaders.
  const uint32_t spec[] = {q4.values[0], q4.values[1], q4.values[2], q4.values[3], q4.values[4],
                           tile_tokens, codebook ? 1u : 0u};
  const uint32_t spec_count = sizeof(spec) / sizeof(spec[0]);
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                        CreateOpPipeline(device, kName,
                                         integer_dot ? Q4R16MatvecDotShader() : Q4R16MatvecShader(),
                                         5, sizeof(Push), spec, spec_count));
  return Q4R16Matvec(std::move(pipeline), symmetric, codebook, wg, tile_tokens, integer_dot);
}

Result<Dispatch> Q4R16Matvec::Prepare(DescriptorPool& pool, const Q4R16MatvecArgs& a) const {
  KITE_RETURN_IF_ERROR(CheckQ4Matvec(kName, a, kQ4R16GroupSize));
  KITE_CHECK_OR_RETURN(!codebook_ || a.codebook != nullptr, Error::kInvalidArgument,
                       "%s: the codebook layout needs the tensor's codebook", kName);
  const uint64_t m = a.max_tokens, groups = a.groups;
  const Layout layout = codebook_    ? Layout::Q4_R16_G32_CB
                        : symmetric_ ? Layout::Q4_R16_G32_SYM
                                     : Layout::Q4_R16_G32;
  KITE_RETURN_IF_ERROR(CheckBufferSize(
      kName, a.w, PackedBytes(DType::Q4_G, layout, a.rows, groups * kQ4R16GroupSize, kQ4R16GroupSize),
      "w"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.xsum, m * groups * 4, "xsum"));
  // Every word index the shader forms fits in 32 bits: buffers are within
  // maxStorageBufferRange (< 4 GiB), which Buffer::Create enforces.
  const uint32_t blocks = (a.rows + kQ4R16BlockRows - 1) / kQ4R16BlockRows;
  const Buffer* buffers[] = {a.w, a.xq, a.xscale, a.xsum, a.y};
  Push push = {a.rows, a.groups, a.y_at, {}};
  if (codebook_) push.codebook = PackCodebook(a.codebook);
  return pipeline_.Prepare(pool, buffers, &push, blocks, a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
