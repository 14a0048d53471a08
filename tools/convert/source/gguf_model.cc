#include "tools/convert/source/gguf_model.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sdk/format/tensor_names.h"
#include "sdk/kernels/fp16.h"
#include "tools/common/quote_name.h"
#include "tools/convert/tokenizer/byte_level.h"
#include "tools/convert/tokenizer/split_rules.h"

namespace kite::convert {
namespace {

constexpr uint32_t kMaxVocab = 1u << 22;  // as the runtime's loader

// Token types as llama.cpp writes them (0 undefined, then SentencePiece's 1..6).
uint8_t KindFromGgufType(double t) {
  return t >= 1 && t <= 6 ? static_cast<uint8_t>(t) : static_cast<uint8_t>(TokenType::NORMAL);
}

// An optional token id key: -1 when absent; an error when present but not a valid id.
absl::StatusOr<int32_t> OptionalId(const GgufFile& g, const char* key, size_t vocab) {
  if (g.Find(key) == nullptr) return -1;
  absl::StatusOr<int64_t> id = g.GetInt(key);
  if (!id.ok()) return id.status();
  if (*id < 0 || *id >= static_cast<int64_t>(vocab)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "GGUF key '%s' = %d is outside the vocabulary of %d tokens", key, *id, vocab));
  }
  return static_cast<int32_t>(*id);
}

absl::StatusOr<bool> OptionalBool(const GgufFile& g, const char* key, bool fallback) {
  if (g.Find(key) == nullptr) return fallback;
  return g.GetBool(key);
}

// Replaces every U+2581 (SentencePiece's space) by ' '.
std::string SentencePieceToText(const std::string& piece) {
  static constexpr char kMeta[] = "\xE2\x96\x81";
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, 3, kMeta) == 0) {
      out.push_back(' ');
      i += 3;
    } else {
      out.push_back(piece[i++]);
    }
  }
  return out;
}

// The tensor `name` as f32, shaped [ne1, ne0] (or [ne0] for vectors), checked against the
// expected shape (cols == 0: a vector of `rows`).
absl::StatusOr<SourceTensor> ReadTensor(const GgufFile& g, const std::string& gguf_name,
                                        const std::string& kite_name, uint64_t rows,
                                        uint64_t cols) {
  const GgufTensor* t = g.FindTensor(gguf_name);
  if (t == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", tools::QuoteName(gguf_name), " is missing"));
  }
  const bool vector = cols == 0;
  const bool shape_ok = vector ? (t->ne.size() == 1 && t->ne[0] == rows)
                               : (t->ne.size() == 2 && t->ne[0] == cols && t->ne[1] == rows);
  if (!shape_ok) {
    std::vector<std::string> dims;
    for (uint64_t d : t->ne) dims.push_back(absl::StrCat(d));
    return absl::InvalidArgumentError(absl::StrFormat(
        "tensor '%s' has ggml extents [%s], expected [%s] for this config", gguf_name,
        absl::StrJoin(dims, ", "), vector ? absl::StrCat(rows) : absl::StrCat(cols, ", ", rows)));
  }
  SourceTensor out;
  out.name = kite_name;
  out.shape = vector ? std::vector<uint64_t>{rows} : std::vector<uint64_t>{rows, cols};
  const uint64_t n = t->elements();
  out.data.resize(n);
  const uint8_t* p = t->data;
  switch (t->type) {
    case GgmlType::kF32:
      std::memcpy(out.data.data(), p, n * 4);
      break;
    case GgmlType::kF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out.data[i] = HalfToFloat(h);
      }
      break;
    case GgmlType::kBF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(h) << 16;
        std::memcpy(&out.data[i], &bits, 4);
      }
      break;
    case GgmlType::kQ8_0:
      // Blocks of 32: an f16 scale d, then 32 int8 q; w = d * q.
      for (uint64_t b = 0; b < n / 32; ++b) {
        const uint8_t* block = p + b * 34;
        uint16_t h;
        std::memcpy(&h, block, 2);
        const float d = HalfToFloat(h);
        for (int j = 0; j < 32; ++j) {
          out.data[b * 32 + j] = d * static_cast<float>(static_cast<int8_t>(block[2 + j]));
        }
      }
      break;
    default:
      return absl::UnimplementedError(absl::StrCat(
          "tensor ", tools::QuoteName(gguf_name), " is ", GgmlTypeName(t->type),
          "; only F32, F16, BF16 and Q8_0 GGUF tensors can be converted (re-export the model "
          "at f16 and let kite-convert quantize it)"));
  }
  for (float v : out.data) {
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", tools::QuoteName(gguf_name), " holds a NaN or infinite value"));
    }
  }
  return out;
}

