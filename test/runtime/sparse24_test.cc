// The 2:4 sparse 4-bit model (kite-convert --quant q4 --sparse 2:4, layers stored as
// Q4_G_SP24): its file is at most 0.75x the dense 4-bit file, it loads and generates, and
// every kernel path (ISA levels, threads, prefill chunks) computes the scalar path's logits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"

namespace {

const char* const kIsas[] = {"scalar", "avx2", "avxvnni", "avx512vnni", "best"};
const char* const kSparseModel = "stories260K-q4sp24.kite";

struct PathRun {
  std::vector<int32_t> generated;
  std::vector<float> first_logits;
};

// Feeds `prompt`, then generates `n` greedy tokens on the path (isa, threads, chunk).
PathRun Generate(const char* isa, uint32_t threads, uint32_t chunk,
                 const std::vector<int32_t>& prompt, int n) {
  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.max_isa = isa;
  kite_model* model = nullptr;
  PathRun run;
  EXPECT_EQ(kite_model_open_file(kite::test::TestModel(kSparseModel).c_str(), &mo, &model),
            KITE_OK)
      << kite_last_error();
  if (model == nullptr) return run;
  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = 256;
  so.threads = threads;
  so.prefill_chunk = chunk;
  kite_session* s = nullptr;
  EXPECT_EQ(kite_session_create(model, &so, nullptr, 0, &s), KITE_OK) << kite_last_error();
  EXPECT_EQ(kite_session_feed(s, prompt.data(), prompt.size()), KITE_OK)
      << kite_session_last_error(s);
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

std::vector<int32_t> Prompt() {
  const kite::json::Value json = kite::test::LoadJson(
      kite::test::SharedModel("goldens/stories260K-greedy-once_upon_a_time.json"));
  std::vector<int64_t> ids;
  EXPECT_TRUE(kite::test::JsonIntArray(json, "prompt_token_ids", &ids));
  return std::vector<int32_t>(ids.begin(), ids.end());
}

long FileSize(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return -1;
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fclose(f);
  return size;
}

TEST(Sparse24, FileIsAtMostThreeQuartersOfDense4Bit) {
  const long dense = FileSize(kite::test::TestModel("stories260K-q4.kite"));
  const long sparse = FileSize(kite::test::TestModel(kSparseModel));
  ASSERT_GT(dense, 0);
  ASSERT_GT(sparse, 0);
  EXPECT_LE(sparse * 4, dense * 3) << "2:4 file " << sparse << " bytes, dense 4-bit " << dense;
}

TEST(Sparse24, LogitsOnEveryPathMatchScalarPath) {
  // The optimized kernels sum the same integers in another order: differences stay at
  // float rounding level. Stated tolerance: max |logit difference| <= 1e-3.
  const auto prompt = Prompt();
  const PathRun reference = Generate("scalar", 1, 64, prompt, 16);
  ASSERT_EQ(reference.generated.size(), 16u);
  // The sparse model must compute something: its logits are not all equal.
  float lo = reference.first_logits[0], hi = lo;
  for (float v : reference.first_logits) {
    ASSERT_TRUE(std::isfinite(v));
    lo = std::fmin(lo, v);
    hi = std::fmax(hi, v);
  }
  EXPECT_GT(hi - lo, 1.0f);
  for (const char* isa : kIsas) {
    for (uint32_t threads : {1u, 2u}) {
      for (uint32_t chunk : {1u, 64u}) {
        SCOPED_TRACE(std::string(isa) + " threads " + std::to_string(threads) + " chunk " +
                     std::to_string(chunk));
        const PathRun r = Generate(isa, threads, chunk, prompt, 16);
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
}

}  // namespace
