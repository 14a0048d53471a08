// Hugging Face import: the safetensors header checks, config.json interpretation, the
// stories260K HF fixtures against the llama2.c checkpoint (bit-exact after un-permuting
// q/k), error cases on damaged copies of the fixtures, and two synthetic folders (Qwen2
// with q/k/v biases in F16, Llama with llama3 rope_scaling in BF16) whose converted
// models must match a plain-float reference forward written here in the transformers
// convention (rotate_half RoPE on the weights as stored).
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "kite/kite.h"
#include "sdk/kernels/rope/rope.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"
#include "tools/common/json.h"
#include "tools/convert/source/hf_config.h"
#include "tools/convert/source/hf_model.h"
#include "tools/convert/source/llama2c_checkpoint.h"
#include "tools/convert/compress/llama_float.h"
#include "tools/convert/source/safetensors_reader.h"

namespace kite::convert {
namespace {

using kite::test::SharedModel;

const std::string& WorkDir() {
  static const std::string dir = kite::test::MakeScratchDir("kite_hf_import");
  return dir;
}

std::string ReadBytes(const std::string& path) { return kite::test::ReadText(path); }

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A fresh copy of a shared HF fixture folder under WorkDir()/name.
std::string CopyFixture(const std::string& fixture, const std::string& name) {
  const std::string dir = WorkDir() + "/" + name;
  mkdir(dir.c_str(), 0755);
  const std::string src = SharedModel("hf/" + fixture);
  for (const char* f : {"config.json", "model.safetensors", "model-00001-of-00002.safetensors",
                        "model-00002-of-00002.safetensors", "model.safetensors.index.json"}) {
    const std::string bytes = ReadBytes(src + "/" + f);
    if (!bytes.empty()) WriteBytes(dir + "/" + f, bytes);
  }
  return dir;
}

// Replaces the first `from` in the file with `to`.
void Patch(const std::string& path, const std::string& from, const std::string& to) {
  std::string bytes = ReadBytes(path);
  const size_t at = bytes.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << path;
  bytes.replace(at, from.size(), to);
  WriteBytes(path, bytes);
}

std::string ErrorOf(const std::string& folder) {
  absl::StatusOr<HfImport> r = ReadHfModel(folder);
  EXPECT_FALSE(r.ok()) << "accepted " << folder;
  return r.ok() ? "" : std::string(r.status().message());
}

// ---------------------------------------------------------------------------------------
// Safetensors headers.

// A file with the given JSON header (padded with spaces to 8 bytes) and `data_bytes` zeros.
std::string Safetensors(const std::string& json, size_t data_bytes) {
  std::string header = json;
  while ((8 + header.size()) % 8 != 0) header.push_back(' ');
  std::string file(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>(n >> (8 * i));
  return file + header + std::string(data_bytes, '\0');
}

std::string HeaderError(const std::string& file) {
  absl::StatusOr<SafetensorsHeader> h = ParseSafetensorsHeader(file, file.size(), "t.safetensors");
  EXPECT_FALSE(h.ok());
  return h.ok() ? "" : std::string(h.status().message());
}

TEST(SafetensorsHeader, ParsesEntries) {
  const std::string file = Safetensors(
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[16,28]},)"
      R"("a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"s":{"dtype":"F16","shape":[],"data_offsets":[28,30]}})",
      30);
  absl::StatusOr<SafetensorsHeader> h = ParseSafetensorsHeader(file, file.size(), "t");
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->tensors.size(), 3u);
  EXPECT_EQ(h->data_start % 8, 0u);
  const SafetensorsEntry* b = h->Find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, SafetensorsDType::kBF16);
  EXPECT_EQ(b->shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(b->begin, 16u);
  EXPECT_EQ(h->Find("s")->shape.size(), 0u);
}

TEST(SafetensorsHeader, RejectsBadHeaders) {
  EXPECT_TRUE(Contains(HeaderError(std::string(5, '\0')), "too few"));
  std::string huge = Safetensors("{}", 0);
  huge[5] = 1;  // length 2^40
  EXPECT_TRUE(Contains(HeaderError(huge), "header length"));
  EXPECT_TRUE(Contains(HeaderError(Safetensors("[1]", 0)), "not an object"));
  EXPECT_TRUE(Contains(HeaderError(Safetensors("{\"a\":", 0)), "JSON byte "));
  EXPECT_TRUE(Contains(
      HeaderError(Safetensors(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16)),
      "need 3 x 4 bytes"));
  EXPECT_TRUE(Contains(
      HeaderError(Safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8)),
      "truncated"));
  EXPECT_TRUE(Contains(
      HeaderError(Safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                              R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                              24)),
      "overlap"));
  EXPECT_TRUE(Contains(
      HeaderError(Safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              8)),
      "duplicate key \"a\""));
  EXPECT_TRUE(Contains(
      HeaderError(Safetensors(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)),
      "non-negative integers"));
  EXPECT_TRUE(Contains(
      HeaderError(Safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4)),
      "begin <= end"));
  EXPECT_TRUE(Contains(HeaderError(Safetensors(
                           R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],)"
                           R"("data_offsets":[0,4]}})",
                           4)),
                       "overflows"));
  const std::string i32 =
      HeaderError(Safetensors(R"({"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})", 4));
  EXPECT_TRUE(Contains(i32, "\"I32\"") && Contains(i32, "F32, F16, BF16")) << i32;
}

