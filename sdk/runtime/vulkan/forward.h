// The forward pass on a Vulkan device: the same contract as Transformer::Forward (a chunk of
// tokens at consecutive positions, appending to a KV cache, the logits after the last one)
// for a Model whose weights a VulkanModel holds on the device.
//
// Split in two, as the CPU path is: a VulkanModel (per model: the device and the weights,
// uploaded once, shared by every session) and a VulkanForward (per session: activations,
// the KV cache, descriptor sets, the command buffer; made at session creation so that a
// call records prepared dispatches and allocates nothing).
#pragma once

#include <cstdint>
#include <memory>

#include "sdk/backends/vulkan/device.h"
#include "sdk/base/status.h"
#include "sdk/runtime/loader/model.h"
#include "sdk/runtime/memory_plan.h"
#include "sdk/runtime/vulkan/weights.h"

namespace kite {

/// How a VulkanModel is built.
struct VulkanModelOptions {
  /// Device choice (DeviceOptionsFromEnvironment(): a CPU device only when
  /// KITE_VULKAN_ALLOW_CPU=1).
  vulkan::DeviceOptions device;
  /// Largest buffer one tensor (or part of one) may occupy, in bytes; 0: the device's
  /// maxStorageBufferRange. Tensors above it are split by row blocks into several buffers
  /// (tests lower it to split every tensor of a small model).
  uint64_t max_binding_bytes = 0;
  /// Upload through a staging buffer even where device-local memory is host-visible
  /// (unified memory, lavapipe): the path of discrete GPUs, for tests.
  bool force_staging = false;
  /// Copy the weights into device memory or import the mapped file's pages
  /// (vk_runtime::WeightPlacement). kAuto: KITE_VULKAN_IMPORT_WEIGHTS=0/1 when set, else
  /// import on integrated GPUs and CPU devices that have VK_EXT_external_memory_host.
  vk_runtime::WeightPlacement weights = vk_runtime::WeightPlacement::kAuto;
  /// Largest import of the file's pages, in bytes; 0: the device's maxMemoryAllocationSize
  /// (vk_runtime::WeightOptions::max_import_bytes; tests lower it).
  uint64_t max_import_bytes = 0;
  /// Store an f32 model's matrices as f16 (vk_runtime::F16Matrices). kAuto:
  /// KITE_VULKAN_F16_WEIGHTS=0/1 when set, else f16 on GPUs with storageBuffer16BitAccess
  /// and f32 on CPU devices (lavapipe) and GPUs without it.
  vk_runtime::F16Matrices f16_matrices = vk_runtime::F16Matrices::kAuto;
};

/// A model's weights on a Vulkan device, uploaded once. Immutable after Create and shared
/// by the sessions of its model (thread-safe: sessions on several threads each make their
/// own VulkanForward from it). The Model must outlive it.
class VulkanModel {
 public:
  /// Opens a device and uploads every tensor the forward pass reads. Errors: no usable
  /// device (the device's reason), a dtype/layout or shape the shaders do not run
  /// (kUnsupported naming the tensor and its encoding), out of device memory,
  /// KITE_VULKAN_INTEGER_DOT=1 on a device without integer dot products.
  static Result<std::unique_ptr<VulkanModel>> Create(const Model& model,
                                                     const VulkanModelOptions& options);
  ~VulkanModel();

  const Model& model() const;
  /// The device's name (VkPhysicalDeviceProperties::deviceName) and type, for notices.
  const char* device_name() const;
  bool is_cpu_device() const;
  /// True when the Q4_R16 products run the integer-dot shader (Q4R16MatvecVariant: kAuto,
  /// or kIntegerDot forced by KITE_VULKAN_INTEGER_DOT=1, read at Create).
  bool integer_dot() const;
  /// True when the weights are read from the imported model file (WeightPlacement), false
  /// when they were copied into device memory.
  bool weights_imported() const;
  /// True when the f32 matrices are stored as f16 on the device (F16Matrices, decided at
  /// Create).
  bool f16_matrices() const;

  /// The device, the uploaded weights and the pipelines (sdk/runtime/vulkan/model_state.h).
  struct State;
  const State& state() const { return *state_; }

