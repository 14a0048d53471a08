// The C API's contract: open paths (file, fd, memory), info, tokenize round trip, sessions
// sharing one model, callback stop, cancel (before a call, from the callback, from another
// thread, during prefill), logits presence, the error rule and the struct_size rule of
// kite.h, reset, version.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "kite/kite.h"
#include "test/common/greedy.h"
#include "test/common/read_file.h"
#include "test/common/test_paths.h"

namespace {

const std::string kModel = kite::test::TestModel("stories260K-q4.kite");

using kite::test::GreedyTokens;

kite_session* NewSession(kite_model* m, uint32_t ctx = 128) {
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = ctx;
  kite_session* s = nullptr;
  EXPECT_EQ(kite_session_create(m, &o, nullptr, 0, &s), KITE_OK) << kite_last_error();
  return s;
}

TEST(CApi, VersionAndStatusStrings) {
  EXPECT_STREQ(kite_version(), "0.1.0");
  EXPECT_STREQ(kite_status_string(KITE_OK), "ok");
  EXPECT_STREQ(kite_status_string(KITE_ERR_INVALID_MODEL), "invalid model file");
  EXPECT_STRNE(kite_status_string(static_cast<kite_status>(99)), "");
}

TEST(CApi, OpenFromPathFdMemoryAndHugePagesGiveTheSameTokens) {
  kite_model* by_path = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &by_path), KITE_OK);
  const int fd = open(kModel.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  kite_model* by_fd = nullptr;
  ASSERT_EQ(kite_model_open_fd(fd, nullptr, &by_fd), KITE_OK) << kite_last_error();
  close(fd);  // the mapping outlives the descriptor
  std::string bytes;
  ASSERT_TRUE(kite::test::ReadWholeFile(kModel, &bytes));
  void* mem = ::operator new(bytes.size(), std::align_val_t(64));
  std::memcpy(mem, bytes.data(), bytes.size());
  kite_model* by_mem = nullptr;
  ASSERT_EQ(kite_model_open_memory(mem, bytes.size(), nullptr, &by_mem), KITE_OK) << kite_last_error();
  kite_model_options huge_options;
  kite_model_options_init(&huge_options);
  huge_options.huge_pages = 1;
  kite_model* by_huge = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), &huge_options, &by_huge), KITE_OK) << kite_last_error();
  kite_model* missing = nullptr;
  EXPECT_EQ(kite_model_open_file("/nonexistent.kite", &huge_options, &missing), KITE_ERR_IO);
  EXPECT_EQ(kite_model_open_file(::testing::TempDir().c_str(), &huge_options, &missing), KITE_ERR_IO);

  kite_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(kite_model_get_info(by_mem, &info), KITE_OK);
  EXPECT_EQ(info.dim, 64u);
  EXPECT_EQ(info.n_layers, 5u);
  EXPECT_EQ(info.n_kv_heads, 4u);
  EXPECT_EQ(info.vocab_size, 512u);
  EXPECT_EQ(info.max_seq_len, 512u);
  EXPECT_EQ(info.bos_id, 1);
  EXPECT_EQ(info.file_bytes, bytes.size());

  std::vector<int32_t> reference;
  for (kite_model* m : {by_path, by_fd, by_mem, by_huge}) {
    kite_session* s = NewSession(m);
    const auto ids = GreedyTokens(s, "Once upon a time", 20);
    EXPECT_EQ(ids.size(), 20u);
    if (reference.empty()) reference = ids;
    EXPECT_EQ(ids, reference);
    kite_session_destroy(s);
  }
  kite_model_close(by_path);
  kite_model_close(by_fd);
  kite_model_close(by_mem);
  kite_model_close(by_huge);
  ::operator delete(mem, std::align_val_t(64));
}

