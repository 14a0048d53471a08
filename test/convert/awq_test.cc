// Activation-aware scaling: the scales, the search on constructed inputs, and the folding on
// stories260K (the f32 model's logits and the statistics GPTQ reads afterwards).
#include "tools/convert/compress/awq.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/common/test_paths.h"
#include "tools/convert/compress/gptq.h"
#include "tools/convert/compress/llama_float.h"
#include "tools/convert/source/llama2c_checkpoint.h"
#include "tools/convert/tokenizer/llama2c_tokenizer.h"

namespace kite::convert {
namespace {

TEST(AwqScales, AlphaZeroIsOneAndScalesAreNormalized) {
  const std::vector<double> ms = {4.0, 1.0, 0.0, 16.0};
  for (float s : AwqScales(ms, 0.0)) EXPECT_EQ(s, 1.0f);
  const std::vector<float> s = AwqScales(ms, 1.0);  // sqrt(ms) = 2, 1, -, 4; norm sqrt(4) = 2
  EXPECT_FLOAT_EQ(s[0], 1.0f);
  EXPECT_FLOAT_EQ(s[1], 0.5f);
  EXPECT_EQ(s[2], 1.0f);  // never active: not scaled
  EXPECT_FLOAT_EQ(s[3], 2.0f);
}

// xtx of `tokens` random inputs whose column j has standard deviation sd[j].
std::vector<double> RandomXtx(const std::vector<double>& sd, size_t tokens, uint32_t seed) {
  const size_t cols = sd.size();
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> xtx(cols * cols, 0.0), x(cols);
  for (size_t t = 0; t < tokens; ++t) {
    for (size_t j = 0; j < cols; ++j) x[j] = sd[j] * normal(rng);
    for (size_t j = 0; j < cols; ++j) {
      for (size_t k = 0; k < cols; ++k) xtx[j * cols + k] += x[j] * x[k];
    }
  }
  return xtx;
}

std::vector<float> RandomWeights(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(n);
  for (float& v : w) v = normal(rng);
  return w;
}

std::vector<double> MeanSquares(const std::vector<double>& xtx, size_t cols, size_t tokens) {
  std::vector<double> ms(cols);
  for (size_t j = 0; j < cols; ++j) ms[j] = xtx[j * cols + j] / static_cast<double>(tokens);
  return ms;
}

TEST(SearchActivationScales, PicksAlphaZeroWhenChannelsAreAlike) {
  // Every channel equally active: every alpha gives scales of 1, so nothing can be gained
  // and the search must keep the unscaled weights.
  const size_t rows = 8, cols = 64;
  std::vector<double> xtx(cols * cols, 0.0);
  for (size_t j = 0; j < cols; ++j) xtx[j * cols + j] = 3.0;
  const std::vector<float> w = RandomWeights(rows * cols, 1);
  for (bool asymmetric : {false, true}) {
    AwqOptions options;
    options.asymmetric = asymmetric;
    auto r = SearchActivationScales({{w.data(), rows}}, cols, xtx.data(),
                                    std::vector<double>(cols, 3.0), {}, options);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->alpha, 0.0);
    EXPECT_EQ(r->error, r->error_at_zero);
    for (float s : r->scales) EXPECT_EQ(s, 1.0f);
  }
}

TEST(SearchActivationScales, OutlierChannelsGetScaledAndTheErrorNeverGrows) {
  const size_t rows = 16, cols = 64, tokens = 512;
  std::vector<double> sd(cols, 1.0);
  sd[5] = 20.0;  // a few channels carry most of the activation, as in real models
  sd[40] = 12.0;
  const std::vector<double> xtx = RandomXtx(sd, tokens, 2);
  const std::vector<double> ms = MeanSquares(xtx, cols, tokens);
  const std::vector<float> w = RandomWeights(rows * cols, 3);
  for (bool asymmetric : {false, true}) {
    AwqOptions options;
    options.asymmetric = asymmetric;
    auto r = SearchActivationScales({{w.data(), rows}}, cols, xtx.data(), ms, {}, options);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_GT(r->alpha, 0.0);
    EXPECT_LT(r->error, r->error_at_zero);
    EXPECT_GT(r->scales[5], r->scales[0]);
  }
  // Any input: the chosen error is at most the unscaled one.
  for (uint32_t seed = 10; seed < 14; ++seed) {
    const std::vector<double> x2 = RandomXtx(std::vector<double>(cols, 1.0), 64, seed);
    const std::vector<float> w2 = RandomWeights(rows * cols, seed + 100);
    auto r = SearchActivationScales({{w2.data(), rows}}, cols, x2.data(),
                                    MeanSquares(x2, cols, 64), {}, AwqOptions{});
    ASSERT_TRUE(r.ok());
    EXPECT_LE(r->error, r->error_at_zero);
  }
}

TEST(SearchActivationScales, SharedChannelsAndBadSizes) {
  const size_t rows = 4, cols = 64;
  const std::vector<double> xtx = RandomXtx(std::vector<double>(cols, 1.0), 32, 4);
  const std::vector<float> w = RandomWeights(rows * cols, 5);
  std::vector<size_t> channel_of(cols);
  for (size_t j = 0; j < cols; ++j) channel_of[j] = j % 32;  // two columns per channel
  auto r = SearchActivationScales({{w.data(), rows}}, cols, xtx.data(),
                                  std::vector<double>(32, 1.0), channel_of, AwqOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->scales.size(), 32u);
  EXPECT_FALSE(SearchActivationScales({{w.data(), rows}}, cols, xtx.data(),
                                      std::vector<double>(31, 1.0), {}, AwqOptions{})
                   .ok());
  std::vector<size_t> bad = channel_of;
  bad[3] = 32;
  EXPECT_FALSE(SearchActivationScales({{w.data(), rows}}, cols, xtx.data(),
                                      std::vector<double>(32, 1.0), bad, AwqOptions{})
                   .ok());
}

SourceModel Stories260K() {
  absl::StatusOr<SourceModel> m =
      ReadLlama2cCheckpoint(kite::test::SharedModel("stories260K.bin"));
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : SourceModel{};
}

std::vector<std::vector<int32_t>> CalibSequences() {
  absl::StatusOr<TokenizerTables> t =
      ReadLlama2cTokenizer(kite::test::SharedModel("tok512.bin"), 512);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return {};
  t->Finalize();
  const std::string text =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
      "park with her friends.\n\nOne day, a big dog came to the park. The dog was very happy "
      "and wanted to play. Lily and the dog ran and jumped all day.\n\nTom had a red ball. He "
      "threw it high in the sky and his mom smiled.";
  auto seqs = TokenizeCalibrationText(text, *t, 256, 2048);
  EXPECT_TRUE(seqs.ok()) << seqs.status();
  return seqs.ok() ? *seqs : std::vector<std::vector<int32_t>>{};
}

std::vector<float> Logits(const SourceModel& m, const std::vector<int32_t>& tokens) {
  std::vector<float> logits(tokens.size() * m.config.vocab_size);
  EXPECT_TRUE(ForwardFloat(m, tokens.data(), tokens.size(), logits.data(), nullptr).ok());
  return logits;
}

TEST(ApplyActivationScaling, FoldingKeepsTheFloatModelAndRescalesTheStatistics) {
  const SourceModel original = Stories260K();
  ASSERT_FALSE(original.tensors.empty());
  // stories260K has grouped-query attention, so wo's shared scales are exercised.
  ASSERT_LT(original.config.n_kv_heads, original.config.n_heads);
  const std::vector<std::vector<int32_t>> seqs = CalibSequences();
  ASSERT_FALSE(seqs.empty());
  absl::StatusOr<CalibrationStats> stats = Calibrate(original, seqs);
  ASSERT_TRUE(stats.ok()) << stats.status();

  SourceModel scaled = original;
  AwqOptions options;
  options.asymmetric = false;
  options.threads = 2;
  auto report = ApplyActivationScaling(&scaled, &*stats, options);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->size(), 4u * original.config.n_layers);
  size_t changed = 0;
  for (const AwqGroupReport& g : *report) {
    EXPECT_LE(g.error, g.error_at_zero) << g.name;
    changed += g.alpha > 0.0;
  }
  EXPECT_GT(changed, 0u);
  EXPECT_EQ((*report)[0].name, "layers.0.attention.wo");
  EXPECT_EQ((*report)[1].name, "layers.0.attention.wq+wk+wv");

