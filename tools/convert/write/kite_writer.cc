#include "tools/convert/write/kite_writer.h"

#include <cstring>
#include <functional>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "flatbuffers/flatbuffers.h"
#include "sdk/format/crc32c.h"
#include "sdk/schema/kite_generated.h"
#include "tools/common/output_file.h"

namespace kite::convert {
namespace {

namespace fb = ::kite::schema;

uint64_t RoundUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Where one tensor's extents land inside its segment.
struct Placement {
  uint32_t segment = 0;
  uint64_t data_offset = 0;
  uint64_t scales_offset = 0;  // valid when the tensor has scales
  uint64_t mins_offset = 0;    // valid when the tensor has mins
};

// One segment: its tensors (indices into KiteModel::tensors, in write order), padded size
// and checksum. `offset` is absolute and depends on the file's data offset.
struct SegmentPlan {
  std::vector<size_t> tensors;
  uint64_t size = 0;
  uint32_t crc = 0;
  uint64_t offset = 0;
};

// Feeds the bytes of a segment, padding included, to `sink` in file order.
void VisitSegment(const KiteModel& model, const SegmentPlan& seg,
                  const std::vector<Placement>& placements,
                  const std::function<void(const void*, size_t)>& sink) {
  static const uint8_t kZeros[kTensorAlignment] = {};
  uint64_t pos = 0;
  auto pad_to = [&](uint64_t target) {
    while (pos < target) {
      const uint64_t n = target - pos < kTensorAlignment ? target - pos : kTensorAlignment;
      sink(kZeros, static_cast<size_t>(n));
      pos += n;
    }
  };
  for (size_t i : seg.tensors) {
    const KiteTensor& t = model.tensors[i];
    pad_to(placements[i].data_offset);
    sink(t.data.data(), t.data.size());
    pos += t.data.size();
    if (!t.scales.empty()) {
      pad_to(placements[i].scales_offset);
      sink(t.scales.data(), t.scales.size());
      pos += t.scales.size();
    }
    if (!t.mins.empty()) {
      pad_to(placements[i].mins_offset);
      sink(t.mins.data(), t.mins.size());
      pos += t.mins.size();
    }
  }
  pad_to(seg.size);
}

absl::Status ValidateTokenizer(const TokenizerTables& tok, uint32_t vocab_size) {
  const size_t n = tok.pieces.size();
  if (n != vocab_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tokenizer has %d pieces but the model's vocab_size is %d", n, vocab_size));
  }
  if (tok.scores.size() != n || tok.types.size() != n || tok.piece_offsets.size() != n + 1 ||
      tok.sorted_ids.size() != n || (!tok.byte_ids.empty() && tok.byte_ids.size() != 256)) {
    return absl::InvalidArgumentError(
        "tokenizer tables are inconsistent (was TokenizerTables::Finalize() called?)");
  }
  return absl::OkStatus();
}

// Builds the size-prefixed FlatBuffer for the given layout.
void BuildMetadata(const KiteModel& model, const std::vector<SegmentPlan>& segments,
                   const std::vector<Placement>& placements, uint64_t data_offset,
                   uint64_t file_size, flatbuffers::FlatBufferBuilder* fbb) {
  fbb->Clear();
  const SourceConfig& c = model.config;
  auto config = fb::CreateConfigDirect(
      *fbb, c.architecture.c_str(), c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
      c.head_dim, c.vocab_size, c.max_seq_len, c.rope_theta, c.norm_eps,
      fb::RopeStyle::INTERLEAVED, fb::Activation::SILU, c.tied_embeddings, c.attention_bias,
      c.rope_scaling == SourceConfig::RopeScaling::kLlama3 ? fb::RopeScaling::LLAMA3
                                                           : fb::RopeScaling::NONE,
      c.rope_scaling_factor, c.rope_low_freq_factor, c.rope_high_freq_factor,
      c.rope_original_max_seq_len);

  flatbuffers::Offset<fb::Tokenizer> tokenizer = 0;
  if (model.tokenizer != nullptr) {
    const TokenizerTables& t = *model.tokenizer;
    auto pieces = fbb->CreateVector(reinterpret_cast<const uint8_t*>(t.blob.data()), t.blob.size());
    auto offsets = fbb->CreateVector(t.piece_offsets);
    auto scores = fbb->CreateVector(t.scores);
    std::vector<fb::TokenType> types(t.types.size());
    for (size_t i = 0; i < t.types.size(); ++i) types[i] = static_cast<fb::TokenType>(t.types[i]);
    auto types_vec = fbb->CreateVector(types);
    auto sorted = fbb->CreateVector(t.sorted_ids);
    auto byte_ids = fbb->CreateVector(t.byte_ids);
    auto stop_ids = fbb->CreateVector(t.stop_ids);
    auto merges_vec = t.merges.empty() ? 0 : fbb->CreateVectorOfStructs(t.merges);
    // Absent unless SPLIT, so that files of the other pre-tokenizers keep their bytes.
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::SplitRule>>> rules_vec = 0;
    if (!t.split_rules.empty()) {
      std::vector<flatbuffers::Offset<fb::SplitRule>> rules;
      for (const SplitRuleTables& r : t.split_rules) {
        rules.push_back(fb::CreateSplitRule(*fbb, fbb->CreateVector(r.program),
                                            r.behavior, r.invert));
      }
      rules_vec = fbb->CreateVector(rules);
    }
    // Absent unless a PIPELINE normalizer / a RAW added token, as for split_rules.
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::NormalizerStep>>> steps_vec =
        0;
    if (!t.normalizer_steps.empty()) {
      std::vector<flatbuffers::Offset<fb::NormalizerStep>> steps;
      const auto bytes = [&](const std::string& s) {
        return s.empty() ? 0
                         : fbb->CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
      };
      for (const NormalizerStepTables& s : t.normalizer_steps) {
        const auto name = fbb->CreateString(s.name);
        const auto pattern = bytes(s.pattern);
        const auto content = bytes(s.content);
        steps.push_back(fb::CreateNormalizerStep(*fbb, s.kind, name, s.strip_left, s.strip_right,
                                                 pattern, content));
      }
      steps_vec = fbb->CreateVector(steps);
    }
    const auto flags_vec = t.added_token_flags.empty() ? 0 : fbb->CreateVector(t.added_token_flags);
    tokenizer = fb::CreateTokenizer(*fbb, t.kind, pieces, offsets,
                                    scores, types_vec, sorted, byte_ids, t.bos_id, t.eos_id,
                                    t.unk_id, stop_ids, t.add_dummy_prefix, t.max_piece_length,
                                    merges_vec, t.pretokenizer,
                                    t.ignore_merges, t.add_bos, rules_vec,
                                    t.prefix_space_stage, t.normalizer, steps_vec, flags_vec);
  }

  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  tensors.reserve(model.tensors.size());
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const KiteTensor& t = model.tensors[i];
    const Placement& p = placements[i];
    const fb::Extent data(p.segment, p.data_offset, t.data.size());
    const fb::Extent scales(p.segment, p.scales_offset, t.scales.size());
    const fb::Extent mins(p.segment, p.mins_offset, t.mins.size());
    tensors.push_back(fb::CreateTensorDirect(*fbb, t.name.c_str(), &t.shape, t.dtype,
                                             t.layout, t.group_size, &data,
                                             t.scales.empty() ? nullptr : &scales,
                                             t.quant_rel_rms_error,
                                             t.mins.empty() ? nullptr : &mins,
                                             t.codebook.empty() ? nullptr : &t.codebook));
  }
  std::vector<flatbuffers::Offset<fb::Segment>> segs;
  segs.reserve(segments.size());
  for (const SegmentPlan& s : segments) {
    segs.push_back(fb::CreateSegment(*fbb, data_offset + s.offset, s.size, s.crc));
  }
  const KiteProvenance& pv = model.provenance;
  auto provenance = fb::CreateProvenanceDirect(*fbb, pv.source.c_str(), pv.source_format.c_str(),
                                               pv.converter_version.c_str(), pv.options.c_str());
  auto root = fb::CreateModelDirect(*fbb, kFormatVersion, config, tokenizer, &tensors, &segs,
                                    data_offset, file_size, provenance, model.vocab_only,
                                    model.chat_template.empty() ? nullptr
                                                                : model.chat_template.c_str(),
                                    model.chat_format);
  fb::FinishSizePrefixedModelBuffer(*fbb, root);
}

}  // namespace

