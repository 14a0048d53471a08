// GGUF reading (tools/convert/source/gguf_reader.cc) on the shared files and on hostile
// hand-built ones, GGUF model import against the llama2.c checkpoint it was converted from,
// and GGUF vocabularies as tokenizer tables.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "sdk/kernels/fp16.h"
#include "sdk/runtime/tokenizer/tokenizer.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"
#include "tools/convert/source/gguf_model.h"
#include "tools/convert/source/gguf_reader.h"
#include "tools/convert/source/llama2c_checkpoint.h"

namespace kite::convert {
namespace {

// Writes GGUF bytes field by field.
class GgufBuilder {
 public:
  explicit GgufBuilder(uint32_t version = 3) {
    Raw("GGUF", 4);
    U32(version);
    n_tensors_at_ = bytes_.size();
    U64(0);
    n_kv_at_ = bytes_.size();
    U64(0);
  }
  GgufBuilder& U32(uint32_t v) { return Raw(&v, 4); }
  GgufBuilder& U64(uint64_t v) { return Raw(&v, 8); }
  GgufBuilder& Str(const std::string& s) {
    U64(s.size());
    return Raw(s.data(), s.size());
  }
  GgufBuilder& Raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
    return *this;
  }
  // Key/value pairs.
  GgufBuilder& KvU32(const std::string& key, uint32_t v) {
    Count(n_kv_at_);
    Str(key);
    U32(4);
    return U32(v);
  }
  GgufBuilder& KvF32(const std::string& key, float v) {
    Count(n_kv_at_);
    Str(key);
    U32(6);
    return Raw(&v, 4);
  }
  GgufBuilder& KvStr(const std::string& key, const std::string& v) {
    Count(n_kv_at_);
    Str(key);
    U32(8);
    return Str(v);
  }
  GgufBuilder& KvStrArray(const std::string& key, const std::vector<std::string>& v) {
    Count(n_kv_at_);
    Str(key);
    U32(9);
    U32(8);
    U64(v.size());
    for (const std::string& s : v) Str(s);
    return *this;
  }
  GgufBuilder& KvI32Array(const std::string& key, const std::vector<int32_t>& v) {
    Count(n_kv_at_);
    Str(key);
    U32(9);
    U32(5);
    U64(v.size());
    return Raw(v.data(), v.size() * 4);
  }
  // A tensor info; the data is appended by Finish() in the same order.
  GgufBuilder& Tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type,
                      std::vector<uint8_t> data) {
    Count(n_tensors_at_);
    Str(name);
    U32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) U64(d);
    U32(type);
    U64(data_size_);
    data_size_ += (data.size() + 31) / 32 * 32;
    data_.push_back(std::move(data));
    return *this;
  }
  std::vector<uint8_t> Finish() const {
    std::vector<uint8_t> out = bytes_;
    if (data_.empty()) return out;
    out.resize((out.size() + 31) / 32 * 32, 0);
    for (const auto& d : data_) {
      out.insert(out.end(), d.begin(), d.end());
      out.resize((out.size() + 31) / 32 * 32, 0);
    }
    return out;
  }

 private:
  void Count(size_t at) {
    uint64_t n;
    std::memcpy(&n, &bytes_[at], 8);
    ++n;
    std::memcpy(&bytes_[at], &n, 8);
  }
  std::vector<uint8_t> bytes_;
  std::vector<std::vector<uint8_t>> data_;
  size_t n_tensors_at_, n_kv_at_;
  uint64_t data_size_ = 0;
};

std::vector<uint8_t> F32Bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  const std::string s = test::ReadText(path);
  return std::vector<uint8_t>(s.begin(), s.end());
}

// A small valid file with two tensors, used as the base of the hostile cases.
std::vector<uint8_t> SmallFile() {
  return GgufBuilder()
      .KvStr("general.architecture", "llama")
      .KvU32("general.alignment", 32)
      .Tensor("a", {4, 2}, 0, F32Bytes({1, 2, 3, 4, 5, 6, 7, 8}))
      .Tensor("b", {4}, 0, F32Bytes({9, 10, 11, 12}))
      .Finish();
}

