// llama2.c legacy checkpoint reader: the real stories260K.bin, a synthetic unshared-classifier
// checkpoint, and malformed files.
#include "tools/convert/source/llama2c_checkpoint.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kite::convert {
namespace {

std::string SharedModel(const std::string& name) {
  return std::string(KITE_SHARED_MODELS) + "/" + name;
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// The float at float index `i` of the weights (after the 28-byte header).
float RawFloat(const std::vector<uint8_t>& file, uint64_t i) {
  float f;
  std::memcpy(&f, file.data() + 28 + i * 4, 4);
  return f;
}

const SourceTensor* Find(const SourceModel& m, const std::string& name) {
  for (const SourceTensor& t : m.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/kite_llama2c_" + name;
}

TEST(Llama2cCheckpoint, Stories260KConfigAndShapes) {
  auto m = ReadLlama2cCheckpoint(SharedModel("stories260K.bin"));
  ASSERT_TRUE(m.ok()) << m.status();
  const SourceConfig& c = m->config;
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.dim, 64u);
  EXPECT_EQ(c.hidden_dim, 172u);
  EXPECT_EQ(c.n_layers, 5u);
  EXPECT_EQ(c.n_heads, 8u);
  EXPECT_EQ(c.n_kv_heads, 4u);
  EXPECT_EQ(c.head_dim, 8u);
  EXPECT_EQ(c.vocab_size, 512u);
  EXPECT_EQ(c.max_seq_len, 512u);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_TRUE(c.tied_embeddings);

  ASSERT_EQ(m->tensors.size(), 1u + 5u * 9u + 1u);  // no "output": shared classifier
  EXPECT_EQ(m->tensors.front().name, "tok_embeddings");
  EXPECT_EQ(m->tensors[1].name, "layers.0.attention_norm");
  EXPECT_EQ(m->tensors[9].name, "layers.0.feed_forward.w3");
  EXPECT_EQ(m->tensors[10].name, "layers.1.attention_norm");
  EXPECT_EQ(m->tensors.back().name, "norm");
  EXPECT_EQ(Find(*m, "output"), nullptr);

  const std::pair<const char*, std::vector<uint64_t>> shapes[] = {
      {"tok_embeddings", {512, 64}},
      {"layers.3.attention_norm", {64}},
      {"layers.3.attention.wq", {64, 64}},
      {"layers.3.attention.wk", {32, 64}},
      {"layers.3.attention.wv", {32, 64}},
      {"layers.3.attention.wo", {64, 64}},
      {"layers.3.ffn_norm", {64}},
      {"layers.3.feed_forward.w1", {172, 64}},
      {"layers.3.feed_forward.w2", {64, 172}},
      {"layers.3.feed_forward.w3", {172, 64}},
      {"norm", {64}},
  };
  uint64_t params = 0;
  for (const SourceTensor& t : m->tensors) {
    EXPECT_EQ(t.data.size(), t.elements()) << t.name;
    params += t.data.size();
  }
  EXPECT_EQ(params, 260032u);
  for (const auto& [name, shape] : shapes) {
    const SourceTensor* t = Find(*m, name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->shape, shape) << name;
  }
}

TEST(Llama2cCheckpoint, Stories260KValuesMatchRawOffsets) {
  const std::vector<uint8_t> raw = ReadAll(SharedModel("stories260K.bin"));
  ASSERT_EQ(raw.size(), 1056540u);
  auto m = ReadLlama2cCheckpoint(SharedModel("stories260K.bin"));
  ASSERT_TRUE(m.ok()) << m.status();

  // Float offsets of each block, from the README's layout (L = 5 layers).
  const uint64_t L = 5, dim = 64, hidden = 172, kv = 32, vocab = 512;
  const uint64_t tok = 0;
  const uint64_t rms_att = tok + vocab * dim;
  const uint64_t wq = rms_att + L * dim;
  const uint64_t wk = wq + L * dim * dim;
  const uint64_t wv = wk + L * kv * dim;
  const uint64_t wo = wv + L * kv * dim;
  const uint64_t rms_ffn = wo + L * dim * dim;
  const uint64_t w1 = rms_ffn + L * dim;
  const uint64_t w2 = w1 + L * hidden * dim;
  const uint64_t w3 = w2 + L * dim * hidden;
  const uint64_t rms_final = w3 + L * hidden * dim;
  EXPECT_EQ(rms_final + dim + 2 * 512 * 4, (raw.size() - 28) / 4);  // + RoPE tables

  struct Check {
    std::string name;
    uint64_t first;  // float index of element 0
  };
  const Check checks[] = {
      {"tok_embeddings", tok},
      {"layers.0.attention_norm", rms_att},
      {"layers.4.attention_norm", rms_att + 4 * dim},
      {"layers.2.attention.wq", wq + 2 * dim * dim},
      {"layers.2.attention.wk", wk + 2 * kv * dim},
      {"layers.1.attention.wv", wv + 1 * kv * dim},
      {"layers.4.attention.wo", wo + 4 * dim * dim},
      {"layers.3.ffn_norm", rms_ffn + 3 * dim},
      {"layers.0.feed_forward.w1", w1},
      {"layers.4.feed_forward.w2", w2 + 4 * dim * hidden},
      {"layers.2.feed_forward.w3", w3 + 2 * hidden * dim},
      {"norm", rms_final},
  };
  for (const Check& c : checks) {
    const SourceTensor* t = Find(*m, c.name);
    ASSERT_NE(t, nullptr) << c.name;
    for (uint64_t i = 0; i < t->data.size(); ++i) {
      ASSERT_EQ(t->data[i], RawFloat(raw, c.first + i)) << c.name << " element " << i;
    }
  }
  // RMSNorm weights are positive-ish scales, a sanity check that blocks are not shifted.
  for (float v : Find(*m, "norm")->data) EXPECT_GT(v, 0.0f);
}

TEST(Llama2cCheckpoint, ExpectedFileSizeOfStories260K) {
  Llama2cHeader h;
  h.dim = 64;
  h.hidden_dim = 172;
  h.n_layers = 5;
  h.n_heads = 8;
  h.n_kv_heads = 4;
  h.vocab_size = 512;
  h.seq_len = 512;
  auto size = Llama2cFileSize(h);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 1056540u);
  h.vocab_size = -512;  // unshared: + 512 * 64 floats
  EXPECT_EQ(*Llama2cFileSize(h), 1056540u + 512u * 64u * 4u);
}

// A small checkpoint whose every float is distinct: value = 0.001 * (float index + 1).
struct Synthetic {
  Llama2cHeader header;
  std::vector<uint8_t> bytes;
};

Synthetic MakeSynthetic(bool shared) {
  Synthetic s;
  Llama2cHeader& h = s.header;
  h.dim = 8;
  h.hidden_dim = 12;
  h.n_layers = 2;
  h.n_heads = 2;
  h.n_kv_heads = 1;
  h.vocab_size = shared ? 10 : -10;
  h.seq_len = 4;
  const uint64_t hs = 4, kv = 4, L = 2, dim = 8, hidden = 12, vocab = 10;
  uint64_t floats = vocab * dim + L * dim + L * dim * dim + 2 * L * kv * dim + L * dim * dim +
                    L * dim + 3 * L * hidden * dim + dim + 2 * 4 * (hs / 2);
  if (!shared) floats += vocab * dim;
  const int32_t hdr[7] = {h.dim, h.hidden_dim, h.n_layers, h.n_heads, h.n_kv_heads, h.vocab_size,
                          h.seq_len};
  s.bytes.resize(28 + floats * 4);
  std::memcpy(s.bytes.data(), hdr, 28);
  for (uint64_t i = 0; i < floats; ++i) {
    const float v = 0.001f * static_cast<float>(i + 1);
    std::memcpy(s.bytes.data() + 28 + i * 4, &v, 4);
  }
  return s;
}

TEST(Llama2cCheckpoint, SyntheticUnsharedClassifier) {
  const Synthetic s = MakeSynthetic(/*shared=*/false);
  const std::string path = TempPath("unshared.bin");
  WriteAll(path, s.bytes);
  auto m = ReadLlama2cCheckpoint(path);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->config.tied_embeddings);
  EXPECT_EQ(m->config.vocab_size, 10u);
  EXPECT_EQ(m->config.head_dim, 4u);
  EXPECT_EQ(m->config.n_kv_heads, 1u);
  ASSERT_EQ(m->tensors.size(), 1u + 2u * 9u + 2u);
  const SourceTensor& out = m->tensors.back();
  EXPECT_EQ(out.name, "output");
  EXPECT_EQ(out.shape, (std::vector<uint64_t>{10, 8}));
  // wcls is the last block, after the skipped RoPE tables.
  const uint64_t total = (s.bytes.size() - 28) / 4;
  for (uint64_t i = 0; i < 80; ++i) {
    EXPECT_EQ(out.data[i], RawFloat(s.bytes, total - 80 + i)) << i;
  }
  // "norm" sits right before the 2 x 4 x 2 RoPE floats and the 80 classifier floats.
  const SourceTensor* norm = Find(*m, "norm");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->data.front(), RawFloat(s.bytes, total - 80 - 16 - 8));
  // layers.1.attention.wk: after tok (80), rms_att (16), wq (128), layer 0 of wk (32).
  const SourceTensor* wk = Find(*m, "layers.1.attention.wk");
  ASSERT_NE(wk, nullptr);
  EXPECT_EQ(wk->shape, (std::vector<uint64_t>{4, 8}));
  EXPECT_EQ(wk->data.front(), RawFloat(s.bytes, 80 + 16 + 128 + 32));
  std::remove(path.c_str());
}