TEST(CApi, TokenizeDetokenizeRoundTrip) {
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &m), KITE_OK);
  const std::string text = "The little dog ran to the park.";
  std::vector<int32_t> ids(text.size() + 2);
  size_t n = 0;
  ASSERT_EQ(kite_tokenize(m, text.data(), text.size(), 1, ids.data(), ids.size(), &n), KITE_OK);
  ASSERT_GT(n, 2u);
  EXPECT_EQ(ids[0], 1);
  char out[256];
  size_t len = 0;
  ASSERT_EQ(kite_detokenize(m, ids.data(), n, out, sizeof(out), &len), KITE_OK);
  EXPECT_EQ(std::string(out, len), text);
  EXPECT_EQ(kite_detokenize(m, ids.data(), n, out, 5, &len), KITE_ERR_OUT_OF_MEMORY);
  kite_model_close(m);
}

TEST(CApi, SessionsShareAModelIndependently) {
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &m), KITE_OK);
  kite_session* a = NewSession(m);
  kite_session* b = NewSession(m);
  const auto first = GreedyTokens(a, "The little dog", 16);
  GreedyTokens(b, "Once upon a time", 30);  // must not disturb session a
  kite_session_reset(a);
  EXPECT_EQ(kite_session_position(a), 0u);
  EXPECT_EQ(GreedyTokens(a, "The little dog", 16), first);
  kite_session_destroy(a);
  kite_session_destroy(b);
  kite_model_close(m);
}

TEST(CApi, CallbackStopAndCancel) {
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &m), KITE_OK);
  kite_session* s = NewSession(m);
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = 50;
  kite_generate_stats st;
  st.struct_size = sizeof(st);
  int seen = 0;
  ASSERT_EQ(kite_generate(s, "Once", &o,
                          [](const char*, int32_t, void* u) {
                            return ++*static_cast<int*>(u) == 3 ? KITE_STOP : KITE_CONTINUE;
                          },
                          &seen, &st),
            KITE_OK);
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(st.generated_tokens, 3u);
  EXPECT_EQ(st.stop_reason, KITE_STOP_CALLBACK);

  kite_session_reset(s);
  struct CancelAfter {
    kite_session* s;
    int n;
  } c{s, 0};
  ASSERT_EQ(kite_generate(s, "Once", &o,
                          [](const char*, int32_t, void* u) {
                            auto* c = static_cast<CancelAfter*>(u);
                            if (++c->n == 5) kite_session_cancel(c->s);
                            return KITE_CONTINUE;
                          },
                          &c, &st),
            KITE_ERR_CANCELLED);
  EXPECT_EQ(st.stop_reason, KITE_STOP_CANCELLED);
  EXPECT_EQ(st.generated_tokens, 5u);
  // The delivered tokens stay in the context; the cancel was consumed.
  EXPECT_EQ(kite_session_position(s), st.prompt_tokens + 5u);
  EXPECT_STRNE(kite_session_last_error(s), "");
  EXPECT_EQ(kite_generate(s, "", &o, nullptr, nullptr, &st), KITE_OK) << kite_session_last_error(s);
  EXPECT_EQ(st.stop_reason, KITE_STOP_MAX_TOKENS);
  kite_session_destroy(s);
  kite_model_close(m);
}

TEST(CApi, SeededSamplingIsReproducible) {
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &m), KITE_OK);
  kite_session* s = NewSession(m, 256);
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = 40;
  o.temperature = 1.0f;
  o.top_p = 0.9f;
  std::vector<int32_t> runs[3];
  for (int r = 0; r < 3; ++r) {
    o.seed = r < 2 ? 1234 : 99;
    kite_session_reset(s);
    ASSERT_EQ(kite_generate(s, "", &o,
                            [](const char*, int32_t t, void* u) {
                              static_cast<std::vector<int32_t>*>(u)->push_back(t);
                              return KITE_CONTINUE;
                            },
                            &runs[r], nullptr),
              KITE_OK);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_NE(runs[0], runs[2]);
  kite_session_destroy(s);
  kite_model_close(m);
}