TEST(GgufReaderTest, ReadsStories260K) {
  absl::StatusOr<GgufFile> g = ReadGgufFile(test::SharedModel("stories260K.gguf"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->version(), 3u);
  EXPECT_EQ(g->alignment(), 32u);
  EXPECT_EQ(g->tensors().size(), 48u);
  const GgufTensor* embd = g->FindTensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->ne, (std::vector<uint64_t>{64, 512}));
  EXPECT_EQ(embd->type, GgmlType::kF32);
  EXPECT_EQ(embd->size, 64u * 512 * 4);
  EXPECT_EQ(*g->GetUint("llama.context_length"), 2048u);
  EXPECT_EQ(*g->GetString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(g->GetStringArray("tokenizer.ggml.tokens")->size(), 512u);
  EXPECT_FALSE(g->GetString("llama.context_length").ok());  // wrong type
  EXPECT_TRUE(absl::IsNotFound(g->GetUint("no.such.key").status()));
}

TEST(GgufReaderTest, VocabularyOnlyFilesEndAfterTheirKeys) {
  for (const char* v : {"gpt-2", "llama-spm", "phi-3"}) {
    absl::StatusOr<GgufFile> g =
        ReadGgufFile(test::SharedModel(std::string("tokenizers/ggml-vocab-") + v + ".gguf"));
    ASSERT_TRUE(g.ok()) << v << ": " << g.status();
    EXPECT_TRUE(g->tensors().empty());
  }
  absl::StatusOr<GgufFile> gpt2 =
      ReadGgufFile(test::SharedModel("tokenizers/ggml-vocab-gpt-2.gguf"));
  ASSERT_TRUE(gpt2.ok());
  EXPECT_EQ(gpt2->values().size(), 16u);
  EXPECT_EQ(gpt2->GetStringArray("tokenizer.ggml.merges")->front(), "\xC4\xA0 t");
}

TEST(GgufReaderTest, ReadsBuiltFileAndEveryTruncationFails) {
  const std::vector<uint8_t> bytes = SmallFile();
  absl::StatusOr<GgufFile> g = ParseGguf(bytes);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->tensors().size(), 2u);
  float third;
  std::memcpy(&third, g->FindTensor("a")->data + 8, 4);
  EXPECT_EQ(third, 3.0f);
  // Any prefix is rejected (the data of "b" is the last thing in the file).
  for (size_t n = 0; n + 16 < bytes.size(); ++n) {  // the last 16 bytes are padding
    absl::StatusOr<GgufFile> cut =
        ParseGguf(std::vector<uint8_t>(bytes.begin(), bytes.begin() + n));
    EXPECT_FALSE(cut.ok()) << "prefix of " << n << " bytes parsed";
  }
}

TEST(GgufReaderTest, RejectsHostileHeadersAndValues) {
  const auto fails = [](const std::vector<uint8_t>& b, absl::StatusCode code,
                        const std::string& needle) {
    absl::StatusOr<GgufFile> g = ParseGguf(b);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), code) << g.status();
    EXPECT_NE(g.status().message().find(needle), std::string::npos) << g.status();
  };
  fails({'G', 'G', 'U', 'X', 3, 0, 0, 0}, absl::StatusCode::kInvalidArgument, "not a GGUF");
  fails(GgufBuilder(1).Finish(), absl::StatusCode::kUnimplemented, "version 1");
  fails(GgufBuilder(0x03000000).Finish(), absl::StatusCode::kUnimplemented, "big-endian");
  fails(GgufBuilder(7).Finish(), absl::StatusCode::kUnimplemented, "version 7");
  {  // a string longer than the file
    std::vector<uint8_t> b = GgufBuilder().KvStr("k", "value").Finish();
    const uint64_t huge = uint64_t{1} << 62;
    std::memcpy(&b[b.size() - 5 - 8], &huge, 8);
    fails(b, absl::StatusCode::kDataLoss, "string length");
  }
  {  // an array count that cannot fit (and would overflow count * size)
    std::vector<uint8_t> b = GgufBuilder().KvI32Array("k", {1, 2}).Finish();
    const uint64_t huge = ~uint64_t{0} / 2;
    std::memcpy(&b[b.size() - 8 - 8], &huge, 8);
    fails(b, absl::StatusCode::kDataLoss, "cannot fit");
  }
  {  // unknown value type
    GgufBuilder g;
    std::vector<uint8_t> b = g.KvU32("k", 1).Finish();
    b[b.size() - 8] = 13;
    fails(b, absl::StatusCode::kDataLoss, "unknown value type 13");
  }
  {  // nested arrays
    GgufBuilder g;
    std::vector<uint8_t> b = g.KvI32Array("k", {}).Finish();
    b[b.size() - 12] = 9;
    fails(b, absl::StatusCode::kDataLoss, "nested");
  }
  fails(GgufBuilder().KvU32("k", 1).KvU32("k", 2).Finish(), absl::StatusCode::kDataLoss,
        "appears twice");
  fails(GgufBuilder().KvU32("general.alignment", 24).Finish(), absl::StatusCode::kDataLoss,
        "power of two");
  {  // more pairs claimed than the file can hold
    std::vector<uint8_t> b = GgufBuilder().Finish();
    const uint64_t many = 1000;
    std::memcpy(&b[16], &many, 8);
    fails(b, absl::StatusCode::kDataLoss, "key/value pairs");
  }
}

