// The sampler: greedy ties, temperature, min-p, top-k and top-p restrict the support, seeds
// repeat, logit bias and the repetition / frequency / presence penalties over a window of
// recent tokens, and parameter checks naming the field.
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
  EXPECT_TRUE(kite::ValidateSamplerParams(p, 8).ok());
  p.temperature = -0.1f;
  EXPECT_FALSE(kite::ValidateSamplerParams(p, 8).ok());
  p.temperature = 1.0f;
  p.top_p = 0.0f;
  auto s = kite::ValidateSamplerParams(p, 8);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("top_p"), std::string::npos);
}

const kite::LogitBias s_out[] = {{3, 1.0f}, {8, 1.0f}};  // token 8: out of a vocabulary of 8
const kite::LogitBias s_nan[] = {{3, NAN}};
const kite::LogitBias s_inf[] = {{3, INFINITY}};

// Each absurd value fails with kInvalidArgument and a message naming its field.
TEST(Sampler, RejectsAbsurdValuesNamingTheField) {
  struct Case {
    const char* field;
    void (*set)(SamplerParams*);
  };
  const Case cases[] = {
      {"min_p", [](SamplerParams* p) { p->min_p = std::nanf(""); }},
      {"min_p", [](SamplerParams* p) { p->min_p = 1.5f; }},
      {"min_p", [](SamplerParams* p) { p->min_p = -0.1f; }},
      {"repetition_penalty", [](SamplerParams* p) { p->repetition_penalty = 0.0f; }},
      {"repetition_penalty", [](SamplerParams* p) { p->repetition_penalty = -1.0f; }},
      {"repetition_penalty", [](SamplerParams* p) { p->repetition_penalty = std::nanf(""); }},
      {"frequency_penalty", [](SamplerParams* p) { p->frequency_penalty = -0.5f; }},
      {"frequency_penalty", [](SamplerParams* p) { p->frequency_penalty = INFINITY; }},
      {"presence_penalty", [](SamplerParams* p) { p->presence_penalty = -0.5f; }},
      {"presence_penalty", [](SamplerParams* p) { p->presence_penalty = std::nanf(""); }},
      {"penalty_last_n", [](SamplerParams* p) { p->penalty_last_n = kite::kMaxPenaltyLastN + 1; }},
      {"logit_bias", [](SamplerParams* p) { p->n_logit_bias = 2; }},
      {"logit_bias[1].token", [](SamplerParams* p) {
         p->logit_bias = s_out;
         p->n_logit_bias = 2;
       }},
      {"logit_bias[0].bias", [](SamplerParams* p) {
         p->logit_bias = s_nan;
         p->n_logit_bias = 1;
       }},
      {"logit_bias[0].bias", [](SamplerParams* p) {
         p->logit_bias = s_inf;
         p->n_logit_bias = 1;
       }},
  };
  for (const Case& c : cases) {
    SamplerParams p;
    c.set(&p);
    const kite::Status s = kite::ValidateSamplerParams(p, 8);
    EXPECT_EQ(s.code(), kite::Error::kInvalidArgument) << c.field;
    EXPECT_NE(std::string(s.message()).find(c.field), std::string::npos) << s.message();
  }
  // The edges of each range are accepted, and -INFINITY bans.
  SamplerParams p;
  p.min_p = 1.0f;
  p.repetition_penalty = kite::kMaxPenalty;
  p.frequency_penalty = kite::kMaxPenalty;
  p.presence_penalty = 0.0f;
  p.penalty_last_n = kite::kMaxPenaltyLastN;
  const kite::LogitBias ban[] = {{7, -INFINITY}};
  p.logit_bias = ban;
  p.n_logit_bias = 1;
  EXPECT_TRUE(kite::ValidateSamplerParams(p, 8).ok());
}

TEST(RecentTokens, KeepsTheLastCapacityTokens) {
  int32_t storage[4];
  kite::RecentTokens r(storage, 4);
  EXPECT_EQ(r.size(), 0u);
  const int32_t a[] = {1, 2, 3};
  r.Push(a, 3);
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.Back(0), 3);
  EXPECT_EQ(r.Back(2), 1);
  const int32_t b[] = {4, 5, 6, 7, 8, 9};
  r.Push(b, 6);  // longer than the ring: only the last 4 stay
  EXPECT_EQ(r.size(), 4u);
  EXPECT_EQ(r.Back(0), 9);
  EXPECT_EQ(r.Back(3), 6);
  r.Push(a, 1);
  EXPECT_EQ(r.Back(0), 1);
  EXPECT_EQ(r.Back(3), 7);
  r.Clear();
  EXPECT_EQ(r.size(), 0u);
}