// Greedy tokens of one kite_generate call (any status); *status receives it.
std::vector<int32_t> Collect(kite_session* s, const char* prompt, int n, kite_status* status,
                             kite_generate_stats* stats = nullptr) {
  std::vector<int32_t> ids;
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = n;
  *status = kite_generate(s, prompt, &o,
                          [](const char*, int32_t t, void* u) {
                            static_cast<std::vector<int32_t>*>(u)->push_back(t);
                            return KITE_CONTINUE;
                          },
                          &ids, stats);
  return ids;
}

class CApiSession : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &model_), KITE_OK);
    session_ = NewSession(model_, 256);
    ASSERT_NE(session_, nullptr);
  }
  void TearDown() override {
    kite_session_destroy(session_);
    kite_model_close(model_);
  }
  kite_model* model_ = nullptr;
  kite_session* session_ = nullptr;
};

// Issue 18.4: a cancel issued before the call was lost (the flag was cleared on entry).
TEST_F(CApiSession, CancelBeforeGenerateStopsTheNextCallOnly) {
  kite_status st = KITE_OK;
  const auto reference = Collect(session_, "Once upon a time", 12, &st);
  ASSERT_EQ(st, KITE_OK);
  ASSERT_EQ(kite_session_reset(session_), KITE_OK);

  kite_session_cancel(session_);
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  stats.generated_tokens = 99;
  const auto none = Collect(session_, "Once upon a time", 12, &st, &stats);
  EXPECT_EQ(st, KITE_ERR_CANCELLED);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(stats.stop_reason, KITE_STOP_CANCELLED);
  EXPECT_EQ(stats.generated_tokens, 0u);
  EXPECT_EQ(stats.prompt_tokens, 0u);
  EXPECT_EQ(kite_session_position(session_), 0u) << "the prompt must not stay in the context";
  EXPECT_STRNE(kite_session_last_error(session_), "");
  EXPECT_STREQ(kite_last_error(), kite_session_last_error(session_));

  // Consumed: the next call runs, and as if nothing had happened.
  EXPECT_EQ(Collect(session_, "Once upon a time", 12, &st), reference);
  EXPECT_EQ(st, KITE_OK);
  EXPECT_STREQ(kite_session_last_error(session_), "");

  // kite_session_feed honours it too and changes nothing.
  const int32_t ids[3] = {1, 20, 30};
  const uint32_t before = kite_session_position(session_);
  kite_session_cancel(session_);
  EXPECT_EQ(kite_session_feed(session_, ids, 3), KITE_ERR_CANCELLED);
  EXPECT_EQ(kite_session_position(session_), before);
  EXPECT_EQ(kite_session_feed(session_, ids, 3), KITE_OK);
  EXPECT_EQ(kite_session_position(session_), before + 3);

  // A call that fails on its arguments leaves the cancel pending; reset withdraws it.
  kite_session_cancel(session_);
  const int32_t bad = 100000;
  EXPECT_EQ(kite_session_feed(session_, &bad, 1), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kite_session_feed(session_, ids, 1), KITE_ERR_CANCELLED);
  kite_session_cancel(session_);
  ASSERT_EQ(kite_session_reset(session_), KITE_OK);
  EXPECT_EQ(Collect(session_, "Once upon a time", 12, &st), reference);
  EXPECT_EQ(st, KITE_OK);
}

// A cancel from the callback on the last allowed token stops this call, not the next.
TEST_F(CApiSession, CancelFromTheCallbackOnTheLastTokenStopsThisCall) {
  struct Ctx {
    kite_session* s;
    int n;
  } c{session_, 0};
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = 4;
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  EXPECT_EQ(kite_generate(session_, "Once", &o,
                          [](const char*, int32_t, void* u) {
                            auto* c = static_cast<Ctx*>(u);
                            if (++c->n == 4) kite_session_cancel(c->s);
                            return KITE_CONTINUE;
                          },
                          &c, &stats),
            KITE_ERR_CANCELLED);
  EXPECT_EQ(stats.generated_tokens, 4u);
  EXPECT_EQ(stats.stop_reason, KITE_STOP_CANCELLED);
  kite_status st = KITE_OK;
  EXPECT_EQ(Collect(session_, "", 3, &st).size(), 3u);
  EXPECT_EQ(st, KITE_OK);
}

