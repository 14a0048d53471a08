// Reader for llama2.c legacy ("version 0") checkpoints: a 7 x int32 header followed by f32
// weight blocks, each block holding all layers one after another (see
// ../shared/models/README.md). Host tools only.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/convert/source/source_model.h"

namespace kite::convert {

/// Bytes of the llama2.c legacy header (7 little-endian int32).
inline constexpr uint64_t kLlama2cHeaderBytes = 28;

/// Upper limits accepted in a header: generous for real models, small enough to reject
/// garbage (e.g. a file of another format) before any size arithmetic.
inline constexpr int32_t kLlama2cMaxDim = 65536;
inline constexpr int32_t kLlama2cMaxHiddenDim = 1 << 20;
inline constexpr int32_t kLlama2cMaxLayers = 1024;
inline constexpr int32_t kLlama2cMaxHeads = 4096;
inline constexpr int32_t kLlama2cMaxVocab = 1 << 22;
inline constexpr int32_t kLlama2cMaxSeqLen = 1 << 24;

/// The header fields as stored. A negative vocab_size means the classifier is not shared
/// with the token embedding: a separate `wcls` block follows the RoPE tables.
struct Llama2cHeader {
  int32_t dim = 0;
  int32_t hidden_dim = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t vocab_size = 0;  ///< signed as stored; see vocab() and shared_classifier()
  int32_t seq_len = 0;

  /// True when the output head is the token embedding (stored vocab_size > 0).
  bool shared_classifier() const { return vocab_size > 0; }
  /// The vocabulary size, |vocab_size|. Only meaningful after validation.
  uint32_t vocab() const {
    return vocab_size < 0 ? static_cast<uint32_t>(-static_cast<int64_t>(vocab_size))
                          : static_cast<uint32_t>(vocab_size);
  }
  /// Elements per attention head, dim / n_heads. Only meaningful after validation.
  uint32_t head_size() const { return static_cast<uint32_t>(dim / n_heads); }
};

/// Decodes the first kLlama2cHeaderBytes of a file (no validation).
Llama2cHeader DecodeLlama2cHeader(const uint8_t bytes[kLlama2cHeaderBytes]);

/// Checks that every field is positive (vocab_size non-zero) and below the limits above,
/// that n_heads divides dim, n_kv_heads divides n_heads and the head size is even (RoPE
/// rotates pairs). The error names the field and its value.
absl::Status ValidateLlama2cHeader(const Llama2cHeader& header);

/// The exact size in bytes of a checkpoint with this (valid) header: the header, all weight
/// blocks, the two legacy RoPE tables and, when not shared, the classifier. Computed with
/// overflow checks; fails if the size does not fit in uint64.
absl::StatusOr<uint64_t> Llama2cFileSize(const Llama2cHeader& header);

/// Reads and validates the header of the checkpoint at `path` (I/O errors name the path).
absl::StatusOr<Llama2cHeader> ReadLlama2cHeader(const std::string& path);

/// Reads the whole checkpoint at `path` into an owned SourceModel (architecture "llama",
/// rope_theta 10000, norm_eps 1e-5, max_seq_len = seq_len, head_dim = dim / n_heads).
/// Fails when the header is invalid or the file size differs from what the header implies
/// (the message gives the expected and actual bytes). The RoPE tables are skipped.
absl::StatusOr<SourceModel> ReadLlama2cCheckpoint(const std::string& path);

}  // namespace kite::convert
