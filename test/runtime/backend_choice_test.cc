// kite_session_options.backend: the default, bad values, the older struct sizes, what
// `vulkan` and `auto` do without a usable device (a clear error; the CPU with a one-line
// notice), the notices of sessions Vulkan cannot run (int8 KV, in-place), and, where a
// Vulkan device exists (lavapipe with KITE_VULKAN_ALLOW_CPU=1), the same greedy tokens on
// both backends.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "sdk/runtime/logits_check.h"
#include "test/common/greedy.h"
#include "test/common/test_paths.h"

namespace {

const std::string kQ4 = kite::test::TestModel("stories260K-q4.kite");

// The device choice reads KITE_VULKAN_ALLOW_CPU when a model's first Vulkan session is made.
void AllowCpuDevice(bool allow) {
  if (allow) {
    setenv("KITE_VULKAN_ALLOW_CPU", "1", 1);
  } else {
    unsetenv("KITE_VULKAN_ALLOW_CPU");
  }
}

kite_model* Open(const std::string& path) {
  kite_model* m = nullptr;
  EXPECT_EQ(kite_model_open_file(path.c_str(), nullptr, &m), KITE_OK) << kite_last_error();
  return m;
}

// A session with `backend` (and `kv_type`), or null with *status set.
kite_session* Create(kite_model* m, uint32_t backend, kite_status* status,
                     uint32_t kv_type = KITE_KV_F32) {
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = 256;
  o.backend = backend;
  o.kv_type = kv_type;
  kite_session* s = nullptr;
  *status = kite_session_create(m, &o, nullptr, 0, &s);
  return s;
}

using kite::test::GreedyTokens;

// The self-check's comparison: rounding-sized differences agree; a wrong value or a NaN
// does not, and the worst index is reported.
TEST(BackendChoice, SelfCheckComparesLogitsAgainstTheRange) {
  const std::vector<float> want = {-3.0f, 10.0f, 2.5f, 0.0f};
  std::vector<float> got = {-3.00001f, 10.00002f, 2.5f, 0.0f};
  kite::LogitsComparison c = kite::CompareLogits(got.data(), want.data(), 4);
  EXPECT_TRUE(c.agree);
  EXPECT_FLOAT_EQ(c.tolerance, kite::kLogitsAbsTolerance + kite::kLogitsRelTolerance * 10.0f);
  got[2] = 2.5f + 0.2f;  // beyond 1e-3 + 1e-2 * 10
  c = kite::CompareLogits(got.data(), want.data(), 4);
  EXPECT_FALSE(c.agree);
  EXPECT_EQ(c.worst_index, 2u);
  got[2] = 2.5f;
  got[3] = std::nanf("");
  c = kite::CompareLogits(got.data(), want.data(), 4);
  EXPECT_FALSE(c.agree);
  EXPECT_EQ(c.worst_index, 3u);
}

TEST(BackendChoice, DefaultIsTheCpuWithoutANotice) {
  kite_model* m = Open(kQ4);
  kite_session_options o;
  kite_session_options_init(&o);
  EXPECT_EQ(o.backend, static_cast<uint32_t>(KITE_BACKEND_CPU));
  kite_session* s = nullptr;
  ASSERT_EQ(kite_session_create(m, &o, nullptr, 0, &s), KITE_OK) << kite_last_error();
  EXPECT_EQ(kite_session_backend(s), KITE_BACKEND_CPU);
  EXPECT_STREQ(kite_session_backend_notice(s), "");
  kite_session_destroy(s);
  kite_model_close(m);
  EXPECT_EQ(kite_session_backend(nullptr), KITE_BACKEND_CPU);
  EXPECT_STREQ(kite_session_backend_notice(nullptr), "");
}

TEST(BackendChoice, UnknownBackendIsAnInvalidArgumentNamingIt) {
  kite_model* m = Open(kQ4);
  kite_status st;
  EXPECT_EQ(Create(m, 7, &st), nullptr);
  EXPECT_EQ(st, KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kite_last_error()).find("backend 7 is unknown"), std::string::npos)
      << kite_last_error();
  kite_model_close(m);
}

TEST(BackendChoice, Version2StructRunsOnTheCpu) {
  kite_model* m = Open(kQ4);
  kite_session_options o;
  kite_session_options_init(&o);
  o.backend = KITE_BACKEND_VULKAN;  // beyond a version-2 struct: must not be read
  o.struct_size = offsetof(kite_session_options, backend);
  kite_session* s = nullptr;
  ASSERT_EQ(kite_session_create(m, &o, nullptr, 0, &s), KITE_OK) << kite_last_error();
  EXPECT_EQ(kite_session_backend(s), KITE_BACKEND_CPU);
  kite_session_destroy(s);
  kite_model_close(m);
}

