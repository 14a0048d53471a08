// The sampler: greedy ties, temperature, top-k and top-p restrict the support, seeds repeat.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "sdk/runtime/sampler.h"

namespace {

using kite::ProbIndex;
using kite::Sampler;
using kite::SamplerParams;

TEST(Sampler, GreedyPicksLowestIdOnTies) {
  std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f};
  std::vector<ProbIndex> scratch(4);
  Sampler s(SamplerParams{}, 4, scratch.data());
  EXPECT_EQ(s.Sample(logits.data()), 1);
  EXPECT_EQ(kite::Argmax(logits.data(), 4), 1);
}

std::map<int, int> Histogram(const SamplerParams& p, const std::vector<float>& logits, int draws) {
  std::vector<ProbIndex> scratch(logits.size());
  Sampler s(p, static_cast<uint32_t>(logits.size()), scratch.data());
  std::map<int, int> h;
  for (int i = 0; i < draws; ++i) {
    std::vector<float> l = logits;
    ++h[s.Sample(l.data())];
  }
  return h;
}

TEST(Sampler, TemperatureFollowsSoftmax) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.seed = 3;
  // p = softmax(log(0.1), log(0.2), log(0.7))
  const std::vector<float> logits = {std::log(0.1f), std::log(0.2f), std::log(0.7f)};
  auto h = Histogram(p, logits, 20000);
  EXPECT_NEAR(h[0] / 20000.0, 0.1, 0.015);
  EXPECT_NEAR(h[1] / 20000.0, 0.2, 0.015);
  EXPECT_NEAR(h[2] / 20000.0, 0.7, 0.015);
}

TEST(Sampler, TopKAndTopPRestrictTheSupport) {
  const std::vector<float> logits = {std::log(0.05f), std::log(0.5f), std::log(0.3f), std::log(0.15f)};
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 2;
  auto h = Histogram(p, logits, 5000);
  EXPECT_EQ(h.count(0) + h.count(3), 0u);
  EXPECT_NEAR(h[1] / 5000.0, 0.5 / 0.8, 0.03);
  p.top_k = 0;
  p.top_p = 0.7f;  // 0.5 + 0.3 reaches it: ids 1 and 2
  h = Histogram(p, logits, 5000);
  EXPECT_EQ(h.count(0) + h.count(3), 0u);
  EXPECT_GT(h[2], 0);
  p.top_p = 0.4f;  // the single most likely token already reaches it
  h = Histogram(p, logits, 200);
  EXPECT_EQ(h[1], 200);
}

TEST(Sampler, SameSeedSameStream) {
  std::vector<ProbIndex> s1(8), s2(8), s3(8);
  SamplerParams p;
  p.temperature = 1.0f;
  p.seed = 42;
  Sampler a(p, 8, s1.data()), b(p, 8, s2.data());
  p.seed = 43;
  Sampler c(p, 8, s3.data());
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    const float fa = a.NextFloat();
    EXPECT_EQ(fa, b.NextFloat());
    EXPECT_GE(fa, 0.0f);
    EXPECT_LT(fa, 1.0f);
    differ += fa != c.NextFloat();
  }
  EXPECT_GT(differ, 90);
}

TEST(Sampler, ValidatesParams) {
  SamplerParams p;
  EXPECT_TRUE(kite::ValidateSamplerParams(p).ok());
  p.temperature = -0.1f;
  EXPECT_FALSE(kite::ValidateSamplerParams(p).ok());
  p.temperature = 1.0f;
  p.top_p = 0.0f;
  auto s = kite::ValidateSamplerParams(p);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("top_p"), std::string::npos);
}

}  // namespace
