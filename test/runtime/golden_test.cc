// The f32 model reproduces llama2.c's greedy goldens: prompt ids and all 64 generated ids
// exactly, first-step logits within 1e-4. The same holds for the model converted from the
// Hugging Face f32 sharded folder (q/k un-permuted from rotate_half); the bf16 folder
// (untied head, weights rounded to bf16) must give the same ids, logits within 0.1.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "kite/kite.h"
#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"

namespace {

struct Golden {
  std::string prompt;
  std::vector<int64_t> prompt_ids, generated_ids;
  std::vector<double> first_step_logits;
  std::string decoded_text;
};

Golden LoadGolden(const std::string& file) {
  Golden g;
  const kite::json::Value json = kite::test::LoadJson(kite::test::SharedModel("goldens/" + file));
  EXPECT_TRUE(kite::test::JsonString(json, "prompt", &g.prompt));
  EXPECT_TRUE(kite::test::JsonIntArray(json, "prompt_token_ids", &g.prompt_ids));
  EXPECT_TRUE(kite::test::JsonIntArray(json, "generated_token_ids", &g.generated_ids));
  EXPECT_TRUE(kite::test::JsonNumberArray(json, "first_step_logits", &g.first_step_logits));
  EXPECT_TRUE(kite::test::JsonString(json, "decoded_text", &g.decoded_text));
  return g;
}

int Collect(const char* piece, int32_t token, void* user) {
  auto* out = static_cast<std::pair<std::vector<int64_t>, std::string>*>(user);
  out->first.push_back(token);
  out->second += piece;
  return KITE_CONTINUE;
}

// A converted model under test and how close its first-step logits must be.
struct ModelCase {
  const char* file;  // in the test-models folder
  double logit_tolerance;
};

class GoldenTest : public ::testing::TestWithParam<std::tuple<ModelCase, const char*>> {
 protected:
  static const char* GoldenFile() { return std::get<1>(GetParam()); }
  static const ModelCase& Case() { return std::get<0>(GetParam()); }
  void SetUp() override {
    ASSERT_EQ(kite_model_open_file(kite::test::TestModel(Case().file).c_str(), nullptr,
                                   &model_),
              KITE_OK)
        << kite_last_error();
    kite_session_options o;
    kite_session_options_init(&o);
    o.max_context = 512;
    ASSERT_EQ(kite_session_create(model_, &o, nullptr, 0, &session_), KITE_OK) << kite_last_error();
  }
  void TearDown() override {
    kite_session_destroy(session_);
    kite_model_close(model_);
  }
  kite_model* model_ = nullptr;
  kite_session* session_ = nullptr;
};

TEST_P(GoldenTest, PromptIdsMatch) {
  const Golden g = LoadGolden(GoldenFile());
  std::vector<int32_t> ids(g.prompt.size() + 2);
  size_t n = 0;
  ASSERT_EQ(kite_tokenize(model_, g.prompt.data(), g.prompt.size(), 1, ids.data(), ids.size(), &n),
            KITE_OK);
  ASSERT_EQ(std::vector<int64_t>(ids.begin(), ids.begin() + n), g.prompt_ids);
}

TEST_P(GoldenTest, GreedyGenerationMatchesIdsAndText) {
  const Golden g = LoadGolden(GoldenFile());
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = static_cast<int32_t>(g.generated_ids.size());
  o.temperature = 0.0f;
  std::pair<std::vector<int64_t>, std::string> out;
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  ASSERT_EQ(kite_generate(session_, g.prompt.c_str(), &o, Collect, &out, &stats), KITE_OK)
      << kite_session_last_error(session_);
  EXPECT_EQ(stats.prompt_tokens, g.prompt_ids.size());
  EXPECT_EQ(stats.stop_reason, KITE_STOP_MAX_TOKENS);
  EXPECT_EQ(out.first, g.generated_ids);
  EXPECT_EQ(g.prompt + out.second, g.decoded_text);
}

TEST_P(GoldenTest, FirstStepLogitsWithinTolerance) {
  const Golden g = LoadGolden(GoldenFile());
  const std::vector<int32_t> ids(g.prompt_ids.begin(), g.prompt_ids.end());
  ASSERT_EQ(kite_session_feed(session_, ids.data(), ids.size()), KITE_OK)
      << kite_session_last_error(session_);
  const float* logits = nullptr;
  size_t n = 0;
  ASSERT_EQ(kite_session_logits(session_, &logits, &n), KITE_OK);
  ASSERT_EQ(n, g.first_step_logits.size());
  double worst = 0.0;
  for (size_t i = 0; i < n; ++i) worst = std::fmax(worst, std::fabs(logits[i] - g.first_step_logits[i]));
  std::printf("max |logit - golden| = %.3g\n", worst);
  EXPECT_LE(worst, Case().logit_tolerance);
}

std::string CaseName(const ::testing::TestParamInfo<GoldenTest::ParamType>& info) {
  std::string name = std::string(std::get<0>(info.param).file) + "_" + std::get<1>(info.param);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    Stories260K, GoldenTest,
    ::testing::Combine(::testing::Values(ModelCase{"stories260K-f32.kite", 1e-4},
                                         ModelCase{"stories260K-hf-f32.kite", 1e-4},
                                         ModelCase{"stories260K-hf-bf16.kite", 0.1},
                                         ModelCase{"stories260K-gguf-f32.kite", 1e-4}),
                       ::testing::Values("stories260K-greedy-once_upon_a_time.json",
                                         "stories260K-greedy-the_little_dog.json")),
    CaseName);

}  // namespace