TEST(GgufReaderTest, RejectsHostileTensorInfos) {
  const auto fails = [](const std::vector<uint8_t>& b, const std::string& needle) {
    absl::StatusOr<GgufFile> g = ParseGguf(b);
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.status().message().find(needle), std::string::npos) << g.status();
  };
  const std::vector<uint8_t> f4 = F32Bytes({1, 2, 3, 4});
  fails(GgufBuilder().Tensor("t", {1, 1, 1, 1, 4}, 0, f4).Finish(), "dimensions");
  fails(GgufBuilder().Tensor("t", {4, 0}, 0, f4).Finish(), "zero or makes the tensor too large");
  fails(GgufBuilder().Tensor("t", {1u << 30, 1u << 30}, 0, f4).Finish(), "too large");
  fails(GgufBuilder().Tensor("t", {4}, 99, f4).Finish(), "ggml type 99");
  fails(GgufBuilder().Tensor("t", {4}, 8, f4).Finish(), "block size");  // Q8_0 needs 32
  fails(GgufBuilder().Tensor("t", {4}, 0, f4).Tensor("t", {4}, 0, f4).Finish(), "twice");
  fails(GgufBuilder().Tensor("t", {64}, 0, f4).Finish(), "run past the end");
  {  // misaligned offset
    std::vector<uint8_t> b = GgufBuilder().Tensor("t", {4}, 0, f4).Finish();
    const size_t info_end = 24 + 8 + 1 + 4 + 8 + 4 + 8;
    const uint64_t off = 4;
    std::memcpy(&b[info_end - 8], &off, 8);
    fails(b, "not a multiple of the alignment");
  }
  {  // two tensors sharing bytes
    std::vector<uint8_t> b = GgufBuilder()
                                 .Tensor("a", {16}, 0, F32Bytes(std::vector<float>(16)))
                                 .Tensor("b", {4}, 0, f4)
                                 .Finish();
    const size_t b_offset_at = 24 + (8 + 1 + 4 + 8 + 4 + 8) * 2 - 8;
    const uint64_t off = 32;
    std::memcpy(&b[b_offset_at], &off, 8);
    fails(b, "overlap");
  }
}

// Issue 18 defect 8: names read from the file reach messages quoted and escaped, never as
// raw terminal escapes or with an embedded NUL cutting the message short.
TEST(GgufReaderTest, HostileNamesInMessagesAreEscaped) {
  const std::vector<uint8_t> f4 = F32Bytes({1, 2, 3, 4});
  const std::string evil("\x1b]0;owned\x07\0tail", 15);
  absl::StatusOr<GgufFile> g =
      ParseGguf(GgufBuilder().Tensor(evil, {4}, 0, f4).Tensor(evil, {4}, 0, f4).Finish());
  ASSERT_FALSE(g.ok());
  const std::string m(g.status().message());
  EXPECT_NE(m.find("tensor '\\x1b]0;owned\\x07\\x00tail' appears twice"), std::string::npos) << m;
  EXPECT_EQ(m.find('\x1b'), std::string::npos) << m;
  g = ParseGguf(GgufBuilder().KvU32(evil, 1).KvU32(evil, 2).Finish());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(std::string(g.status().message()).find("key '\\x1b]0;owned"), std::string::npos)
      << g.status();
}

