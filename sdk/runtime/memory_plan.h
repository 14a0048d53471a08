// The session memory planner: one arena, laid out before anything runs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/runtime/loader/model.h"
#include "sdk/base/status.h"

namespace kite {

/// Element type of a session's KV cache.
enum class KvType : uint32_t {
  kF32 = 0,   ///< f32 keys and values (exact)
  kInt8 = 1,  ///< int8 keys and values, an f16 scale and offset per KV head per position
};

/// Where a session's forward pass runs. kite_backend in kite.h mirrors it (checked in
/// sdk/runtime/c_api_mirror.cc).
enum class Backend : uint32_t {
  kCpu = 0,     ///< the CPU kernels
  kVulkan = 1,  ///< a Vulkan device (an error when there is none or it cannot run the model)
  kAuto = 2,    ///< a Vulkan GPU that passed the start-up self-check, else the CPU
};

/// Options that size a session.
struct SessionOptions {
  /// Longest sequence (prompt + generated tokens) the session holds, in tokens;
  /// 1 <= max_context <= the model's max_seq_len.
  uint32_t max_context = 512;
  /// Worker threads for the kernels; 1 <= threads <= kMaxThreads.
  uint32_t threads = 1;
  /// Most prompt tokens processed together as one matrix product during prefill;
  /// 1 <= prefill_chunk <= kMaxPrefillChunk. Larger is faster up to a point and costs
  /// activation memory proportional to it.
  uint32_t prefill_chunk = 64;
  /// KV cache element type. kInt8 takes (head_dim + 4) / (4 head_dim) of the f32 cache's
  /// memory (3/8 at head_dim 8, about 1/4 at 64 and up) at a small accuracy cost.
  KvType kv_type = KvType::kF32;
  /// Where the forward pass runs (Session::Create resolves kAuto). The memory plan is the
  /// same for every backend: the CPU buffers also serve the self-check and the logits.
  Backend backend = Backend::kCpu;
  /// Time every GPU kernel of a Vulkan session (Session::kernel_times). Ignored on the CPU.
  bool profile = false;
  /// Context shift: when generation fills the context, keep the first n_keep tokens, drop
  /// the older half of the rest and go on (Session::Generate). Off: a full context stops
  /// generation (StopReason::kContextFull).
  bool context_shift = false;
  /// Tokens kept at the start of the context by a shift (e.g. a system prompt);
  /// n_keep + 2 <= max_context. Ignored without context_shift.
  uint32_t n_keep = 0;
};

inline constexpr uint32_t kMaxThreads = 256;
/// Alignment of the session arena and of every buffer in it, in bytes.
inline constexpr size_t kSessionArenaAlignment = 64;
inline constexpr uint32_t kMaxPrefillChunk = 1024;

/// Byte offsets of every buffer in the session arena (all 64-byte aligned) and the total.
/// Per-token buffers hold prefill_chunk rows.
struct MemoryPlan {
  size_t total_bytes = 0;
  // Activations (f32).
  size_t x = 0, xb = 0, xb2 = 0, hb = 0, hb2 = 0, q = 0, att = 0, logits = 0;
  // KV cache: [n_layers][max_context][kv_dim] each, f32 or (KvType::kInt8) int8.
  size_t key_cache = 0, value_cache = 0;
  // KvType::kInt8 only (0 otherwise): the f16 scale and offset of every head's row,
  // [n_layers][max_context][n_kv_heads][2] uint16 each (kernels::q8kv_quantize); the f32 K
  // and V rows of a chunk before they are quantized ([prefill_chunk][kv_dim] each; they share
  // hb / hb2 when those are wide enough).
  size_t key_params = 0, value_params = 0, k_rows = 0, v_rows = 0;
  // Dynamically quantized activation (int8) and its per-group scales (f32).
  size_t xq = 0, xq_scales = 0, xq_sums = 0;
  size_t xq_stride = 0, xq_groups = 0;  // per-token capacity, in values and groups
  // Sampler candidates: vocab_size ProbIndex.
  size_t sampler = 0;
  // Token ids: prompt encoding scratch of `token_capacity` int32.
  size_t tokens = 0;
  uint32_t token_capacity = 0;
  // The context's last `recent_capacity` token ids (a ring, for the sampler's penalties)
  // and as many ids of scratch for the penalty window: min(max_context, kMaxPenaltyLastN)
  // int32 each.
  size_t recent_tokens = 0, penalty_window = 0;
  uint32_t recent_capacity = 0;
  // The context's token ids, max_context int32 (saved with the session state).
  size_t context_tokens = 0;
  // The generated text held back for the callback (TextStream): `text_capacity` bytes.
  size_t text = 0;
  size_t text_capacity = 0;
  // Sizes of the parts, for reports.
  size_t kv_cache_bytes = 0;
  size_t activation_bytes = 0;
};

/// Validates `options` against `model` (naming the bad option) and lays out the arena.
/// Deterministic: the same model and options always give the same plan. No allocation.
Result<MemoryPlan> PlanSessionMemory(const Model& model, const SessionOptions& options);

/// Elements per group of the int8 activations a 4-bit matrix `t` multiplies (q8_quantize's
/// group): 32 for Q4_G_SP24 and Q3_R16_G64, else t.group_size (32 for the Q4_R16 layouts
/// and Q3_R16_G32, the matrix's group for Q4_ROW_GROUPS). Pure.
uint32_t ActivationGroupSize(const TensorView& t);

/// Activation groups (of ActivationGroupSize) in one quantized input row of `t`: its
/// columns in whole groups, and for Q3_R16_G64 in whole 64-column blocks (an even count,
/// as its kernels read both halves of a block). Pure.
uint64_t ActivationGroups(const TensorView& t);

/// Over the model's 4-bit matrices (the layers' and the head): the widest quantized
/// activation row, padded to whole groups of its ActivationGroupSize (`elements`, int8
/// codes), and the most groups in one row (`groups`); both 0 without 4-bit matrices. Pure.
void QuantScratchSize(const Model& model, uint64_t* elements, uint64_t* groups);

}  // namespace kite