TEST(SafetensorsHeader, WidensHalfAndBfloat16Exactly) {
  EXPECT_EQ(HalfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xC000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7C00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7E00)));
  EXPECT_EQ(Bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(Bf16ToFloat(0xC0A0), -5.0f);
}

// ---------------------------------------------------------------------------------------
// config.json.

absl::StatusOr<HfConfig> ConfigFrom(const std::string& text) {
  absl::StatusOr<json::Value> v = json::Parse(text);
  if (!v.ok()) return v.status();
  return ParseHfConfig(*v, "config.json");
}

const char* kBaseConfig = R"("hidden_size":64,"intermediate_size":172,"num_hidden_layers":2,)"
                          R"("num_attention_heads":8,"vocab_size":512,"max_position_embeddings":512)";

// config.json with `extra` first, then the base fields and, unless `extra` names its own,
// the Llama architecture (a repeated key is a JSON error).
std::string ConfigError(const std::string& extra) {
  const bool own_architecture = extra.find("\"architectures\"") != std::string::npos;
  absl::StatusOr<HfConfig> c = ConfigFrom(
      absl::StrCat("{", extra, ",", kBaseConfig,
                   own_architecture ? "" : R"(,"architectures":["LlamaForCausalLM"])", "}"));
  EXPECT_FALSE(c.ok()) << extra;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(HfConfig, DefaultsAndFields) {
  absl::StatusOr<HfConfig> c = ConfigFrom(absl::StrCat(
      "{", kBaseConfig,
      R"(,"architectures":["Qwen2ForCausalLM"],"rope_theta":1000000.0,"eos_token_id":[7,8],)"
      R"("rope_scaling":{"rope_type":"llama3","factor":32.0,"low_freq_factor":1.0,)"
      R"("high_freq_factor":4.0,"original_max_position_embeddings":8192}})"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, HfArchitecture::kQwen2);
  EXPECT_TRUE(c->config.attention_bias);
  EXPECT_EQ(c->config.n_kv_heads, 8u);  // defaults to num_attention_heads
  EXPECT_EQ(c->config.head_dim, 8u);
  EXPECT_FLOAT_EQ(c->config.norm_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c->config.rope_theta, 1e6f);
  EXPECT_FALSE(c->config.tied_embeddings);
  EXPECT_EQ(c->config.rope_scaling, SourceConfig::RopeScaling::kLlama3);
  EXPECT_FLOAT_EQ(c->config.rope_scaling_factor, 32.0f);
  EXPECT_EQ(c->config.rope_original_max_seq_len, 8192u);
  EXPECT_EQ(c->hints.eos_ids, (std::vector<int32_t>{7, 8}));
}

TEST(HfConfig, UnsupportedSettingsNameKeyAndValue) {
  std::string e = ConfigError(R"("architectures":["MistralForCausalLM"])");
  EXPECT_TRUE(Contains(e, "\"architectures\"") && Contains(e, "MistralForCausalLM")) << e;
  e = ConfigError(R"("rope_scaling":{"type":"yarn","factor":4.0})");
  EXPECT_TRUE(Contains(e, "\"rope_scaling\"") && Contains(e, "\"yarn\"")) << e;
  e = ConfigError(R"("attention_bias":true)");
  EXPECT_TRUE(Contains(e, "\"attention_bias\"") && Contains(e, "true")) << e;
  e = ConfigError(R"("hidden_act":"gelu")");
  EXPECT_TRUE(Contains(e, "\"hidden_act\"") && Contains(e, "\"gelu\"")) << e;
  e = ConfigError(R"("mlp_bias":true)");
  EXPECT_TRUE(Contains(e, "\"mlp_bias\"")) << e;
  e = ConfigError(R"("num_key_value_heads":3)");
  EXPECT_TRUE(Contains(e, "not a multiple")) << e;
  e = ConfigError(R"("rope_scaling":{"rope_type":"llama3","factor":8.0})");
  EXPECT_TRUE(Contains(e, "low_freq_factor")) << e;
  e = ConfigError(R"("head_dim":"eight")");
  EXPECT_TRUE(Contains(e, "\"head_dim\" is \"eight\"")) << e;
  absl::StatusOr<HfConfig> missing = ConfigFrom(R"({"architectures":["LlamaForCausalLM"]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(std::string(missing.status().message()), "\"hidden_size\" is missing"));
}

TEST(HfConfig, TokenizerConfigChatTemplate) {
  HfTokenHints hints;
  absl::StatusOr<json::Value> tc = json::Parse(
      R"({"eos_token":{"content":"<|im_end|>"},"bos_token":"<s>",)"
      R"("chat_template":[{"name":"tool_use","template":"T"},{"name":"default","template":"D"}]})");
  ASSERT_TRUE(tc.ok());
  ASSERT_TRUE(ApplyTokenizerConfig(*tc, "tokenizer_config.json", &hints).ok());
  EXPECT_EQ(hints.chat_template, "D");
  EXPECT_EQ(hints.eos_token, "<|im_end|>");
  EXPECT_EQ(hints.bos_token, "<s>");
}

// ---------------------------------------------------------------------------------------
// The stories260K fixtures.

TEST(HfModel, RotateHalfToInterleavedKnownAnswer) {
  // Meta rows 0..7 of one head sit at HF rows 0,4,1,5,2,6,3,7 (hf/README.md).
  std::vector<float> hf = {0, 2, 4, 6, 1, 3, 5, 7, 10, 12, 14, 16, 11, 13, 15, 17};
  RotateHalfToInterleaved(hf.data(), 2, 8, 1);
  EXPECT_EQ(hf, (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17}));
  std::vector<float> rows = {0, 0, 2, 2, 1, 1, 3, 3};  // head_dim 4, 2 columns
  RotateHalfToInterleaved(rows.data(), 1, 4, 2);
  EXPECT_EQ(rows, (std::vector<float>{0, 0, 1, 1, 2, 2, 3, 3}));
}

