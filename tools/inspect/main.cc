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
#include "tools/common/json.h"
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

// The id list as a JSON array (empty when absent).
json::Value IdArray(const flatbuffers::Vector<int32_t>* ids) {
  json::Value out = json::Value::Array({});
  if (ids != nullptr) {
    for (int32_t id : *ids) out.Push(json::Value::Int(id));
  }
  return out;
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
  using json::Value;
  auto str = [](const std::string& v) { return Value::String(v); };
  auto num = [](double v) { return Value::Rounded(v, 6); };  // as "%g" showed it
  Value out;
  out.Add("format_version", Value::Int(m->format_version()))
      .Add("file_size", Value::Int(static_cast<int64_t>(m->file_size())))
      .Add("data_offset", Value::Int(static_cast<int64_t>(m->data_offset())))
      .Add("vocab_only", Value::Bool(m->vocab_only()));
  const fb::Config* c = m->config();
  Value config;
  config.Add("architecture", str(Str(c->architecture())))
      .Add("dim", Value::Int(c->dim()))
      .Add("hidden_dim", Value::Int(c->hidden_dim()))
      .Add("n_layers", Value::Int(c->n_layers()))
      .Add("n_heads", Value::Int(c->n_heads()))
      .Add("n_kv_heads", Value::Int(c->n_kv_heads()))
      .Add("head_dim", Value::Int(c->head_dim()))
      .Add("vocab_size", Value::Int(c->vocab_size()))
      .Add("max_seq_len", Value::Int(c->max_seq_len()))
      .Add("rope_theta", num(c->rope_theta()))
      .Add("norm_eps", num(c->norm_eps()))
      .Add("rope_style", str(fb::EnumNameRopeStyle(c->rope_style())))
      .Add("activation", str(fb::EnumNameActivation(c->activation())))
      .Add("tied_embeddings", Value::Bool(c->tied_embeddings()));
  out.Add("config", std::move(config));
  if (const fb::Tokenizer* t = m->tokenizer()) {
    const uint32_t n = t->piece_offsets() && t->piece_offsets()->size() > 0
                           ? t->piece_offsets()->size() - 1
                           : 0;
    Value tokenizer;
    tokenizer.Add("type", str(fb::EnumNameTokenizerType(t->type())))
        .Add("vocab_size", Value::Int(n))
        .Add("bos_id", Value::Int(t->bos_id()))
        .Add("eos_id", Value::Int(t->eos_id()))
        .Add("unk_id", Value::Int(t->unk_id()))
        .Add("stop_ids", IdArray(t->stop_ids()))
        .Add("add_dummy_prefix", Value::Bool(t->add_dummy_prefix()))
        .Add("max_piece_length", Value::Int(t->max_piece_length()))
        .Add("add_bos", Value::Bool(t->add_bos()))
        .Add("merges", Value::Int(t->merges() ? t->merges()->size() : 0))
        .Add("pretokenizer", str(fb::EnumNamePreTokenizer(t->pretokenizer())))
        .Add("ignore_merges", Value::Bool(t->ignore_merges()));
    out.Add("tokenizer", std::move(tokenizer));
  } else {
    out.Add("tokenizer", Value::Null());
  }
  if (const fb::Provenance* p = m->provenance()) {
    Value provenance;
    provenance.Add("source", str(Str(p->source())))
        .Add("source_format", str(Str(p->source_format())))
        .Add("converter_version", str(Str(p->converter_version())))
        .Add("options", str(Str(p->options())));
    out.Add("provenance", std::move(provenance));
  } else {
    out.Add("provenance", Value::Null());
  }
  Value tensors = Value::Array({});
  for (uint32_t i = 0; i < m->tensors()->size(); ++i) {
    const fb::Tensor* t = m->tensors()->Get(i);
    Value shape = Value::Array({});
    for (uint64_t d : *t->shape()) shape.Push(Value::Int(static_cast<int64_t>(d)));
    Value tensor;
    tensor.Add("name", str(t->name()->str()))
        .Add("shape", std::move(shape))
        .Add("dtype", str(fb::EnumNameDType(t->dtype())))
        .Add("layout", str(fb::EnumNameLayout(t->layout())))
        .Add("group_size", Value::Int(t->group_size()))
        .Add("segment", Value::Int(t->data()->segment()))
        .Add("offset", Value::Int(static_cast<int64_t>(t->data()->offset())))
        .Add("file_offset", Value::Int(static_cast<int64_t>(TensorFileOffset(m, t))))
        .Add("data_bytes", Value::Int(static_cast<int64_t>(t->data()->size())))
        .Add("scale_bytes", Value::Int(t->scales() ? static_cast<int64_t>(t->scales()->size()) : 0))
        .Add("quant_rel_rms_error", num(t->quant_rel_rms_error()));
    tensors.Push(std::move(tensor));
  }
  out.Add("tensors", std::move(tensors));
  Value segments = Value::Array({});
  for (uint32_t i = 0; i < m->segments()->size(); ++i) {
    const fb::Segment* s = m->segments()->Get(i);
    Value segment;
    segment.Add("offset", Value::Int(static_cast<int64_t>(s->offset())))
        .Add("size", Value::Int(static_cast<int64_t>(s->size())))
        .Add("crc32c", Value::Int(s->crc32c()));
    segments.Push(std::move(segment));
  }
  out.Add("segments", std::move(segments));
  out.Add("checksums_verified", Value::Bool(verified));
  std::printf("%s\n", json::Write(out, 2).c_str());
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
    // The file map's message already names the path.
    std::fprintf(stderr, "kite-inspect: %s\n", map.status().message());
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
