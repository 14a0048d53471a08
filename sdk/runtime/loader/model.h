// A loaded .kite model: the validated view of a mapped file. Immutable after Open() and
// safe to share between threads and sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "platform/file_map.h"
#include "sdk/base/arena.h"
#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/runtime/chat.h"
#include "sdk/base/status.h"
#include "sdk/runtime/tokenizer/tokenizer.h"

namespace kite {

/// A tensor's bytes inside the mapped file. Vectors have rows == 1.
struct TensorView {
  const char* name = nullptr;
  DType dtype = DType::F32;
  Layout layout = Layout::ROW_MAJOR;
  uint32_t rows = 0;
  uint32_t cols = 0;
  uint32_t group_size = 0;     ///< Q4_G, Q4_G_SP24: elements per group; 0 otherwise
  const void* data = nullptr;  ///< 64-byte aligned
  uint64_t data_size = 0;
  const void* scales = nullptr;  ///< Q4_G: f16 [rows][groups]; Q8_C: f32 [rows]
  uint64_t scales_size = 0;
  const void* mins = nullptr;  ///< Q4_G, optional: f16 offsets [rows][groups]; else null
  /// Q4_R16_G32_CB: its kQ4CodebookEntries int8 values (in the file's metadata); else null.
  const int8_t* codebook = nullptr;
  /// Dense f32 matrices: the XNNPACK operator computing with them (a
  /// xnnpack::DenseLinear), or null when the kernels run them.
  void* dense = nullptr;
  /// Q4_G, Q4_G_SP24: groups per row, ceil(cols / group_size).
  uint32_t groups() const { return group_size ? (cols + group_size - 1) / group_size : 0; }
};

/// Weights of one decoder layer.
struct LayerWeights {
  TensorView attention_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3;
  /// f32 q/k/v biases when config().attention_bias (data null otherwise).
  TensorView bq, bk, bv;
};

/// Architecture hyper-parameters (see kite.schema.Config).
struct ModelConfig {
  uint32_t dim = 0;
  uint32_t hidden_dim = 0;
  uint32_t n_layers = 0;
  uint32_t n_heads = 0;
  uint32_t n_kv_heads = 0;
  uint32_t head_dim = 0;
  uint32_t vocab_size = 0;
  uint32_t max_seq_len = 0;
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  bool tied_embeddings = false;
  /// q/k/v projections add bias vectors (LayerWeights::bq/bk/bv).
  bool attention_bias = false;
  /// Per-pair RoPE inverse frequencies (head_dim / 2 floats, radians per position) when
  /// the file asks for frequency scaling (Llama 3 "rope_scaling"); owned by the Model.
  /// Null: the kernels' plain theta^(-2i/head_dim).
  const float* rope_inv_freq = nullptr;

  uint32_t q_dim() const { return n_heads * head_dim; }
  uint32_t kv_dim() const { return n_kv_heads * head_dim; }
};

/// Options for opening a model.
struct ModelOptions {
  /// Check the CRC-32C of every weight segment at load (reads the whole file once).
  /// The metadata checksum is always checked.
  bool verify_checksums = false;
  /// Highest instruction set the kernels may use (lower it to test slower paths). The
  /// kernels are chosen once, at load, from this and the CPU's features.
  kernels::Isa max_isa = kernels::Isa::kBest;
  /// Run dense f32 matrices on XNNPACK when the build has it (ignored when max_isa is
  /// scalar: the scalar path is the reference).
  bool use_xnnpack = true;
};

/// A validated model. Created by Open(); owns (or borrows) the file bytes.
class Model {
 public:
  /// Validates `bytes` as a .kite file and builds the model view: size-prefixed FlatBuffer
  /// with identifier "KITE", metadata checksum, the FlatBuffers Verifier, the format
  /// version, the config's ranges, then every segment and tensor (offsets, sizes, shapes,
  /// dtypes, alignment, with uint64 overflow checks) and the tokenizer tables. Errors name
  /// the tensor or field at fault. Allocates only the model object itself.
  static Result<std::unique_ptr<Model>> Open(FileMap bytes, const ModelOptions& options);