TEST(BackendChoice, AutoWithoutAGpuRunsOnTheCpuAndSaysWhy) {
  AllowCpuDevice(false);
  kite_model* m = Open(kQ4);
  kite_status st;
  kite_session* s = Create(m, KITE_BACKEND_AUTO, &st);
  ASSERT_EQ(st, KITE_OK) << kite_last_error();
  if (kite_session_backend(s) == KITE_BACKEND_VULKAN) {
    GTEST_SKIP() << "this machine has a Vulkan GPU";
  }
  EXPECT_EQ(std::string(kite_session_backend_notice(s)).rfind("backend auto: running on the CPU (", 0), 0u)
      << kite_session_backend_notice(s);
  // The CPU path is unaffected.
  kite_session* cpu = Create(m, KITE_BACKEND_CPU, &st);
  EXPECT_EQ(GreedyTokens(s, "Once upon a time", 16), GreedyTokens(cpu, "Once upon a time", 16));
  kite_session_destroy(cpu);
  kite_session_destroy(s);
  kite_model_close(m);
}

TEST(BackendChoice, VulkanWithoutAUsableDeviceIsAClearError) {
  AllowCpuDevice(false);
  kite_model* m = Open(kQ4);
  kite_status st;
  kite_session* s = Create(m, KITE_BACKEND_VULKAN, &st);
  if (s != nullptr) {
    kite_session_destroy(s);
    kite_model_close(m);
    GTEST_SKIP() << "this machine has a Vulkan GPU";
  }
  EXPECT_EQ(st, KITE_ERR_UNSUPPORTED);
  const std::string error = kite_last_error();
#if KITE_WITH_VULKAN
  EXPECT_NE(error.find("Vulkan"), std::string::npos) << error;
#else
  EXPECT_EQ(error, "this build has no Vulkan backend (built with KITE_WITH_VULKAN=OFF)");
#endif
  // The model still serves CPU sessions.
  s = Create(m, KITE_BACKEND_CPU, &st);
  EXPECT_EQ(st, KITE_OK);
  kite_session_destroy(s);
  kite_model_close(m);
}

#if KITE_WITH_VULKAN
// The int8 KV cache runs on the device too, with the CPU's int8 tokens.
TEST(BackendChoice, Int8KvRunsOnVulkan) {
  AllowCpuDevice(true);
  kite_model* m = Open(kQ4);
  kite_status st;
  kite_session* cpu = Create(m, KITE_BACKEND_CPU, &st, KITE_KV_INT8);
  kite_session* gpu = Create(m, KITE_BACKEND_VULKAN, &st, KITE_KV_INT8);
  ASSERT_NE(gpu, nullptr) << kite_last_error();
  EXPECT_EQ(kite_session_backend(gpu), KITE_BACKEND_VULKAN);
  EXPECT_EQ(GreedyTokens(gpu, "Once upon a time", 24), GreedyTokens(cpu, "Once upon a time", 24));
  kite_session_destroy(gpu);
  kite_session_destroy(cpu);
  kite_model_close(m);
}

// A prefill chunk longer than the context is valid (the CPU caps it by the context); the
// Vulkan session must accept it too.
TEST(BackendChoice, VulkanTakesAPrefillChunkAboveTheContext) {
  AllowCpuDevice(true);
  kite_model* m = Open(kQ4);
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = 16;
  o.prefill_chunk = 64;
  o.backend = KITE_BACKEND_VULKAN;
  kite_session* s = nullptr;
  ASSERT_EQ(kite_session_create(m, &o, nullptr, 0, &s), KITE_OK) << kite_last_error();
  const int32_t tokens[] = {1, 403, 407, 261, 378};
  EXPECT_EQ(kite_session_feed(s, tokens, 5), KITE_OK) << kite_session_last_error(s);
  kite_session_destroy(s);
  kite_model_close(m);
}

// lavapipe (a CPU device, allowed here) runs the same greedy tokens as the CPU kernels.
TEST(BackendChoice, VulkanAndAutoGiveTheCpuTokens) {
  AllowCpuDevice(true);
  for (const std::string& path : {kQ4}) {  // vulkan_forward_test runs f32 and both 4-bit layouts
    SCOPED_TRACE(path);
    kite_model* m = Open(path);
    kite_status st;
    kite_session* cpu = Create(m, KITE_BACKEND_CPU, &st);
    kite_session* gpu = Create(m, KITE_BACKEND_VULKAN, &st);
    ASSERT_NE(gpu, nullptr) << kite_last_error();
    EXPECT_EQ(kite_session_backend(gpu), KITE_BACKEND_VULKAN);
    kite_session* automatic = Create(m, KITE_BACKEND_AUTO, &st);
    ASSERT_NE(automatic, nullptr) << kite_last_error();
    EXPECT_EQ(kite_session_backend(automatic), KITE_BACKEND_VULKAN)
        << kite_session_backend_notice(automatic);
    EXPECT_STREQ(kite_session_backend_notice(automatic), "");
    for (const char* prompt : {"The little dog"}) {  // vulkan_forward_test runs the goldens
      const std::vector<int32_t> want = GreedyTokens(cpu, prompt, 24);
      EXPECT_EQ(GreedyTokens(gpu, prompt, 24), want) << prompt;
      EXPECT_EQ(GreedyTokens(automatic, prompt, 24), want) << prompt;
      for (kite_session* s : {cpu, gpu, automatic}) kite_session_reset(s);
    }
    kite_session_destroy(automatic);
    kite_session_destroy(gpu);
    kite_session_destroy(cpu);
    kite_model_close(m);
  }
}
#endif

}  // namespace
