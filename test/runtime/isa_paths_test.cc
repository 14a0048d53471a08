// Every kernel path computes the same model: the f32 model's greedy tokens are identical on
// the scalar reference and every optimized path (ISA levels, XNNPACK, threads, prefill
// chunks), and the 4-bit model's logits stay within a stated tolerance of its scalar path.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"

namespace {

#if defined(__aarch64__) || defined(__arm__)
const char* const kIsas[] = {"scalar", "neon", "neondot", "i8mm", "best"};
#else
const char* const kIsas[] = {"scalar", "avx2", "avxvnni", "avx512vnni", "best"};
#endif

// (threads, prefill chunk) combinations run on every path. Under qemu (cross builds) two of
// them: one thread token by token, and two threads with the whole prompt as one GEMM.
struct Config {
  uint32_t threads, chunk;
};
#if defined(KITE_TEST_UNDER_EMULATION)
const Config kF32Configs[] = {{1, 1}, {2, 64}};
const Config kQ4Configs[] = {{1, 1}, {2, 64}};
#else
const Config kF32Configs[] = {{1, 1}, {1, 3}, {1, 64}, {2, 1}, {2, 3}, {2, 64}};
const Config kQ4Configs[] = {{1, 1}, {1, 64}, {2, 1}, {2, 64}};
#endif

struct PathRun {
  std::vector<int32_t> generated;
  std::vector<float> first_logits;
};

PathRun Generate(const std::string& model_name, const char* isa, uint32_t threads, uint32_t chunk,
             const std::vector<int32_t>& prompt, int n) {
  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.max_isa = isa;
  kite_model* model = nullptr;
  PathRun run;
  EXPECT_EQ(kite_model_open_file(kite::test::TestModel(model_name).c_str(), &mo, &model), KITE_OK)
      << kite_last_error();
  if (model == nullptr) return run;
  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = 256;
  so.threads = threads;
  so.prefill_chunk = chunk;
  kite_session* s = nullptr;
  EXPECT_EQ(kite_session_create(model, &so, nullptr, 0, &s), KITE_OK) << kite_last_error();
  EXPECT_EQ(kite_session_feed(s, prompt.data(), prompt.size()), KITE_OK) << kite_session_last_error(s);
  const float* logits = nullptr;
  size_t vocab = 0;
  kite_session_logits(s, &logits, &vocab);
  run.first_logits.assign(logits, logits + vocab);
  for (int i = 0; i < n; ++i) {
    kite_session_logits(s, &logits, &vocab);
    int32_t best = 0;
    for (size_t v = 1; v < vocab; ++v) best = logits[v] > logits[best] ? static_cast<int32_t>(v) : best;
    run.generated.push_back(best);
    EXPECT_EQ(kite_session_feed(s, &best, 1), KITE_OK);
  }
  kite_session_destroy(s);
  kite_model_close(model);
  return run;
}

std::vector<int32_t> GoldenIds(const char* key) {
  const kite::json::Value json = kite::test::LoadJson(
      kite::test::SharedModel("goldens/stories260K-greedy-once_upon_a_time.json"));
  std::vector<int64_t> ids;
  EXPECT_TRUE(kite::test::JsonIntArray(json, key, &ids));
  return std::vector<int32_t>(ids.begin(), ids.end());
}

TEST(IsaPaths, F32GreedyTokensIdenticalOnEveryPath) {
  const auto prompt = GoldenIds("prompt_token_ids");
  const auto golden = GoldenIds("generated_token_ids");
  for (const char* isa : kIsas) {
    for (const Config& c : kF32Configs) {
      SCOPED_TRACE(std::string(isa) + " threads " + std::to_string(c.threads) + " chunk " +
                   std::to_string(c.chunk));
      EXPECT_EQ(Generate("stories260K-f32.kite", isa, c.threads, c.chunk, prompt, 64).generated,
                golden);
    }
  }
}

TEST(IsaPaths, Q4LogitsWithinToleranceOfScalarPath) {
  // The optimized kernels sum the same integers in another order and convert f16 with
  // hardware instructions: differences stay at float rounding level. Stated tolerance:
  // max |logit difference| <= 1e-3 (logits here span about +-20).
  const auto prompt = GoldenIds("prompt_token_ids");
  const PathRun reference = Generate("stories260K-q4.kite", "scalar", 1, 64, prompt, 32);
  for (const char* isa : kIsas) {
    for (const Config& c : kQ4Configs) {
      SCOPED_TRACE(std::string(isa) + " threads " + std::to_string(c.threads) + " chunk " +
                   std::to_string(c.chunk));
      const PathRun r = Generate("stories260K-q4.kite", isa, c.threads, c.chunk, prompt, 32);
      ASSERT_EQ(r.first_logits.size(), reference.first_logits.size());
      double worst = 0;
      for (size_t v = 0; v < r.first_logits.size(); ++v) {
        worst = std::fmax(worst, std::fabs(r.first_logits[v] - reference.first_logits[v]));
      }
      EXPECT_LE(worst, 1e-3);
      EXPECT_EQ(r.generated, reference.generated);
    }
  }
}

TEST(IsaPaths, UnknownIsaIsRefused) {
  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.max_isa = "avx9000";
  kite_model* model = nullptr;
  EXPECT_EQ(kite_model_open_file(kite::test::TestModel("stories260K-q4.kite").c_str(), &mo, &model),
            KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kite_last_error()).find("avx9000"), std::string::npos) << kite_last_error();
}

}  // namespace