TEST(GgufModelTest, Stories260KMatchesTheLlama2cCheckpoint) {
  absl::StatusOr<GgufFile> g = ReadGgufFile(test::SharedModel("stories260K.gguf"));
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<SourceModel> m = SourceModelFromGguf(*g);
  ASSERT_TRUE(m.ok()) << m.status();
  const SourceConfig& c = m->config;
  EXPECT_EQ(c.dim, 64u);
  EXPECT_EQ(c.hidden_dim, 172u);
  EXPECT_EQ(c.n_layers, 5u);
  EXPECT_EQ(c.n_heads, 8u);
  EXPECT_EQ(c.n_kv_heads, 4u);
  EXPECT_EQ(c.head_dim, 8u);
  EXPECT_EQ(c.vocab_size, 512u);
  EXPECT_EQ(c.max_seq_len, 2048u);  // the GGUF's context_length, taken as given
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  // "output" is a bit-identical copy of token_embd, stored once as a tied head.
  EXPECT_TRUE(c.tied_embeddings);

  absl::StatusOr<SourceModel> bin = ReadLlama2cCheckpoint(test::SharedModel("stories260K.bin"));
  ASSERT_TRUE(bin.ok()) << bin.status();
  ASSERT_EQ(m->tensors.size(), bin->tensors.size());
  for (const SourceTensor& t : bin->tensors) {
    const SourceTensor* found = nullptr;
    for (const SourceTensor& u : m->tensors) found = u.name == t.name ? &u : found;
    ASSERT_NE(found, nullptr) << t.name;
    EXPECT_EQ(found->shape, t.shape) << t.name;
    EXPECT_EQ(found->data, t.data) << t.name;
  }
}

// A 1-layer model with dim 32 (one Q8_0 block per row) in every supported tensor type.
GgufBuilder TinyModel(uint32_t q_type, bool untied) {
  const uint32_t dim = 32, hidden = 32, vocab = 3;
  GgufBuilder b;
  b.KvStr("general.architecture", "llama")
      .KvU32("llama.embedding_length", dim)
      .KvU32("llama.feed_forward_length", hidden)
      .KvU32("llama.block_count", 1)
      .KvU32("llama.attention.head_count", 4)
      .KvU32("llama.attention.head_count_kv", 2)
      .KvU32("llama.context_length", 64)
      .KvF32("llama.rope.freq_base", 500000.0f);
  const auto matrix = [&](uint64_t rows, uint64_t cols, float base) {
    std::vector<float> v(rows * cols);
    for (size_t i = 0; i < v.size(); ++i) v[i] = base + 0.25f * static_cast<float>(i % 7);
    return v;
  };
  const auto encode = [&](const std::vector<float>& v, uint32_t type) {
    std::vector<uint8_t> out;
    if (type == 0) return F32Bytes(v);
    if (type == 1) {  // F16
      for (float x : v) {
        const uint16_t h = FloatToHalf(x);
        out.push_back(static_cast<uint8_t>(h));
        out.push_back(static_cast<uint8_t>(h >> 8));
      }
      return out;
    }
    // Q8_0 with scale 0.25: q = v / 0.25 (all values are multiples of 0.25 within range).
    for (size_t blk = 0; blk < v.size() / 32; ++blk) {
      const uint16_t d = FloatToHalf(0.25f);
      out.push_back(static_cast<uint8_t>(d));
      out.push_back(static_cast<uint8_t>(d >> 8));
      for (int j = 0; j < 32; ++j) {
        out.push_back(static_cast<uint8_t>(static_cast<int8_t>(v[blk * 32 + j] / 0.25f)));
      }
    }
    return out;
  };
  b.Tensor("token_embd.weight", {dim, vocab}, q_type, encode(matrix(vocab, dim, 1), q_type));
  b.Tensor("output_norm.weight", {dim}, 0, F32Bytes(std::vector<float>(dim, 1.0f)));
  if (untied)
    b.Tensor("output.weight", {dim, vocab}, q_type, encode(matrix(vocab, dim, 2), q_type));
  const char* names[] = {"attn_q",   "attn_k", "attn_v",  "attn_output",
                         "ffn_gate", "ffn_up", "ffn_down"};
  const uint64_t rows[] = {32, 16, 16, 32, 32, 32, 32};
  for (int i = 0; i < 7; ++i) {
    b.Tensor(std::string("blk.0.") + names[i] + ".weight", {32, rows[i]}, q_type,
             encode(matrix(rows[i], 32, -1), q_type));
  }
  b.Tensor("blk.0.attn_norm.weight", {dim}, 0, F32Bytes(std::vector<float>(dim, 1.0f)));
  b.Tensor("blk.0.ffn_norm.weight", {dim}, 0, F32Bytes(std::vector<float>(dim, 1.0f)));
  return b;
}