  // The f32 model computes the same logits.
  const std::vector<float> before = Logits(original, seqs[0]);
  const std::vector<float> after = Logits(scaled, seqs[0]);
  double max_diff = 0.0, max_abs = 0.0;
  for (size_t i = 0; i < before.size(); ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(before[i] - after[i])));
    max_abs = std::max(max_abs, static_cast<double>(std::fabs(before[i])));
  }
  EXPECT_LT(max_diff, 1e-4 * max_abs) << "max |logit| " << max_abs;
  bool weights_changed = false;
  for (size_t i = 0; i < original.tensors.size(); ++i) {
    weights_changed |= original.tensors[i].data != scaled.tensors[i].data;
  }
  EXPECT_TRUE(weights_changed);

  // The rescaled statistics are those of the scaled model's inputs.
  absl::StatusOr<CalibrationStats> again = Calibrate(scaled, seqs);
  ASSERT_TRUE(again.ok());
  for (const std::string name : {"layers.0.attention.wq", "layers.1.attention.wo",
                                 "layers.2.feed_forward.w2", "layers.3.feed_forward.w1"}) {
    const LinearInputStats* want = again->Find(name);
    const LinearInputStats* got = stats->Find(name);
    ASSERT_NE(want, nullptr);
    ASSERT_NE(got, nullptr);
    for (size_t i = 0; i < want->xtx.size(); ++i) {
      EXPECT_NEAR(got->xtx[i], want->xtx[i], 1e-3 * (1.0 + std::fabs(want->xtx[i])))
          << name << " " << i;
    }
  }

  // The same result on one thread.
  absl::StatusOr<CalibrationStats> stats1 = Calibrate(original, seqs);
  ASSERT_TRUE(stats1.ok());
  SourceModel scaled1 = original;
  options.threads = 1;
  ASSERT_TRUE(ApplyActivationScaling(&scaled1, &*stats1, options).ok());
  for (size_t i = 0; i < scaled.tensors.size(); ++i) {
    EXPECT_EQ(scaled.tensors[i].data, scaled1.tensors[i].data) << scaled.tensors[i].name;
  }
}

TEST(ApplyActivationScaling, MissingStatisticsNameTheTensor) {
  SourceModel m = Stories260K();
  ASSERT_FALSE(m.tensors.empty());
  CalibrationStats empty;
  auto r = ApplyActivationScaling(&m, &empty, AwqOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("layers.0.attention.wo"), std::string::npos)
      << r.status();
}

}  // namespace
}  // namespace kite::convert