// Another thread cancels while tokens are being generated: the call stops right after the
// token during which the cancel arrived, and returns KITE_ERR_CANCELLED.
TEST_F(CApiSession, CancelFromAnotherThreadWhileGenerating) {
  struct Ctx {
    std::atomic<int> tokens{0};
    std::atomic<bool> cancelled{false};
  } c;
  std::thread canceller([&] {
    while (c.tokens.load() < 3) std::this_thread::yield();
    kite_session_cancel(session_);
    c.cancelled.store(true);
  });
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = 100;
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  const kite_status st = kite_generate(session_, "Once upon a time", &o,
                                       [](const char*, int32_t, void* u) {
                                         auto* c = static_cast<Ctx*>(u);
                                         // The third token waits for the other thread.
                                         if (++c->tokens == 3) {
                                           while (!c->cancelled.load()) std::this_thread::yield();
                                         }
                                         return KITE_CONTINUE;
                                       },
                                       &c, &stats);
  canceller.join();
  EXPECT_EQ(st, KITE_ERR_CANCELLED);
  EXPECT_EQ(stats.generated_tokens, 3u);
  EXPECT_EQ(stats.stop_reason, KITE_STOP_CANCELLED);
  EXPECT_EQ(kite_session_position(session_), stats.prompt_tokens + 3u);
}

// A cancel during a long prefill either comes too late (the feed completes) or rolls the
// feed back entirely: never a half-fed context.
TEST(CApi, CancelDuringPrefillRollsItBack) {
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &m), KITE_OK);
  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = 512;
  so.prefill_chunk = 1;
  kite_session* s = nullptr;
  ASSERT_EQ(kite_session_create(m, &so, nullptr, 0, &s), KITE_OK);
  std::vector<int32_t> ids(400);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(1 + i % 300);
  int cancelled = 0;
  for (int round = 0; round < 6; ++round) {
    ASSERT_EQ(kite_session_reset(s), KITE_OK);
    ASSERT_EQ(kite_session_feed(s, ids.data(), 10), KITE_OK);
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::microseconds(200 * round));
      kite_session_cancel(s);
    });
    const kite_status st = kite_session_feed(s, ids.data() + 10, ids.size() - 10);
    canceller.join();
    const float* logits = nullptr;
    size_t n = 0;
    if (st == KITE_ERR_CANCELLED) {
      ++cancelled;
      EXPECT_EQ(kite_session_position(s), 10u);
    } else {
      ASSERT_EQ(st, KITE_OK);
      EXPECT_EQ(kite_session_position(s), 400u);
      // The cancel came after the feed's last check: it stops the next call.
      EXPECT_EQ(kite_session_feed(s, ids.data(), 1), KITE_ERR_CANCELLED);
    }
    EXPECT_EQ(kite_session_logits(s, &logits, &n), KITE_OK);
  }
  EXPECT_GT(cancelled, 0) << "no round cancelled during the prefill";
  kite_session_destroy(s);
  kite_model_close(m);
}

