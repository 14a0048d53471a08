// Sessions on threads (the C API's thread-safety rules, docs/c-api.md): one model shared
// by sessions that run on their own threads generate exactly what they generate alone;
// one thread cancels another's generation while the others run on; cancels racing with
// generation calls always leave a consistent session. Runs in the normal suite and under
// ThreadSanitizer (tsan preset), which checks that no access races.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "kite/kite.h"
#include "test/common/test_paths.h"

namespace {

const std::string kModel = kite::test::TestModel("stories260K-q4.kite");
const char* const kPrompts[] = {"Once upon a time", "The cat", "Lily and Ben", "One day, a"};
constexpr int kSessions = 4;
constexpr int kTokens = 24;

struct GenRun {
  std::vector<int32_t> ids;
  kite_status status = KITE_ERR_INTERNAL;
  kite_generate_stats stats{};
};

// Generates with session `s`: greedy, or sampled with `seed` when `temperature` > 0.
GenRun Generate(kite_session* s, const char* prompt, float temperature, uint64_t seed,
             int max_tokens, kite_token_callback callback = nullptr, void* user = nullptr) {
  GenRun run;
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = max_tokens;
  o.temperature = temperature;
  o.top_p = temperature > 0 ? 0.9f : 1.0f;
  o.seed = seed;
  struct Sink {
    GenRun* run;
    kite_token_callback next;
    void* user;
  } sink{&run, callback, user};
  run.stats.struct_size = sizeof(run.stats);
  run.status = kite_generate(s, prompt, &o,
                             [](const char*, int32_t t, void* u) {
                               auto* sink = static_cast<Sink*>(u);
                               sink->run->ids.push_back(t);
                               return sink->next != nullptr ? sink->next(nullptr, t, sink->user)
                                                            : KITE_CONTINUE;
                             },
                             &sink, &run.stats);
  return run;
}

class ConcurrentSessions : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &model_), KITE_OK) << kite_last_error();
  }
  void TearDown() override { kite_model_close(model_); }

  // A session with its own pool of `threads` threads.
  kite_session* NewSession(uint32_t threads) {
    kite_session_options o;
    kite_session_options_init(&o);
    o.max_context = 256;
    o.threads = threads;
    o.prefill_chunk = 4;  // several prefill chunks per prompt
    kite_session* s = nullptr;
    EXPECT_EQ(kite_session_create(model_, &o, nullptr, 0, &s), KITE_OK) << kite_last_error();
    return s;
  }

  // What each prompt generates alone, on one thread, with nothing else running.
  std::vector<std::vector<int32_t>> Reference(float temperature) {
    std::vector<std::vector<int32_t>> ids;
    kite_session* s = NewSession(1);
    for (int i = 0; i < kSessions; ++i) {
      EXPECT_EQ(kite_session_reset(s), KITE_OK);
      GenRun run = Generate(s, kPrompts[i], temperature, 100 + i, kTokens);
      EXPECT_EQ(run.status, KITE_OK) << kite_session_last_error(s);
      ids.push_back(run.ids);
    }
    kite_session_destroy(s);
    return ids;
  }

  kite_model* model_ = nullptr;
};

// Four sessions on four threads (two of them with a two-thread pool of their own, so
// pools also run side by side) generate the same tokens as alone, greedy and sampled.
TEST_F(ConcurrentSessions, FourSessionsOnFourThreadsMatchSingleThreaded) {
  for (float temperature : {0.0f, 0.8f}) {
    const auto reference = Reference(temperature);
    std::vector<GenRun> runs(kSessions);
    std::vector<kite_session*> sessions;
    for (int i = 0; i < kSessions; ++i) sessions.push_back(NewSession(1 + i % 2));
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kSessions; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < kSessions) std::this_thread::yield();  // start together
        runs[i] = Generate(sessions[i], kPrompts[i], temperature, 100 + i, kTokens);
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kSessions; ++i) {
      EXPECT_EQ(runs[i].status, KITE_OK) << kite_session_last_error(sessions[i]);
      EXPECT_EQ(runs[i].ids, reference[i]) << "session " << i << " temperature " << temperature;
      kite_session_destroy(sessions[i]);
    }
  }
}

