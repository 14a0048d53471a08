// kite-convert's 2:4 sparse storage (ConvertOptions::sparse_24, --sparse 2:4): which
// tensors become Q4_G_SP24, that they are pruned to 2:4 when needed and keep an existing
// 2:4 pattern, and the command line that sets it.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "sdk/format/format.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"
#include "tools/convert/cli_options.h"
#include "tools/convert/write/convert_tensors.h"

namespace {

using kite::DType;
using kite::Layout;
using kite::convert::ConvertOptions;
using kite::convert::QuantMode;
using kite::convert::SourceTensor;

SourceTensor RandomTensor(const std::string& name, size_t rows, size_t cols, uint32_t seed) {
  SourceTensor t;
  t.name = name;
  t.shape = {rows, cols};
  std::mt19937 rng(seed);
  std::normal_distribution<float> x(0.0f, 0.05f);
  t.data.resize(rows * cols);
  for (float& v : t.data) v = x(rng);
  return t;
}

ConvertOptions SparseQ4() {
  ConvertOptions o;
  o.quant = QuantMode::kQ4;
  o.sparse_24 = true;
  return o;
}

TEST(Sparse24Convert, LayerMatricesBecomeQ4GSp24) {
  const SourceTensor src = RandomTensor("layers.0.feed_forward.w2", 40, 100, 1);
  std::vector<float> restored;
  auto t = kite::convert::ConvertTensor(src, SparseQ4(), &restored);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->dtype, DType::Q4_G_SP24);
  EXPECT_EQ(t->layout, Layout::Q4_SP24_R16_G64);
  EXPECT_EQ(t->group_size, 64u);
  EXPECT_EQ(t->data.size(), kite::PackedBytes(kite::DType::Q4_G_SP24, kite::Layout::Q4_SP24_R16_G64,
                                              40, 100, kite::kQ4SP24BlockCols));
  EXPECT_EQ(t->data.size(), size_t{3 * 2 * 416});
  EXPECT_TRUE(t->scales.empty());
  ASSERT_EQ(restored.size(), src.data.size());
  // Pruned by magnitude to 2:4: half the weights are zero, and in every quad the kept ones
  // are the two largest |w| of the source.
  EXPECT_TRUE(kite::kernels::IsTwoFourSparse(40, 100, restored.data()));
  for (size_t r = 0; r < 40; ++r) {
    for (size_t c0 = 0; c0 < 100; c0 += 4) {
      const float* s = &src.data[r * 100 + c0];
      for (size_t i = 0; i < 4; ++i) {
        int larger = 0;
        for (size_t j = 0; j < 4; ++j) larger += std::fabs(s[j]) > std::fabs(s[i]);
        if (larger >= 2) EXPECT_EQ(restored[r * 100 + c0 + i], 0.0f) << r << "," << c0 + i;
      }
    }
  }
  // The error against the source counts the pruning: about sqrt(share of the energy
  // in the smaller half), well below 1, and clearly above the 4-bit error alone.
  EXPECT_GT(t->quant_rel_rms_error, 0.2f);
  EXPECT_LT(t->quant_rel_rms_error, 0.6f);
}

TEST(Sparse24Convert, ExistingTwoFourPatternIsKept) {
  SourceTensor src = RandomTensor("layers.3.attention.wq", 16, 64, 2);
  // Zero columns 1 and 2 of every quad: not the magnitude choice in general.
  for (size_t i = 0; i < src.data.size(); ++i) {
    if (i % 4 == 1 || i % 4 == 2) src.data[i] = 0.0f;
  }
  std::vector<float> restored;
  auto t = kite::convert::ConvertTensor(src, SparseQ4(), &restored);
  ASSERT_TRUE(t.ok()) << t.status();
  for (size_t i = 0; i < src.data.size(); ++i) {
    if (src.data[i] == 0.0f) {
      EXPECT_EQ(restored[i], 0.0f) << i;
    } else {
      EXPECT_NEAR(restored[i], src.data[i], 0.02f) << i;  // 4-bit step at most ~0.03 here
    }
  }
  EXPECT_LT(t->quant_rel_rms_error, 0.15f);
}

TEST(Sparse24Convert, EmbeddingHeadAndVectorsStayDense) {
  const ConvertOptions o = SparseQ4();
  EXPECT_EQ(kite::convert::StoredDType(RandomTensor("tok_embeddings", 32, 64, 3), o), DType::Q8_C);
  EXPECT_EQ(kite::convert::StoredDType(RandomTensor("output", 32, 64, 3), o), DType::Q8_C);
  ConvertOptions all4 = o;
  all4.keep_8bit.clear();
  EXPECT_EQ(kite::convert::StoredDType(RandomTensor("output", 32, 64, 3), all4), DType::Q4_G);
  SourceTensor norm;
  norm.name = "layers.0.ffn_norm";
  norm.shape = {64};
  norm.data.assign(64, 1.0f);
  EXPECT_EQ(kite::convert::StoredDType(norm, o), DType::F32);
  ConvertOptions keep = o;
  keep.keep_8bit.push_back("layers.0.attention.wk");
  EXPECT_EQ(kite::convert::StoredDType(RandomTensor("layers.0.attention.wk", 32, 64, 3), keep),
            DType::Q8_C);
  ConvertOptions dense = o;
  dense.sparse_24 = false;
  EXPECT_EQ(kite::convert::StoredDType(RandomTensor("layers.0.attention.wk", 32, 64, 3), dense),
            DType::Q4_G);
}

TEST(Sparse24Convert, NonFiniteWeightIsAnErrorNamingTheTensor) {
  SourceTensor src = RandomTensor("layers.1.attention.wo", 16, 64, 4);
  src.data[5] = std::nanf("");
  auto t = kite::convert::ConvertTensor(src, SparseQ4());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(std::string(t.status().message()).find("layers.1.attention.wo"), std::string::npos)
      << t.status();
}

TEST(Sparse24Convert, CommandLine) {
  auto o = kite::convert::ParseCommandLine({"in.bin", "-o", "out.kite", "--quant", "q4", "--sparse", "2:4"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->convert.sparse_24);
  EXPECT_NE(kite::convert::OptionsForProvenance(*o).find("--sparse 2:4"), std::string::npos);
  auto syn = kite::convert::ParseCommandLine(
      {"--synthetic", "tinyllama-1.1b", "-o", "out.kite", "--quant", "q4", "--sparse=2:4"});
  ASSERT_TRUE(syn.ok()) << syn.status();
  EXPECT_TRUE(syn->convert.sparse_24);
  auto plain = kite::convert::ParseCommandLine({"in.bin", "-o", "out.kite", "--quant", "q4"});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->convert.sparse_24);
  EXPECT_EQ(kite::convert::OptionsForProvenance(*plain).find("--sparse"), std::string::npos);
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"in.bin", "-o", "out.kite", "--quant", "q4", "--sparse", "1:4"},
           {"in.bin", "-o", "out.kite", "--quant", "q8", "--sparse", "2:4"},
           {"in.bin", "-o", "out.kite", "--sparse", "2:4"},
           {"in.bin", "-o", "out.kite", "--quant", "q4", "--sparse", "2:4", "--prune", "magnitude",
            "--sparsity", "0.5"}}) {
    auto r = kite::convert::ParseCommandLine(bad);
    EXPECT_FALSE(r.ok()) << bad.back();
    if (!r.ok()) EXPECT_NE(std::string(r.status().message()).find("--sparse"), std::string::npos) << r.status();
  }
  EXPECT_NE(kite::convert::HelpText().find("--sparse 2:4"), std::string::npos);
}

}  // namespace
