// Session state (kite_session_state_size / save_state / restore_state, kite_session_tokens):
// a restored prompt continues exactly like a fresh run fed the whole prompt (f32 and int8 KV;
// on the CPU and on Vulkan, and across them), and a state
// of another model or other options, truncated or corrupted, is refused naming what
// differs, with the session unchanged (issue 14 item 3 and "Bad input").
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/greedy.h"
#include "test/common/model_suite.h"
#include "test/common/test_paths.h"

namespace {

const std::string kOtherModel = kite::test::TestModel("stories260K-f32.kite");

const char kSystem[] = "Once upon a time, there was a little girl named Lily.";
const char kUser[] = " One day she went to the park and";

kite_session* NewSession(kite_model* m, uint32_t ctx = 128, kite_kv_type kv = KITE_KV_F32) {
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = ctx;
  o.kv_type = kv;
  kite_session* s = nullptr;
  EXPECT_EQ(kite_session_create(m, &o, nullptr, 0, &s), KITE_OK) << kite_last_error();
  return s;
}

std::vector<int32_t> Tokenize(kite_model* m, const char* text, int add_bos) {
  std::vector<int32_t> ids(256);
  size_t n = 0;
  EXPECT_EQ(kite_tokenize(m, text, std::strlen(text), add_bos, ids.data(), ids.size(), &n),
            KITE_OK);
  ids.resize(n);
  return ids;
}

// Greedy ids continuing the session's context (nothing more fed), with a repetition
// penalty so that the restored recent tokens matter too.
std::vector<int32_t> Continue(kite_session* s, int n) {
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = n;
  o.temperature = 0;
  o.add_bos = 0;
  o.repetition_penalty = 1.3f;
  return kite::test::GenerateTokens(s, "", o);
}

// A new session (context 128, f32 KV) fed `text` with BOS.
kite_session* FedSession(kite_model* m, const char* text) {
  kite_session* s = NewSession(m);
  const std::vector<int32_t> ids = Tokenize(m, text, 1);
  EXPECT_EQ(kite_session_feed(s, ids.data(), ids.size()), KITE_OK);
  return s;
}

std::vector<uint8_t> Save(kite_session* s) {
  size_t size = 0;
  EXPECT_EQ(kite_session_state_size(s, &size), KITE_OK) << kite_session_last_error(s);
  std::vector<uint8_t> state(size);
  size_t written = 0;
  EXPECT_EQ(kite_session_save_state(s, state.data(), state.size(), &written), KITE_OK)
      << kite_session_last_error(s);
  EXPECT_EQ(written, size);
  return state;
}

std::vector<float> Logits(kite_session* s) {
  const float* l = nullptr;
  size_t n = 0;
  if (kite_session_logits(s, &l, &n) != KITE_OK) return {};
  return std::vector<float>(l, l + n);
}

class SessionState : public kite::test::Stories260KSuite<::testing::TestWithParam<kite_kv_type>> {};

TEST_P(SessionState, RestoredSystemPromptContinuesLikeAFreshRun) {
  const std::vector<int32_t> system = Tokenize(m, kSystem, 1);
  const std::vector<int32_t> user = Tokenize(m, kUser, 0);
  std::vector<int32_t> whole = system;
  whole.insert(whole.end(), user.begin(), user.end());

  kite_session* fresh = NewSession(m, 128, GetParam());
  ASSERT_EQ(kite_session_feed(fresh, whole.data(), whole.size()), KITE_OK);
  const std::vector<int32_t> expected = Continue(fresh, 40);
  ASSERT_EQ(expected.size(), 40u);

  kite_session* cached = NewSession(m, 128, GetParam());
  ASSERT_EQ(kite_session_feed(cached, system.data(), system.size()), KITE_OK);
  const std::vector<uint8_t> state = Save(cached);
  const std::vector<float> cached_logits = Logits(cached);
  kite_session_destroy(cached);

  kite_session* restored = NewSession(m, 128, GetParam());
  ASSERT_EQ(kite_session_restore_state(restored, state.data(), state.size()), KITE_OK)
      << kite_session_last_error(restored);
  EXPECT_EQ(kite_session_position(restored), system.size());
  std::vector<int32_t> held(system.size());
  size_t n_held = 0;
  ASSERT_EQ(kite_session_tokens(restored, held.data(), held.size(), &n_held), KITE_OK);
  EXPECT_EQ(held, system);
  EXPECT_EQ(kite_session_tokens(restored, held.data(), held.size() - 1, &n_held),
            KITE_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(n_held, system.size());
  EXPECT_EQ(Logits(restored), cached_logits);  // saved, not recomputed: bit-identical
  ASSERT_EQ(kite_session_feed(restored, user.data(), user.size()), KITE_OK);
  EXPECT_EQ(Continue(restored, 40), expected);

  // A state saved after generating (logits of the last generated token, the penalties'
  // recent tokens) continues like the session it came from.
  const std::vector<uint8_t> later = Save(restored);
  kite_session* again = NewSession(m, 128, GetParam());
  ASSERT_EQ(kite_session_restore_state(again, later.data(), later.size()), KITE_OK);
  EXPECT_EQ(Continue(again, 20), Continue(restored, 20));

  kite_session_destroy(again);
  kite_session_destroy(restored);
  kite_session_destroy(fresh);
}

INSTANTIATE_TEST_SUITE_P(KvTypes, SessionState, ::testing::Values(KITE_KV_F32, KITE_KV_INT8));

TEST_F(SessionState, EmptySessionRoundTripsWithoutLogits) {
  kite_session* a = NewSession(m);
  const std::vector<uint8_t> state = Save(a);
  kite_session* b = NewSession(m);
  const std::vector<int32_t> ids = Tokenize(m, kSystem, 1);
  ASSERT_EQ(kite_session_feed(b, ids.data(), ids.size()), KITE_OK);
  ASSERT_EQ(kite_session_restore_state(b, state.data(), state.size()), KITE_OK);
  EXPECT_EQ(kite_session_position(b), 0u);
  EXPECT_TRUE(Logits(b).empty());
  kite_session_destroy(b);
  kite_session_destroy(a);
}

TEST_F(SessionState, SmallBufferReportsTheSizeNeeded) {
  kite_session* s = FedSession(m, kSystem);
  size_t size = 0;
  ASSERT_EQ(kite_session_state_size(s, &size), KITE_OK);
  std::vector<uint8_t> small(size - 1);
  size_t written = 0;
  EXPECT_EQ(kite_session_save_state(s, small.data(), small.size(), &written),
            KITE_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(written, size);
  EXPECT_NE(std::string(kite_session_last_error(s)).find("needs"), std::string::npos);
  EXPECT_EQ(kite_session_save_state(s, nullptr, 0, nullptr), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kite_session_state_size(nullptr, &size), KITE_ERR_INVALID_ARGUMENT);
  kite_session_destroy(s);
}

// Restoring `state` into `s` fails with INVALID_ARGUMENT, a message containing `why`, and
// leaves the session's position, logits and continuation as they were.
void ExpectRefused(kite_model* m, const std::vector<uint8_t>& state, const char* why,
                   kite_session* s = nullptr) {
  SCOPED_TRACE(why);
  kite_session* own = nullptr;
  if (s == nullptr) own = s = FedSession(m, kUser);
  const uint32_t pos = kite_session_position(s);
  const std::vector<float> logits = Logits(s);
  EXPECT_EQ(kite_session_restore_state(s, state.data(), state.size()), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kite_session_last_error(s)).find(why), std::string::npos)
      << kite_session_last_error(s);
  EXPECT_EQ(kite_session_position(s), pos);
  EXPECT_EQ(Logits(s), logits);
  if (own != nullptr) {
    kite_session* twin = FedSession(m, kUser);
    EXPECT_EQ(Continue(own, 10), Continue(twin, 10));
    kite_session_destroy(twin);
    kite_session_destroy(own);
  }
}

TEST_F(SessionState, BadStatesAreRefusedAndTheSessionIsUnchanged) {
  kite_session* source = FedSession(m, kSystem);
  const std::vector<uint8_t> good = Save(source);

  std::vector<uint8_t> truncated(good.begin(), good.end() - 1);
  ExpectRefused(m, truncated, "truncated");
  ExpectRefused(m, std::vector<uint8_t>(good.begin(), good.begin() + 10), "truncated");
  std::vector<uint8_t> corrupted = good;
  corrupted[corrupted.size() / 2] ^= 0x40;
  ExpectRefused(m, corrupted, "CRC-32C");
  std::vector<uint8_t> not_state = good;
  not_state[0] ^= 0xff;
  ExpectRefused(m, not_state, "not a Kite session state");
  std::vector<uint8_t> position = good;
  position[48] += 1;  // the header's position field: the size no longer matches
  ExpectRefused(m, position, "truncated or corrupted");

  kite_session* other_ctx = NewSession(m, 64);
  ExpectRefused(m, good, "max_context 128, this one has 64", other_ctx);
  kite_session* other_kv = NewSession(m, 128, KITE_KV_INT8);
  ExpectRefused(m, good, "kv_type 0, this one has 1", other_kv);

  kite_model* other = nullptr;
  ASSERT_EQ(kite_model_open_file(kOtherModel.c_str(), nullptr, &other), KITE_OK);
  kite_session* other_model = NewSession(other);
  ExpectRefused(other, good, "another model", other_model);
  EXPECT_EQ(kite_session_restore_state(other_model, nullptr, 0), KITE_ERR_INVALID_ARGUMENT);

  kite_session_destroy(other_model);
  kite_session_destroy(other_kv);
  kite_session_destroy(other_ctx);
  kite_session_destroy(source);
  kite_model_close(other);
}


// A Vulkan session reads its KV cache back from the device into the same format: a state
// saved on Vulkan restores into a fresh Vulkan session and continues like the
// uninterrupted run, and restores on the CPU (and the CPU's on Vulkan) continuing like the
// CPU's own run (lavapipe stands in for a GPU here; skipped without any Vulkan device). Bad
// states are refused with the Vulkan session unchanged.
kite_session* NewVulkanSession(kite_model* m, kite_kv_type kv) {
  setenv("KITE_VULKAN_ALLOW_CPU", "1", 1);
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = 128;
  o.kv_type = kv;
  o.backend = KITE_BACKEND_VULKAN;
  kite_session* s = nullptr;
  if (kite_session_create(m, &o, nullptr, 0, &s) != KITE_OK) return nullptr;
  return s;
}

TEST_P(SessionState, VulkanStatesRestoreOnEitherBackend) {
  const kite_kv_type kv = GetParam();
  kite_session* vulkan = NewVulkanSession(m, kv);
  if (vulkan == nullptr) GTEST_SKIP() << "no Vulkan device: " << kite_last_error();
  const std::vector<int32_t> system = Tokenize(m, kSystem, 1);
  const std::vector<int32_t> user = Tokenize(m, kUser, 0);

  // The uninterrupted runs, on each backend: the system prompt, the user's text, 30 tokens.
  kite_session* cpu = NewSession(m, 128, kv);
  kite_session* sessions[2] = {vulkan, cpu};
  std::vector<uint8_t> states[2];
  std::vector<int32_t> expected[2];
  std::vector<float> logits[2];
  for (int b = 0; b < 2; ++b) {
    ASSERT_EQ(kite_session_feed(sessions[b], system.data(), system.size()), KITE_OK);
    states[b] = Save(sessions[b]);
    logits[b] = Logits(sessions[b]);
    ASSERT_EQ(kite_session_feed(sessions[b], user.data(), user.size()), KITE_OK);
    expected[b] = Continue(sessions[b], 30);
    ASSERT_EQ(expected[b].size(), 30u);
  }
  // The format does not depend on the backend: the same size.
  EXPECT_EQ(states[0].size(), states[1].size());

  // Each state restored on each backend, into fresh sessions: the saved logits exactly, then
  // the run of the backend that continues (a Vulkan prefix differs from the CPU's only by
  // float rounding).
  for (int from = 0; from < 2; ++from) {
    for (int to = 0; to < 2; ++to) {
      SCOPED_TRACE(std::string(from == 0 ? "Vulkan" : "CPU") + " state restored on " +
                   (to == 0 ? "Vulkan" : "the CPU"));
      kite_session* restored = to == 0 ? NewVulkanSession(m, kv) : NewSession(m, 128, kv);
      ASSERT_NE(restored, nullptr);
      ASSERT_EQ(kite_session_restore_state(restored, states[from].data(), states[from].size()),
                KITE_OK)
          << kite_session_last_error(restored);
      EXPECT_EQ(kite_session_position(restored), system.size());
      EXPECT_EQ(Logits(restored), logits[from]);
      // Saving again gives the bytes restored.
      EXPECT_EQ(Save(restored), states[from]);
      ASSERT_EQ(kite_session_feed(restored, user.data(), user.size()), KITE_OK);
      EXPECT_EQ(Continue(restored, 30), expected[to]);
      kite_session_destroy(restored);
    }
  }

  // Bad states leave the Vulkan session as it was.
  kite_session* target = NewVulkanSession(m, kv);
  ASSERT_NE(target, nullptr);
  ASSERT_EQ(kite_session_feed(target, user.data(), user.size()), KITE_OK);
  std::vector<uint8_t> corrupted = states[0];
  corrupted[corrupted.size() / 2] ^= 0x40;
  ExpectRefused(m, corrupted, "CRC-32C", target);
  ExpectRefused(m, std::vector<uint8_t>(states[0].begin(), states[0].end() - 1), "truncated",
                target);
  kite_session_destroy(target);
  kite_session_destroy(cpu);
  kite_session_destroy(vulkan);
}

}  // namespace