// Greedy token after the penalties over `history` (oldest first).
int32_t GreedyAfter(const SamplerParams& p, const std::vector<float>& logits,
                    const std::vector<int32_t>& history) {
  std::vector<ProbIndex> scratch(logits.size());
  std::vector<int32_t> ring(16), window(16);
  kite::RecentTokens recent(ring.data(), 16);
  recent.Push(history.data(), history.size());
  Sampler s(p, static_cast<uint32_t>(logits.size()), scratch.data(), window.data());
  return s.Sample(logits.data(), &recent);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplerParams p;
  p.repetition_penalty = 2.0f;
  // Token 0 (3.0, repeated) becomes 1.5 < 2.0: token 1 wins.
  EXPECT_EQ(GreedyAfter(p, {3.0f, 2.0f, -1.0f}, {0}), 1);
  // Negative logits move away from zero: -1 * 2 = -2 < -1.5.
  EXPECT_EQ(GreedyAfter(p, {-5.0f, -1.0f, -1.5f}, {1}), 2);
  // A repeat outside the window is not penalised.
  p.penalty_last_n = 1;
  EXPECT_EQ(GreedyAfter(p, {3.0f, 2.0f, -1.0f}, {0, 2}), 0);
  // penalty_last_n 0 turns the penalties off.
  p.penalty_last_n = 0;
  EXPECT_EQ(GreedyAfter(p, {3.0f, 2.0f, -1.0f}, {0}), 0);
}

TEST(Sampler, FrequencyCountsOccurrencesPresenceCountsOnce) {
  SamplerParams p;
  p.frequency_penalty = 1.0f;
  // Token 0 seen 3 times: 3 - 3 = 0 < 2 - 1; seen once: 3 - 1 = 2 > 2 - 1.
  EXPECT_EQ(GreedyAfter(p, {3.0f, 2.0f}, {0, 0, 0, 1}), 1);
  EXPECT_EQ(GreedyAfter(p, {3.0f, 2.0f}, {0, 1}), 0);
  p.frequency_penalty = 0.0f;
  p.presence_penalty = 1.5f;
  // Presence ignores the count: 3 - 1.5 = 1.5 < 2.
  EXPECT_EQ(GreedyAfter(p, {3.0f, 2.0f}, {0, 0, 0}), 1);
  EXPECT_EQ(GreedyAfter(p, {3.0f, 2.0f}, {0, 0, 1}), 0);
}

TEST(Sampler, LogitBiasShiftsAndBansWithoutTouchingTheLogits) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  const std::vector<float> before = logits;
  std::vector<ProbIndex> scratch(3);
  SamplerParams p;
  const kite::LogitBias ban[] = {{1, -INFINITY}};
  p.logit_bias = ban;
  p.n_logit_bias = 1;
  Sampler greedy(p, 3, scratch.data());
  EXPECT_EQ(greedy.Sample(logits.data()), 2);
  EXPECT_EQ(logits, before);
  const kite::LogitBias boost[] = {{0, 5.0f}};
  p.logit_bias = boost;
  Sampler boosted(p, 3, scratch.data());
  EXPECT_EQ(boosted.Sample(logits.data()), 0);
  // Sampling never draws a banned token.
  p.logit_bias = ban;
  p.temperature = 1.0f;
  auto h = Histogram(p, logits, 2000);
  EXPECT_EQ(h.count(1), 0u);
  EXPECT_GT(h[0], 0);
  EXPECT_GT(h[2], 0);
}

TEST(Sampler, MinPKeepsTokensNearTheMostLikely) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                                     std::log(0.05f)};
  SamplerParams p;
  p.temperature = 1.0f;
  p.min_p = 0.5f;  // keeps p >= 0.25: ids 0 and 1
  auto h = Histogram(p, logits, 5000);
  EXPECT_EQ(h.count(2) + h.count(3), 0u);
  EXPECT_NEAR(h[0] / 5000.0, 0.5 / 0.8, 0.03);
  p.min_p = 1.0f;  // only the most likely
  h = Histogram(p, logits, 200);
  EXPECT_EQ(h[0], 200);
  p.min_p = 0.0f;  // off: every token can come
  h = Histogram(p, logits, 5000);
  EXPECT_GT(h[3], 0);
}

// The adjustments keep the stream reproducible: the same seed gives the same tokens.
TEST(Sampler, AdjustedSamplingRepeatsForASeed) {
  std::vector<float> logits(32);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
  SamplerParams p;
  p.temperature = 0.9f;
  p.min_p = 0.05f;
  p.repetition_penalty = 1.3f;
  p.frequency_penalty = 0.2f;
  p.presence_penalty = 0.1f;
  p.penalty_last_n = 8;
  const kite::LogitBias bias[] = {{5, 1.0f}, {6, -INFINITY}};
  p.logit_bias = bias;
  p.n_logit_bias = 2;
  const auto run = [&](uint64_t seed) {
    SamplerParams q = p;
    q.seed = seed;
    std::vector<ProbIndex> scratch(32);
    std::vector<int32_t> ring(8), window(8);
    kite::RecentTokens recent(ring.data(), 8);
    Sampler s(q, 32, scratch.data(), window.data());
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      const int32_t t = s.Sample(logits.data(), &recent);
      recent.Push(&t, 1);
      out.push_back(t);
    }
    return out;
  };
  const std::vector<int32_t> a = run(7);
  EXPECT_EQ(a, run(7));
  EXPECT_NE(a, run(8));
  for (int32_t t : a) EXPECT_NE(t, 6);
}

}  // namespace