TEST(HfModel, ShardedF32MatchesLlama2cCheckpointBitExactly) {
  absl::StatusOr<HfImport> hf = ReadHfModel(SharedModel("hf/stories260K-hf-f32-sharded"));
  ASSERT_TRUE(hf.ok()) << hf.status();
  absl::StatusOr<SourceModel> bin = ReadLlama2cCheckpoint(SharedModel("stories260K.bin"));
  ASSERT_TRUE(bin.ok()) << bin.status();
  EXPECT_EQ(hf->weight_files.size(), 2u);
  EXPECT_TRUE(hf->model.config.tied_embeddings);
  EXPECT_EQ(hf->model.config.n_kv_heads, 4u);
  EXPECT_FLOAT_EQ(hf->model.config.norm_eps, 1e-5f);
  ASSERT_EQ(hf->model.tensors.size(), bin->tensors.size());
  for (size_t i = 0; i < bin->tensors.size(); ++i) {
    const SourceTensor& a = hf->model.tensors[i];
    const SourceTensor& b = bin->tensors[i];
    ASSERT_EQ(a.name, b.name);
    ASSERT_EQ(a.shape, b.shape) << a.name;
    ASSERT_EQ(a.data.size(), b.data.size()) << a.name;
    EXPECT_EQ(std::memcmp(a.data.data(), b.data.data(), a.data.size() * 4), 0) << a.name;
  }
}

TEST(HfModel, Bf16UntiedIsTheRoundedCheckpoint) {
  absl::StatusOr<HfImport> hf = ReadHfModel(SharedModel("hf/stories260K-hf-bf16"));
  ASSERT_TRUE(hf.ok()) << hf.status();
  absl::StatusOr<SourceModel> bin = ReadLlama2cCheckpoint(SharedModel("stories260K.bin"));
  ASSERT_TRUE(bin.ok());
  EXPECT_FALSE(hf->model.config.tied_embeddings);
  ASSERT_EQ(hf->model.tensors.size(), bin->tensors.size() + 1);
  EXPECT_EQ(hf->model.tensors.back().name, "output");
  for (size_t i = 0; i < bin->tensors.size(); ++i) {
    const SourceTensor& a = hf->model.tensors[i];
    const SourceTensor& b = bin->tensors[i];
    ASSERT_EQ(a.name, b.name);
    for (size_t j = 0; j < b.data.size(); ++j) {
      uint32_t u;
      std::memcpy(&u, &b.data[j], 4);
      const uint16_t rounded = static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
      ASSERT_EQ(a.data[j], Bf16ToFloat(rounded)) << a.name << "[" << j << "]";
    }
  }
  // The untied head is the embedding's copy.
  EXPECT_EQ(hf->model.tensors.back().data, hf->model.tensors.front().data);
}

