// kite-inspect: prints what a .kite file holds (header, config, tokenizer, provenance,
// tensors, segments) after the runtime loader has validated it; optionally verifies every
// segment checksum.
//
// Usage: kite-inspect FILE [--verify] [--json] (or -m FILE)
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "platform/file_map.h"
#include "sdk/base/status.h"
#include "sdk/runtime/loader/model.h"
#include "sdk/schema/kite_generated.h"
#include "tools/common/flags.h"
#include "tools/common/quote_name.h"

namespace kite::inspect {
namespace {

namespace fb = ::kite::schema;

constexpr int kExitFailure = flags::kExitFailure;
constexpr int kExitUsage = flags::kExitUsage;

struct Options {
  std::string path;
  bool verify = false;
  bool json = false;
};

// A string from the file for display: as is when it is all printable ASCII, otherwise
// quoted and escaped (kite::Quoted), so no control byte from a hostile file reaches the
// terminal.
std::string Str(const flatbuffers::String* s) {
  if (s == nullptr) return std::string();
  for (uint8_t b : *s) {
    if (b < 0x20 || b >= 0x7f)
      return kite::tools::QuoteName(absl::string_view(s->c_str(), s->size()));
  }
  return s->str();
}

std::string ShapeString(const flatbuffers::Vector<uint64_t>* shape) {
  std::vector<uint64_t> dims(shape->begin(), shape->end());
  return absl::StrJoin(dims, "x");
}

std::string IdList(const flatbuffers::Vector<int32_t>* ids) {
  if (ids == nullptr) return "";
  std::vector<int32_t> v(ids->begin(), ids->end());
  return absl::StrJoin(v, ",");
}

uint64_t TensorBytes(const fb::Tensor* t) {
  return t->data()->size() + (t->scales() ? t->scales()->size() : 0);
}

// Absolute file offset of a tensor's data (its segment's offset plus the extent offset).
uint64_t TensorFileOffset(const fb::Model* m, const fb::Tensor* t) {
  return m->segments()->Get(t->data()->segment())->offset() + t->data()->offset();
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

void PrintText(const fb::Model* m) {
  const uint32_t v = m->format_version();
  std::printf("format version: %u.%u\n", v / 1000, v % 1000);
  std::printf("file size:      %llu bytes\n", static_cast<unsigned long long>(m->file_size()));
  std::printf("data offset:    %llu\n", static_cast<unsigned long long>(m->data_offset()));
  if (m->vocab_only()) {
    std::printf("vocabulary only: a tokenizer with no weights (kite-convert --vocab-only)\n");
  }

  const fb::Config* c = m->config();
  std::printf("\nconfig\n");
  std::printf("  architecture  %s\n", Str(c->architecture()).c_str());
  std::printf("  dim %u, hidden_dim %u, n_layers %u, n_heads %u, n_kv_heads %u, head_dim %u\n",
              c->dim(), c->hidden_dim(), c->n_layers(), c->n_heads(), c->n_kv_heads(),
              c->head_dim());
  std::printf("  vocab_size %u, max_seq_len %u, rope_theta %g (%s), norm_eps %g, %s\n",
              c->vocab_size(), c->max_seq_len(), c->rope_theta(),
              fb::EnumNameRopeStyle(c->rope_style()), c->norm_eps(),
              fb::EnumNameActivation(c->activation()));
  std::printf("  output head   %s\n", c->tied_embeddings() ? "tied to tok_embeddings" : "separate");
  if (c->attention_bias()) std::printf("  q/k/v biases  yes\n");
  if (c->rope_scaling() != fb::RopeScaling::NONE) {
    std::printf("  rope scaling  %s: factor %g, low_freq_factor %g, high_freq_factor %g, "
                "original context %u\n",
                fb::EnumNameRopeScaling(c->rope_scaling()), c->rope_scaling_factor(),
                c->rope_low_freq_factor(), c->rope_high_freq_factor(),
                c->rope_original_max_seq_len());
  }
  std::printf("  chat format   %s%s\n", fb::EnumNameChatFormat(m->chat_format()),
              m->chat_template() ? " (chat template stored)" : "");

  std::printf("\ntokenizer\n");
  if (const fb::Tokenizer* t = m->tokenizer()) {
    const uint32_t n = t->piece_offsets() && t->piece_offsets()->size() > 0
                           ? t->piece_offsets()->size() - 1
                           : 0;
    std::printf("  type %s, vocab %u, bos %d, eos %d, unk %d, stop ids [%s]\n",
                fb::EnumNameTokenizerType(t->type()), n, t->bos_id(), t->eos_id(), t->unk_id(),
                IdList(t->stop_ids()).c_str());
    std::printf("  add_dummy_prefix %s, max_piece_length %u, byte tokens %s\n",
                t->add_dummy_prefix() ? "yes" : "no", t->max_piece_length(),
                t->byte_ids() && t->byte_ids()->size() == 256 ? "yes" : "no");
    std::printf("  add_bos %s", t->add_bos() ? "yes" : "no");
    if (t->type() == fb::TokenizerType::BYTE_BPE) {
      std::printf(", merges %u, pre-tokenizer %s, ignore_merges %s",
                  t->merges() ? t->merges()->size() : 0u,
                  fb::EnumNamePreTokenizer(t->pretokenizer()), t->ignore_merges() ? "yes" : "no");
    }
    std::printf("\n");
  } else {
    std::printf("  (none)\n");
  }

  std::printf("\nprovenance\n");
  if (const fb::Provenance* p = m->provenance()) {
    std::printf("  source %s (%s)\n", Str(p->source()).c_str(), Str(p->source_format()).c_str());
    std::printf("  converter %s, options: %s\n", Str(p->converter_version()).c_str(),
                Str(p->options()).c_str());
  } else {
    std::printf("  (none)\n");
  }

  size_t w = 6;
  for (const fb::Tensor* t : *m->tensors()) w = std::max<size_t>(w, t->name()->size());
  const int width = static_cast<int>(w);
  std::printf("\ntensors (%u)\n", m->tensors()->size());
  std::printf("  %-*s  %-10s  %-9s  %-15s  %5s  %3s  %12s  %10s  %9s\n", width, "name", "shape",
              "dtype", "layout", "group", "seg", "file offset", "bytes", "rel.error");
  uint64_t params = 0, tensor_bytes = 0;
  for (const fb::Tensor* t : *m->tensors()) {
    uint64_t n = 1;
    for (uint64_t d : *t->shape()) n *= d;
    params += n;
    tensor_bytes += TensorBytes(t);
    const std::string group = t->group_size() ? absl::StrCat(t->group_size()) : "-";
    std::printf("  %-*s  %-10s  %-9s  %-15s  %5s  %3u  %12llu  %10llu  %9.6f\n", width,
                Str(t->name()).c_str(), ShapeString(t->shape()).c_str(),
                fb::EnumNameDType(t->dtype()), fb::EnumNameLayout(t->layout()), group.c_str(),
                t->data()->segment(), static_cast<unsigned long long>(TensorFileOffset(m, t)),
                static_cast<unsigned long long>(TensorBytes(t)), t->quant_rel_rms_error());
  }
  std::printf("  parameters %llu, tensor bytes %llu (%.3f bits/weight)\n",
              static_cast<unsigned long long>(params),
              static_cast<unsigned long long>(tensor_bytes),
              params ? static_cast<double>(tensor_bytes) * 8.0 / static_cast<double>(params) : 0.0);

  std::printf("\nsegments (%u)\n", m->segments()->size());
  std::printf("  %3s  %12s  %12s  %10s\n", "#", "offset", "size", "crc32c");
  for (uint32_t i = 0; i < m->segments()->size(); ++i) {
    const fb::Segment* s = m->segments()->Get(i);
    std::printf("  %3u  %12llu  %12llu  0x%08x\n", i, static_cast<unsigned long long>(s->offset()),
                static_cast<unsigned long long>(s->size()), s->crc32c());
  }
}

void PrintJson(const fb::Model* m, bool verified) {
  std::string out = "{\n";
  absl::StrAppendFormat(&out, "  \"format_version\": %d,\n  \"file_size\": %d,\n",
                        m->format_version(), m->file_size());
  absl::StrAppendFormat(&out, "  \"data_offset\": %d,\n", m->data_offset());
  absl::StrAppendFormat(&out, "  \"vocab_only\": %s,\n", m->vocab_only() ? "true" : "false");
  const fb::Config* c = m->config();
  absl::StrAppendFormat(
      &out,
      "  \"config\": {\"architecture\": %s, \"dim\": %d, \"hidden_dim\": %d, \"n_layers\": %d, "
      "\"n_heads\": %d, \"n_kv_heads\": %d, \"head_dim\": %d, \"vocab_size\": %d, "
      "\"max_seq_len\": %d, \"rope_theta\": %g, \"norm_eps\": %g, \"rope_style\": %s, "
      "\"activation\": %s, \"tied_embeddings\": %s},\n",
      JsonString(Str(c->architecture())), c->dim(), c->hidden_dim(), c->n_layers(), c->n_heads(),
      c->n_kv_heads(), c->head_dim(), c->vocab_size(), c->max_seq_len(), c->rope_theta(),
      c->norm_eps(), JsonString(fb::EnumNameRopeStyle(c->rope_style())),
      JsonString(fb::EnumNameActivation(c->activation())),
      c->tied_embeddings() ? "true" : "false");
  if (const fb::Tokenizer* t = m->tokenizer()) {
    const uint32_t n = t->piece_offsets() && t->piece_offsets()->size() > 0
                           ? t->piece_offsets()->size() - 1
                           : 0;
    absl::StrAppendFormat(
        &out,
        "  \"tokenizer\": {\"type\": %s, \"vocab_size\": %d, \"bos_id\": %d, \"eos_id\": %d, "
        "\"unk_id\": %d, \"stop_ids\": [%s], \"add_dummy_prefix\": %s, "
        "\"max_piece_length\": %d, \"add_bos\": %s, \"merges\": %d, \"pretokenizer\": %s, "
        "\"ignore_merges\": %s},\n",
        JsonString(fb::EnumNameTokenizerType(t->type())), n, t->bos_id(), t->eos_id(),
        t->unk_id(), IdList(t->stop_ids()), t->add_dummy_prefix() ? "true" : "false",
        t->max_piece_length(), t->add_bos() ? "true" : "false",
        t->merges() ? t->merges()->size() : 0u, JsonString(fb::EnumNamePreTokenizer(t->pretokenizer())),
        t->ignore_merges() ? "true" : "false");
  } else {
    out += "  \"tokenizer\": null,\n";
  }
  if (const fb::Provenance* p = m->provenance()) {
    absl::StrAppendFormat(&out,
                          "  \"provenance\": {\"source\": %s, \"source_format\": %s, "
                          "\"converter_version\": %s, \"options\": %s},\n",
                          JsonString(Str(p->source())), JsonString(Str(p->source_format())),
                          JsonString(Str(p->converter_version())), JsonString(Str(p->options())));
  } else {
    out += "  \"provenance\": null,\n";
  }
  out += "  \"tensors\": [\n";
  for (uint32_t i = 0; i < m->tensors()->size(); ++i) {
    const fb::Tensor* t = m->tensors()->Get(i);
    std::vector<uint64_t> dims(t->shape()->begin(), t->shape()->end());
    absl::StrAppendFormat(
        &out,
        "    {\"name\": %s, \"shape\": [%s], \"dtype\": %s, \"layout\": %s, \"group_size\": %d, "
        "\"segment\": %d, \"offset\": %d, \"file_offset\": %d, \"data_bytes\": %d, "
        "\"scale_bytes\": %d, \"quant_rel_rms_error\": %g}%s\n",
        JsonString(t->name()->str()), absl::StrJoin(dims, ", "),
        JsonString(fb::EnumNameDType(t->dtype())), JsonString(fb::EnumNameLayout(t->layout())),
        t->group_size(), t->data()->segment(), t->data()->offset(), TensorFileOffset(m, t),
        t->data()->size(), t->scales() ? t->scales()->size() : 0, t->quant_rel_rms_error(),
        i + 1 < m->tensors()->size() ? "," : "");
  }
  out += "  ],\n  \"segments\": [\n";
  for (uint32_t i = 0; i < m->segments()->size(); ++i) {
    const fb::Segment* s = m->segments()->Get(i);
    absl::StrAppendFormat(&out, "    {\"offset\": %d, \"size\": %d, \"crc32c\": %d}%s\n",
                          s->offset(), s->size(), s->crc32c(),
                          i + 1 < m->segments()->size() ? "," : "");
  }
  absl::StrAppendFormat(&out, "  ],\n  \"checksums_verified\": %s\n}\n",
                        verified ? "true" : "false");
  std::fputs(out.c_str(), stdout);
}

int Usage(const std::string& message) {
  std::fputs(flags::UsageError("kite-inspect", message).c_str(), stderr);
  return kExitUsage;
}

// The kite-inspect command line, writing into *o.
flags::FlagSpec MakeSpec(Options* o) {
  flags::FlagSpec spec;
  spec.program = "kite-inspect";
  spec.help_column = 16;
  spec.header =
      "Usage: kite-inspect FILE [--verify] [--json]\n"
      "       kite-inspect -m FILE [--verify] [--json]\n"
      "\n"
      "Validates a .kite file with the Kite loader and prints its header, config,\n"
      "tokenizer, provenance, tensor table and segments.\n"
      "\n"
      "Options\n";
  spec.footer =
      "\n"
      "The file is memory-mapped: replace a .kite file by writing a new one and renaming\n"
      "it over the old one, never by rewriting it in place (a file truncated while\n"
      "mapped kills the process with SIGBUS).\n"
      "Exit status: 0 valid, 1 invalid file or checksum mismatch, 2 bad command line.\n";
  spec.flags = {
      flags::String('m', "model", "FILE", &o->path,
                    "The .kite file, as with the other tools (or give FILE\n"
                    "alone)."),
      flags::Switch(0, "verify", &o->verify,
                    "Also recompute the CRC-32C of every segment (reads the\n"
                    "whole file); prints \"checksums: OK\" or fails naming the\n"
                    "bad segment."),
      flags::Switch(0, "json", &o->json, "Print one JSON object instead of text."),
  };
  return spec;
}

int Run(int argc, char** argv) {
  Options o;
  const flags::FlagSpec spec = MakeSpec(&o);
  const flags::ParsedArgs parsed =
      flags::Parse(spec, std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) return Usage(parsed.error);
  if (parsed.help) {
    std::fputs(flags::HelpText(spec).c_str(), stdout);
    return 0;
  }
  if (parsed.positionals.size() + (o.path.empty() ? 0 : 1) > 1) {
    return Usage("give exactly one FILE");
  }
  if (!parsed.positionals.empty()) o.path = parsed.positionals[0];
  if (o.path.empty()) return Usage("no FILE given");

  Result<FileMap> map = FileMap::OpenPath(o.path.c_str());
  if (!map.ok()) {
    std::fprintf(stderr, "kite-inspect: %s: %s\n", o.path.c_str(), map.status().message());
    return kExitFailure;
  }
  ModelOptions options;
  Result<std::unique_ptr<Model>> model = Model::Open(std::move(map.value()), options);
  if (!model.ok()) {
    std::fprintf(stderr, "kite-inspect: %s: %s: %s\n", o.path.c_str(),
                 ErrorName(model.status().code()), model.status().message());
    return kExitFailure;
  }
  const Model& m = *model.value();
  if (o.json) {
    if (o.verify) {
      const Status s = m.VerifyChecksums();
      if (!s.ok()) {
        std::fprintf(stderr, "kite-inspect: %s: %s\n", o.path.c_str(), s.message());
        return kExitFailure;
      }
    }
    PrintJson(m.schema_root(), o.verify);
    return 0;
  }
  PrintText(m.schema_root());
  if (o.verify) {
    const Status s = m.VerifyChecksums();
    if (!s.ok()) {
      std::printf("\nchecksums: FAILED\n");
      std::fprintf(stderr, "kite-inspect: %s: %s\n", o.path.c_str(), s.message());
      return kExitFailure;
    }
    std::printf("\nchecksums: OK\n");
  }
  return 0;
}

}  // namespace
}  // namespace kite::inspect

int main(int argc, char** argv) { return kite::inspect::Run(argc, argv); }
