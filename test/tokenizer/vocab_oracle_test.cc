// llama.cpp's tokenizer oracles (../shared/models/tokenizers: 46 strings per vocabulary,
// ids from Hugging Face with add_special_tokens=False) against Kite's runtime tokenizer
// reading vocabulary-only .kite files that `kite-convert --vocab-only` wrote at test time
// from the six GGUF vocabularies and from gpt2-tokenizer.json (fixtures in
// CMakeLists.txt). Also: the vocabulary-only file through the C API.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "platform/file_map.h"
#include "sdk/runtime/loader/model.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"

namespace kite {
namespace {

struct Vocab {
  const char* kite_file;  // in the test-models folder
  const char* oracle;     // ggml-vocab-<name>.gguf.inp/.out
  bool byte_level;        // decode(encode(x)) == x without BOS; SentencePiece needs BOS first
};

const Vocab kVocabs[] = {
    {"vocab-gpt-2.kite", "gpt-2", true},
    {"vocab-llama-spm.kite", "llama-spm", false},
    {"vocab-phi-3.kite", "phi-3", false},
    {"vocab-gpt2-tokenizer-json.kite", "gpt-2", true},
    // tokenizer.ggml.pre deepseek-llm and falcon: compiled split stages (SPLIT); refact: the
    // SmolLM stages, so the built-in splitter. DeepSeek also has USER_DEFINED tokens.
    {"vocab-deepseek-llm.kite", "deepseek-llm", true},
    {"vocab-falcon.kite", "falcon", true},
    {"vocab-refact.kite", "refact", true},
};

std::vector<std::string> ReadTests(const std::string& inp) {
  const std::string all = test::ReadText(inp);
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> tests;
  for (size_t pos = 0; pos < all.size();) {
    const size_t end = all.find(separator, pos);
    EXPECT_NE(end, std::string::npos) << "unterminated test at byte " << pos;
    if (end == std::string::npos) break;
    tests.push_back(all.substr(pos, end - pos));
    pos = end + separator.size();
  }
  return tests;
}

std::vector<std::vector<int32_t>> ReadIds(const std::string& out) {
  const std::string all = test::ReadText(out);
  std::vector<std::vector<int32_t>> lines;
  for (size_t pos = 0; pos < all.size();) {
    size_t end = all.find('\n', pos);
    if (end == std::string::npos) end = all.size();
    std::vector<int32_t> ids;
    const char* p = all.c_str() + pos;
    const char* line_end = all.c_str() + end;
    while (p < line_end) {
      char* next = nullptr;
      ids.push_back(static_cast<int32_t>(std::strtol(p, &next, 10)));
      if (next == p) break;
      p = next;
    }
    lines.push_back(ids);
    pos = end + 1;
  }
  return lines;
}

std::unique_ptr<Model> OpenModel(const std::string& file) {
  Result<FileMap> map = FileMap::OpenPath(test::TestModel(file).c_str());
  EXPECT_TRUE(map.ok()) << map.status().message();
  if (!map.ok()) return nullptr;
  Result<std::unique_ptr<Model>> model = Model::Open(static_cast<FileMap&&>(map.value()), {});
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return nullptr;
  return static_cast<std::unique_ptr<Model>&&>(model.value());
}

std::vector<int32_t> Encode(const Tokenizer& tok, const std::string& text, size_t capacity) {
  std::vector<int32_t> ids(capacity);
  size_t n = 0;
  const Status s = tok.Encode(text.data(), text.size(), false, ids.data(), ids.size(), &n);
  EXPECT_TRUE(s.ok()) << s.message();
  ids.resize(s.ok() ? n : 0);
  return ids;
}

std::string Decode(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<char> text(ids.size() * 64 + 1);
  size_t len = 0;
  const Status s = tok.Decode(ids.data(), ids.size(), text.data(), text.size(), &len);
  EXPECT_TRUE(s.ok()) << s.message();
  return s.ok() ? std::string(text.data(), len) : std::string();
}

class VocabOracleTest : public ::testing::TestWithParam<Vocab> {};

TEST_P(VocabOracleTest, Encodes46of46AndRoundTrips) {
  const Vocab& v = GetParam();
  const std::string base =
      test::SharedModel(std::string("tokenizers/ggml-vocab-") + v.oracle + ".gguf");
  const std::vector<std::string> tests = ReadTests(base + ".inp");
  const std::vector<std::vector<int32_t>> expected = ReadIds(base + ".out");
  ASSERT_EQ(tests.size(), 46u);
  ASSERT_EQ(expected.size(), 46u);
  std::unique_ptr<Model> model = OpenModel(v.kite_file);
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(model->vocab_only());
  const Tokenizer& tok = model->tokenizer();
  ASSERT_EQ(tok.view().kind, v.byte_level ? TokenizerType::BYTE_BPE : TokenizerType::SCORE_BPE);

  int matched = 0;
  for (size_t i = 0; i < tests.size(); ++i) {
    const std::string& text = tests[i];
    const size_t minimal = Tokenizer::MaxTokensFor(text.size());
    // Roomy output (fast merge path) and the minimum (rescanning) must agree.
    const std::vector<int32_t> fast = Encode(tok, text, 3 * minimal);
    const std::vector<int32_t> slow = Encode(tok, text, minimal);
    EXPECT_EQ(fast, slow) << "merge paths disagree on case " << i;
    EXPECT_EQ(fast, expected[i]) << v.kite_file << " case " << i << ": \"" << text << "\"";
    matched += fast == expected[i];
    // Every oracle string round-trips: byte-level decoding is exact; SentencePiece drops
    // its dummy-prefix space after BOS, as Hugging Face's decoder does.
    std::vector<int32_t> ids = fast;
    if (!v.byte_level) ids.insert(ids.begin(), tok.view().bos_id);
    EXPECT_EQ(Decode(tok, ids), text) << v.kite_file << " case " << i;
  }
  EXPECT_EQ(matched, 46);
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, VocabOracleTest, ::testing::ValuesIn(kVocabs),
                         [](const ::testing::TestParamInfo<Vocab>& info) {
                           std::string name = info.param.kite_file;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(VocabOnlyFileTest, TokenizesThroughTheCApiButCannotRun) {
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(test::TestModel("vocab-gpt-2.kite").c_str(), nullptr, &model),
            KITE_OK)
      << kite_last_error();
  int32_t ids[16];
  size_t n = 0;
  ASSERT_EQ(kite_tokenize(model, "Hello world", 11, 0, ids, 16, &n), KITE_OK);
  EXPECT_EQ(std::vector<int32_t>(ids, ids + n), (std::vector<int32_t>{15496, 995}));
  char text[32];
  size_t len = 0;
  ASSERT_EQ(kite_detokenize(model, ids, n, text, sizeof(text), &len), KITE_OK);
  EXPECT_EQ(std::string(text, len), "Hello world");

  kite_session_options o;
  kite_session_options_init(&o);
  size_t bytes = 0;
  EXPECT_EQ(kite_session_memory_required(model, &o, &bytes), KITE_ERR_UNSUPPORTED);
  EXPECT_NE(std::strstr(kite_last_error(), "only a tokenizer"), nullptr) << kite_last_error();
  kite_session* session = nullptr;
  EXPECT_EQ(kite_session_create(model, &o, nullptr, 0, &session), KITE_ERR_UNSUPPORTED);
  EXPECT_EQ(session, nullptr);
  EXPECT_NE(std::strstr(kite_last_error(), "--vocab-only"), nullptr) << kite_last_error();
  kite_model_close(model);
}

// Special-token text is plain text by default: "<|endoftext|>" is not id 50256.
TEST(VocabOnlyFileTest, SpecialTokenTextIsNotParsed) {
  std::unique_ptr<Model> model = OpenModel("vocab-gpt-2.kite");
  ASSERT_NE(model, nullptr);
  const std::vector<int32_t> ids = Encode(model->tokenizer(), "<|endoftext|>", 64);
  ASSERT_FALSE(ids.empty());
  for (int32_t id : ids) EXPECT_NE(id, 50256);
  EXPECT_EQ(Decode(model->tokenizer(), ids), "<|endoftext|>");
  // The control token itself decodes to nothing.
  EXPECT_EQ(Decode(model->tokenizer(), {15496, 50256}), "Hello");
}

// kite-tokenize, run as a user would.
TEST(KiteTokenizeTest, EncodesDecodesAndReportsErrors) {
  static const std::string dir = test::MakeScratchDir("kite_tokenize");
  const std::string bin = KITE_TOKENIZE_BIN;
  const std::string model = test::TestModel("vocab-gpt-2.kite");
  test::ToolRun r = test::RunTool(bin, {"-m", model, "--text", "Hello world"}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "15496 995\n");
  r = test::RunTool(bin, {"-m", model, "--text", " Hello world", "--json"}, dir);
  EXPECT_EQ(r.out, "{\"ids\":[18435,995]}\n");
  r = test::RunTool(bin, {"-m", model, "--decode", "15496, 995"}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello world");
  r = test::RunTool(
      bin, {"-m", test::TestModel("vocab-llama-spm.kite"), "--text", "Hello", "--bos"}, dir);
  EXPECT_EQ(r.out, "1 15043\n");
  r = test::RunTool(bin, {"-m", model, "--decode", "99999999"}, dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("outside the vocabulary"), std::string::npos) << r.err;
  r = test::RunTool(bin, {"-m", model}, dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exactly one of"), std::string::npos) << r.err;
  r = test::RunTool(bin, {"--help"}, dir);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--decode IDS"), std::string::npos);
  EXPECT_NE(r.out.find("renaming"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SIGBUS"), std::string::npos) << r.out;
  r = test::RunTool(bin, {"-m", model, "--text"}, dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("option --text needs a value"), std::string::npos) << r.err;
  r = test::RunTool(bin, {"-m", model, "--text", ""}, dir);  // an empty text encodes to nothing
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\n");
}

// kite-convert's command-line checks for GGUF and --vocab-only input.
TEST(KiteConvertVocabOnlyTest, ClearErrors) {
  static const std::string dir = test::MakeScratchDir("kite_convert_vocab");
  const std::string bin = KITE_CONVERT_BIN;
  const std::string gguf = test::SharedModel("tokenizers/ggml-vocab-gpt-2.gguf");
  test::ToolRun r =
      test::RunTool(bin, {"--vocab-only", gguf, "--quant", "q4", "-o", dir + "/a.kite"}, dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--vocab-only takes only"), std::string::npos) << r.err;
  r = test::RunTool(bin,
                    {test::SharedModel("stories260K.gguf"), "--tokenizer",
                     test::SharedModel("tok512.bin"), "-o", dir + "/b.kite"},
                    dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("carries its own vocabulary"), std::string::npos) << r.err;
  // A vocabulary-only GGUF is not a model.
  r = test::RunTool(bin, {gguf, "-o", dir + "/c.kite"}, dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds no tensors (a vocabulary-only GGUF); use --vocab-only"),
            std::string::npos)
      << r.err;
  // A folder without tokenizer.json.
  r = test::RunTool(bin, {"--vocab-only", dir, "-o", dir + "/d.kite"}, dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has no tokenizer.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kite