TEST(HfModel, DamagedFolders) {
  const std::string f32 = "stories260K-hf-f32-sharded";
  {
    const std::string d = CopyFixture(f32, "corrupt_header");
    Patch(d + "/model-00001-of-00002.safetensors", std::string("\x90\x08\0\0", 4),
          std::string("\x90\x08\0\x7f", 4));
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "model-00001-of-00002.safetensors") && Contains(e, "header length"))
        << e;
  }
  {
    const std::string d = CopyFixture(f32, "truncated");
    const std::string path = d + "/model-00002-of-00002.safetensors";
    std::string bytes = ReadBytes(path);
    WriteBytes(path, bytes.substr(0, bytes.size() - 100));
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "model-00002-of-00002.safetensors") && Contains(e, "truncated")) << e;
  }
  {
    const std::string d = CopyFixture(f32, "wrong_dtype");
    Patch(d + "/model-00002-of-00002.safetensors", "\"F32\"", "\"I32\"");
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "\"I32\"") && Contains(e, "model-00002-of-00002")) << e;
  }
  {
    const std::string d = CopyFixture(f32, "mistral");
    Patch(d + "/config.json", "LlamaForCausalLM", "MistralForCausalLM");
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "\"architectures\"") && Contains(e, "MistralForCausalLM")) << e;
  }
  {
    const std::string d = CopyFixture(f32, "untied_without_head");
    Patch(d + "/config.json", "\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false");
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "'lm_head.weight' is missing") &&
                Contains(e, "model.safetensors.index.json"))
        << e;
  }
  {
    const std::string d = CopyFixture(f32, "missing_shard");
    std::remove((d + "/model-00002-of-00002.safetensors").c_str());
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "model-00002-of-00002.safetensors") && Contains(e, "does not exist"))
        << e;
  }
  {
    // The index sends layer 2's v_proj to shard 1, which does not hold it.
    const std::string d = CopyFixture(f32, "index_lies");
    Patch(d + "/model.safetensors.index.json",
          "\"model.layers.2.self_attn.v_proj.weight\": \"model-00002-of-00002.safetensors\"",
          "\"model.layers.2.self_attn.v_proj.weight\": \"model-00001-of-00002.safetensors\"");
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "model.layers.2.self_attn.v_proj.weight")) << e;
  }
  {
    const std::string d = CopyFixture(f32, "shape_mismatch");
    Patch(d + "/config.json", "\"intermediate_size\": 172", "\"intermediate_size\": 100");
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "has shape [172, 64]") && Contains(e, "[100, 64]")) << e;
  }
  {
    const std::string d = CopyFixture("stories260K-hf-bf16", "tied_head_mismatch");
    // Tied, but the embedding is not [vocab, dim] for the (edited) vocabulary.
    Patch(d + "/config.json", "\"vocab_size\": 512", "\"vocab_size\": 500");
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "model.embed_tokens.weight") && Contains(e, "[500, 64]")) << e;
  }
  {
    const std::string d = WorkDir() + "/empty";
    mkdir(d.c_str(), 0755);
    WriteBytes(d + "/config.json", ReadBytes(SharedModel("hf/stories260K-hf-bf16/config.json")));
    const std::string e = ErrorOf(d);
    EXPECT_TRUE(Contains(e, "neither model.safetensors nor")) << e;
  }
}

// ---------------------------------------------------------------------------------------
// Synthetic folders through kite-convert and the runtime, against a reference forward.

struct TinyShape {
  int dim = 16, hidden = 24, layers = 2, heads = 4, kv_heads = 2, head_dim = 4, vocab = 512;
};

// Weights in the transformers layout, values with at most 8 significant bits (exact in f16
// and bf16).
using Weights = std::map<std::string, std::vector<float>>;

struct TinyModel {
  TinyShape s;
  bool bias = false;
  bool tied = true;
  double theta = 10000.0;
  // llama3 rope scaling; factor 0 = none.
  double factor = 0, low = 1, high = 4;
  int original = 0;
  Weights w;
  std::map<std::string, std::vector<uint64_t>> shapes;
};

void AddTensor(TinyModel* m, std::mt19937* rng, const std::string& name,
               std::vector<uint64_t> shape, bool norm = false) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  std::uniform_int_distribution<int> k(-100, 100);
  std::vector<float> v(n);
  // Norm weights 1 + k/256 rounded to a multiple of 1/128 (in [0.61, 1.39]), so that like
  // k/256 they have at most 8 significant bits.
  for (float& x : v) x = norm ? 1.0f + (k(*rng) / 2) / 128.0f : k(*rng) / 256.0f;
  m->w[name] = v;
  m->shapes[name] = shape;
}

TinyModel MakeTiny(bool bias, bool tied, uint32_t seed, const TinyShape& shape = TinyShape()) {
  TinyModel m;
  m.s = shape;
  m.bias = bias;
  m.tied = tied;
  std::mt19937 rng(seed);
  const TinyShape& s = m.s;
  const uint64_t q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim;
  AddTensor(&m, &rng, "model.embed_tokens.weight", {uint64_t(s.vocab), uint64_t(s.dim)});
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = absl::StrCat("model.layers.", l, ".");
    AddTensor(&m, &rng, p + "input_layernorm.weight", {uint64_t(s.dim)}, true);
    AddTensor(&m, &rng, p + "self_attn.q_proj.weight", {q, uint64_t(s.dim)});
    AddTensor(&m, &rng, p + "self_attn.k_proj.weight", {kv, uint64_t(s.dim)});
    AddTensor(&m, &rng, p + "self_attn.v_proj.weight", {kv, uint64_t(s.dim)});
    if (bias) {
      AddTensor(&m, &rng, p + "self_attn.q_proj.bias", {q});
      AddTensor(&m, &rng, p + "self_attn.k_proj.bias", {kv});
      AddTensor(&m, &rng, p + "self_attn.v_proj.bias", {kv});
    }
    AddTensor(&m, &rng, p + "self_attn.o_proj.weight", {uint64_t(s.dim), q});
    AddTensor(&m, &rng, p + "post_attention_layernorm.weight", {uint64_t(s.dim)}, true);
    AddTensor(&m, &rng, p + "mlp.gate_proj.weight", {uint64_t(s.hidden), uint64_t(s.dim)});
    AddTensor(&m, &rng, p + "mlp.up_proj.weight", {uint64_t(s.hidden), uint64_t(s.dim)});
    AddTensor(&m, &rng, p + "mlp.down_proj.weight", {uint64_t(s.dim), uint64_t(s.hidden)});
  }
  AddTensor(&m, &rng, "model.norm.weight", {uint64_t(s.dim)}, true);
  if (!tied) AddTensor(&m, &rng, "lm_head.weight", {uint64_t(s.vocab), uint64_t(s.dim)});
  return m;
}

