// The decode matvec on the GPU, and its tiled GEMM variant for prefill (several tokens per
// workgroup): Q4_R16_G32 (or Q4_R16_G32_SYM) weights, as the converter stores them, times
// int8 activations from q8_quantize (group 32). Same contract and
// arithmetic as qd8_q4r16_gemm_ref (sdk/kernels/qd8-q4r16-gemm/): integer dot products are
// exact; the f32 sums across groups are added in another order (agreement to float
// rounding of the terms' magnitudes).
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Q4R16Matvec's arguments (op.h): w holds ceil(rows/16) * groups blocks; xsum is read.
using Q4R16MatvecArgs = Q4MatvecArgs;

/// Most tokens a Q4R16Matvec workgroup may take (the shader's kMaxTile): kQ4MaxTileTokens.
inline constexpr uint32_t kQ4R16MaxTileTokens = kQ4MaxTileTokens;

/// Which shader a Q4R16Matvec runs. The two give identical outputs (the integer dot products
/// are exact either way); the integer-dot one (shaders/q4r16_matvec_dot.spvasm) does each
/// 4 nibbles x 4 int8 as one packed 4x8-bit signed dot product (OpSDot).
enum class Q4R16MatvecVariant : uint8_t {
  kAuto,        ///< integer dot where the device has it and it is accelerated, else plain
  kPlain,       ///< shaders/q4r16_matvec.comp (baseline: 32-bit arithmetic only)
  kIntegerDot,  ///< the integer-dot shader; needs facts.integer_dot_product
};

/// Name of the environment variable that makes the forward pass use kIntegerDot instead of
/// kAuto: "1" forces it (so tests run it on lavapipe, where it is not accelerated).
inline constexpr char kIntegerDotEnv[] = "KITE_VULKAN_INTEGER_DOT";

/// kIntegerDot when the environment variable kIntegerDotEnv is "1", else kAuto. Reads the
/// environment: not thread-safe against concurrent setenv.
Q4R16MatvecVariant Q4R16MatvecVariantFromEnvironment();

/// Whether `variant` runs the integer-dot shader on a device with `facts`: kAuto when
/// facts.integer_dot_product and facts.integer_dot_accelerated, kPlain never, kIntegerDot
/// always, but Error::kUnsupported naming op `name`, the device and the missing feature
/// when the device lacks it. The rule of every op with an integer-dot variant (Q4R16Matvec,
/// Q3R16Matvec). Pure; thread-safe.
Result<bool> UseIntegerDot(const DeviceFacts& facts, Q4R16MatvecVariant variant,
                           const char* name = "q4r16_matvec");

/// The compiled shader for one layout, workgroup size and token tile. Move-only; the Device must
/// outlive it, and it must outlive its Dispatches. Thread-compatible (see Pipeline).
class Q4R16Matvec {
 public:
  /// `symmetric`: Q4_R16_G32_SYM blocks (288 bytes, o = -8 d), else Q4_R16_G32 (320 bytes).
  /// `workgroup_size`: invocations per workgroup, a power of two in [16,
  /// device.max_workgroup_size()], or 0 for device.max_workgroup_size().
  /// `tile_tokens`: tokens per workgroup, in [1, kQ4R16MaxTileTokens]. 1 is the decode
  /// matvec; more is the tiled GEMM for prefill (calls of several tokens), which reads each
  /// weight word once per tile and uses workgroup_size * tile_tokens int32 of shared
  /// memory (8 KiB at 256 x 8). Every tile size adds in the same order: the outputs are
  /// identical. `variant`: the shader (UseIntegerDot decides). Errors: a tile size out of
  /// range (kInvalidArgument); kIntegerDot on a device without integer dot products
  /// (kUnsupported, UseIntegerDot's message). `codebook`: Q4_R16_G32_CB (w = d *
  /// codebook[u], the SYM blocks; needs `symmetric`, else kInvalidArgument), whose Prepare
  /// takes the tensor's entries from Q4MatvecArgs::codebook; either shader has the codebook
  /// specialization (constant 6), so `variant` chooses as for the other layouts.
  static Result<Q4R16Matvec> Create(const Device& device, bool symmetric,
                                    uint32_t workgroup_size, uint32_t tile_tokens = 1,
                                    Q4R16MatvecVariant variant = Q4R16MatvecVariant::kAuto,
                                    bool codebook = false);

  /// Checks the shape against the buffers' sizes and the device's dispatch limits
  /// (kInvalidArgument / kUnsupported naming the buffer or limit) and prepares the
  /// dispatch (a descriptor set from `pool`). A codebook op refuses a null args.codebook
  /// (kInvalidArgument).
  Result<Dispatch> Prepare(DescriptorPool& pool, const Q4R16MatvecArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }
  uint32_t tile_tokens() const { return tile_tokens_; }
  /// True when it runs the integer-dot shader.
  bool integer_dot() const { return integer_dot_; }
  /// True for the Q4_R16_G32_CB op.
  bool codebook() const { return codebook_; }

 private:
  Q4R16Matvec(Pipeline&& pipeline, bool symmetric, bool codebook, uint32_t wg, uint32_t tile,
              bool integer_dot)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), symmetric_(symmetric), codebook_(codebook),
        workgroup_size_(wg), tile_tokens_(tile), integer_dot_(integer_dot) {}

  Pipeline pipeline_;
  bool symmetric_;
  bool codebook_;
  uint32_t workgroup_size_;
  uint32_t tile_tokens_;
  bool integer_dot_;
};

}  // namespace kite::vulkan
