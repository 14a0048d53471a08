// The 4-bit model, teacher-forced over the dev stories, agrees with the f32 model's top-1
// prediction at >= 85% of positions (the 8-bit model at >= 97%).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"

namespace {

std::vector<std::vector<int32_t>> LoadStories() {
  std::vector<std::vector<int32_t>> stories;
  for (const std::vector<int64_t>& ids : kite::test::StoryTokenIds(
           kite::test::SharedModel("eval/stories260K-samples-dev.tokens.json"))) {
    stories.emplace_back(ids.begin(), ids.end());
  }
  return stories;
}

struct Opened {
  kite_model* model = nullptr;
  kite_session* session = nullptr;
  ~Opened() {
    kite_session_destroy(session);
    kite_model_close(model);
  }
};

void Open(const std::string& name, Opened* o) {
  ASSERT_EQ(kite_model_open_file(kite::test::TestModel(name).c_str(), nullptr, &o->model), KITE_OK)
      << kite_last_error();
  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = 512;
  ASSERT_EQ(kite_session_create(o->model, &so, nullptr, 0, &o->session), KITE_OK) << kite_last_error();
}

int Argmax(const float* x, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i) best = x[i] > x[best] ? i : best;
  return static_cast<int>(best);
}

// KL(p || q) of the softmaxes of two logit vectors.
double Kl(const float* p_logits, const float* q_logits, size_t n) {
  double pm = p_logits[0], qm = q_logits[0];
  for (size_t i = 1; i < n; ++i) {
    pm = std::fmax(pm, p_logits[i]);
    qm = std::fmax(qm, q_logits[i]);
  }
  double ps = 0, qs = 0;
  for (size_t i = 0; i < n; ++i) {
    ps += std::exp(p_logits[i] - pm);
    qs += std::exp(q_logits[i] - qm);
  }
  double kl = 0;
  for (size_t i = 0; i < n; ++i) {
    const double lp = p_logits[i] - pm - std::log(ps);
    const double lq = q_logits[i] - qm - std::log(qs);
    kl += std::exp(lp) * (lp - lq);
  }
  return kl;
}

// Teacher-forced top-1 agreement of `name` with the f32 model over the dev stories.
double Top1Agreement(const char* name) {
  const auto stories = LoadStories();
  EXPECT_EQ(stories.size(), 100u);
  Opened f32, q4;
  Open("stories260K-f32.kite", &f32);
  Open(name, &q4);
  size_t agree = 0, total = 0;
  double kl_sum = 0;
  for (const auto& story : stories) {
    EXPECT_EQ(kite_session_reset(f32.session), KITE_OK);
    EXPECT_EQ(kite_session_reset(q4.session), KITE_OK);
    for (size_t t = 0; t + 1 < story.size(); ++t) {
      EXPECT_EQ(kite_session_feed(f32.session, &story[t], 1), KITE_OK);
      EXPECT_EQ(kite_session_feed(q4.session, &story[t], 1), KITE_OK);
      const float *a = nullptr, *b = nullptr;
      size_t na = 0, nb = 0;
      EXPECT_EQ(kite_session_logits(f32.session, &a, &na), KITE_OK);
      EXPECT_EQ(kite_session_logits(q4.session, &b, &nb), KITE_OK);
      if (na != nb || a == nullptr || b == nullptr) return 0.0;
      agree += Argmax(a, na) == Argmax(b, nb);
      kl_sum += Kl(a, b, na);
      ++total;
    }
  }
  const double top1 = static_cast<double>(agree) / static_cast<double>(total);
  std::printf("%s vs f32, teacher-forced over %zu positions of %zu stories: top-1 agreement "
              "%.2f%%, mean KL %.5f\n",
              name, total, stories.size(), 100.0 * top1, kl_sum / static_cast<double>(total));
  return top1;
}

TEST(Q4Agreement, TeacherForcedTop1AtLeast85Percent) {
  const double top1 = Top1Agreement("stories260K-q4.kite");
  RecordProperty("top1_agreement", std::to_string(top1));
  EXPECT_GE(top1, 0.85);
}

TEST(Q8Agreement, TeacherForcedTop1AtLeast97Percent) {
  EXPECT_GE(Top1Agreement("stories260K-q8.kite"), 0.97);
}

}  // namespace