// Writes FOLDER/config.json and FOLDER/model.safetensors (dtype "F16" or "BF16").
void WriteFolder(const TinyModel& m, const std::string& folder, const std::string& arch,
                 const std::string& dtype) {
  mkdir(folder.c_str(), 0755);
  const TinyShape& s = m.s;
  std::string config = absl::StrCat(
      "{\"architectures\": [\"", arch, "\"], \"hidden_size\": ", s.dim,
      ", \"intermediate_size\": ", s.hidden, ", \"num_hidden_layers\": ", s.layers,
      ", \"num_attention_heads\": ", s.heads, ", \"num_key_value_heads\": ", s.kv_heads,
      ", \"vocab_size\": ", s.vocab, ", \"max_position_embeddings\": 128",
      ", \"rms_norm_eps\": 1e-05, \"rope_theta\": ", m.theta,
      ", \"tie_word_embeddings\": ", m.tied ? "true" : "false", ", \"hidden_act\": \"silu\"");
  if (m.factor > 0) {
    absl::StrAppend(&config, ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": ",
                    m.factor, ", \"low_freq_factor\": ", m.low, ", \"high_freq_factor\": ", m.high,
                    ", \"original_max_position_embeddings\": ", m.original, "}");
  }
  config += "}";
  WriteBytes(folder + "/config.json", config);

  std::string json = "{\"__metadata__\":{\"format\":\"pt\"}";
  std::string data;
  for (const auto& [name, values] : m.w) {  // std::map: sorted names, like safetensors
    const size_t begin = data.size();
    for (float v : values) {
      uint32_t u;
      std::memcpy(&u, &v, 4);
      uint16_t h;
      if (dtype == "BF16") {
        h = static_cast<uint16_t>(u >> 16);  // exact for these values
      } else {
        // f16 from an exactly representable normal or zero float.
        const uint32_t sign = (u >> 16) & 0x8000;
        const int exp = static_cast<int>((u >> 23) & 0xFF);
        h = exp == 0 ? static_cast<uint16_t>(sign)
                     : static_cast<uint16_t>(sign | (exp - 112) << 10 | (u >> 13 & 0x3FF));
      }
      data.push_back(static_cast<char>(h & 0xFF));
      data.push_back(static_cast<char>(h >> 8));
    }
    absl::StrAppend(&json, ",\"", name, "\":{\"dtype\":\"", dtype, "\",\"shape\":[",
                    absl::StrJoin(m.shapes.at(name), ","), "],\"data_offsets\":[", begin, ",",
                    data.size(), "]}");
  }
  json += "}";
  std::string file = Safetensors(json, 0);
  WriteBytes(folder + "/model.safetensors", file + data);
}

// The llama3 inverse frequencies, straight from the formula (double precision).
std::vector<double> ReferenceInvFreq(const TinyModel& m) {
  const int hd = m.s.head_dim;
  std::vector<double> f(hd / 2);
  for (int j = 0; j < hd / 2; ++j) {
    f[j] = 1.0 / std::pow(m.theta, 2.0 * j / hd);
    if (m.factor <= 0) continue;
    const double wavelen = 2 * M_PI / f[j];
    const double low_wavelen = m.original / m.low, high_wavelen = m.original / m.high;
    if (wavelen > low_wavelen) {
      f[j] /= m.factor;
    } else if (wavelen >= high_wavelen) {
      const double smooth = (m.original / wavelen - m.low) / (m.high - m.low);
      f[j] = (1 - smooth) * f[j] / m.factor + smooth * f[j];
    }
  }
  return f;
}

// y = W x for W [rows, cols] (+ b).
std::vector<double> MatVec(const std::vector<float>& w, const std::vector<double>& x, size_t rows,
                           const std::vector<float>* b = nullptr) {
  const size_t cols = x.size();
  std::vector<double> y(rows);
  for (size_t r = 0; r < rows; ++r) {
    double acc = b ? (*b)[r] : 0.0;
    for (size_t c = 0; c < cols; ++c) acc += static_cast<double>(w[r * cols + c]) * x[c];
    y[r] = acc;
  }
  return y;
}

std::vector<double> RmsNorm(const std::vector<double>& x, const std::vector<float>& w) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / x.size() + 1e-5);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
  return y;
}

// transformers' rotate_half RoPE, per head, in place.
void RotateHalf(std::vector<double>* v, int heads, int hd, int pos, const std::vector<double>& f) {
  for (int h = 0; h < heads; ++h) {
    double* x = v->data() + h * hd;
    for (int j = 0; j < hd / 2; ++j) {
      const double a = pos * f[j], c = std::cos(a), s = std::sin(a);
      const double x0 = x[j], x1 = x[j + hd / 2];
      x[j] = x0 * c - x1 * s;
      x[j + hd / 2] = x1 * c + x0 * s;
    }
  }
}