TEST(GgufModelTest, ReadsF16AndQ8_0AndKeepsADistinctHeadUntied) {
  for (uint32_t type : {0u, 1u, 8u}) {
    absl::StatusOr<GgufFile> g = ParseGguf(TinyModel(type, /*untied=*/true).Finish());
    ASSERT_TRUE(g.ok()) << g.status();
    absl::StatusOr<SourceModel> m = SourceModelFromGguf(*g);
    ASSERT_TRUE(m.ok()) << "type " << type << ": " << m.status();
    EXPECT_FALSE(m->config.tied_embeddings);
    EXPECT_EQ(m->config.n_kv_heads, 2u);
    EXPECT_EQ(m->config.head_dim, 8u);
    EXPECT_FLOAT_EQ(m->config.rope_theta, 500000.0f);
    EXPECT_EQ(m->tensors.back().name, "output");
    const SourceTensor& wk = m->tensors[3];  // tok_embeddings, attention_norm, wq, wk
    ASSERT_EQ(wk.name, "layers.0.attention.wk");
    EXPECT_EQ(wk.shape, (std::vector<uint64_t>{16, 32}));
    for (size_t i = 0; i < wk.data.size(); ++i) {
      ASSERT_EQ(wk.data[i], -1.0f + 0.25f * static_cast<float>(i % 7))
          << "type " << type << " " << i;
    }
  }
}

TEST(GgufModelTest, RefusesUnsupportedTensorsAndConfigs) {
  // Q4_0 (type 2) parses but is not converted; the error names the tensor and type.
  absl::StatusOr<GgufFile> q4 = ParseGguf(TinyModel(2, false).Finish());
  ASSERT_TRUE(q4.ok()) << q4.status();
  absl::StatusOr<SourceModel> refused = SourceModelFromGguf(*q4);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(refused.status().message().find("token_embd.weight' is Q4_0"), std::string::npos)
      << refused.status();
  GgufBuilder b = TinyModel(0, false);
  b.Tensor("blk.0.attn_q.bias", {32}, 0, F32Bytes(std::vector<float>(32)));
  absl::StatusOr<GgufFile> biased = ParseGguf(b.Finish());
  ASSERT_TRUE(biased.ok());
  absl::StatusOr<SourceModel> m = SourceModelFromGguf(*biased);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("attn_q.bias"), std::string::npos) << m.status();

  absl::StatusOr<GgufFile> other =
      ParseGguf(GgufBuilder().KvStr("general.architecture", "gpt2").Finish());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(SourceModelFromGguf(*other).status().code(), absl::StatusCode::kUnimplemented);

  // Missing tensors are named.
  absl::StatusOr<GgufFile> bare = ParseGguf(GgufBuilder()
                                                .KvStr("general.architecture", "llama")
                                                .KvU32("llama.embedding_length", 32)
                                                .KvU32("llama.feed_forward_length", 32)
                                                .KvU32("llama.block_count", 1)
                                                .KvU32("llama.attention.head_count", 4)
                                                .KvU32("llama.context_length", 64)
                                                .Finish());
  ASSERT_TRUE(bare.ok());
  m = SourceModelFromGguf(*bare);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("token_embd.weight"), std::string::npos) << m.status();
}

TEST(GgufTokenizerTest, Stories260KVocabularyEncodesTheGoldenPrompt) {
  absl::StatusOr<GgufFile> g = ReadGgufFile(test::SharedModel("stories260K.gguf"));
  ASSERT_TRUE(g.ok());
  absl::StatusOr<TokenizerTables> t = TokenizerFromGguf(*g);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->kind, TokenizerType::SCORE_BPE);
  ASSERT_EQ(t->pieces.size(), 512u);
  EXPECT_EQ(t->pieces[1], "<s>");
  EXPECT_EQ(t->types[1], static_cast<uint8_t>(TokenType::CONTROL));
  EXPECT_EQ(t->types[3], static_cast<uint8_t>(TokenType::BYTE));
  EXPECT_EQ(t->byte_ids['A'], 3 + 'A');
  EXPECT_EQ(t->bos_id, 1);
  EXPECT_EQ(t->eos_id, 2);
  EXPECT_TRUE(t->add_bos);
  EXPECT_TRUE(t->add_dummy_prefix);
  const Tokenizer tok(t->View());
  int32_t ids[64];
  size_t n = 0;
  const std::string prompt = "Once upon a time";
  ASSERT_TRUE(tok.Encode(prompt.data(), prompt.size(), true, ids, 64, &n).ok());
  EXPECT_EQ(std::vector<int32_t>(ids, ids + n), (std::vector<int32_t>{1, 403, 407, 261, 378}));
}

