// A model's tensors in device memory (internal to the runtime's Vulkan path): every tensor
// the forward pass reads, placed once, and split by whole row blocks into parts no larger
// than the binding limit. Placed by copying into device memory, or, where the device can
// import host memory, by binding the parts inside the mapped model file itself.
#pragma once

#include <cstdint>
#include <vector>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/host_import.h"
#include "sdk/base/status.h"
#include "sdk/runtime/loader/model.h"

namespace kite::vk_runtime {

/// Longest wait for one submission (an upload batch or a forward call) before the device
/// is declared stuck: generous for a CPU device running a long prefill chunk.
inline constexpr uint64_t kSubmitTimeoutNs = 60000000000ull;

/// Rows [row_begin, row_begin + row_count) of a tensor in device buffers of their own:
/// `data` holds those rows' data bytes from offset 0 (whole row blocks), `scales` their
/// per-row f32 scales (Q8_C), or their f16 scales per row and group followed by as many f16
/// mins when the tensor has them (Q4_ROW_GROUPS: Q4MatvecArgs::params); null otherwise.
struct TensorPart {
  uint32_t row_begin = 0;
  uint32_t row_count = 0;
  const vulkan::Buffer* data = nullptr;
  const vulkan::Buffer* scales = nullptr;
};

/// One tensor on the device: its view in the file and its parts (at least one; vectors and
/// tensors within the binding limit have exactly one). Null view: the tensor is absent
/// (biases of a model without them).
struct DeviceTensor {
  const TensorView* view = nullptr;
  const TensorPart* parts = nullptr;
  uint32_t part_count = 0;
  /// The parts' data buffers hold the f32 rows converted to f16 (WeightOptions::
  /// f16_matrices): read them with the F16 DenseMatvec.
  bool f16 = false;
};

/// The device tensors of one decoder layer.
struct LayerTensors {
  DeviceTensor attention_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3, bq, bk, bv;
};

/// Where the weights' bytes live on the device.
enum class WeightPlacement : uint8_t {
  /// Import where vulkan::PreferHostImport says so (VK_EXT_external_memory_host on an
  /// integrated GPU or CPU device), else copy.
  kAuto,
  /// Copy into device memory (always possible).
  kCopy,
  /// Import the mapped file's pages (an error where the device cannot import them).
  kImport,
};

/// Environment variable forcing the placement: "0" kCopy, "1" kImport; anything else (or
/// unset) leaves the choice to the caller's options. For tests and measurements.
inline constexpr char kWeightImportEnv[] = "KITE_VULKAN_IMPORT_WEIGHTS";

/// kCopy or kImport when kWeightImportEnv is "0" or "1", else `fallback`. Reads the
/// environment: not thread-safe against concurrent setenv.
WeightPlacement WeightPlacementFromEnvironment(WeightPlacement fallback);

/// Environment variable choosing how an f32 model's matrices are stored on the device:
/// "1" as f16, "0" as f32; anything else (or unset) leaves the choice to the caller's
/// options. For tests and measurements.
inline constexpr char kF16WeightsEnv[] = "KITE_VULKAN_F16_WEIGHTS";

/// How the F32 matrices are stored on the device (WeightOptions::f16_matrices).
enum class F16Matrices : uint8_t {
  /// f16 on a GPU that reads f16 from storage buffers (ChooseF16Matrices); f32 on CPU
  /// devices (lavapipe), where the CPU's results are the reference, and on GPUs without it
  /// (the Raspberry Pi 5's V3DV).
  kAuto,
  /// f32, as in the file.
  kOff,
  /// f16 (an error on a device without storageBuffer16BitAccess).
  kOn,
};

/// kOff or kOn when kF16WeightsEnv is "0" or "1", else `fallback`. Reads the environment:
/// not thread-safe against concurrent setenv.
F16Matrices F16MatricesFromEnvironment(F16Matrices fallback);

/// Whether to store the f32 matrices as f16 on a device with `facts`: kAuto, on a device
/// that is not a CPU device and has storage_buffer_16bit; kOn, where it has
/// storage_buffer_16bit (else kUnsupported naming the device and the feature). Pure.
Result<bool> ChooseF16Matrices(const vulkan::DeviceFacts& facts, F16Matrices mode);

/// How weights are placed.
struct WeightOptions {
  /// Copy or import (see WeightPlacement; force_staging implies kCopy).
  WeightPlacement placement = WeightPlacement::kAuto;
  /// Largest buffer of one part, in bytes (0: the device's maxStorageBufferRange).
  uint64_t max_binding_bytes = 0;
  /// Copy through a staging buffer even where the device-local memory is mappable (the
  /// path of discrete GPUs; tests force it on unified-memory devices such as lavapipe).
  /// Implies copying (no import).
  bool force_staging = false;
  /// Largest import of the model's pages, in bytes (0: the device's
  /// maxMemoryAllocationSize). Weights spanning more are imported in several ranges of runs
  /// of parts (vulkan::SplitImports); a buffer that fits none is copied, and when none fits
  /// kImport fails naming both sizes (tests lower it).
  uint64_t max_import_bytes = 0;
  /// Store the F32 matrices (not the vectors, and not the embedding table, read row by row,
  /// nor the head tied to it) as f16, converted at upload (those are copied, never
  /// imported): half their memory and bandwidth, their products those of the weights
  /// rounded to f16. The device must have storage_buffer_16bit (ChooseF16Matrices).
  bool f16_matrices = false;
};

/// The uploaded tensors of a model. Immutable after Upload; shared by the sessions
/// (thread-safe to read). The Device and the Model must outlive it.
class DeviceWeights {
 public:
  /// Checks that every tensor's encoding is one the shaders run (else kUnsupported naming
  /// the tensor and its dtype/layout) and splits matrices into parts (a row block above the
  /// limit: kUnsupported naming the tensor). When importing (options.placement, decided
  /// once here), imports the page-aligned ranges of the model's bytes that cover the
  /// weights (vulkan::SplitImports within model.bytes(), each within the allocation limit)
  /// and binds each part's buffer inside the one holding it where its bytes are contiguous
  /// and its offset meets the buffer's alignment; the
  /// other buffers (and every buffer when copying) are device-local and get the file's
  /// bytes, directly when the memory is mappable (and not options.force_staging), else
  /// through a staging buffer. Tied embeddings are placed once. The model's bytes must stay
  /// mapped while the weights live (the Model owns them and outlives its VulkanModel).
  /// Errors: the above; kImport on a device that cannot import (kUnsupported naming the
  /// device); out of device memory; device failures. A failed import under kAuto falls
  /// back to copying.
  static Result<DeviceWeights> Upload(const vulkan::Device& device, const Model& model,
                                      const WeightOptions& options);