// Logits after the last of `tokens`, in the transformers convention.
std::vector<double> ReferenceLogits(const TinyModel& m, const std::vector<int32_t>& tokens,
                                    bool use_bias, const std::vector<double>& inv_freq) {
  const TinyShape& s = m.s;
  const Weights& w = m.w;
  const int q_dim = s.heads * s.head_dim, kv_dim = s.kv_heads * s.head_dim;
  std::vector<std::vector<std::vector<double>>> keys(s.layers), values(s.layers);
  std::vector<double> x;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::vector<float>& emb = w.at("model.embed_tokens.weight");
    x.assign(emb.begin() + tokens[t] * s.dim, emb.begin() + (tokens[t] + 1) * s.dim);
    for (int l = 0; l < s.layers; ++l) {
      const std::string p = absl::StrCat("model.layers.", l, ".");
      const auto bias = [&](const char* n) {
        return use_bias ? &w.at(p + n) : nullptr;
      };
      const std::vector<double> h = RmsNorm(x, w.at(p + "input_layernorm.weight"));
      std::vector<double> q = MatVec(w.at(p + "self_attn.q_proj.weight"), h, q_dim,
                                     bias("self_attn.q_proj.bias"));
      std::vector<double> k = MatVec(w.at(p + "self_attn.k_proj.weight"), h, kv_dim,
                                     bias("self_attn.k_proj.bias"));
      std::vector<double> v = MatVec(w.at(p + "self_attn.v_proj.weight"), h, kv_dim,
                                     bias("self_attn.v_proj.bias"));
      RotateHalf(&q, s.heads, s.head_dim, static_cast<int>(t), inv_freq);
      RotateHalf(&k, s.kv_heads, s.head_dim, static_cast<int>(t), inv_freq);
      keys[l].push_back(k);
      values[l].push_back(v);
      std::vector<double> att(q_dim, 0.0);
      for (int hh = 0; hh < s.heads; ++hh) {
        const int kvh = hh / (s.heads / s.kv_heads);
        std::vector<double> score(t + 1);
        double mx = -1e300;
        for (size_t j = 0; j <= t; ++j) {
          double d = 0;
          for (int e = 0; e < s.head_dim; ++e) {
            d += q[hh * s.head_dim + e] * keys[l][j][kvh * s.head_dim + e];
          }
          score[j] = d / std::sqrt(static_cast<double>(s.head_dim));
          mx = std::max(mx, score[j]);
        }
        double sum = 0;
        for (double& sc : score) sum += (sc = std::exp(sc - mx));
        for (size_t j = 0; j <= t; ++j) {
          for (int e = 0; e < s.head_dim; ++e) {
            att[hh * s.head_dim + e] += score[j] / sum * values[l][j][kvh * s.head_dim + e];
          }
        }
      }
      const std::vector<double> o = MatVec(w.at(p + "self_attn.o_proj.weight"), att, s.dim);
      for (int i = 0; i < s.dim; ++i) x[i] += o[i];
      const std::vector<double> h2 = RmsNorm(x, w.at(p + "post_attention_layernorm.weight"));
      std::vector<double> g = MatVec(w.at(p + "mlp.gate_proj.weight"), h2, s.hidden);
      const std::vector<double> u = MatVec(w.at(p + "mlp.up_proj.weight"), h2, s.hidden);
      for (int i = 0; i < s.hidden; ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
      const std::vector<double> d = MatVec(w.at(p + "mlp.down_proj.weight"), g, s.dim);
      for (int i = 0; i < s.dim; ++i) x[i] += d[i];
    }
  }
  const std::vector<double> xn = RmsNorm(x, w.at("model.norm.weight"));
  return MatVec(w.at(m.tied ? "model.embed_tokens.weight" : "lm_head.weight"), xn, s.vocab);
}

// Converts `folder` with kite-convert (f32) and returns the runtime's logits after `tokens`.
std::vector<float> RuntimeLogits(const std::string& folder, const std::vector<int32_t>& tokens) {
  const std::string out = folder + ".kite";
  const kite::test::ToolRun r = kite::test::RunTool(
      KITE_CONVERT_BIN, {folder, "--tokenizer", SharedModel("tok512.bin"), "--quant", "f32", "-o", out},
      WorkDir());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  kite_model* model = nullptr;
  kite_session* session = nullptr;
  std::vector<float> result;
  if (kite_model_open_file(out.c_str(), nullptr, &model) != KITE_OK) {
    ADD_FAILURE() << kite_last_error();
    return result;
  }
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = 128;
  EXPECT_EQ(kite_session_create(model, &o, nullptr, 0, &session), KITE_OK) << kite_last_error();
  if (session != nullptr) {
    EXPECT_EQ(kite_session_feed(session, tokens.data(), tokens.size()), KITE_OK)
        << kite_session_last_error(session);
    const float* logits = nullptr;
    size_t n = 0;
    EXPECT_EQ(kite_session_logits(session, &logits, &n), KITE_OK);
    if (logits != nullptr) result.assign(logits, logits + n);
    kite_session_destroy(session);
  }
  kite_model_close(model);
  return result;
}

