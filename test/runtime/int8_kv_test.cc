// The int8 KV cache (kite_session_options.kv_type = KITE_KV_INT8) stays close to the f32
// one on stories260K: along the f32 session's greedy continuation of each golden prompt,
// the int8 session's logits stay within a bound and its top token mostly agrees; a
// session of struct version 1 (no kv_type) is an f32 one. (kite-eval measures the KL
// divergence over the dev stories: docs/performance.md.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"

namespace {

// The prompt ids of a golden file.
std::vector<int32_t> GoldenPrompt(const std::string& file) {
  std::vector<int64_t> ids;
  EXPECT_TRUE(kite::test::JsonIntArray(
      kite::test::LoadJson(kite::test::SharedModel("goldens/" + file)), "prompt_token_ids", &ids));
  return std::vector<int32_t>(ids.begin(), ids.end());
}

size_t Argmax(const std::vector<float>& v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

// A model and one session on it, with the given ISA ceiling and KV type.
class Runner {
 public:
  Runner(const char* model_file, uint32_t kv_type, const char* isa = nullptr) {
    kite_model_options mo;
    kite_model_options_init(&mo);
    mo.max_isa = isa;
    EXPECT_EQ(kite_model_open_file(kite::test::TestModel(model_file).c_str(), &mo, &model_),
              KITE_OK)
        << kite_last_error();
    kite_session_options so;
    kite_session_options_init(&so);
    so.max_context = 256;
    so.kv_type = kv_type;
    if (model_ != nullptr) {
      EXPECT_EQ(kite_session_create(model_, &so, nullptr, 0, &session_), KITE_OK)
          << kite_last_error();
    }
  }
  ~Runner() {
    kite_session_destroy(session_);
    kite_model_close(model_);
  }
  bool ok() const { return session_ != nullptr; }

  // Feeds `ids` and returns the logits after the last one.
  std::vector<float> Feed(const std::vector<int32_t>& ids) {
    EXPECT_EQ(kite_session_feed(session_, ids.data(), ids.size()), KITE_OK)
        << kite_session_last_error(session_);
    const float* logits = nullptr;
    size_t n = 0;
    EXPECT_EQ(kite_session_logits(session_, &logits, &n), KITE_OK);
    return logits != nullptr ? std::vector<float>(logits, logits + n) : std::vector<float>();
  }

 private:
  kite_model* model_ = nullptr;
  kite_session* session_ = nullptr;
};

struct Agreement {
  double max_abs_diff = 0;  // largest |logit difference| at any step
  int steps = 0;
  int top1_agree = 0;       // steps whose argmax agrees
};

// Feeds the golden prompt to both runs, then the reference's greedy token to both for
// `steps` steps (teacher forcing: both see the same context), comparing logits each time.
Agreement Compare(Runner* reference, Runner* other, const std::vector<int32_t>& prompt, int steps) {
  Agreement a;
  std::vector<float> want = reference->Feed(prompt);
  std::vector<float> got = other->Feed(prompt);
  for (int s = 0;; ++s) {
    if (want.empty() || want.size() != got.size()) {
      ADD_FAILURE() << "missing logits at step " << s;
      return a;
    }
    for (size_t i = 0; i < want.size(); ++i) {
      a.max_abs_diff = std::fmax(a.max_abs_diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    }
    const size_t next = Argmax(want);
    ++a.steps;
    if (Argmax(got) == next) ++a.top1_agree;
    if (s == steps) return a;
    want = reference->Feed({static_cast<int32_t>(next)});
    got = other->Feed({static_cast<int32_t>(next)});
  }
}

struct Case {
  const char* model;
  double max_abs_diff;  // bound on the int8-vs-f32 logit difference
};

class Int8KvTest : public ::testing::TestWithParam<Case> {};

// Under the scalar kernels (attention_q8kv_ref) and the best this CPU has. (The ISAs are not
// compared with each other here: a last-bit difference in a key before rounding moves it by
// a whole quantization step, so whole-model logits differ across ISAs by more than the
// kernels do; the kernel tester compares each variant with the reference directly.)
TEST_P(Int8KvTest, StaysCloseToF32Kv) {
  for (const char* isa : {"scalar", "best"}) {
    for (const char* golden :
         {"stories260K-greedy-once_upon_a_time.json", "stories260K-greedy-the_little_dog.json"}) {
      Runner f32(GetParam().model, KITE_KV_F32, isa);
      Runner int8(GetParam().model, KITE_KV_INT8, isa);
      ASSERT_TRUE(f32.ok() && int8.ok());
      const Agreement a = Compare(&f32, &int8, GoldenPrompt(golden), 128);
      std::printf("%s %s %s: max |logit(int8 KV) - logit(f32 KV)| = %.4f, top-1 agreement "
                  "%d/%d\n",
                  GetParam().model, isa, golden, a.max_abs_diff, a.top1_agree, a.steps);
      EXPECT_LE(a.max_abs_diff, GetParam().max_abs_diff) << isa << " " << golden;
      // 94%: today 96-99% (the 4-bit model's "once upon a time" is the lowest).
      EXPECT_GE(a.top1_agree * 100, a.steps * 94) << isa << " " << golden;
      EXPECT_GT(a.max_abs_diff, 0.0) << "the int8 cache was not used";
    }
  }
}

// Bounds: today's largest difference over both prompts and ISAs (0.51 for the f32 model,
// 1.28 for the 4-bit one, whose logits are larger; x86-64 AVX-512 and scalar, aarch64 NEON
// under qemu) with some margin. The symmetric format before the asymmetric one (one f32
// max|x| / 127 scale per head) reached 0.9 and 2.5: it fails these.
INSTANTIATE_TEST_SUITE_P(Stories260K, Int8KvTest,
                         ::testing::Values(Case{"stories260K-f32.kite", 0.8},
                                           Case{"stories260K-q4.kite", 2.0}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.model).find("q4") != std::string::npos
                                      ? std::string("q4")
                                      : std::string("f32");
                         });

// A prompt long enough for a chunk's attention to split into (head, query range) tasks (the
// golden prompt and its continuation, 69 tokens) gives the same logits fed at once as token
// by token (f32 weights, so the products do not depend on the chunk).
TEST(Int8KvChunked, SplitAttentionMatchesTokenByToken) {
  std::vector<int32_t> prompt = GoldenPrompt("stories260K-greedy-once_upon_a_time.json");
  std::vector<int64_t> more;
  ASSERT_TRUE(kite::test::JsonIntArray(
      kite::test::LoadJson(
          kite::test::SharedModel("goldens/stories260K-greedy-once_upon_a_time.json")),
      "generated_token_ids", &more));
  prompt.insert(prompt.end(), more.begin(), more.end());
  for (const char* isa : {"scalar", "best"}) {
    Runner chunked("stories260K-f32.kite", KITE_KV_INT8, isa);
    Runner single("stories260K-f32.kite", KITE_KV_INT8, isa);
    ASSERT_TRUE(chunked.ok() && single.ok());
    const std::vector<float> want = chunked.Feed(prompt);
    std::vector<float> got;
    for (int32_t id : prompt) got = single.Feed({id});
    EXPECT_EQ(got, want) << isa;
  }
}

// kite_session_options of struct version 1 (before kv_type) is accepted and means f32 KV;
// an unknown kv_type is rejected, naming it.
TEST(Int8KvOptions, VersionOneStructAndBadValue) {
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(kite::test::TestModel("stories260K-q4.kite").c_str(), nullptr,
                                 &model),
            KITE_OK);
  kite_session_options so;
  kite_session_options_init(&so);
  size_t f32_bytes = 0, v1_bytes = 0, int8_bytes = 0;
  ASSERT_EQ(kite_session_memory_required(model, &so, &f32_bytes), KITE_OK);
  so.kv_type = KITE_KV_INT8;
  ASSERT_EQ(kite_session_memory_required(model, &so, &int8_bytes), KITE_OK);
  // A version-1 caller never sets kv_type: whatever lies there is not read.
  so.struct_size = offsetof(kite_session_options, kv_type);
  ASSERT_EQ(kite_session_memory_required(model, &so, &v1_bytes), KITE_OK) << kite_last_error();
  EXPECT_EQ(v1_bytes, f32_bytes);
  EXPECT_LT(int8_bytes, f32_bytes);
  kite_session_options_init(&so);
  so.kv_type = 7;
  EXPECT_EQ(kite_session_memory_required(model, &so, &v1_bytes), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kite_last_error()).find("kv_type"), std::string::npos)
      << kite_last_error();
  kite_session* s = nullptr;
  EXPECT_EQ(kite_session_create(model, &so, nullptr, 0, &s), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  kite_model_close(model);
}

}  // namespace
