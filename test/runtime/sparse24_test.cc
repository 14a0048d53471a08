// The 2:4 sparse 4-bit model (kite-convert --quant q4 --sparse 2:4, layers stored as
// Q4_G_SP24): its file is at most 0.75x the dense 4-bit file, it loads and generates, and
// every kernel path (ISA levels, threads, prefill chunks) computes the scalar path's logits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "test/common/test_paths.h"
#include "test/runtime/path_run.h"

namespace {

using kite::test::kIsas;
using kite::test::PathRun;

const char* const kSparseModel = "stories260K-q4sp24.kite";

PathRun Generate(const char* isa, uint32_t threads, uint32_t chunk,
                 const std::vector<int32_t>& prompt, int n) {
  return kite::test::Generate(kSparseModel, isa, threads, chunk, prompt, n);
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
  const auto prompt = kite::test::GoldenIds("prompt_token_ids");
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
        EXPECT_LE(kite::test::MaxLogitDifference(r, reference), 1e-3);
        EXPECT_EQ(r.generated, reference.generated);
      }
    }
  }
}

}  // namespace
