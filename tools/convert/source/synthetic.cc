#include "tools/convert/source/synthetic.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "sdk/format/tensor_names.h"

namespace kite::convert {
namespace {

// A named shape: the dimensions of the real model plus a note for --help.
struct Shape {
  const char* name;
  uint32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, max_seq_len;
  float rope_theta;
  float norm_eps;
  bool tied;
  const char* note;
};

constexpr Shape kShapes[] = {
    {"tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, 10000.0f, 1e-5f, false,
     "TinyLlama 1.1B"},
    {"smollm-135m", 576, 1536, 30, 9, 3, 49152, 2048, 10000.0f, 1e-5f, true, "SmolLM 135M"},
    {"llama-3.2-1b", 2048, 8192, 16, 32, 8, 128256, 131072, 500000.0f, 1e-5f, true,
     "Llama 3.2 1B (plain RoPE; its llama3 frequency scaling is not modelled)"},
    {"qwen2.5-0.5b", 896, 4864, 24, 14, 2, 151936, 32768, 1000000.0f, 1e-6f, true,
     "Qwen2.5 0.5B without its q/k/v bias (the runtime has no attention bias yet)"},
    {"stories260k", 64, 172, 5, 8, 4, 512, 512, 10000.0f, 1e-5f, true,
     "llama2.c stories260K (tiny, for tests)"},
};

const Shape* FindShape(const std::string& name) {
  for (const Shape& s : kShapes) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

uint64_t Mix64(uint64_t z) {  // the splitmix64 finalizer
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

// The generator key of one tensor: the seed mixed with an FNV-1a hash of its name.
uint64_t TensorKey(uint64_t seed, const std::string& name) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001B3ull;
  return Mix64(seed ^ Mix64(h));
}

// The k-th filler piece (k >= 0): printable ASCII strings enumerated by length, then in
// base-95 order, so every single character comes first, then every pair, and so on.
std::string FillerPiece(uint64_t k) {
  constexpr uint64_t kAlphabet = 0x7F - 0x20;  // ' ' .. '~'
  size_t length = 1;
  uint64_t count = kAlphabet;
  while (k >= count) {
    k -= count;
    ++length;
    count *= kAlphabet;
  }
  std::string piece(length, ' ');
  for (size_t i = length; i-- > 0;) {
    piece[i] = static_cast<char>(0x20 + k % kAlphabet);
    k /= kAlphabet;
  }
  return piece;
}

}  // namespace

const std::vector<std::string>& SyntheticModelNames() {
  static const std::vector<std::string>* names = [] {
    auto* v = new std::vector<std::string>;
    for (const Shape& s : kShapes) v->push_back(s.name);
    return v;
  }();
  return *names;
}

std::string SyntheticModelTable() {
  // "  name" padded to column 24, then the description wrapped at 80 columns.
  constexpr size_t kIndent = 24, kWidth = 80;
  std::string out;
  for (const Shape& s : kShapes) {
    const std::string text = absl::StrFormat(
        "%s: dim %u, ffn %u, %u layers, %u/%u heads, vocab %u, context %u, rope theta %.0f, "
        "%s.",
        s.note, s.dim, s.hidden_dim, s.n_layers, s.n_heads, s.n_kv_heads, s.vocab_size,
        s.max_seq_len, s.rope_theta, s.tied ? "tied head" : "separate head");
    std::string line = absl::StrFormat("  %-*s", kIndent - 2, s.name);
    size_t used = kIndent;
    for (absl::string_view word : absl::StrSplit(text, ' ')) {
      if (used > kIndent && used + 1 + word.size() > kWidth) {
        absl::StrAppend(&out, line, "\n");
        line = std::string(kIndent, ' ');
        used = kIndent;
      }
      if (used > kIndent) {
        line += ' ';
        ++used;
      }
      absl::StrAppend(&line, word);
      used += word.size();
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

absl::StatusOr<SourceConfig> SyntheticConfig(const std::string& name, int64_t vocab_override) {
  const Shape* s = FindShape(name);
  if (s == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown synthetic model '", name,
                                                   "'; known: ",
                                                   absl::StrJoin(SyntheticModelNames(), ", ")));
  }
  if (vocab_override > 0 &&
      (vocab_override < kSyntheticMinVocab || vocab_override > kSyntheticMaxVocab)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--vocab %d is out of range [%d, %d] (a synthetic tokenizer needs 3 control and 256 "
        "byte tokens)",
        vocab_override, kSyntheticMinVocab, kSyntheticMaxVocab));
  }
  SourceConfig c;
  c.architecture = "llama";
  c.dim = s->dim;
  c.hidden_dim = s->hidden_dim;
  c.n_layers = s->n_layers;
  c.n_heads = s->n_heads;
  c.n_kv_heads = s->n_kv_heads;
  c.head_dim = s->dim / s->n_heads;
  c.vocab_size = vocab_override > 0 ? static_cast<uint32_t>(vocab_override) : s->vocab_size;
  c.max_seq_len = s->max_seq_len;
  c.rope_theta = s->rope_theta;
  c.norm_eps = s->norm_eps;
  c.tied_embeddings = s->tied;
  return c;
}

std::vector<SourceTensor> SyntheticTensorShapes(const SourceConfig& c) {
  const uint64_t dim = c.dim, hidden = c.hidden_dim;
  const uint64_t q_dim = uint64_t{c.n_heads} * c.head_dim;
  const uint64_t kv_dim = uint64_t{c.n_kv_heads} * c.head_dim;
  std::vector<SourceTensor> out;
  auto add = [&out](std::string name, std::vector<uint64_t> shape) {
    SourceTensor t;
    t.name = std::move(name);
    t.shape = std::move(shape);
    out.push_back(std::move(t));
  };
  add(names::kTokEmbeddings, {c.vocab_size, dim});
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    const std::string p = absl::StrCat("layers.", l, ".");
    add(p + names::kAttentionNorm, {dim});
    add(p + names::kWq, {q_dim, dim});
    add(p + names::kWk, {kv_dim, dim});
    add(p + names::kWv, {kv_dim, dim});
    add(p + names::kWo, {dim, q_dim});
    add(p + names::kFfnNorm, {dim});
    add(p + names::kW1, {hidden, dim});
    add(p + names::kW2, {dim, hidden});
    add(p + names::kW3, {hidden, dim});
  }
  add(names::kNorm, {dim});
  if (!c.tied_embeddings) add(names::kOutput, {c.vocab_size, dim});
  return out;
}

void FillSyntheticTensor(uint64_t seed, SourceTensor* t) {
  const uint64_t n = t->elements();
  t->data.resize(n);
  float* out = t->data.data();
  if (t->shape.size() < 2) {
    for (uint64_t i = 0; i < n; ++i) out[i] = 1.0f;
    return;
  }
  // The sum of four uniform 16-bit fields of one 64-bit draw is close to normal (bounded at
  // about 3.5 standard deviations). Its mean is 2 * 65535 and its variance 4 * (2^32 - 1) / 12.
  const double field_sum_std = std::sqrt(4.0 * (65536.0 * 65536.0 - 1.0) / 12.0);
  const float scale = static_cast<float>(kSyntheticWeightStd / field_sum_std);
  const uint64_t key = TensorKey(seed, t->name);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t r = Mix64(key + (i + 1) * kGoldenGamma);
    const int64_t sum = static_cast<int64_t>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) +
                                             ((r >> 32) & 0xFFFF) + (r >> 48));
    out[i] = static_cast<float>(sum - 2 * 65535) * scale;
  }
}

