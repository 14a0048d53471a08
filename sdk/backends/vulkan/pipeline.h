// Compute pipelines, the descriptor sets that bind buffers to them, and prepared dispatches.
//
// Every Kite shader follows one convention, so a forward pass can be recorded the same way
// for any op:
//   - N storage buffers at bindings 0..N-1 of set 0, bound whole;
//   - specialization constant 0 is the workgroup size along x; others are per shader,
//     and kFmaNativeConstantId is the device's fma_native() in every pipeline;
//   - the push-constant block starts with `uint n_tokens; uint pos;` (the call's tokens and
//     the position of its first token), followed by the op's own fields, fixed when the
//     dispatch is prepared;
//   - the dispatch is groups_x x n_tokens workgroups: gl_WorkGroupID.y is the token.
// Pipelines and descriptor sets are made once (at session creation); a call only records
// prepared dispatches with its n_tokens and pos, which allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Specialization constant every pipeline gets besides 0..spec_count-1: 1 (true) when the
/// Device's fma_native(), making FmaExact (shaders/fma_exact.glsl) GLSL's fma(). Shaders
/// without it ignore it.
inline constexpr uint32_t kFmaNativeConstantId = 100;

/// Most bindings and specialization constants a pipeline may have.
inline constexpr uint32_t kMaxBindings = 8;
inline constexpr uint32_t kMaxSpecConstants = 8;
/// Largest push-constant block, in 32-bit words (the 128 bytes every device offers).
inline constexpr uint32_t kMaxPushWords = 32;
/// Words of the push block every shader starts with: n_tokens, pos.
inline constexpr uint32_t kPushHeaderWords = 2;

/// A pool of descriptor sets from which a session's dispatches are prepared. Move-only;
/// the Device must outlive it, and it must outlive the sets (Dispatches) taken from it.
/// Not thread-safe.
class DescriptorPool {
 public:
  /// Room for `max_sets` sets binding `max_buffers` storage buffers in all. Errors:
  /// zero counts (kInvalidArgument); Vulkan failures per VkCheck.
  static Result<DescriptorPool> Create(const Device& device, uint32_t max_sets,
                                       uint32_t max_buffers);

  DescriptorPool(DescriptorPool&& other);
  DescriptorPool(const DescriptorPool&) = delete;
  DescriptorPool& operator=(const DescriptorPool&) = delete;
  DescriptorPool& operator=(DescriptorPool&&) = delete;
  ~DescriptorPool();

  VkDescriptorPool handle() const { return pool_; }

 private:
  DescriptorPool() = default;

  const Functions* vk_ = nullptr;  // the Device's entry points
  VkDevice device_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
};

class Pipeline;

/// One op's work prepared once: its pipeline, a descriptor set with the buffers bound, the
/// op's push fields and its workgroups along x. Recording allocates nothing. Copyable (it
/// borrows the pipeline and the set: both must outlive it).
class Dispatch {
 public:
  Dispatch() = default;

  /// Records the dispatch for `n_tokens` tokens (1 <= n_tokens <= max_tokens()) starting at
  /// position `pos` (<= max_pos()), followed, when `barrier`, by RecordBarrier(). Without
  /// it the caller records one before anything that reads this dispatch's writes (several
  /// independent dispatches may share one). Asserts on arguments out of range.
  void Record(VkCommandBuffer commands, uint32_t n_tokens, uint32_t pos,
              bool barrier = true) const;

  /// Records a barrier that makes the writes of every shader recorded before it visible
  /// to later shader reads and writes and to the host.
  void RecordBarrier(VkCommandBuffer commands) const;

  /// The shader's name (for messages and per-kernel timings).
  const char* name() const { return name_; }
  /// Most tokens the bound buffers hold.
  uint32_t max_tokens() const { return max_tokens_; }
  /// Largest starting position the bound buffers allow.
  uint32_t max_pos() const { return max_pos_; }

 private:
  friend class Pipeline;

  const Pipeline* pipeline_ = nullptr;
  const char* name_ = "";
  VkDescriptorSet set_ = VK_NULL_HANDLE;
  uint32_t groups_x_ = 0;
  uint32_t max_tokens_ = 0;
  uint32_t max_pos_ = 0;
  uint32_t push_words_ = 0;
  uint32_t push_[kMaxPushWords] = {};
};

/// What to build. All pointers are borrowed for the duration of Pipeline::Create.
struct PipelineDesc {
  const char* name = "";             ///< the shader's name (static storage), for messages
  const uint32_t* spirv = nullptr;   ///< SPIR-V words
  size_t spirv_words = 0;
  uint32_t bindings = 0;             ///< storage buffers at bindings 0..bindings-1 of set 0
  uint32_t push_bytes = 0;           ///< size of the push-constant block: a multiple of 4,
                                     ///< >= 8 (the n_tokens/pos header), <= kMaxPushWords*4
  const uint32_t* spec = nullptr;    ///< values of specialization constants 0..spec_count-1
  uint32_t spec_count = 0;
};

/// Move-only owner of the shader module, layouts and pipeline. The Device must outlive it.
/// Thread-compatible: after Create, its const methods may run on several threads (each
/// with its own DescriptorPool).
class Pipeline {
 public:
  /// Builds the pipeline. Errors: counts above kMaxBindings/kMaxSpecConstants or a push
  /// block the device cannot hold (kInvalidArgument / kUnsupported); Vulkan failures per
  /// VkCheck, with the shader's name.
  static Result<Pipeline> Create(const Device& device, const PipelineDesc& desc);

  Pipeline(Pipeline&& other);
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  Pipeline& operator=(Pipeline&&) = delete;
  ~Pipeline();

  /// Prepares a dispatch: a descriptor set from `pool` with binding i pointing at
  /// buffers[i] (i < bindings, each whole), the op's push fields (`op_push`: push_bytes -
  /// 8 bytes, the words after the n_tokens/pos header) and `groups_x` workgroups along x,
  /// for calls of up to `max_tokens` tokens starting at positions up to `max_pos`. The
  /// caller has checked the shapes against the buffers for those bounds. Errors: a null
  /// buffer or groups beyond the device's limits (kInvalidArgument / kUnsupported, naming
  /// the shader), the pool exhausted (kOutOfMemory).
  Result<Dispatch> Prepare(DescriptorPool& pool, const Buffer* const* buffers,
                           const void* op_push, uint32_t groups_x, uint32_t max_tokens,
                           uint32_t max_pos) const;

  const char* name() const { return name_; }

 private:
  Pipeline() = default;

  friend class Dispatch;

  const Functions* vk_ = nullptr;  // the Device's entry points
  VkDevice device_ = VK_NULL_HANDLE;
  const char* name_ = "";
  uint32_t max_groups_[2] = {};
  uint32_t bindings_ = 0;
  uint32_t push_bytes_ = 0;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
};

/// Checks `workgroup_size` for a shader whose workgroups are at least `min_size` wide
/// (0: the device's largest) and returns the size to use: a power of two in [min_size,
/// device.max_workgroup_size()], else kInvalidArgument naming `shader`. Pure.
Result<uint32_t> ChooseWorkgroupSize(const Device& device, uint32_t workgroup_size,
                                     uint32_t min_size, const char* shader);

}  // namespace kite::vulkan