double MaxDiff(const std::vector<float>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

double MaxDiff(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

std::vector<int32_t> SomeTokens(int n) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 37 + 11) % 512);
  return t;
}

TEST(HfSynthetic, Qwen2WithBiasesInF16MatchesReference) {
  const TinyModel m = MakeTiny(/*bias=*/true, /*tied=*/false, 1);
  const std::string folder = WorkDir() + "/tiny-qwen2";
  WriteFolder(m, folder, "Qwen2ForCausalLM", "F16");
  const std::vector<int32_t> tokens = SomeTokens(12);
  const std::vector<double> f = ReferenceInvFreq(m);
  const std::vector<double> want = ReferenceLogits(m, tokens, true, f);
  const std::vector<float> got = RuntimeLogits(folder, tokens);
  // The biases matter: without them the reference moves far more than the tolerance.
  ASSERT_GT(MaxDiff(want, ReferenceLogits(m, tokens, false, f)), 1e-2);
  EXPECT_LT(MaxDiff(got, want), 2e-4);
}

// A tiny tied Llama with Llama 3 RoPE scaling (weights from `seed`). Wavelengths 6.3, 63,
// 628, 6283 against original context 64: one pair unchanged, one smoothed, two divided by
// the factor.
TinyModel TinyLlama3(int seed) {
  TinyShape shape;
  shape.head_dim = 8;
  shape.heads = 2;
  shape.kv_heads = 1;
  TinyModel m = MakeTiny(/*bias=*/false, /*tied=*/true, seed, shape);
  m.theta = 10000.0;
  m.factor = 8.0;
  m.low = 1.0;
  m.high = 4.0;
  m.original = 64;
  return m;
}

TEST(HfSynthetic, Llama3RopeScalingInBf16MatchesReference) {
  const TinyModel m = TinyLlama3(2);
  const std::string folder = WorkDir() + "/tiny-llama3";
  WriteFolder(m, folder, "LlamaForCausalLM", "BF16");
  const std::vector<int32_t> tokens = SomeTokens(60);
  const std::vector<double> scaled = ReferenceInvFreq(m);
  const std::vector<double> want = ReferenceLogits(m, tokens, false, scaled);
  TinyModel plain = m;
  plain.factor = 0;
  // The scaling matters at these positions: the unscaled reference is far away.
  ASSERT_GT(MaxDiff(want, ReferenceLogits(m, tokens, false, ReferenceInvFreq(plain))), 1e-2);
  const std::vector<float> got = RuntimeLogits(folder, tokens);
  EXPECT_LT(MaxDiff(got, want), 2e-4);
}

// The float model behind --calib and --distill applies Llama 3's RoPE scaling too: its
// logits after the last token match the reference.
TEST(HfSynthetic, FloatModelAppliesLlama3RopeScaling) {
  const TinyModel m = TinyLlama3(4);
  const std::string folder = WorkDir() + "/tiny-llama3-float";
  WriteFolder(m, folder, "LlamaForCausalLM", "BF16");
  const std::vector<int32_t> tokens = SomeTokens(60);
  const std::vector<double> want = ReferenceLogits(m, tokens, false, ReferenceInvFreq(m));
  absl::StatusOr<HfImport> hf = ReadHfModel(folder);
  ASSERT_TRUE(hf.ok()) << hf.status();
  const size_t vocab = hf->model.config.vocab_size;
  std::vector<float> logits(tokens.size() * vocab);
  ASSERT_TRUE(ForwardFloat(hf->model, tokens.data(), tokens.size(), logits.data(), nullptr).ok());
  const std::vector<float> last(logits.end() - vocab, logits.end());
  EXPECT_LT(MaxDiff(last, want), 2e-4);
}

// The float model behind --calib, --bpw and --distill applies Qwen2's q/k/v biases as the
// runtime does: its logits after the last token match the runtime's f32 forward.
TEST(HfSynthetic, FloatModelMatchesTheRuntimeWithQwen2Biases) {
  const TinyModel m = MakeTiny(/*bias=*/true, /*tied=*/false, 5);
  const std::string folder = WorkDir() + "/tiny-qwen2-float";
  WriteFolder(m, folder, "Qwen2ForCausalLM", "F16");
  const std::vector<int32_t> tokens = SomeTokens(12);
  absl::StatusOr<HfImport> hf = ReadHfModel(folder);
  ASSERT_TRUE(hf.ok()) << hf.status();
  ASSERT_TRUE(hf->model.config.attention_bias);
  const size_t vocab = hf->model.config.vocab_size;
  std::vector<float> logits(tokens.size() * vocab);
  ASSERT_TRUE(ForwardFloat(hf->model, tokens.data(), tokens.size(), logits.data(), nullptr).ok());
  const std::vector<float> last(logits.end() - vocab, logits.end());
  const std::vector<float> runtime = RuntimeLogits(folder, tokens);
  ASSERT_EQ(runtime.size(), vocab);
  double worst = 0.0;
  for (size_t i = 0; i < vocab; ++i) worst = std::max(worst, double{std::fabs(last[i] - runtime[i])});
  EXPECT_LT(worst, 2e-4);
  // The biases matter at this tolerance.
  ASSERT_GT(MaxDiff(runtime, ReferenceLogits(m, tokens, false, ReferenceInvFreq(m))), 1e-2);
}