TEST(GgufTokenizerTest, Gpt2VocabularyIsByteLevel) {
  absl::StatusOr<GgufFile> g = ReadGgufFile(test::SharedModel("tokenizers/ggml-vocab-gpt-2.gguf"));
  ASSERT_TRUE(g.ok());
  absl::StatusOr<TokenizerTables> t = TokenizerFromGguf(*g);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->kind, TokenizerType::BYTE_BPE);
  EXPECT_EQ(t->pretokenizer, PreTokenizerType::GPT2);
  EXPECT_EQ(t->merges.size(), 50000u);
  EXPECT_FALSE(t->add_bos);
  EXPECT_EQ(t->pieces[995], " world");  // "Ġworld" in raw bytes
  EXPECT_EQ(t->pieces[50256], "<|endoftext|>");
  EXPECT_EQ(t->types[50256], static_cast<uint8_t>(TokenType::CONTROL));
  EXPECT_EQ(t->stop_ids, (std::vector<int32_t>{50256}));
  for (int b = 0; b < 256; ++b) ASSERT_GE(t->byte_ids[b], 0) << b;
}

TEST(GgufTokenizerTest, RejectsUnknownModelsPreTokenizersAndIds) {
  const std::vector<std::string> tokens = {"a", "b", "ab"};
  const auto vocab = [&](const std::string& model, const std::string& pre) {
    GgufBuilder b;
    b.KvStr("tokenizer.ggml.model", model).KvStrArray("tokenizer.ggml.tokens", tokens);
    if (!pre.empty()) b.KvStr("tokenizer.ggml.pre", pre);
    b.KvStrArray("tokenizer.ggml.merges", {"a b"});
    return b;
  };
  absl::StatusOr<GgufFile> g = ParseGguf(vocab("bert", "").Finish());
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(TokenizerFromGguf(*g).status().code(), absl::StatusCode::kUnimplemented);
  // A name outside the table.
  g = ParseGguf(vocab("gpt2", "no-such-pre").Finish());
  ASSERT_TRUE(g.ok());
  absl::StatusOr<TokenizerTables> t = TokenizerFromGguf(*g);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("'no-such-pre' is not supported"), std::string::npos)
      << t.status();
  // The names llama.cpp splits with custom code: Kimi K2 (\p{Han}, class intersection),
  // SuperBPE and AFMoE (run lookaheads; AFMoE's digits merged with the text before them).
  const std::pair<const char*, size_t> custom[] = {{"kimi-k2", 1}, {"superbpe", 2}, {"afmoe", 3}};
  for (const auto& [pre, n_stages] : custom) {
    g = ParseGguf(vocab("gpt2", pre).Finish());
    ASSERT_TRUE(g.ok());
    t = TokenizerFromGguf(*g);
    ASSERT_TRUE(t.ok()) << pre << ": " << t.status();
    EXPECT_EQ(t->pretokenizer, PreTokenizerType::SPLIT) << pre;
    ASSERT_EQ(t->split_rules.size(), n_stages) << pre;
    EXPECT_EQ(t->split_rules[0].behavior, std::string(pre) == "afmoe"
                                              ? SplitBehavior::MERGED_WITH_PREVIOUS
                                              : SplitBehavior::ISOLATED)
        << pre;
  }
  // Names whose patterns no built-in splitter implements become compiled stages.
  g = ParseGguf(vocab("gpt2", "deepseek-coder").Finish());
  ASSERT_TRUE(g.ok());
  t = TokenizerFromGguf(*g);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->pretokenizer, PreTokenizerType::SPLIT);
  EXPECT_EQ(t->split_rules.size(), 5u);
  for (const char* pre : {"llama-bpe", "qwen2", "gpt-2", "smollm"}) {
    g = ParseGguf(vocab("gpt2", pre).Finish());
    ASSERT_TRUE(g.ok());
    t = TokenizerFromGguf(*g);
    ASSERT_TRUE(t.ok()) << pre << ": " << t.status();
    EXPECT_EQ(t->ignore_merges, std::string(pre) == "llama-bpe");
    ASSERT_EQ(t->merges.size(), 1u);
    EXPECT_EQ(t->merges[0].result(), 2u);
  }
  g = ParseGguf(vocab("gpt2", "qwen2").KvU32("tokenizer.ggml.eos_token_id", 3).Finish());
  ASSERT_TRUE(g.ok());
  t = TokenizerFromGguf(*g);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("eos_token_id"), std::string::npos) << t.status();
  g = ParseGguf(vocab("llama", "").KvI32Array("tokenizer.ggml.token_type", {1, 1}).Finish());
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(TokenizerFromGguf(*g).ok());
}

}  // namespace
}  // namespace kite::convert