// Issue 18.7: a session without a prediction said KITE_OK and handed out stale logits.
TEST_F(CApiSession, LogitsOnlyWhenThereIsAPrediction) {
  const float* logits = reinterpret_cast<const float*>(&logits);
  size_t n = 7;
  EXPECT_EQ(kite_session_logits(session_, &logits, &n), KITE_ERR_INVALID_ARGUMENT);  // fresh
  EXPECT_EQ(logits, nullptr);
  EXPECT_EQ(n, 0u);
  EXPECT_STRNE(kite_session_last_error(session_), "");

  const int32_t ids[4] = {1, 20, 30, 40};
  ASSERT_EQ(kite_session_feed(session_, ids, 4), KITE_OK);
  ASSERT_EQ(kite_session_logits(session_, &logits, &n), KITE_OK);
  EXPECT_NE(logits, nullptr);
  EXPECT_EQ(n, 512u);
  EXPECT_STREQ(kite_session_last_error(session_), "");

  ASSERT_EQ(kite_session_reset(session_), KITE_OK);
  EXPECT_EQ(kite_session_logits(session_, &logits, &n), KITE_ERR_INVALID_ARGUMENT);

  // A cancelled feed on an empty session leaves none.
  kite_session_cancel(session_);
  EXPECT_EQ(kite_session_feed(session_, ids, 4), KITE_ERR_CANCELLED);
  EXPECT_EQ(kite_session_logits(session_, &logits, &n), KITE_ERR_INVALID_ARGUMENT);

  // After generation (stopped at max_tokens), the prediction after the last generated
  // token: the same as feeding the prompt and the generated ids to a fresh session.
  kite_status st = KITE_OK;
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  const auto generated = Collect(session_, "Once", 5, &st, &stats);
  ASSERT_EQ(st, KITE_OK);
  ASSERT_EQ(generated.size(), 5u);
  ASSERT_EQ(kite_session_logits(session_, &logits, &n), KITE_OK);
  const std::vector<float> after_generate(logits, logits + n);
  int32_t prompt[16];
  size_t n_prompt = 0;
  ASSERT_EQ(kite_tokenize(model_, "Once", 4, 1, prompt, 16, &n_prompt), KITE_OK);
  std::vector<int32_t> all(prompt, prompt + n_prompt);
  all.insert(all.end(), generated.begin(), generated.end());
  kite_session* fresh = NewSession(model_, 256);
  ASSERT_EQ(kite_session_feed(fresh, all.data(), all.size()), KITE_OK);
  ASSERT_EQ(kite_session_logits(fresh, &logits, &n), KITE_OK);
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(after_generate[i], logits[i], 1e-3f) << i;
  kite_session_destroy(fresh);
}

// Continuing with an empty prompt after a call that stopped at max_tokens predicts from
// the last token (it sampled from the stale logits of the token before).
TEST_F(CApiSession, ContinuingWithAnEmptyPromptEqualsOneLongCall) {
  kite_status st = KITE_OK;
  const auto whole = Collect(session_, "Once upon a time", 16, &st);
  ASSERT_EQ(st, KITE_OK);
  ASSERT_EQ(kite_session_reset(session_), KITE_OK);
  auto parts = Collect(session_, "Once upon a time", 8, &st);
  ASSERT_EQ(st, KITE_OK);
  const auto rest = Collect(session_, "", 8, &st);
  ASSERT_EQ(st, KITE_OK);
  parts.insert(parts.end(), rest.begin(), rest.end());
  EXPECT_EQ(parts, whole);
}

