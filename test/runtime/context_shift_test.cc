// Context shift (kite_session_options.context_shift / n_keep, issue 14 item 2): generation
// runs for 10x the context without error; right after a shift the session holds exactly
// what a fresh session fed the kept tokens holds (the same logits, bit for bit: the moved
// tokens are recomputed, not re-rotated); without the option a full context still stops
// generation; n_keep too large is refused naming it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/model_suite.h"
#include "test/common/test_paths.h"

namespace {

constexpr uint32_t kContext = 64;

kite_session* NewSession(kite_model* m, int shift, uint32_t n_keep, uint32_t chunk = 64,
                         kite_backend backend = KITE_BACKEND_CPU) {
  kite_session_options o;
  kite_session_options_init(&o);
  o.backend = backend;
  o.max_context = kContext;
  o.prefill_chunk = chunk;
  o.context_shift = shift;
  o.n_keep = n_keep;
  kite_session* s = nullptr;
  EXPECT_EQ(kite_session_create(m, &o, nullptr, 0, &s), KITE_OK) << kite_last_error();
  return s;
}

struct Recorded {
  std::vector<int32_t> ids;
  size_t stop_after = 0;  // 0: never stop
};

int Record(const char*, int32_t t, void* u) {
  Recorded* r = static_cast<Recorded*>(u);
  if (t >= 0) r->ids.push_back(t);
  return r->stop_after != 0 && r->ids.size() >= r->stop_after ? KITE_STOP : KITE_CONTINUE;
}

kite_generate_stats Generate(kite_session* s, const char* prompt, int n, Recorded* run) {
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = n;
  o.temperature = 0;
  kite_generate_stats st;
  st.struct_size = sizeof(st);
  EXPECT_EQ(kite_generate(s, prompt, &o, Record, run, &st), KITE_OK) << kite_session_last_error(s);
  return st;
}

std::vector<int32_t> Tokens(kite_session* s) {
  std::vector<int32_t> ids(kite_session_position(s));
  size_t n = 0;
  EXPECT_EQ(kite_session_tokens(s, ids.data(), ids.size(), &n), KITE_OK);
  return ids;
}

std::vector<float> Logits(kite_session* s) {
  const float* l = nullptr;
  size_t n = 0;
  EXPECT_EQ(kite_session_logits(s, &l, &n), KITE_OK);
  return std::vector<float>(l, l + n);
}

class ContextShift : public kite::test::Stories260KSuite<> {};

TEST_F(ContextShift, GeneratesTenTimesTheContext) {
  // And on a Vulkan device when there is one (lavapipe stands in for a GPU here).
  setenv("KITE_VULKAN_ALLOW_CPU", "1", 1);
  for (kite_backend backend : {KITE_BACKEND_CPU, KITE_BACKEND_AUTO}) {
    SCOPED_TRACE(backend);
    kite_session* s = NewSession(m, 1, 8, 64, backend);
    // 10x the context on the CPU; 3x (several shifts) on the slower software device.
    const size_t want = backend == KITE_BACKEND_CPU ? 10 * kContext : 3 * kContext;
    Recorded run;
    const kite_generate_stats st = Generate(s, "Once upon a time", want, &run);
    // The story model may end a story (an end token); start the next one until `want` is done.
    size_t total = run.ids.size();
    for (int i = 0; i < 50 && total < want; ++i) {
      EXPECT_NE(st.stop_reason, KITE_STOP_CONTEXT_FULL);
      Recorded more;
      const kite_generate_stats next = Generate(s, " The", want - total, &more);
      EXPECT_NE(next.stop_reason, KITE_STOP_CONTEXT_FULL);
      total += more.ids.size();
    }
    EXPECT_GE(total, want);
    EXPECT_LE(kite_session_position(s), kContext);
    kite_session_destroy(s);
  }
}

TEST_F(ContextShift, RightAfterAShiftTheSessionEqualsAFreshOneFedTheKeptTokens) {
  for (uint32_t n_keep : {0u, 6u, 20u}) {
    SCOPED_TRACE(n_keep);
    kite_session* a = NewSession(m, 1, n_keep);
    // Stop on the token that no longer fits: it is fed after the shift.
    Recorded first;
    Generate(a, "Once upon a time", 20, &first);
    const uint32_t before = kite_session_position(a);
    Recorded run;
    run.stop_after = kContext - before + 1;
    Generate(a, "", kContext, &run);
    ASSERT_EQ(run.ids.size(), run.stop_after);
    const std::vector<int32_t> kept = Tokens(a);
    const uint32_t rest = kContext - n_keep;
    EXPECT_EQ(kept.size(), n_keep + (rest - rest / 2) + 1u);
    // A fresh session fed the kept tokens the same way: all but the last as a prompt, the
    // last one alone (as generation fed it).
    kite_session* b = NewSession(m, 0, 0);
    ASSERT_EQ(kite_session_feed(b, kept.data(), kept.size() - 1), KITE_OK);
    ASSERT_EQ(kite_session_feed(b, &kept.back(), 1), KITE_OK);
    EXPECT_EQ(Logits(a), Logits(b));
    Recorded after_a, after_b;
    Generate(a, "", 16, &after_a);
    Generate(b, "", 16, &after_b);
    EXPECT_EQ(after_a.ids, after_b.ids);
    kite_session_destroy(b);
    kite_session_destroy(a);
  }
}

TEST_F(ContextShift, OffByDefaultAndNKeepChecked) {
  kite_session* s = NewSession(m, 0, 0);
  Recorded run;
  const kite_generate_stats st = Generate(s, "Once upon a time", 10 * kContext, &run);
  if (st.stop_reason != KITE_STOP_END_TOKEN) {
    EXPECT_EQ(st.stop_reason, KITE_STOP_CONTEXT_FULL);
    EXPECT_EQ(kite_session_position(s), kContext);
  }
  kite_session_destroy(s);

  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = kContext;
  o.context_shift = 1;
  o.n_keep = kContext - 1;
  kite_session* bad = nullptr;
  EXPECT_EQ(kite_session_create(m, &o, nullptr, 0, &bad), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kite_last_error()).find("n_keep"), std::string::npos) << kite_last_error();
  o.context_shift = 0;  // ignored without a shift
  ASSERT_EQ(kite_session_create(m, &o, nullptr, 0, &bad), KITE_OK);
  kite_session_destroy(bad);
  // A version 3 struct (ending before context_shift) is accepted: no shift.
  o.struct_size = offsetof(kite_session_options, context_shift);
  o.context_shift = 1;
  ASSERT_EQ(kite_session_create(m, &o, nullptr, 0, &bad), KITE_OK) << kite_last_error();
  kite_session_destroy(bad);
}

}  // namespace
