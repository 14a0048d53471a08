// Writes a .kite file (sdk/schema/kite.fbs): size-prefixed FlatBuffer metadata, the KCRC
// record, zero padding to a 16 KiB data offset, then the weight segments. Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sdk/format/format.h"
#include "tools/convert/source/source_model.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// One tensor, already in its stored dtype and layout. Owns its bytes.
struct KiteTensor {
  std::string name;                 ///< see sdk/format/tensor_names.h
  std::vector<uint64_t> shape;      ///< [rows, cols] or [n]
  DType dtype = DType::F32;
  Layout layout = Layout::ROW_MAJOR;
  uint32_t group_size = 0;          ///< Q4_G only
  std::vector<uint8_t> data;        ///< the data extent, exactly as stored
  std::vector<uint8_t> scales;      ///< the scales extent (Q4_G: f16 LE); empty when none
  std::vector<uint8_t> mins;        ///< Q4_G asymmetric: the mins extent (f16 LE); else empty
  std::vector<int8_t> codebook;     ///< Q4_R16_G32_CB: its kQ4CodebookEntries values; else empty
  float quant_rel_rms_error = 0.0f; ///< rms(source - stored) / rms(source)
};

/// Where the weights came from (kite.schema.Provenance).
struct KiteProvenance {
  std::string source;             ///< input file name
  std::string source_format;      ///< e.g. "llama2c"
  std::string converter_version;  ///< e.g. "kite-convert 0.1.0"
  std::string options;            ///< the converter options, as text
};

/// Everything that goes into a .kite file. `tokenizer` is borrowed and optional (null:
/// no tokenizer table); when present it must be finalized and match config.vocab_size.
struct KiteModel {
  SourceConfig config;
  std::vector<KiteTensor> tensors;
  const TokenizerTables* tokenizer = nullptr;
  KiteProvenance provenance;
  /// The source's chat template (Jinja text), stored verbatim; empty when none.
  std::string chat_template;
  /// How the runtime formats conversations (see sdk/runtime/chat.h).
  ChatFormat chat_format = ChatFormat::NONE;
  /// A tokenizer-only file (kite-convert --vocab-only): needs a tokenizer and no tensors;
  /// written with no segments, and config is stored as given (only vocab_size matters).
  bool vocab_only = false;
};

/// What was written.
struct KiteFileSummary {
  uint64_t metadata_bytes = 0;  ///< the size-prefixed FlatBuffer, prefix included
  uint64_t data_offset = 0;     ///< file offset of the first segment (multiple of 16384)
  uint64_t file_size = 0;       ///< total bytes
  uint32_t segments = 0;        ///< number of segments
};

/// Segment index of a tensor: 0 for non-layer tensors ("tok_embeddings", "norm", "output"),
/// 1 + i for "layers.<i>.*". Fails for a malformed layer name or i >= n_layers.
absl::StatusOr<uint32_t> SegmentForTensor(const std::string& name, uint32_t n_layers);

/// Checks one tensor before writing: a non-empty name, a 1-D or 2-D shape, and data and
/// scales sizes that match its dtype, layout, shape and group size.
absl::Status ValidateKiteTensor(const KiteTensor& tensor);

/// Writes `model` to `path`. Segments: the non-layer tensors first, then one per layer,
/// each tensor extent (data, then scales) and each segment 64-byte aligned and zero padded.
/// `path` must not exist or be a regular file (CheckOutputReplaceable: never a link, FIFO
/// or device). The file is written to a unique temporary beside `path` and renamed over it
/// only when complete (PendingOutputFile); on failure the temporary is removed and an
/// existing `path` is left untouched.
absl::StatusOr<KiteFileSummary> WriteKiteFile(const KiteModel& model, const std::string& path);

}  // namespace kite::convert