// The error rule of kite.h: every status-returning call sets the thread's last error (""
// on success), calls on a session set the session's too, and the others touch neither.
TEST_F(CApiSession, EveryCallFollowsTheErrorRule) {
  int32_t ids[64];
  size_t n = 0;
  char text[64];
  size_t len = 0;
  const auto failed = [](const char* what) {
    EXPECT_STRNE(kite_last_error(), "") << what;
  };
  const auto cleared = [](const char* what) { EXPECT_STREQ(kite_last_error(), "") << what; };

  // Model-level calls: thread-local only.
  EXPECT_EQ(kite_tokenize(model_, nullptr, 3, 1, ids, 64, &n), KITE_ERR_INVALID_ARGUMENT);
  failed("kite_tokenize");
  kite_version();
  kite_model_chat_format(model_);
  kite_session_position(session_);
  kite_session_cancel(nullptr);
  failed("functions without a status leave it");
  EXPECT_EQ(kite_tokenize(model_, "Hi", 2, 1, ids, 64, &n), KITE_OK);
  cleared("kite_tokenize");
  EXPECT_EQ(kite_detokenize(model_, ids, n, text, 1, &len), KITE_ERR_OUT_OF_MEMORY);
  failed("kite_detokenize");
  EXPECT_EQ(kite_detokenize(model_, ids, n, text, sizeof(text), &len), KITE_OK);
  cleared("kite_detokenize");
  const kite_chat_message msg = {"user", "Hi"};
  EXPECT_EQ(kite_chat_format(model_, &msg, 1, 1, text, 2, &len), KITE_ERR_OUT_OF_MEMORY);
  failed("kite_chat_format");
  EXPECT_EQ(kite_chat_format(model_, &msg, 1, 1, text, sizeof(text), &len), KITE_OK);
  cleared("kite_chat_format");
  EXPECT_EQ(kite_chat_tokenize(model_, &msg, 1, 1, 1, ids, 2, &n), KITE_ERR_OUT_OF_MEMORY);
  failed("kite_chat_tokenize");
  EXPECT_EQ(kite_chat_tokenize(model_, &msg, 1, 1, 1, ids, 64, &n), KITE_OK);
  cleared("kite_chat_tokenize");
  EXPECT_EQ(kite_tokenize_special(model_, "Hi", 2, 1, ids, 1, &n), KITE_ERR_OUT_OF_MEMORY);
  failed("kite_tokenize_special");
  EXPECT_EQ(kite_tokenize_special(model_, "Hi", 2, 1, ids, 64, &n), KITE_OK);
  cleared("kite_tokenize_special");
  kite_model_info info;
  info.struct_size = 0;
  EXPECT_EQ(kite_model_get_info(model_, &info), KITE_ERR_INVALID_ARGUMENT);
  failed("kite_model_get_info");
  info.struct_size = sizeof(info);
  EXPECT_EQ(kite_model_get_info(model_, &info), KITE_OK);
  cleared("kite_model_get_info");
  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = 0;
  size_t bytes = 0;
  EXPECT_EQ(kite_session_memory_required(model_, &so, &bytes), KITE_ERR_INVALID_ARGUMENT);
  failed("kite_session_memory_required");
  so.max_context = 64;
  EXPECT_EQ(kite_session_memory_required(model_, &so, &bytes), KITE_OK);
  cleared("kite_session_memory_required");
  kite_model* other = nullptr;
  EXPECT_EQ(kite_model_open_file("/nonexistent.kite", nullptr, &other), KITE_ERR_IO);
  failed("kite_model_open_file");
  EXPECT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &other), KITE_OK);
  cleared("kite_model_open_file");
  kite_model_close(other);
  kite_session* s2 = nullptr;
  EXPECT_EQ(kite_session_create(model_, &so, text, 1, &s2), KITE_ERR_OUT_OF_MEMORY);
  failed("kite_session_create");
  EXPECT_EQ(kite_session_create(model_, &so, nullptr, 0, &s2), KITE_OK);
  cleared("kite_session_create");
  kite_session_destroy(s2);

  // Session calls: both, with the same message; a success clears both.
  const int32_t bad = 100000;
  EXPECT_EQ(kite_session_feed(session_, &bad, 1), KITE_ERR_INVALID_ARGUMENT);
  failed("kite_session_feed");
  EXPECT_STREQ(kite_session_last_error(session_), kite_last_error());
  EXPECT_EQ(kite_session_reset(session_), KITE_OK);
  cleared("kite_session_reset");
  EXPECT_STREQ(kite_session_last_error(session_), "");
  const float* logits = nullptr;
  EXPECT_EQ(kite_session_logits(session_, &logits, &n), KITE_ERR_INVALID_ARGUMENT);
  failed("kite_session_logits");
  EXPECT_STREQ(kite_session_last_error(session_), kite_last_error());
  EXPECT_EQ(kite_generate(session_, nullptr, nullptr, nullptr, nullptr, nullptr),
            KITE_ERR_INVALID_ARGUMENT);
  failed("kite_generate");
  EXPECT_STREQ(kite_session_last_error(session_), kite_last_error());
  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = 2;
  EXPECT_EQ(kite_generate(session_, "Once", &go, nullptr, nullptr, nullptr), KITE_OK);
  cleared("kite_generate");
  EXPECT_STREQ(kite_session_last_error(session_), "");
  // A model-level failure does not touch the session's message.
  EXPECT_EQ(kite_tokenize(model_, nullptr, 3, 1, ids, 64, &n), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(kite_session_last_error(session_), "");
  // Null sessions: the thread's message only.
  EXPECT_EQ(kite_session_reset(nullptr), KITE_ERR_INVALID_ARGUMENT);
  failed("kite_session_reset(NULL)");
  EXPECT_STREQ(kite_session_last_error(nullptr), "session is null");
}