  DeviceWeights(DeviceWeights&&) = default;
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;

  const DeviceTensor& embedding() const { return embedding_; }
  const DeviceTensor& norm() const { return norm_; }
  /// The classifier head (the embedding's parts when tied).
  const DeviceTensor& output() const { return output_; }
  const LayerTensors& layer(uint32_t i) const { return layers_[i]; }
  /// Bytes of device memory the copied weights occupy (0 when every part is imported).
  uint64_t bytes() const { return bytes_; }
  /// Bytes of the weights read in place from imported host memory (the model file).
  uint64_t imported_bytes() const { return imported_bytes_; }
  /// True when some of the model's bytes were imported (some parts may still be copies:
  /// those not aligned, or outside the imported pages).
  bool imported() const { return !hosts_.empty(); }
  /// Imports of the model's pages (each within maxMemoryAllocationSize or the caller's
  /// max_import_bytes); 0 when copying.
  size_t import_count() const { return hosts_.size(); }
  /// Number of buffers (parts' data and scales).
  size_t buffer_count() const { return buffers_.size(); }
  /// True when the bytes went through a staging buffer.
  bool staged() const { return staged_; }

 private:
  DeviceWeights() = default;

  std::vector<vulkan::HostMemory> hosts_;  // before buffers_: outlive the buffers in them
  std::vector<vulkan::Buffer> buffers_;    // reserved once: parts point into it
  std::vector<TensorPart> parts_;        // reserved once: tensors point into it
  DeviceTensor embedding_, norm_, output_;
  std::vector<LayerTensors> layers_;
  uint64_t bytes_ = 0;
  uint64_t imported_bytes_ = 0;
  bool staged_ = false;
};

/// True when the Vulkan forward pass runs matrices of `t`'s encoding: F32, Q8_C, Q4_G in
/// Q4_R16_G32, Q4_R16_G32_SYM, Q4_R16_G32_CB, Q3_R16_G32, Q3_R16_G64 or Q4_ROW_GROUPS (groups
/// a multiple of 8, up to 4096), Q4_G_SP24 in Q4_SP24_R16_G64. Embedding tables take the
/// encodings Embedding takes (sdk/backends/vulkan/embedding.h). Pure.
bool MatrixEncodingSupported(const TensorView& t);

}  // namespace kite::vk_runtime