absl::StatusOr<uint32_t> ConfigValue(const GgufFile& g, const std::string& key, uint32_t max) {
  absl::StatusOr<uint64_t> v = g.GetUint(key);
  if (!v.ok()) return v.status();
  if (*v < 1 || *v > max) {
    return absl::InvalidArgumentError(
        absl::StrFormat("GGUF key '%s' = %d is out of range [1, %d]", key, *v, max));
  }
  return static_cast<uint32_t>(*v);
}

}  // namespace

absl::StatusOr<TokenizerTables> TokenizerFromGguf(const GgufFile& g) {
  absl::StatusOr<std::string> model = g.GetString("tokenizer.ggml.model");
  if (!model.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the GGUF file has no vocabulary: ", model.status().message()));
  }
  absl::StatusOr<std::vector<std::string>> tokens = g.GetStringArray("tokenizer.ggml.tokens");
  if (!tokens.ok()) return tokens.status();
  const size_t n = tokens->size();
  if (n == 0 || n > kMaxVocab) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tokenizer.ggml.tokens has %d entries (1..%d supported)", n, kMaxVocab));
  }
  std::vector<uint8_t> types(n, static_cast<uint8_t>(TokenType::NORMAL));
  if (g.Find("tokenizer.ggml.token_type") != nullptr) {
    absl::StatusOr<std::vector<double>> raw = g.GetNumberArray("tokenizer.ggml.token_type");
    if (!raw.ok()) return raw.status();
    if (raw->size() != n) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tokenizer.ggml.token_type has %d entries for %d tokens", raw->size(), n));
    }
    for (size_t i = 0; i < n; ++i) types[i] = KindFromGgufType((*raw)[i]);
  }
  absl::StatusOr<int32_t> bos = OptionalId(g, "tokenizer.ggml.bos_token_id", n);
  absl::StatusOr<int32_t> eos = OptionalId(g, "tokenizer.ggml.eos_token_id", n);
  absl::StatusOr<int32_t> unk = OptionalId(g, "tokenizer.ggml.unknown_token_id", n);
  absl::StatusOr<int32_t> eot = OptionalId(g, "tokenizer.ggml.eot_token_id", n);
  absl::StatusOr<int32_t> eom = OptionalId(g, "tokenizer.ggml.eom_token_id", n);
  for (const auto* id : {&bos, &eos, &unk, &eot, &eom}) {
    if (!id->ok()) return id->status();
  }
  std::vector<int32_t> stop_ids;
  for (int32_t id : {*eos, *eot, *eom}) {
    bool dup = false;
    for (int32_t s : stop_ids) dup |= s == id;
    if (id >= 0 && !dup) stop_ids.push_back(id);
  }

  if (*model == "llama") {
    TokenizerTables t;
    t.kind = TokenizerType::SCORE_BPE;
    t.pieces.reserve(n);
    for (const std::string& piece : *tokens) t.pieces.push_back(SentencePieceToText(piece));
    t.types = types;
    if (g.Find("tokenizer.ggml.scores") != nullptr) {
      absl::StatusOr<std::vector<double>> scores = g.GetNumberArray("tokenizer.ggml.scores");
      if (!scores.ok()) return scores.status();
      if (scores->size() != n) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "tokenizer.ggml.scores has %d entries for %d tokens", scores->size(), n));
      }
      t.scores.assign(scores->begin(), scores->end());
      for (float s : t.scores) {
        if (std::isnan(s)) return absl::InvalidArgumentError("tokenizer.ggml.scores holds a NaN");
      }
    }
    t.bos_id = *bos;
    t.eos_id = *eos;
    t.unk_id = *unk;
    t.stop_ids = stop_ids;
    absl::StatusOr<bool> prefix = OptionalBool(g, "tokenizer.ggml.add_space_prefix", true);
    absl::StatusOr<bool> add_bos = OptionalBool(g, "tokenizer.ggml.add_bos_token", true);
    if (!prefix.ok()) return prefix.status();
    if (!add_bos.ok()) return add_bos.status();
    t.add_dummy_prefix = *prefix;
    t.add_bos = *add_bos;
    t.Finalize();
    return t;
  }
  if (*model == "gpt2") {
    ByteBpeSource src;
    absl::StatusOr<std::string> pre = g.GetString("tokenizer.ggml.pre");
    if (!pre.ok()) {
      if (!absl::IsNotFound(pre.status())) return pre.status();
      pre = std::string("default");
    }
    absl::StatusOr<GgufPreTokenizer> named = GgufPreTokenizerStages(*pre);
    if (!named.ok()) return named.status();
    absl::StatusOr<PreTokenizerChoice> choice = ChoosePreTokenizer(named->stages);
    if (!choice.ok()) {
      return absl::Status(choice.status().code(),
                          absl::StrCat("tokenizer.ggml.pre ", tools::QuoteName(*pre), ": ",
                                       choice.status().message()));
    }
    src.pretokenizer = choice->kind;
    src.split_rules = std::move(choice->rules);
    src.ignore_merges = named->ignore_merges;
    src.tokens = *std::move(tokens);
    src.types = types;
    absl::StatusOr<std::vector<std::string>> merges = g.GetStringArray("tokenizer.ggml.merges");
    if (!merges.ok()) return merges.status();
    src.merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
      const std::string& m = (*merges)[i];
      const size_t space = m.find(' ', 1);
      if (space == std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrFormat("tokenizer.ggml.merges[%d] = \"%s\" is not \"left right\"", i, m));
      }
      src.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
    }
    src.bos_id = *bos;
    src.eos_id = *eos;
    src.unk_id = *unk;
    src.stop_ids = stop_ids;
    absl::StatusOr<bool> add_bos = OptionalBool(g, "tokenizer.ggml.add_bos_token", false);
    if (!add_bos.ok()) return add_bos.status();
    src.add_bos = *add_bos;
    size_t dropped = 0;
    absl::StatusOr<TokenizerTables> t = BuildByteBpeTables(src, &dropped);
    if (!t.ok()) {
      return absl::Status(t.status().code(),
                          absl::StrCat("GGUF vocabulary: ", t.status().message()));
    }
    if (dropped > 0) {
      std::fprintf(stderr,
                   "warning: %zu of %zu merges were dropped (a piece missing or special, or "
                   "a repeated pair)\n",
                   dropped, src.merges.size());
    }
    return t;
  }
  return absl::UnimplementedError(absl::StrCat(
      "tokenizer.ggml.model ", tools::QuoteName(*model),
      " is not supported (supported: llama = SentencePiece BPE, gpt2 = byte-level BPE)"));
}

