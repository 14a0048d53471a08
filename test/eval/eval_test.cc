// kite-eval as a user runs it: a model against itself gives KL 0 and full agreement, q4
// against f32 gives the agreement measured when q4 was designed, windows follow --ctx, and
// bad options or mismatched models fail with the documented exit codes.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "sdk/kernels/dispatch.h"
#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"

namespace {

// Runs `command` through the shell; returns its exit code and its stdout in *out.
int RunShell(const std::string& command, std::string* out) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// kite-eval with `args`; stderr (progress, errors) goes to *err when given, else away.
int RunEval(const std::string& args, std::string* out, std::string* err = nullptr) {
  const std::string err_path = ::testing::TempDir() + "kite_eval_stderr.txt";
  const int code = RunShell(std::string(KITE_EVAL_BIN) + " " + args + " 2>" + err_path, out);
  if (err != nullptr) kite::test::ReadWholeFile(err_path, err);
  return code;
}

// The number member `key` of the top-level object of kite-eval's --json output; NaN when
// absent or null.
double JsonNumber(const std::string& json, const std::string& key) {
  return kite::test::JsonNumber(kite::test::ParseJson(json), key);
}

// The objects of the "chunks" array of kite-eval's --json output.
std::vector<kite::json::Value> Chunks(const std::string& json) {
  const kite::json::Value doc = kite::test::ParseJson(json);
  const kite::json::Value* chunks = doc.Find("chunks");
  if (chunks == nullptr || !chunks->is_array()) {
    ADD_FAILURE() << "no \"chunks\" array in " << json;
    return {};
  }
  return chunks->array();
}

std::string Tokens() { return kite::test::SharedModel("eval/stories260K-samples-dev.tokens.json"); }
std::string F32() { return kite::test::TestModel("stories260K-f32.kite"); }
std::string Q4() { return kite::test::TestModel("stories260K-q4.kite"); }

// Sum of the "tokens" of every chunk, and their count.
void SumChunks(const std::string& json, double* tokens, int* count) {
  *tokens = 0;
  *count = 0;
  for (const kite::json::Value& chunk : Chunks(json)) {
    *tokens += kite::test::JsonNumber(chunk, "tokens");
    ++*count;
  }
}

TEST(EvalCli, ModelAgainstItselfAgreesExactly) {
  std::string out;
  ASSERT_EQ(
      RunEval("-m " + F32() + " --reference " + F32() + " --tokens " + Tokens() + " --json", &out),
      0)
      << out;
  const double ppl = JsonNumber(out, "ppl");
  std::printf("stories260K f32 perplexity on the dev stories: %.4f\n", ppl);
  EXPECT_TRUE(std::isfinite(ppl));
  EXPECT_GT(ppl, 1.0);
  EXPECT_LT(ppl, 10.0);
  EXPECT_EQ(ppl, JsonNumber(out, "ref_ppl"));
  EXPECT_LT(std::fabs(JsonNumber(out, "kld")), 1e-9);
  EXPECT_EQ(JsonNumber(out, "top1"), 1.0);
  EXPECT_EQ(JsonNumber(out, "rms_dp"), 0.0);
  double tokens;
  int chunks;
  SumChunks(out, &tokens, &chunks);
  EXPECT_EQ(chunks, 100);  // one per story: all are shorter than the default context
  EXPECT_GT(tokens, 20000);
  EXPECT_EQ(tokens, JsonNumber(out, "tokens"));
}

TEST(EvalCli, Q4AgainstF32) {
  std::string out, err;
  ASSERT_EQ(RunEval("-m " + Q4() + " --reference " + F32() + " --tokens " + Tokens(), &out, &err),
            0)
      << out << err;
  std::printf("%s", out.c_str());
  EXPECT_NE(out.find("worst chunk: story"), std::string::npos) << out;
  EXPECT_NE(err.find("(100%)"), std::string::npos) << err;  // progress on stderr

  ASSERT_EQ(
      RunEval("-m " + Q4() + " --reference " + F32() + " --tokens " + Tokens() + " --json", &out),
      0)
      << out;
  const double top1 = JsonNumber(out, "top1");
  EXPECT_GT(top1, 0.85);
  EXPECT_LT(top1, 0.95);
  EXPECT_GT(JsonNumber(out, "kld"), 0.0);
  EXPECT_GT(JsonNumber(out, "rms_dp"), 0.0);
  EXPECT_GT(JsonNumber(out, "ppl"), JsonNumber(out, "ref_ppl") * 0.9);
}

TEST(EvalCli, TextIsCutIntoWindowsOfCtxTokens) {
  const std::string text = ::testing::TempDir() + "kite_eval_text.txt";
  std::ofstream(text) << "Once upon a time, there was a little dog named Max. He liked to play.";
  std::string out;
  ASSERT_EQ(RunEval("-m " + Q4() + " --text " + text + " --ctx 8 --json", &out), 0) << out;
  double tokens;
  int chunks;
  SumChunks(out, &tokens, &chunks);
  EXPECT_GE(chunks, 2);
  EXPECT_EQ(tokens, JsonNumber(out, "tokens"));
  // Every full window of 8 tokens predicts 7; the first starts at 0, the second at 8.
  const std::vector<kite::json::Value> list = Chunks(out);
  ASSERT_GE(list.size(), 2u) << out;
  EXPECT_EQ(kite::test::JsonNumber(list[0], "tokens"), 7);
  EXPECT_EQ(kite::test::JsonNumber(list[0], "start"), 0);
  EXPECT_EQ(kite::test::JsonNumber(list[1], "start"), 8);
  EXPECT_TRUE(std::isfinite(JsonNumber(out, "ppl")));
}

TEST(EvalCli, BadOptionsAndInputs) {
  std::string out, err;
  EXPECT_EQ(RunEval("--tokens " + Tokens(), &out, &err), 2);
  EXPECT_NE(err.find("model is required"), std::string::npos) << err;
  EXPECT_EQ(RunEval("-m " + Q4(), &out, &err), 2);
  EXPECT_NE(err.find("--text FILE or --tokens"), std::string::npos) << err;
  EXPECT_EQ(RunEval("-m " + Q4() + " --text a --tokens b", &out, &err), 2);
  EXPECT_EQ(RunEval("-m " + Q4() + " --tokens " + Tokens() + " --ctx 1", &out, &err), 2);
  EXPECT_NE(err.find("--ctx"), std::string::npos) << err;
  EXPECT_EQ(RunEval("-m " + Q4() + " --tokens " + Tokens() + " --ctx 100000", &out, &err), 2);
  EXPECT_NE(err.find("max_seq_len"), std::string::npos) << err;
  EXPECT_EQ(RunEval("-m " + Q4() + " --tokens " + Tokens() + " -t abc", &out, &err), 2);
  EXPECT_EQ(RunEval("-m " + Q4() + " --tokens " + Tokens() + " --bogus", &out, &err), 2);
  EXPECT_NE(err.find("unknown option '--bogus'"), std::string::npos) << err;
  EXPECT_EQ(RunEval("-m " + Q4() + " --tokens", &out, &err), 2);

  EXPECT_EQ(RunEval("-m /nonexistent.kite --tokens " + Tokens(), &out, &err), 1);
  EXPECT_NE(err.find("/nonexistent.kite"), std::string::npos) << err;
  EXPECT_EQ(RunEval("-m " + Q4() + " --tokens /nonexistent.json", &out, &err), 1);
  EXPECT_NE(err.find("/nonexistent.json"), std::string::npos) << err;
  const std::string bad = ::testing::TempDir() + "kite_eval_bad.json";
  std::ofstream(bad) << R"({"stories": [{"token_ids": [1, 2, 99999]}]})";
  EXPECT_EQ(RunEval("-m " + Q4() + " --tokens " + bad, &out, &err), 1);
  EXPECT_NE(err.find("outside the vocabulary"), std::string::npos) << err;

  const std::string other = ::testing::TempDir() + "kite_eval_vocab600.kite";
  ASSERT_EQ(RunShell(std::string(KITE_CONVERT_BIN) + " --synthetic stories260k --vocab 600 -o " +
                         other + " >/dev/null 2>&1",
                     &out),
            0);
  EXPECT_EQ(RunEval("-m " + Q4() + " --reference " + other + " --tokens " + Tokens(), &out, &err),
            1);
  EXPECT_NE(err.find("different vocabulary sizes"), std::string::npos) << err;
  std::remove(other.c_str());

  EXPECT_EQ(RunEval("--help", &out), 0);
  EXPECT_NE(out.find("--reference"), std::string::npos);
  EXPECT_NE(out.find("KL(P_ref || P_model)"), std::string::npos);
  EXPECT_NE(out.find("renaming it"), std::string::npos) << out;
  EXPECT_NE(out.find("SIGBUS"), std::string::npos) << out;
  EXPECT_NE(out.find("capped at their count"), std::string::npos) << out;
  EXPECT_EQ(RunEval("-m " + Q4() + " --tokens " + Tokens() + " --ctx=1", &out, &err), 2);
  EXPECT_NE(err.find("--ctx must be an integer in [2, 16777216], not '1'"), std::string::npos)
      << err;
  EXPECT_EQ(RunEval("-m " + Q4() + " --tokens " + Tokens() + " stray", &out, &err), 2);
  EXPECT_NE(err.find("unexpected argument 'stray'"), std::string::npos) << err;
}

// Issue 18 defect 9: --tokens is parsed as JSON against its shape, not scanned for keys.
TEST(EvalCli, TokenFileIsParsedStrictly) {
  const std::string path = ::testing::TempDir() + "kite_eval_strict.json";
  std::string out, err;
  // Garbage around the document.
  for (const char* text : {R"(junk {"stories": [{"token_ids": [1, 2, 3]}]})",
                           R"({"stories": [{"token_ids": [1, 2, 3]}]} junk)",
                           R"({"stories": [{"token_ids": [1, 2, 3]}]}})"}) {
    std::ofstream(path) << text;
    EXPECT_EQ(RunEval("-m " + Q4() + " --tokens " + path, &out, &err), 1) << text;
    EXPECT_NE(err.find(path + ": JSON byte "), std::string::npos) << err;
  }
  // A "token_ids" outside "stories" is not a story.
  std::ofstream(path) << R"({"stories": [{"seed": 1, "token_ids": [1, 2, 3]}],)"
                         R"( "extra": {"token_ids": [1, 2, 3, 4, 5]}})";
  ASSERT_EQ(RunEval("-m " + Q4() + " --tokens " + path + " --json", &out, &err), 0) << err;
  double tokens;
  int chunks;
  SumChunks(out, &tokens, &chunks);
  EXPECT_EQ(chunks, 1) << out;
  EXPECT_EQ(tokens, 2) << out;
  // Documents of the wrong shape name what is wrong.
  const std::pair<const char*, const char*> bad_shapes[] = {
      {R"([1, 2])", "the document is not an object"},
      {R"({"token_ids": [1, 2]})", "no \"stories\" array"},
      {R"({"stories": {"token_ids": [1, 2]}})", "no \"stories\" array"},
      {R"({"stories": []})", "no story"},
      {R"({"stories": [[1, 2]]})", "story 0 is not an object"},
      {R"({"stories": [{"ids": [1, 2]}]})", "story 0 has no \"token_ids\" array"},
      {R"({"stories": [{"token_ids": [1, 2.5]}]})", "story 0: \"token_ids\" is not an array of"},
      {R"({"stories": [{"token_ids": [1, "2"]}]})", "story 0: \"token_ids\" is not an array of"},
      {R"({"stories": [{"token_ids": [1, 2], "token_ids": [3]}]})", "duplicate key"},
  };
  for (const auto& [text, message] : bad_shapes) {
    std::ofstream(path) << text;
    EXPECT_EQ(RunEval("-m " + Q4() + " --tokens " + path, &out, &err), 1) << text;
    EXPECT_NE(err.find(message), std::string::npos) << text << ": " << err;
  }
  std::remove(path.c_str());
}

#if defined(KITE_EVAL_VULKAN)
// The 4-bit model on Vulkan (lavapipe here) against the CPU's best ISA, teacher-forced on
// the first 4 dev stories (dev4.tokens.json, 1,024 positions): a guard against drift (a
// wrong shader gives a KLD in the tenths). On AVX-512 the shaders follow the CPU's
// variants bit for bit, RoPE's cosines and sines included (the CPU's, from a table): seen
// KLD 0 and top-1 100% here and on the first 10 stories, so the bound is issue 13's 1e-4.
// It stays at 3e-4 for CPUs whose variants (AVX2, NEON) add in other orders (seen before
// the shaders followed AVX-512: 1.7e-4). docs/vulkan.md, "Agreement with the CPU".
TEST(EvalCli, VulkanAgreesWithTheCpu) {
  setenv("KITE_VULKAN_ALLOW_CPU", "1", 1);
  std::string out, err;
  ASSERT_EQ(RunEval("-m " + Q4() + " --backend vulkan --reference " + Q4() + " --tokens " +
                        KITE_EVAL_DEV4 + " --json",
                    &out, &err),
            0)
      << err;
  const double kld = JsonNumber(out, "kld");
  std::printf("stories260K q4, Vulkan vs CPU, first 4 dev stories: KLD %.3g, top-1 %.4f\n", kld,
              JsonNumber(out, "top1"));
  EXPECT_EQ(JsonNumber(out, "tokens"), 1024);
  namespace k = kite::kernels;
  const bool avx512 = k::SelectKernels(k::Isa::kBest).isa == k::Isa::kAvx512Vnni;
  EXPECT_LE(kld, avx512 ? 1e-4 : 3e-4);
}
#endif

// -t above the online CPUs is capped at their count, with a warning on stderr.
TEST(EvalCli, ThreadsAboveTheCpusAreCapped) {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1 || cpus >= 256) GTEST_SKIP() << "needs fewer than 256 CPUs (-t is at most 256)";
  const std::string text = ::testing::TempDir() + "kite_eval_threads.txt";
  std::ofstream(text) << "Once upon a time, there was a little dog.";
  std::string out, err;
  ASSERT_EQ(RunEval("-m " + Q4() + " --text " + text + " --ctx 8 --json -t " +
                        std::to_string(cpus + 1),
                    &out, &err),
            0)
      << err;
  EXPECT_NE(err.find("kite-eval: warning: -t " + std::to_string(cpus + 1) + " is more than the " +
                     std::to_string(cpus) + " online CPU"),
            std::string::npos)
      << err;
  EXPECT_TRUE(std::isfinite(JsonNumber(out, "ppl"))) << out;
}

}  // namespace