TEST(Llama2cCheckpoint, SyntheticSharedClassifier) {
  const Synthetic s = MakeSynthetic(/*shared=*/true);
  const std::string path = TempPath("shared.bin");
  WriteAll(path, s.bytes);
  auto m = ReadLlama2cCheckpoint(path);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->config.tied_embeddings);
  EXPECT_EQ(Find(*m, "output"), nullptr);
  std::remove(path.c_str());
}

std::string ErrorOf(const std::vector<uint8_t>& bytes, const std::string& name) {
  const std::string path = TempPath(name);
  WriteAll(path, bytes);
  auto m = ReadLlama2cCheckpoint(path);
  std::remove(path.c_str());
  EXPECT_FALSE(m.ok()) << name;
  return m.ok() ? std::string() : std::string(m.status().message());
}

TEST(Llama2cCheckpoint, TruncatedFileNamesExpectedAndActualSize) {
  Synthetic s = MakeSynthetic(false);
  const size_t full = s.bytes.size();
  s.bytes.resize(full - 4);
  const std::string msg = ErrorOf(s.bytes, "truncated.bin");
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(full)), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(full - 4)), std::string::npos) << msg;
}

TEST(Llama2cCheckpoint, OversizedFileIsRejected) {
  Synthetic s = MakeSynthetic(true);
  const size_t full = s.bytes.size();
  s.bytes.resize(full + 12, 0);
  const std::string msg = ErrorOf(s.bytes, "oversized.bin");
  EXPECT_NE(msg.find("12 unexpected extra bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(full)), std::string::npos) << msg;
}

TEST(Llama2cCheckpoint, BadHeadersAreRejected) {
  struct Case {
    int field;
    int32_t value;
    const char* expect;
  };
  const Case cases[] = {
      {0, 0, "dim = 0"},
      {0, -8, "dim = -8"},
      {0, 1 << 30, "dim = 1073741824"},
      {1, 0, "hidden_dim = 0"},
      {2, 100000, "n_layers = 100000"},
      {3, 3, "n_heads = 3 does not divide dim = 8"},
      {4, 3, "n_kv_heads = 3 does not divide n_heads = 2"},
      {5, 0, "|vocab_size| = 0"},
      {5, INT32_MIN, "|vocab_size| = 2147483648"},
      {6, -1, "seq_len = -1"},
      {3, 8, "head size dim / n_heads = 1 is odd"},
  };
  for (const Case& c : cases) {
    Synthetic s = MakeSynthetic(true);
    std::memcpy(s.bytes.data() + 4 * c.field, &c.value, 4);
    const std::string msg = ErrorOf(s.bytes, "badheader.bin");
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "want '" << c.expect << "' in: " << msg;
  }
}

TEST(Llama2cCheckpoint, TooShortAndMissingFiles) {
  const std::string msg = ErrorOf(std::vector<uint8_t>(10, 0), "short.bin");
  EXPECT_NE(msg.find("too short"), std::string::npos) << msg;

  auto missing = ReadLlama2cCheckpoint(TempPath("does-not-exist.bin"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_NE(missing.status().message().find("does-not-exist.bin"), std::string::npos);
}

TEST(Llama2cCheckpoint, ReadHeaderOnly) {
  auto h = ReadLlama2cHeader(SharedModel("stories260K.bin"));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->vocab(), 512u);
  EXPECT_TRUE(h->shared_classifier());
  EXPECT_EQ(h->head_size(), 8u);
}

}  // namespace
}  // namespace kite::convert