absl::StatusOr<SourceModel> SourceModelFromGguf(const GgufFile& g) {
  absl::StatusOr<std::string> arch = g.GetString("general.architecture");
  if (!arch.ok()) return arch.status();
  if (*arch != "llama") {
    return absl::UnimplementedError(absl::StrCat("GGUF architecture ", tools::QuoteName(*arch),
                                                 " is not supported (supported: llama)"));
  }
  if (g.FindTensor("rope_freqs.weight") != nullptr) {
    return absl::UnimplementedError(
        "this GGUF model scales its RoPE frequencies (tensor rope_freqs.weight, Llama 3.1 "
        "style), which GGUF import does not support yet");
  }
  if (const GgufValue* scaling = g.Find("llama.rope.scaling.type")) {
    if (scaling->type != GgufType::kString || (scaling->s != "none" && !scaling->s.empty())) {
      return absl::UnimplementedError(
          "llama.rope.scaling.type is set; RoPE scaling is not supported for GGUF import");
    }
  }
  SourceModel m;
  SourceConfig& c = m.config;
  c.architecture = "llama";
  struct Field {
    const char* key;
    uint32_t* value;
    uint32_t max;
  } fields[] = {
      {"llama.embedding_length", &c.dim, 1u << 16},
      {"llama.feed_forward_length", &c.hidden_dim, 1u << 19},
      {"llama.block_count", &c.n_layers, 1024},
      {"llama.attention.head_count", &c.n_heads, 1024},
      {"llama.context_length", &c.max_seq_len, 1u << 22},
  };
  for (const Field& f : fields) {
    absl::StatusOr<uint32_t> v = ConfigValue(g, f.key, f.max);
    if (!v.ok()) return v.status();
    *f.value = *v;
  }
  c.n_kv_heads = c.n_heads;
  if (g.Find("llama.attention.head_count_kv") != nullptr) {
    absl::StatusOr<uint32_t> v = ConfigValue(g, "llama.attention.head_count_kv", 1024);
    if (!v.ok()) return v.status();
    c.n_kv_heads = *v;
  }
  if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "embedding_length %d, head_count %d and head_count_kv %d do not divide evenly", c.dim,
        c.n_heads, c.n_kv_heads));
  }
  c.head_dim = c.dim / c.n_heads;
  for (const char* key : {"llama.rope.dimension_count", "llama.attention.key_length",
                          "llama.attention.value_length"}) {
    if (g.Find(key) == nullptr) continue;
    absl::StatusOr<uint64_t> v = g.GetUint(key);
    if (!v.ok()) return v.status();
    if (*v != c.head_dim) {
      return absl::UnimplementedError(absl::StrFormat(
          "%s = %d differs from embedding_length / head_count = %d (partial rotary or "
          "custom head sizes are not supported)",
          key, *v, c.head_dim));
    }
  }
  if (g.Find("llama.rope.freq_base") != nullptr) {
    absl::StatusOr<double> v = g.GetFloat("llama.rope.freq_base");
    if (!v.ok()) return v.status();
    c.rope_theta = static_cast<float>(*v);
  }
  if (g.Find("llama.attention.layer_norm_rms_epsilon") != nullptr) {
    absl::StatusOr<double> v = g.GetFloat("llama.attention.layer_norm_rms_epsilon");
    if (!v.ok()) return v.status();
    c.norm_eps = static_cast<float>(*v);
  }
  if (!(c.rope_theta > 0) || !(c.norm_eps >= 0 && c.norm_eps < 1)) {
    return absl::InvalidArgumentError("rope.freq_base or layer_norm_rms_epsilon out of range");
  }

  const GgufTensor* embd = g.FindTensor("token_embd.weight");
  if (embd == nullptr) return absl::InvalidArgumentError("tensor 'token_embd.weight' is missing");
  if (embd->ne.size() != 2 || embd->ne[1] > kMaxVocab) {
    return absl::InvalidArgumentError("tensor 'token_embd.weight' must be [dim, vocab]");
  }
  c.vocab_size = static_cast<uint32_t>(embd->ne[1]);
  if (const GgufValue* tokens = g.Find("tokenizer.ggml.tokens")) {
    if (tokens->type == GgufType::kArray && tokens->count != c.vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrFormat("the vocabulary has %d tokens but token_embd.weight has %d rows",
                          tokens->count, c.vocab_size));
    }
  }

  const uint64_t q_dim = uint64_t{c.n_heads} * c.head_dim;
  const uint64_t kv_dim = uint64_t{c.n_kv_heads} * c.head_dim;
  const auto add = [&](const std::string& gguf_name, const std::string& kite_name, uint64_t rows,
                       uint64_t cols) -> absl::Status {
    absl::StatusOr<SourceTensor> t = ReadTensor(g, gguf_name, kite_name, rows, cols);
    if (!t.ok()) return t.status();
    m.tensors.push_back(*std::move(t));
    return absl::OkStatus();
  };
  if (absl::Status s = add("token_embd.weight", names::kTokEmbeddings, c.vocab_size, c.dim);
      !s.ok()) {
    return s;
  }
  for (uint32_t i = 0; i < c.n_layers; ++i) {
    const std::string b = absl::StrCat("blk.", i, ".");
    const std::string k = absl::StrCat("layers.", i, ".");
    struct Entry {
      const char* gguf;
      const char* kite;
      uint64_t rows, cols;
    } entries[] = {
        {"attn_norm", names::kAttentionNorm, c.dim, 0},
        {"attn_q", names::kWq, q_dim, c.dim},
        {"attn_k", names::kWk, kv_dim, c.dim},
        {"attn_v", names::kWv, kv_dim, c.dim},
        {"attn_output", names::kWo, c.dim, q_dim},
        {"ffn_norm", names::kFfnNorm, c.dim, 0},
        {"ffn_gate", names::kW1, c.hidden_dim, c.dim},
        {"ffn_down", names::kW2, c.dim, c.hidden_dim},
        {"ffn_up", names::kW3, c.hidden_dim, c.dim},
    };
    for (const Entry& e : entries) {
      if (absl::Status s = add(b + e.gguf + ".weight", k + e.kite, e.rows, e.cols); !s.ok()) {
        return s;
      }
    }
    if (g.FindTensor(b + "attn_q.bias") != nullptr) {
      return absl::UnimplementedError(absl::StrCat(
          "tensor '", b, "attn_q.bias': attention biases are not supported for GGUF llama"));
    }
  }
  if (absl::Status s = add("output_norm.weight", names::kNorm, c.dim, 0); !s.ok()) return s;
  c.tied_embeddings = true;
  if (g.FindTensor("output.weight") != nullptr) {
    absl::StatusOr<SourceTensor> out =
        ReadTensor(g, "output.weight", names::kOutput, c.vocab_size, c.dim);
    if (!out.ok()) return out.status();
    // A bit-identical copy of the embedding is stored once, as a tied head.
    const std::vector<float>& e = m.tensors.front().data;
    if (out->data.size() != e.size() ||
        std::memcmp(out->data.data(), e.data(), e.size() * sizeof(float)) != 0) {
      c.tied_embeddings = false;
      m.tensors.push_back(*std::move(out));
    }
  }
  return m;
}

}  // namespace kite::convert
