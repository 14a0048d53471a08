// kite-convert --synthetic: the named shapes (config only, nothing generated for the big
// ones), --vocab, the tokenizer, determinism, the command line, and a synthetic model
// converted by the binary, opened and run through the C API.
#include "tools/convert/source/synthetic.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kite/kite.h"
#include "test/common/tool_run.h"
#include "tools/convert/cli_options.h"

namespace kite::convert {
namespace {

uint64_t Parameters(const std::vector<SourceTensor>& tensors) {
  uint64_t n = 0;
  for (const SourceTensor& t : tensors) n += t.elements();
  return n;
}

const SourceTensor* Find(const std::vector<SourceTensor>& tensors, const std::string& name) {
  for (const SourceTensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

struct Expected {
  const char* name;
  uint32_t dim, hidden, layers, heads, kv_heads, vocab, max_seq;
  float theta;
  bool tied;
  uint64_t parameters;  // as published for the real model (minus Qwen's q/k/v bias)
};

TEST(Synthetic, NamedShapes) {
  const Expected expected[] = {
      {"tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, 10000.0f, false, 1100048384},
      {"smollm-135m", 576, 1536, 30, 9, 3, 49152, 2048, 10000.0f, true, 134515008},
      {"llama-3.2-1b", 2048, 8192, 16, 32, 8, 128256, 131072, 500000.0f, true, 1235814400},
      // Qwen2.5-0.5B has 494,032,768 parameters, 24 * (896 + 128 + 128) of them q/k/v bias.
      {"qwen2.5-0.5b", 896, 4864, 24, 14, 2, 151936, 32768, 1000000.0f, true,
       494032768 - 24 * (896 + 128 + 128)},
      {"stories260k", 64, 172, 5, 8, 4, 512, 512, 10000.0f, true, 260032},
  };
  EXPECT_EQ(SyntheticModelNames().size(), std::size(expected));
  for (const Expected& e : expected) {
    SCOPED_TRACE(e.name);
    absl::StatusOr<SourceConfig> c = SyntheticConfig(e.name, 0);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->architecture, "llama");
    EXPECT_EQ(c->dim, e.dim);
    EXPECT_EQ(c->hidden_dim, e.hidden);
    EXPECT_EQ(c->n_layers, e.layers);
    EXPECT_EQ(c->n_heads, e.heads);
    EXPECT_EQ(c->n_kv_heads, e.kv_heads);
    EXPECT_EQ(c->head_dim, e.dim / e.heads);
    EXPECT_EQ(c->vocab_size, e.vocab);
    EXPECT_EQ(c->max_seq_len, e.max_seq);
    EXPECT_EQ(c->rope_theta, e.theta);
    EXPECT_EQ(c->tied_embeddings, e.tied);

    const std::vector<SourceTensor> shapes = SyntheticTensorShapes(*c);
    EXPECT_EQ(shapes.size(), 1 + 9 * e.layers + 1 + (e.tied ? 0 : 1));
    EXPECT_EQ(Parameters(shapes), e.parameters);
    for (const SourceTensor& t : shapes) EXPECT_TRUE(t.data.empty()) << t.name;
    EXPECT_EQ(shapes.front().name, "tok_embeddings");
    EXPECT_EQ(shapes.front().shape, (std::vector<uint64_t>{e.vocab, e.dim}));
    const uint64_t kv_dim = uint64_t{e.kv_heads} * (e.dim / e.heads);
    const SourceTensor* wk = Find(shapes, "layers.0.attention.wk");
    ASSERT_NE(wk, nullptr);
    EXPECT_EQ(wk->shape, (std::vector<uint64_t>{kv_dim, e.dim}));
    const SourceTensor* w2 = Find(shapes, "layers." + std::to_string(e.layers - 1) +
                                              ".feed_forward.w2");
    ASSERT_NE(w2, nullptr);
    EXPECT_EQ(w2->shape, (std::vector<uint64_t>{e.dim, e.hidden}));
    EXPECT_EQ(Find(shapes, "output") != nullptr, !e.tied);
  }
}

TEST(Synthetic, VocabOverride) {
  absl::StatusOr<SourceConfig> c = SyntheticConfig("smollm-135m", 32000);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vocab_size, 32000u);
  EXPECT_EQ(c->dim, 576u);
  EXPECT_EQ(SyntheticTensorShapes(*c).front().shape, (std::vector<uint64_t>{32000, 576}));

  for (int64_t bad : {int64_t{258}, kSyntheticMaxVocab + 1}) {
    absl::StatusOr<SourceConfig> r = SyntheticConfig("smollm-135m", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
    EXPECT_NE(r.status().message().find("--vocab"), std::string::npos) << r.status();
  }
  EXPECT_TRUE(SyntheticConfig("stories260k", 259).ok());
}

TEST(Synthetic, UnknownNameListsTheKnownOnes) {
  absl::StatusOr<SourceConfig> r = SyntheticConfig("gpt-5", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  const std::string message(r.status().message());
  EXPECT_NE(message.find("unknown synthetic model 'gpt-5'"), std::string::npos) << message;
  for (const std::string& name : SyntheticModelNames()) {
    EXPECT_NE(message.find(name), std::string::npos) << name;
  }
  EXPECT_FALSE(MakeSyntheticModel("gpt-5", 0, 1).ok());
}

TEST(Synthetic, WeightsAreDeterministicAndRealistic) {
  absl::StatusOr<SourceModel> a = MakeSyntheticModel("stories260k", 0, 7);
  absl::StatusOr<SourceModel> b = MakeSyntheticModel("stories260k", 0, 7);
  absl::StatusOr<SourceModel> other = MakeSyntheticModel("stories260k", 0, 8);
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  ASSERT_EQ(a->tensors.size(), b->tensors.size());
  for (size_t i = 0; i < a->tensors.size(); ++i) {
    const SourceTensor& t = a->tensors[i];
    ASSERT_EQ(t.data.size(), t.elements()) << t.name;
    EXPECT_EQ(t.data, b->tensors[i].data) << t.name;
    if (t.shape.size() == 1) {
      for (float v : t.data) ASSERT_EQ(v, 1.0f) << t.name;
      continue;
    }
    EXPECT_NE(t.data, other->tensors[i].data) << t.name;
    double sum = 0, sq = 0;
    for (float v : t.data) {
      ASSERT_TRUE(std::isfinite(v));
      sum += v;
      sq += static_cast<double>(v) * v;
    }
    const double n = static_cast<double>(t.data.size());
    const double mean = sum / n;
    const double std = std::sqrt(sq / n - mean * mean);
    EXPECT_NEAR(mean, 0.0, 0.002) << t.name;
    EXPECT_NEAR(std, kSyntheticWeightStd, 0.002) << t.name;
  }
  // Tensors of one model differ from each other (each has its own stream).
  EXPECT_NE(Find(a->tensors, "layers.0.attention.wk")->data,
            Find(a->tensors, "layers.0.attention.wv")->data);
}

TEST(Synthetic, TokenizerLayout) {
  for (uint32_t vocab : {259u, 512u, 32000u}) {
    SCOPED_TRACE(vocab);
    const TokenizerTables t = MakeSyntheticTokenizer(vocab);
    ASSERT_EQ(t.pieces.size(), vocab);
    ASSERT_EQ(t.scores.size(), vocab);
    ASSERT_EQ(t.types.size(), vocab);
    EXPECT_EQ(t.kind, TokenizerType::SCORE_BPE);
    EXPECT_EQ(t.pieces[0], "<unk>");
    EXPECT_EQ(t.pieces[1], "<s>");
    EXPECT_EQ(t.pieces[2], "</s>");
    EXPECT_EQ(t.types[0], static_cast<uint8_t>(TokenType::UNKNOWN));
    EXPECT_EQ(t.types[1], static_cast<uint8_t>(TokenType::CONTROL));
    EXPECT_EQ(t.types[2], static_cast<uint8_t>(TokenType::CONTROL));
    EXPECT_EQ(t.unk_id, 0);
    EXPECT_EQ(t.bos_id, 1);
    EXPECT_EQ(t.eos_id, 2);
    for (int b = 0; b < 256; ++b) {
      EXPECT_EQ(t.types[3 + b], static_cast<uint8_t>(TokenType::BYTE));
      EXPECT_EQ(t.byte_ids[b], 3 + b);
    }
    EXPECT_EQ(t.pieces[3 + 0x41], "<0x41>");
    std::set<std::string> distinct(t.pieces.begin(), t.pieces.end());
    EXPECT_EQ(distinct.size(), vocab);
    for (uint32_t id = 259; id < vocab; ++id) {
      EXPECT_EQ(t.types[id], static_cast<uint8_t>(TokenType::NORMAL));
      for (char c : t.pieces[id]) ASSERT_TRUE(c >= 0x20 && c < 0x7F) << id;
      if (id > 259) EXPECT_LT(t.scores[id], t.scores[id - 1]) << id;
    }
    EXPECT_EQ(t.piece_offsets.size(), vocab + 1u);  // Finalize() ran
  }
  EXPECT_EQ(MakeSyntheticTokenizer(512).pieces[259], " ");
}

TEST(Synthetic, LazyParallelConversionMatchesTheEagerOne) {
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  absl::StatusOr<SourceModel> eager = MakeSyntheticModel("stories260k", 0, 3);
  ASSERT_TRUE(eager.ok());
  absl::StatusOr<std::vector<KiteTensor>> expected = ConvertTensors(&*eager, options, nullptr);
  ASSERT_TRUE(expected.ok()) << expected.status();
  for (unsigned threads : {1u, 3u}) {
    absl::StatusOr<std::vector<KiteTensor>> lazy = ConvertSyntheticTensors(
        SyntheticTensorShapes(eager->config), 3, options, nullptr, threads);
    ASSERT_TRUE(lazy.ok()) << lazy.status();
    ASSERT_EQ(lazy->size(), expected->size());
    for (size_t i = 0; i < lazy->size(); ++i) {
      EXPECT_EQ((*lazy)[i].name, (*expected)[i].name);
      EXPECT_EQ((*lazy)[i].dtype, (*expected)[i].dtype);
      EXPECT_EQ((*lazy)[i].data, (*expected)[i].data) << (*lazy)[i].name;
      EXPECT_EQ((*lazy)[i].scales, (*expected)[i].scales) << (*lazy)[i].name;
      EXPECT_EQ((*lazy)[i].mins, (*expected)[i].mins) << (*lazy)[i].name;
    }
  }
}

// --- The command line -------------------------------------------------------------------

std::string UsageError(const std::vector<std::string>& args) {
  absl::StatusOr<CliOptions> r = ParseCommandLine(args);
  EXPECT_FALSE(r.ok());
  return r.ok() ? std::string() : std::string(r.status().message());
}

TEST(SyntheticCli, Parses) {
  absl::StatusOr<CliOptions> o = ParseCommandLine(
      {"--synthetic", "smollm-135m", "--vocab=32000", "--seed", "42", "--quant", "q4",
       "--threads", "3", "-o", "x.kite"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->synthetic, "smollm-135m");
  EXPECT_EQ(o->input, "");
  EXPECT_EQ(o->vocab, 32000);
  EXPECT_EQ(o->seed, 42u);
  EXPECT_EQ(o->threads, 3u);
  EXPECT_EQ(OptionsForProvenance(*o),
            "--quant q4 --group-size 32 --q4-groups asym --keep-8bit tok_embeddings,output "
            "--synthetic smollm-135m --seed 42 --vocab 32000");
  o = ParseCommandLine({"--synthetic", "stories260k", "-o", "x.kite"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->vocab, 0);
  EXPECT_EQ(o->seed, 0u);
  EXPECT_EQ(OptionsForProvenance(*o), "--quant f32 --synthetic stories260k --seed 0");
}

TEST(SyntheticCli, UsageErrors) {
  EXPECT_NE(UsageError({"in.bin", "--synthetic", "stories260k", "-o", "x"}).find("not both"),
            std::string::npos);
  EXPECT_NE(UsageError({"--synthetic", "stories260k", "--tokenizer", "t.bin", "-o", "x"})
                .find("--tokenizer does not apply"),
            std::string::npos);
  const std::string unknown = UsageError({"--synthetic", "llama-9b", "-o", "x"});
  EXPECT_NE(unknown.find("unknown synthetic model 'llama-9b'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("tinyllama-1.1b"), std::string::npos) << unknown;
  EXPECT_NE(UsageError({"in.bin", "--vocab", "32000", "-o", "x"}).find("only apply to --synthetic"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "--seed", "1", "-o", "x"}).find("only apply to --synthetic"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "--threads", "2", "-o", "x"}).find("--threads only applies"),
            std::string::npos);
  EXPECT_NE(UsageError({"--synthetic", "stories260k", "--vocab", "12", "-o", "x"}).find("--vocab"),
            std::string::npos);
  EXPECT_NE(UsageError({"--synthetic", "stories260k", "--vocab", "abc", "-o", "x"}).find("--vocab"),
            std::string::npos);
  EXPECT_NE(UsageError({"--synthetic", "stories260k", "--seed", "-1", "-o", "x"}).find("--seed"),
            std::string::npos);
  EXPECT_NE(UsageError({"--synthetic", "stories260k", "--threads", "0", "-o", "x"}).find("--threads"),
            std::string::npos);
  EXPECT_NE(UsageError({"--synthetic", "stories260k"}).find("no output"), std::string::npos);
  const std::string help = HelpText();
  for (const char* word : {"--synthetic NAME", "--vocab", "--seed", "qwen2.5-0.5b",
                           "q/k/v bias", "tinyllama-1.1b", "smollm-135m", "llama-3.2-1b",
                           "stories260k"}) {
    EXPECT_NE(help.find(word), std::string::npos) << word;
  }
}

// --- The binary, end to end --------------------------------------------------------------

const std::string& WorkDir() {
  static const std::string dir = kite::test::MakeScratchDir("kite_synthetic");
  return dir;
}

std::string Out(const std::string& name) { return WorkDir() + "/" + name; }

using kite::test::ReadText;
using kite::test::ToolRun;

ToolRun Convert(const std::vector<std::string>& args) {
  return kite::test::RunTool(KITE_CONVERT_BIN, args, WorkDir());
}

TEST(SyntheticEndToEnd, SameSeedSameBytes) {
  const ToolRun a = Convert({"--synthetic", "stories260k", "--seed", "5", "--quant", "q4",
                             "--threads", "1", "-o", Out("a.kite")});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const ToolRun b = Convert({"--synthetic", "stories260k", "--seed", "5", "--quant", "q4",
                             "--threads", "4", "-o", Out("b.kite")});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const ToolRun c = Convert({"--synthetic", "stories260k", "--seed", "6", "--quant", "q4",
                             "-o", Out("c.kite")});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const std::string bytes_a = ReadText(Out("a.kite"));
  EXPECT_GT(bytes_a.size(), 16384u);
  EXPECT_EQ(bytes_a, ReadText(Out("b.kite")));
  EXPECT_NE(bytes_a, ReadText(Out("c.kite")));
  EXPECT_NE(a.out.find("parameters:   260032"), std::string::npos) << a.out;
  EXPECT_NE(a.err.find("[47/47]"), std::string::npos) << a.err;
}

TEST(SyntheticEndToEnd, UsageErrorsExitWithTwo) {
  ToolRun r = Convert({"--synthetic", "nope", "-o", Out("nope.kite")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("stories260k"), std::string::npos) << r.err;
  r = Convert({"in.bin", "--synthetic", "stories260k", "-o", Out("nope.kite")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not both"), std::string::npos) << r.err;
}

TEST(SyntheticEndToEnd, ConvertOpenAndGenerate) {
  const std::string path = Out("stories-synthetic-q4.kite");
  const ToolRun conv = Convert({"--synthetic", "stories260k", "--quant", "q4", "-o", path});
  ASSERT_EQ(conv.exit_code, 0) << conv.err;

  kite_model* model = nullptr;
  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.verify_checksums = 1;
  ASSERT_EQ(kite_model_open_file(path.c_str(), &mo, &model), KITE_OK) << kite_last_error();
  kite_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(kite_model_get_info(model, &info), KITE_OK);
  EXPECT_EQ(info.dim, 64u);
  EXPECT_EQ(info.n_layers, 5u);
  EXPECT_EQ(info.vocab_size, 512u);
  EXPECT_EQ(info.bos_id, 1);
  EXPECT_EQ(info.eos_id, 2);

  kite_session* session = nullptr;
  ASSERT_EQ(kite_session_create(model, nullptr, nullptr, 0, &session), KITE_OK)
      << kite_last_error();
  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = 5;
  go.temperature = 0.8f;
  go.seed = 1;
  std::vector<int32_t> tokens;
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  ASSERT_EQ(kite_generate(session, "Once upon a time", &go,
                          [](const char*, int32_t token, void* user) {
                            static_cast<std::vector<int32_t>*>(user)->push_back(token);
                            return KITE_CONTINUE;
                          },
                          &tokens, &stats),
            KITE_OK)
      << kite_session_last_error(session);
  EXPECT_GT(stats.prompt_tokens, 1u);
  // Random weights may pick </s> (the stop token) early; otherwise all 5 tokens come out.
  if (stats.stop_reason == KITE_STOP_MAX_TOKENS) EXPECT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens.size(), stats.generated_tokens);
  for (int32_t t : tokens) {
    EXPECT_GE(t, 0);
    EXPECT_LT(t, 512);
  }
  const float* logits = nullptr;
  size_t n = 0;
  ASSERT_EQ(kite_session_logits(session, &logits, &n), KITE_OK);
  ASSERT_EQ(n, 512u);
  for (size_t i = 0; i < n; ++i) ASSERT_TRUE(std::isfinite(logits[i])) << i;
  kite_session_destroy(session);
  kite_model_close(model);
}

}  // namespace
}  // namespace kite::convert