absl::StatusOr<SourceModel> MakeSyntheticModel(const std::string& name, int64_t vocab_override,
                                               uint64_t seed) {
  absl::StatusOr<SourceConfig> config = SyntheticConfig(name, vocab_override);
  if (!config.ok()) return config.status();
  SourceModel model;
  model.config = *config;
  model.tensors = SyntheticTensorShapes(*config);
  for (SourceTensor& t : model.tensors) FillSyntheticTensor(seed, &t);
  return model;
}

TokenizerTables MakeSyntheticTokenizer(uint32_t vocab_size) {
  TokenizerTables t;
  t.kind = TokenizerType::SCORE_BPE;
  t.pieces.reserve(vocab_size);
  t.scores.reserve(vocab_size);
  t.types.reserve(vocab_size);
  auto add = [&t](std::string piece, float score, TokenType kind) {
    t.pieces.push_back(std::move(piece));
    t.scores.push_back(score);
    t.types.push_back(static_cast<uint8_t>(kind));
  };
  add("<unk>", 0.0f, TokenType::UNKNOWN);
  add("<s>", 0.0f, TokenType::CONTROL);
  add("</s>", 0.0f, TokenType::CONTROL);
  for (int b = 0; b < 256; ++b) add(absl::StrFormat("<0x%02X>", b), 0.0f, TokenType::BYTE);
  uint64_t k = 0;
  while (t.pieces.size() < vocab_size) {
    std::string piece = FillerPiece(k++);
    uint8_t byte_value;
    // Keep pieces distinct from the control tokens and the byte spellings.
    if (piece == "<unk>" || piece == "<s>" || piece == "</s>" || ParseBytePiece(piece, &byte_value)) {
      continue;
    }
    const float score = -static_cast<float>(t.pieces.size() - kSyntheticMinVocab + 1);
    add(std::move(piece), score, TokenType::NORMAL);
  }
  t.unk_id = 0;
  t.bos_id = 1;
  t.eos_id = 2;
  t.stop_ids = {2};
  t.add_dummy_prefix = true;
  t.Finalize();
  return t;
}

absl::StatusOr<std::vector<KiteTensor>> ConvertSyntheticTensors(
    const std::vector<SourceTensor>& shapes, uint64_t seed, const ConvertOptions& options,
    ConvertProgress* progress, unsigned threads) {
  return ConvertTensorsInParallel(
      shapes,
      [&](size_t i, SourceTensor* t) {
        t->name = shapes[i].name;
        t->shape = shapes[i].shape;
        FillSyntheticTensor(seed, t);
        return absl::OkStatus();
      },
      options, progress, threads);
}

}  // namespace kite::convert