// Calibration (GPTQ) and distillation run on a Qwen2 folder and give a file the runtime
// loads.
TEST(HfSynthetic, CalibratingAndDistillingQwen2Works) {
  const TinyModel m = MakeTiny(/*bias=*/true, /*tied=*/false, 6);
  const std::string folder = WorkDir() + "/tiny-qwen2-calib";
  WriteFolder(m, folder, "Qwen2ForCausalLM", "F16");
  const std::string calib = WorkDir() + "/qwen2-calib.txt";
  std::ofstream(calib) << "Once upon a time there was a cat.\n\nThe dog ran to the park.\n";
  const std::string out = WorkDir() + "/tiny-qwen2-calib.kite";
  const kite::test::ToolRun r = kite::test::RunTool(
      KITE_CONVERT_BIN, {folder, "--tokenizer", SharedModel("tok512.bin"), "--quant", "q4",
                         "--calib", calib, "--distill", "--distill-steps", "4", "--threads", "1",
                         "-o", out},
      WorkDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("calibration: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("distilled "), std::string::npos) << r.err;
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(out.c_str(), nullptr, &model), KITE_OK) << kite_last_error();
  kite_model_close(model);
}

TEST(HfSynthetic, TokenizerJsonIsReadAndPaddedToTheEmbedding) {
  TinyShape shape;
  shape.vocab = 50260;  // the GPT-2 tokenizer has 50257 tokens: 3 unused embedding rows
  shape.layers = 1;
  const TinyModel m = MakeTiny(/*bias=*/false, /*tied=*/true, 3, shape);
  const std::string folder = WorkDir() + "/tiny-gpt2-vocab";
  WriteFolder(m, folder, "LlamaForCausalLM", "BF16");
  WriteBytes(folder + "/tokenizer.json", ReadBytes(SharedModel("tokenizers/gpt2-tokenizer.json")));
  const std::string out = folder + ".kite";
  kite::test::ToolRun r =
      kite::test::RunTool(KITE_CONVERT_BIN, {folder, "--quant", "q8", "-o", out}, WorkDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "padding the vocabulary from 50257 to 50260")) << r.err;
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(out.c_str(), nullptr, &model), KITE_OK) << kite_last_error();
  int32_t ids[16];
  size_t n = 0;
  ASSERT_EQ(kite_tokenize(model, "Hello world", 11, 0, ids, 16, &n), KITE_OK);
  EXPECT_EQ(std::vector<int32_t>(ids, ids + n), (std::vector<int32_t>{15496, 995}));
  kite_model_close(model);

  // A tokenizer larger than the embedding is refused.
  TinyShape small;
  const TinyModel s = MakeTiny(false, true, 4, small);
  const std::string folder2 = WorkDir() + "/tiny-too-small";
  WriteFolder(s, folder2, "LlamaForCausalLM", "BF16");
  WriteBytes(folder2 + "/tokenizer.json", ReadBytes(SharedModel("tokenizers/gpt2-tokenizer.json")));
  r = kite::test::RunTool(KITE_CONVERT_BIN, {folder2, "-o", folder2 + ".kite"}, WorkDir());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "tokenizer.json has 50257 tokens but config.json's vocab_size is 512"))
      << r.err;
  // Without tokenizer.json and --tokenizer, the error says what to pass.
  const std::string folder3 = WorkDir() + "/tiny-no-tokenizer";
  WriteFolder(s, folder3, "LlamaForCausalLM", "BF16");
  r = kite::test::RunTool(KITE_CONVERT_BIN, {folder3, "-o", folder3 + ".kite"}, WorkDir());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "has no tokenizer.json") && Contains(r.err, "--tokenizer")) << r.err;
}

TEST(HfSynthetic, ScaleRopeLlama3MatchesFormula) {
  TinyModel m;
  m.s.head_dim = 16;
  m.theta = 500000.0;
  m.factor = 32.0;
  m.low = 1.0;
  m.high = 4.0;
  m.original = 8192;  // Llama 3.2's values
  const std::vector<double> want = ReferenceInvFreq(m);
  std::vector<float> got(8);
  for (int j = 0; j < 8; ++j) got[j] = static_cast<float>(1.0 / std::pow(500000.0, 2.0 * j / 16));
  kite::kernels::ScaleRopeLlama3(got.data(), 8, 32.0f, 1.0f, 4.0f, 8192);
  int changed = 0;
  for (int j = 0; j < 8; ++j) {
    EXPECT_NEAR(got[j] / want[j], 1.0, 1e-5) << j;
    changed += std::fabs(want[j] * std::pow(500000.0, 2.0 * j / 16) - 1.0) > 1e-6;
  }
  EXPECT_GE(changed, 2);  // the test exercises scaled pairs, not only unchanged ones
}

}  // namespace
}  // namespace kite::convert
