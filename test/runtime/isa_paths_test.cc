// Every kernel path computes the same model: the f32 model's greedy tokens are identical on
// the scalar reference and every optimized path (ISA levels, XNNPACK, threads, prefill
// chunks), and the 4-bit model's logits stay within a stated tolerance of its scalar path.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/test_paths.h"
#include "test/runtime/path_run.h"

namespace {

using kite::test::Generate;
using kite::test::GoldenIds;
using kite::test::kIsas;
using kite::test::PathRun;

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
      EXPECT_LE(kite::test::MaxLogitDifference(r, reference), 1e-3);
      EXPECT_EQ(r.generated, reference.generated);
    }
  }
}

// The codebook layout (Q4_R16_G32_CB): the scalar reference and every optimized path give
// the same greedy tokens, and logits within the 4-bit tolerance above.
TEST(IsaPaths, Q4CodebookSameTokensOnEveryPath) {
  const auto prompt = GoldenIds("prompt_token_ids");
  const PathRun reference = Generate("stories260K-q4cb.kite", "scalar", 1, 64, prompt, 32);
  ASSERT_FALSE(reference.generated.empty());
  for (const char* isa : kIsas) {
    for (const Config& c : kQ4Configs) {
      SCOPED_TRACE(std::string(isa) + " threads " + std::to_string(c.threads) + " chunk " +
                   std::to_string(c.chunk));
      const PathRun r = Generate("stories260K-q4cb.kite", isa, c.threads, c.chunk, prompt, 32);
      EXPECT_LE(kite::test::MaxLogitDifference(r, reference), 1e-3);
      EXPECT_EQ(r.generated, reference.generated);
    }
  }
}

// A mixed 3/4/8-bit file (Q3_R16_G32 for some layer matrices, Q4_R16_G32_SYM for the rest,
// Q8_C for the embedding and output): the scalar reference and every optimized path give the
// same greedy tokens, and logits within the 4-bit tolerance above.
TEST(IsaPaths, Q3MixSameTokensOnEveryPath) {
  const auto prompt = GoldenIds("prompt_token_ids");
  const PathRun reference = Generate("stories260K-q3mix.kite", "scalar", 1, 64, prompt, 32);
  ASSERT_FALSE(reference.generated.empty());
  for (const char* isa : kIsas) {
    for (const Config& c : kQ4Configs) {
      SCOPED_TRACE(std::string(isa) + " threads " + std::to_string(c.threads) + " chunk " +
                   std::to_string(c.chunk));
      const PathRun r = Generate("stories260K-q3mix.kite", isa, c.threads, c.chunk, prompt, 32);
      EXPECT_LE(kite::test::MaxLogitDifference(r, reference), 1e-3);
      EXPECT_EQ(r.generated, reference.generated);
    }
  }
}

// 3-bit groups of 64 (Q3_R16_G64 for some layer matrices, beside Q3_R16_G32 and
// Q4_R16_G32_SYM): the scalar reference and every optimized path give the same greedy
// tokens, and logits within the 4-bit tolerance above.
TEST(IsaPaths, Q3G64MixSameTokensOnEveryPath) {
  const auto prompt = GoldenIds("prompt_token_ids");
  const PathRun reference = Generate("stories260K-q3g64mix.kite", "scalar", 1, 64, prompt, 32);
  ASSERT_FALSE(reference.generated.empty());
  for (const char* isa : kIsas) {
    for (const Config& c : kQ4Configs) {
      SCOPED_TRACE(std::string(isa) + " threads " + std::to_string(c.threads) + " chunk " +
                   std::to_string(c.chunk));
      const PathRun r =
          Generate("stories260K-q3g64mix.kite", isa, c.threads, c.chunk, prompt, 32);
      EXPECT_LE(kite::test::MaxLogitDifference(r, reference), 1e-3);
      EXPECT_EQ(r.generated, reference.generated);
    }
  }
}

// A prompt long enough for a prefill chunk's attention to run as (head, query range) tasks
// (the golden prompt alone is too short to be split): the golden prompt and its continuation,
// 69 tokens, so a 64-token chunk at position 0 and a 5-token chunk at 64. Token by token
// (one query per call) is the reference; chunked prefill on 1 and 2 threads must match it
// bit for bit (f32 weights: the q4 model's chunked products differ from its per-token ones on
// some paths by design).
TEST(IsaPaths, ChunkedAttentionSplitsIdenticallyOnEveryPath) {
  std::vector<int32_t> prompt = GoldenIds("prompt_token_ids");
  const auto more = GoldenIds("generated_token_ids");
  prompt.insert(prompt.end(), more.begin(), more.end());
  for (const char* model : {"stories260K-f32.kite"}) {
    for (const char* isa : kIsas) {
      const PathRun reference = Generate(model, isa, 1, 1, prompt, 8);
      for (const Config& c : kQ4Configs) {
        if (c.chunk == 1) continue;
        SCOPED_TRACE(std::string(model) + " " + isa + " threads " + std::to_string(c.threads) +
                     " chunk " + std::to_string(c.chunk));
        const PathRun r = Generate(model, isa, c.threads, c.chunk, prompt, 8);
        EXPECT_EQ(r.first_logits, reference.first_logits);
        EXPECT_EQ(r.generated, reference.generated);
      }
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
