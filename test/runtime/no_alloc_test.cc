// Generation allocates nothing: every malloc and operator new between the first and the
// last generated token is counted, and the count must be 0.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>

#include "kite/kite.h"
#include "test/common/alloc_counter.h"
#include "test/common/every_generate_option.h"
#include "test/common/test_paths.h"

namespace {
std::atomic<bool>& g_counting = kite::test::CountingAllocations();
std::atomic<long>& g_allocations = kite::test::AllocationCount();
}  // namespace

namespace {

struct Counter {
  int tokens = 0;
};

// Starts counting at the first token and keeps counting until generate returns.
int OnToken(const char*, int32_t, void* user) {
  Counter* c = static_cast<Counter*>(user);
  if (c->tokens++ == 0) g_counting.store(true);
  return KITE_CONTINUE;
}

void ExpectNoAllocations(const char* model_name, float temperature, int top_k, float top_p,
                         uint32_t threads = 1, uint32_t kv_type = KITE_KV_F32,
                         bool extras = false) {
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(kite::test::TestModel(model_name).c_str(), nullptr, &model), KITE_OK);
  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = 256;
  so.threads = threads;
  so.kv_type = kv_type;
  kite_session* session = nullptr;
  ASSERT_EQ(kite_session_create(model, &so, nullptr, 0, &session), KITE_OK);
  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = 100;
  go.temperature = temperature;
  go.top_k = top_k;
  go.top_p = top_p;
  go.seed = 5;
  // Version 2's options: penalties over the recent-token ring, logit bias, stop strings
  // held back in the text buffer, all in the session arena.
  if (extras) kite::test::TurnOnEveryGenerateOption(&go);
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  Counter counter;
  g_allocations.store(0);
  const kite_status s = kite_generate(session, "Once upon a time", &go, OnToken, &counter, &stats);
  g_counting.store(false);
  ASSERT_EQ(s, KITE_OK) << kite_session_last_error(session);
  EXPECT_GT(counter.tokens, 10);
  EXPECT_EQ(g_allocations.load(), 0) << "allocations during generation of " << counter.tokens << " tokens";
  // The counter works: an allocation while counting is seen.
  g_counting.store(true);
  void* volatile p = std::malloc(16);
  g_counting.store(false);
  std::free(p);
  EXPECT_EQ(g_allocations.load(), 1);
  kite_session_destroy(session);
  kite_model_close(model);
}

TEST(NoAllocation, GreedyQ4) { ExpectNoAllocations("stories260K-q4.kite", 0.0f, 0, 1.0f); }
TEST(NoAllocation, SampledTopPF32) { ExpectNoAllocations("stories260K-f32.kite", 0.9f, 0, 0.9f); }
TEST(NoAllocation, SampledTopKQ4) { ExpectNoAllocations("stories260K-q4.kite", 1.0f, 40, 1.0f); }
// Two threads: the pool's parallel loops and XNNPACK (f32) allocate nothing either.
TEST(NoAllocation, TwoThreadsQ4) { ExpectNoAllocations("stories260K-q4.kite", 0.0f, 0, 1.0f, 2); }
TEST(NoAllocation, TwoThreadsF32Xnnpack) { ExpectNoAllocations("stories260K-f32.kite", 0.0f, 0, 1.0f, 2); }
// The int8 KV cache quantizes K and V rows into the arena: nothing allocated either.
TEST(NoAllocation, Int8KvQ4) {
  ExpectNoAllocations("stories260K-q4.kite", 0.0f, 0, 1.0f, 1, KITE_KV_INT8);
}
TEST(NoAllocation, Int8KvTwoThreadsF32) {
  ExpectNoAllocations("stories260K-f32.kite", 0.9f, 0, 0.9f, 2, KITE_KV_INT8);
}

// A cancelled generation (cancel from the callback) and kite_chat_tokenize allocate nothing
// either.
TEST(NoAllocation, CancelAndChatTokenize) {
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(kite::test::TestModel("stories260K-q4.kite").c_str(), nullptr,
                                 &model),
            KITE_OK);
  kite_session* session = nullptr;
  ASSERT_EQ(kite_session_create(model, nullptr, nullptr, 0, &session), KITE_OK);
  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = 50;
  struct Ctx {
    kite_session* s;
    int n;
  } ctx{session, 0};
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  const kite_chat_message messages[] = {{"system", "Tell a story."}, {"user", "Once upon a time"}};
  int32_t ids[256];
  size_t n = 0;
  g_allocations.store(0);
  g_counting.store(true);
  const kite_status cancelled = kite_generate(session, "Once upon a time", &go,
                                              [](const char*, int32_t, void* u) {
                                                Ctx* c = static_cast<Ctx*>(u);
                                                if (++c->n == 5) kite_session_cancel(c->s);
                                                return KITE_CONTINUE;
                                              },
                                              &ctx, &stats);
  const kite_status tokenized = kite_chat_tokenize(model, messages, 2, 1, 1, ids, 256, &n);
  g_counting.store(false);
  EXPECT_EQ(cancelled, KITE_ERR_CANCELLED);
  EXPECT_EQ(stats.generated_tokens, 5u);
  EXPECT_EQ(tokenized, KITE_OK) << kite_last_error();
  EXPECT_GT(n, 5u);
  EXPECT_EQ(g_allocations.load(), 0);
  kite_session_destroy(session);
  kite_model_close(model);
}

// Min-p, the penalties, logit bias and stop strings allocate nothing either.
TEST(NoAllocation, PenaltiesBiasAndStopStringsQ4) {
  ExpectNoAllocations("stories260K-q4.kite", 0.9f, 0, 0.95f, 1, KITE_KV_F32, true);
}
TEST(NoAllocation, GreedyPenaltiesBiasAndStopStringsF32) {
  ExpectNoAllocations("stories260K-f32.kite", 0.0f, 0, 1.0f, 1, KITE_KV_F32, true);
}

}  // namespace