absl::StatusOr<uint32_t> SegmentForTensor(const std::string& name, uint32_t n_layers) {
  constexpr absl::string_view kPrefix = "layers.";
  const absl::string_view n(name);
  if (n.substr(0, kPrefix.size()) != kPrefix) return 0u;
  const absl::string_view rest = n.substr(kPrefix.size());
  const size_t dot = rest.find('.');
  uint32_t layer = 0;
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 == rest.size() ||
      !absl::SimpleAtoi(rest.substr(0, dot), &layer)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor \"", name, "\": expected a name of the form layers.<i>.<suffix>"));
  }
  if (layer >= n_layers) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tensor \"%s\": layer %d is out of range (the model has %d layers)", name, layer,
        n_layers));
  }
  return layer + 1;
}

absl::Status ValidateKiteTensor(const KiteTensor& t) {
  auto fail = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", t.name, "\": ", what));
  };
  if (t.name.empty()) return absl::InvalidArgumentError("a tensor has an empty name");
  if (t.shape.empty() || t.shape.size() > 2) return fail("shape must have 1 or 2 dimensions");
  const uint64_t rows = t.shape.size() == 2 ? t.shape[0] : 1;
  const uint64_t cols = t.shape.back();
  if (rows == 0 || cols == 0 || rows > (1ull << 32) || cols > (1ull << 32)) {
    return fail("shape dimensions must be in 1..2^32");
  }
  // Sizes and group rules come from the format's table (sdk/format/format.h).
  const Encoding* e = FindEncoding(t.dtype, t.layout);
  if (e == nullptr) {
    return fail(absl::StrFormat("dtype %s cannot be stored in layout %s", DTypeName(t.dtype),
                                LayoutName(t.layout)));
  }
  if (!GroupSizeValid(*e, t.group_size)) {
    return fail(e->group_size == kAnyEvenGroup
                    ? absl::StrFormat("group size %d must be even and in [2, %d]", t.group_size,
                                      kMaxGroupSize)
                    : absl::StrFormat("%s tensors need group size %d", LayoutName(t.layout),
                                      e->group_size));
  }
  if (e->block_rows > 1 && t.shape.size() != 2) {
    return fail(absl::StrFormat("%s tensors must be matrices", LayoutName(t.layout)));
  }
  const uint64_t data = PackedBytes(*e, rows, cols, t.group_size);
  const uint64_t scales = ScalesBytes(*e, rows, cols, t.group_size);
  if (t.data.size() != data || t.scales.size() != scales) {
    return fail(absl::StrFormat("data/scales are %d/%d bytes, expected %d/%d", t.data.size(),
                                t.scales.size(), data, scales));
  }
  if (!t.mins.empty() && (!e->mins || t.mins.size() != scales)) {
    return fail(e->mins ? absl::StrFormat("mins are %d bytes, expected %d", t.mins.size(), scales)
                        : absl::StrFormat("%s tensors have no mins", LayoutName(t.layout)));
  }
  if (t.codebook.size() != e->codebook_entries) {
    return fail(absl::StrFormat("%s tensors need a codebook of %d entries, not %d",
                                LayoutName(t.layout), e->codebook_entries, t.codebook.size()));
  }
  for (const int8_t c : t.codebook) {
    if (c < -kQ4CodebookMax) {
      return fail(absl::StrFormat("codebook entry %d is outside [-%d, %d]", c, kQ4CodebookMax,
                                  kQ4CodebookMax));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<KiteFileSummary> WriteKiteFile(const KiteModel& model, const std::string& path) {
  // Assign tensors to segments and place their extents.
  if (model.vocab_only && (model.tokenizer == nullptr || !model.tensors.empty())) {
    return absl::InvalidArgumentError("a vocabulary-only file needs a tokenizer and no tensors");
  }
  std::vector<SegmentPlan> segments(model.vocab_only ? 0 : 1 + model.config.n_layers);
  std::vector<Placement> placements(model.tensors.size());
  std::set<std::string> seen;
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const KiteTensor& t = model.tensors[i];
    if (absl::Status s = ValidateKiteTensor(t); !s.ok()) return s;
    if (!seen.insert(t.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate tensor \"", t.name, "\""));
    }
    absl::StatusOr<uint32_t> seg = SegmentForTensor(t.name, model.config.n_layers);
    if (!seg.ok()) return seg.status();
    segments[*seg].tensors.push_back(i);
  }
  if (model.tokenizer != nullptr) {
    if (absl::Status s = ValidateTokenizer(*model.tokenizer, model.config.vocab_size); !s.ok()) {
      return s;
    }
  }
  uint64_t relative = 0;  // segment offsets relative to the data offset
  for (uint32_t s = 0; s < segments.size(); ++s) {
    SegmentPlan& seg = segments[s];
    seg.offset = relative;
    uint64_t pos = 0;
    for (size_t i : seg.tensors) {
      const KiteTensor& t = model.tensors[i];
      placements[i].segment = s;
      placements[i].data_offset = RoundUp(pos, kTensorAlignment);
      pos = placements[i].data_offset + t.data.size();
      if (!t.scales.empty()) {
        placements[i].scales_offset = RoundUp(pos, kTensorAlignment);
        pos = placements[i].scales_offset + t.scales.size();
      }
      if (!t.mins.empty()) {
        placements[i].mins_offset = RoundUp(pos, kTensorAlignment);
        pos = placements[i].mins_offset + t.mins.size();
      }
    }
    seg.size = RoundUp(pos, kTensorAlignment);
    relative += seg.size;
    uint32_t crc = 0;
    VisitSegment(model, seg, placements,
                 [&crc](const void* p, size_t n) { crc = Crc32c(p, n, crc); });
    seg.crc = crc;
  }

  // The metadata holds the data offset, which depends on the metadata size. Every such
  // field is a fixed-size scalar that is never 0, so a rebuild keeps the size and this
  // settles on the second pass at the latest.
  flatbuffers::FlatBufferBuilder fbb(1 << 16);
  uint64_t data_offset = kDataAlignment;
  uint64_t metadata_end = 0;
  for (int pass = 0;; ++pass) {
    BuildMetadata(model, segments, placements, data_offset, data_offset + relative, &fbb);
    metadata_end = RoundUp(fbb.GetSize(), 8) + 8;
    const uint64_t needed = RoundUp(metadata_end, kDataAlignment);
    if (needed <= data_offset) break;
    if (pass >= 3) return absl::InternalError("metadata layout did not converge");
    data_offset = needed;
  }
  const uint64_t file_size = data_offset + relative;

  tools::PendingOutputFile out(path);
  if (absl::Status s = out.Open(); !s.ok()) return s;
  out.Write(fbb.GetBufferPointer(), fbb.GetSize());
  const uint8_t zeros[8] = {};
  out.Write(zeros, RoundUp(fbb.GetSize(), 8) - fbb.GetSize());
  const uint32_t meta_crc = Crc32c(fbb.GetBufferPointer(), fbb.GetSize());
  uint8_t record[8];
  std::memcpy(record, kChecksumMagic, 4);
  for (int b = 0; b < 4; ++b) record[4 + b] = static_cast<uint8_t>(meta_crc >> (8 * b));
  out.Write(record, sizeof(record));
  std::vector<uint8_t> gap(data_offset - metadata_end, 0);
  out.Write(gap.data(), gap.size());
  for (const SegmentPlan& seg : segments) {
    VisitSegment(model, seg, placements, [&out](const void* p, size_t n) { out.Write(p, n); });
  }
  if (out.written() != file_size) {
    return absl::InternalError(absl::StrFormat("wrote %d bytes, planned %d", out.written(),
                                               file_size));
  }
  if (absl::Status s = out.Commit(); !s.ok()) return s;

  KiteFileSummary summary;
  summary.metadata_bytes = fbb.GetSize();
  summary.data_offset = data_offset;
  summary.file_size = file_size;
  summary.segments = static_cast<uint32_t>(segments.size());
  return summary;
}

}  // namespace kite::convert