  /// Bytes of caller storage OpenInPlace needs for a model with `n_layers` layers and a
  /// RoPE frequency table of `rope_table_floats` floats (head_dim / 2 with Llama 3 scaling,
  /// else 0): the Model object, its layer table and the RoPE table (the weights stay in the
  /// file bytes). Fixed for a given build and arguments.
  static size_t StorageBytes(uint32_t n_layers, uint32_t rope_table_floats = 0);

  /// StorageBytes for the .kite file at `data` (its layer count and RoPE table): checks its
  /// envelope (identifier, metadata checksum, FlatBuffers Verifier) and config, nothing
  /// else. Allocates nothing.
  static Result<size_t> StorageBytesFor(const void* data, size_t size);

  /// Like Open, but builds the model inside `storage` (at least StorageBytesFor(file)
  /// bytes, aligned to kStorageAlignment, owned by the caller and kept until the model is
  /// destroyed) and allocates nothing: options.use_xnnpack is ignored (XNNPACK allocates),
  /// so dense f32 matrices run on Kite's kernels. Too small or misaligned storage fails
  /// with kOutOfMemory / kInvalidArgument naming what is needed. End the model with
  /// DestroyInPlace(); `storage` is then the caller's again.
  static Result<Model*> OpenInPlace(FileMap bytes, const ModelOptions& options, void* storage,
                                    size_t storage_size);
  /// Ends a model made by OpenInPlace (null is ignored). Frees nothing.
  static void DestroyInPlace(Model* model);
  /// Alignment OpenInPlace requires of its storage.
  static constexpr size_t kStorageAlignment = 16;

  /// Recomputes the CRC-32C of every segment and compares it with the stored value.
  /// Thread-safe. Fails with kInvalidFormat naming the first bad segment.
  Status VerifyChecksums() const;

  const ModelConfig& config() const { return config_; }
  const TensorView& tok_embeddings() const { return tok_embeddings_; }
  const TensorView& norm() const { return norm_; }
  /// The output head (the token embedding when tied).
  const TensorView& output() const { return output_; }
  const LayerWeights& layer(uint32_t i) const { return layers_[i]; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  /// How conversations are formatted for this model (from the file's chat_format and
  /// chat_template; format kNone when the file has none or an unknown one).
  const ChatStyle& chat_style() const { return chat_style_; }
  /// True for a tokenizer-only file (kite-convert --vocab-only): config() then holds only
  /// vocab_size, there are no weights (the tensor accessors must not be used) and sessions
  /// cannot be created.
  bool vocab_only() const { return vocab_only_; }
  /// The kernels chosen for this CPU at load (shared by every session).
  const kernels::KernelTable& kernels() const { return *kernels_; }
  /// The verified FlatBuffer root (for tools such as kite-inspect).
  const schema::Model* schema_root() const { return root_; }
  const FileMap& bytes() const { return bytes_; }
  /// CRC-32C of the file's metadata (config, tokenizer, tensor table with every segment's
  /// own CRC): with the file size, a fingerprint of the model (saved session states carry it).
  uint32_t metadata_crc32c() const { return metadata_crc_; }

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

 private:
  Model() = default;
  // Validates and binds the file. Takes the layer and RoPE tables from arena_: caller
  // storage (in-place models) or, when arena_ is empty, one heap block sized for them.
  Status Load(const ModelOptions& options);
  // Bytes of the layer and RoPE tables, as laid out in arena_.
  static size_t TableBytes(uint32_t n_layers, uint32_t rope_table_floats);
  Status CreateDenseOperators();

  FileMap bytes_;
  const schema::Model* root_ = nullptr;
  uint32_t metadata_crc_ = 0;
  ModelConfig config_;
  TensorView tok_embeddings_, norm_, output_;
  Arena arena_;                    // the layer and RoPE tables (caller storage or heap)
  LayerWeights* layers_ = nullptr;  // config_.n_layers entries in arena_
  Tokenizer tokenizer_;
  bool vocab_only_ = false;
  ChatStyle chat_style_;
  const kernels::KernelTable* kernels_ = nullptr;
  // XNNPACK operators (xnnpack::DenseLinear) for dense f32 matrices, when used.
  struct DenseOps;
  std::unique_ptr<DenseOps> dense_;
};

}  // namespace kite