 private:
  explicit VulkanModel(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// Per-kernel GPU time of the last Forward call (when profiling is on).
struct VulkanKernelTime {
  const char* name;  ///< the shader's name (static storage)
  uint32_t calls;    ///< dispatches of it in the call
  double ms;         ///< their summed GPU time, from timestamp queries
};

/// A part of one layer's KV cache, as a session state holds it (sdk/runtime/session_state.cc).
/// Rows are laid out as in the CPU's cache: keys and values kv_dim f32 (or int8 codes) per
/// row; for an int8 cache, the keys' and the values' n_kv_heads (scale, offset) f16 pairs
/// per row.
enum class VulkanKvPart : uint8_t { kKeys, kValues, kKeyParams, kValueParams };

/// One session's forward pass on the device. Not thread-safe (one per session); several
/// may run at once on different threads over one VulkanModel, which must outlive them.
class VulkanForward {
 public:
  /// Buffers for chunks of up to `max_batch` tokens and a context of `max_context` tokens
  /// (a KV cache of `kv_type` in device memory: f32, or int8 with per-head f16 scale and
  /// offset as the CPU's), descriptor sets and a command buffer. `profile`: record
  /// timestamp queries around every dispatch (kernel_times()). `state_staging_bytes`: the
  /// largest piece ReadKv/WriteKv move at once (0: 256 KiB, or less when one layer's keys are
  /// smaller; tests make it tiny). Errors: out of device
  /// memory, limits of the device (named), an int8 cache with head_dim not a multiple of 4.
  static Result<std::unique_ptr<VulkanForward>> Create(const VulkanModel& model,
                                                       uint32_t max_batch,
                                                       uint32_t max_context, bool profile,
                                                       KvType kv_type = KvType::kF32,
                                                       uint64_t state_staging_bytes = 0);
  ~VulkanForward();

  /// Processes tokens[0..n) at positions pos..pos+n-1 (1 <= n <= max_batch, pos + n <=
  /// max_context, tokens < vocab_size: the caller checks), appending to the KV cache. When
  /// `want_logits`, the logits after the last token are in logits() afterwards. A device
  /// failure (lost device, timeout) returns its status; the session is then unusable and
  /// every later call returns the same error.
  Status Forward(const int32_t* tokens, uint32_t n, uint32_t pos, bool want_logits);

  /// vocab_size floats on the host, valid after a Forward with want_logits.
  const float* logits() const;

  /// Per-kernel times of the last Forward (empty unless created with `profile`); `count`
  /// receives the number of entries.
  const VulkanKernelTime* kernel_times(uint32_t* count) const;

  /// Copies the first `bytes` of layer `layer`'s `part` of the device's KV cache to `dst`
  /// (ReadKv) or from `src` (WriteKv; the rows then serve the next Forward calls), through
  /// the session's staging buffer in pieces of its size: allocates nothing. Errors: a layer
  /// or size beyond the cache, scales of an f32 cache (kInvalidArgument); a device failure,
  /// which makes the session unusable as in Forward.
  Status ReadKv(VulkanKvPart part, uint32_t layer, uint64_t bytes, void* dst);
  Status WriteKv(VulkanKvPart part, uint32_t layer, uint64_t bytes, const void* src);

  /// Pipeline barriers the last Forward recorded: one after each group of independent
  /// dispatches (the q, k and v products of a layer, the gate and up products, ...) and one
  /// at the end, so fewer than its dispatches.
  uint32_t barriers() const;

  /// True when created with `profile` and the device's queue has timestamps
  /// (timestampValidBits > 0 and a timestampPeriod); else kernel_times() stays empty.
  bool profiling() const;

  /// Buffers, prepared dispatches, command stream and query pool (forward.cc).
  struct State;

 private:
  explicit VulkanForward(std::unique_ptr<State> state);
  // ReadKv (to_host) and WriteKv: `host` is read from or written to.
  Status CopyKv(VulkanKvPart part, uint32_t layer, uint64_t bytes, void* host, bool to_host);
  std::unique_ptr<State> state_;
};

}  // namespace kite