// While three sessions generate, a fourth thread cancels the first session's generation
// once it has produced two tokens: that call returns KITE_ERR_CANCELLED with the tokens it
// had, and the other three are unaffected.
TEST_F(ConcurrentSessions, OneThreadCancelsAnothersGeneration) {
  const auto reference = Reference(0.0f);
  std::vector<kite_session*> sessions;
  for (int i = 0; i < 3; ++i) sessions.push_back(NewSession(1 + i % 2));
  struct Gate {
    std::atomic<int> tokens{0};
    std::atomic<bool> cancel_sent{false};
  } gate;
  std::vector<GenRun> runs(3);
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    runs[0] = Generate(sessions[0], kPrompts[0], 0.0f, 0, 200,
                       [](const char*, int32_t, void* u) {
                         auto* g = static_cast<Gate*>(u);
                         // The second token waits (10 s at most) for the other thread's cancel.
                         if (++g->tokens == 2) {
                           const auto deadline =
                               std::chrono::steady_clock::now() + std::chrono::seconds(10);
                           while (!g->cancel_sent.load() &&
                                  std::chrono::steady_clock::now() < deadline) {
                             std::this_thread::yield();
                           }
                         }
                         return KITE_CONTINUE;
                       },
                       &gate);
  });
  threads.emplace_back([&] {
    while (gate.tokens.load() < 2) std::this_thread::yield();
    kite_session_cancel(sessions[0]);
    gate.cancel_sent.store(true);
  });
  for (int i = 1; i < 3; ++i) {
    threads.emplace_back([&, i] { runs[i] = Generate(sessions[i], kPrompts[i], 0.0f, 0, kTokens); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(runs[0].status, KITE_ERR_CANCELLED);
  EXPECT_EQ(runs[0].stats.stop_reason, KITE_STOP_CANCELLED);
  EXPECT_EQ(runs[0].stats.generated_tokens, 2u);
  ASSERT_EQ(runs[0].ids.size(), 2u);
  EXPECT_EQ(runs[0].ids[0], reference[0][0]);
  EXPECT_EQ(runs[0].ids[1], reference[0][1]);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(runs[i].status, KITE_OK);
    EXPECT_EQ(runs[i].ids, reference[i]) << "session " << i;
  }
  for (kite_session* s : sessions) kite_session_destroy(s);
}

// A thread cancels at random moments while the owner runs generate and feed calls in a
// loop: every call returns KITE_OK or KITE_ERR_CANCELLED, a cancelled call leaves the
// context as documented (a feed rolled back; generated tokens kept), and each thread's
// kite_last_error is its own.
TEST_F(ConcurrentSessions, CancelsRacingWithCalls) {
  kite_session* s = NewSession(2);
  std::atomic<bool> stop{false};
  std::thread canceller([&] {
    unsigned spin = 0;
    while (!stop.load()) {
      kite_session_cancel(s);
      // A varying pause, so cancels land before, during and between calls.
      for (unsigned i = 0; i < (spin++ * 7919u) % 20000u; ++i) std::this_thread::yield();
      EXPECT_STREQ(kite_last_error(), "");  // this thread made no failing call
    }
  });
  const int32_t ids[6] = {1, 20, 30, 40, 50, 60};
  int cancelled = 0;
  for (int round = 0; round < 40; ++round) {
    ASSERT_EQ(kite_session_reset(s), KITE_OK);
    const uint32_t before = kite_session_position(s);
    const kite_status fed = kite_session_feed(s, ids, 6);
    ASSERT_TRUE(fed == KITE_OK || fed == KITE_ERR_CANCELLED) << kite_session_last_error(s);
    EXPECT_EQ(kite_session_position(s), fed == KITE_OK ? before + 6 : before);
    const uint32_t at = kite_session_position(s);
    GenRun run = Generate(s, "", 0.0f, 0, 8);
    ASSERT_TRUE(run.status == KITE_OK || run.status == KITE_ERR_CANCELLED)
        << kite_session_last_error(s);
    if (run.status == KITE_ERR_CANCELLED) {
      ++cancelled;
      EXPECT_EQ(run.stats.stop_reason, KITE_STOP_CANCELLED);
      EXPECT_STRNE(kite_last_error(), "");
    }
    // A prefill that was cancelled is rolled back (prompt_tokens 0); a cancel seen after
    // the prefill keeps the prompt, with or without tokens after it.
    EXPECT_EQ(kite_session_position(s), at + run.stats.prompt_tokens + run.ids.size());
  }
  stop.store(true);
  canceller.join();
  kite_session_destroy(s);
  RecordProperty("cancelled_generations", cancelled);
}

}  // namespace