// The last error is per thread.
TEST(CApi, LastErrorIsPerThread) {
  kite_model* m = nullptr;
  EXPECT_EQ(kite_model_open_file("/nonexistent.kite", nullptr, &m), KITE_ERR_IO);
  std::string other = "unset";
  std::thread t([&] { other = kite_last_error(); });
  t.join();
  EXPECT_EQ(other, "");
  EXPECT_STRNE(kite_last_error(), "");
}

// The struct_size rule: for every versioned struct, a size the library does not know fails
// with KITE_ERR_INVALID_ARGUMENT naming the struct, before the call does anything.
TEST_F(CApiSession, EveryVersionedStructChecksItsSize) {
  for (uint32_t bad : {0u, 4u, 0xffffffffu}) {
    SCOPED_TRACE(bad);
    kite_model_options mo;
    kite_model_options_init(&mo);
    mo.struct_size = bad;
    kite_model* m = nullptr;
    // The options are checked first: a missing file is not even looked at.
    EXPECT_EQ(kite_model_open_file("/nonexistent.kite", &mo, &m), KITE_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(kite_last_error(), "kite_model_options"), nullptr) << kite_last_error();
    EXPECT_EQ(kite_model_open_fd(-1, &mo, &m), KITE_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(m, nullptr);

    kite_session_options so;
    kite_session_options_init(&so);
    so.struct_size = bad;
    size_t bytes = 0;
    EXPECT_EQ(kite_session_memory_required(model_, &so, &bytes), KITE_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(kite_last_error(), "kite_session_options"), nullptr);
    kite_session* s = nullptr;
    EXPECT_EQ(kite_session_create(model_, &so, nullptr, 0, &s), KITE_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(s, nullptr);

    kite_model_info info;
    std::memset(&info, 0xab, sizeof(info));
    info.struct_size = bad;
    EXPECT_EQ(kite_model_get_info(model_, &info), KITE_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(kite_last_error(), "kite_model_info"), nullptr);
    EXPECT_EQ(info.dim, 0xababababu) << "nothing may be written";

    kite_generate_options go;
    kite_generate_options_init(&go);
    go.struct_size = bad;
    EXPECT_EQ(kite_generate(session_, "Once", &go, nullptr, nullptr, nullptr),
              KITE_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(kite_session_last_error(session_), "kite_generate_options"), nullptr);
    EXPECT_EQ(kite_session_position(session_), 0u);

    kite_generate_stats stats;
    stats.struct_size = bad;
    EXPECT_EQ(kite_generate(session_, "Once", nullptr, nullptr, nullptr, &stats),
              KITE_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(kite_last_error(), "kite_generate_stats"), nullptr);
    EXPECT_EQ(kite_session_position(session_), 0u);
  }
  // The *_init functions set the size the library knows; NULL options mean defaults.
  kite_generate_options go;
  kite_generate_options_init(&go);
  EXPECT_EQ(go.struct_size, sizeof(go));
  kite_session_options so;
  kite_session_options_init(&so);
  EXPECT_EQ(so.struct_size, sizeof(so));
  kite_model_options mo;
  kite_model_options_init(&mo);
  EXPECT_EQ(mo.struct_size, sizeof(mo));
  size_t bytes = 0;
  EXPECT_EQ(kite_session_memory_required(model_, nullptr, &bytes), KITE_OK);
}

}  // namespace
