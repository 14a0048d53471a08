// libvulkan loaded at run time (sdk/backends/vulkan/loader.h): without the loader, or with a
// library that is not one, Device::Create and `backend = vulkan` fail with a clear status,
// `auto` runs on the CPU with its one-line notice, and nothing crashes. The missing loader
// is simulated in-process by KITE_VULKAN_LOADER (the test hook). Its own executable: every
// failing case runs before libvulkan is first loaded in the process (a loaded library is
// kept; a failed load is not), and the last test loads the real one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "kite/kite.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "test/common/greedy.h"
#include "test/common/test_paths.h"

namespace {

namespace vk = kite::vulkan;

constexpr char kMissing[] = "/nonexistent/libvulkan.so.1";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

kite_session* Create(kite_model* m, uint32_t backend, kite_status* status) {
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = 64;
  o.backend = backend;
  kite_session* s = nullptr;
  *status = kite_session_create(m, &o, nullptr, 0, &s);
  return s;
}

TEST(VulkanLoader, MissingLoaderIsAClearStatus) {
  setenv(vk::kLoaderEnv, kMissing, 1);
  vk::Functions fn;
  const kite::Status s = vk::LoadGlobalFunctions(&fn);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), kite::Error::kUnsupported);
  EXPECT_TRUE(Contains(s.message(), std::string("Vulkan loader ") + kMissing +
                                        " not found: install libvulkan1"))
      << s.message();
  EXPECT_EQ(fn.GetInstanceProcAddr, nullptr);
  setenv(vk::kAllowCpuEnv, "1", 1);
  kite::Result<vk::Device> d = vk::Device::Create(vk::DeviceOptionsFromEnvironment());
  ASSERT_FALSE(d.ok());
  EXPECT_STREQ(d.status().message(), s.message());
}

TEST(VulkanLoader, LibraryWithoutGetInstanceProcAddrIsRefused) {
  setenv(vk::kLoaderEnv, "libm.so.6", 1);
  vk::Functions fn;
  const kite::Status s = vk::LoadGlobalFunctions(&fn);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), kite::Error::kUnsupported);
  EXPECT_STREQ(s.message(), "libm.so.6 is not a Vulkan loader: it has no vkGetInstanceProcAddr");
}

TEST(VulkanLoader, SessionsWithoutTheLoader) {
  setenv(vk::kLoaderEnv, kMissing, 1);
  setenv(vk::kAllowCpuEnv, "1", 1);
  const std::string path = kite::test::TestModel("stories260K-q4.kite");
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(path.c_str(), nullptr, &m), KITE_OK) << kite_last_error();
  kite_status st;
  // vulkan: the session's error names the loader.
  EXPECT_EQ(Create(m, KITE_BACKEND_VULKAN, &st), nullptr);
  EXPECT_EQ(st, KITE_ERR_UNSUPPORTED);
  EXPECT_TRUE(Contains(kite_last_error(), std::string("Vulkan loader ") + kMissing +
                                              " not found: install libvulkan1"))
      << kite_last_error();
  // auto: the CPU, with the reason in one line, and the CPU's tokens.
  kite_session* automatic = Create(m, KITE_BACKEND_AUTO, &st);
  ASSERT_EQ(st, KITE_OK) << kite_last_error();
  EXPECT_EQ(kite_session_backend(automatic), KITE_BACKEND_CPU);
  const std::string notice = kite_session_backend_notice(automatic);
  EXPECT_EQ(notice.rfind("backend auto: running on the CPU (Vulkan loader ", 0), 0u) << notice;
  EXPECT_EQ(notice.find('\n'), std::string::npos) << notice;
  kite_session* cpu = Create(m, KITE_BACKEND_CPU, &st);
  ASSERT_EQ(st, KITE_OK) << kite_last_error();
  EXPECT_EQ(kite::test::GreedyTokens(automatic, "Once upon a time", 8),
            kite::test::GreedyTokens(cpu, "Once upon a time", 8));
  kite_session_destroy(cpu);
  kite_session_destroy(automatic);
  kite_model_close(m);
}

// Last: a failed load is not kept, so the real loader still loads afterwards.
TEST(VulkanLoader, RealLoaderLoadsAfterFailures) {
  unsetenv(vk::kLoaderEnv);
  vk::Functions fn;
  const kite::Status s = vk::LoadGlobalFunctions(&fn);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_NE(fn.GetInstanceProcAddr, nullptr);
  EXPECT_NE(fn.CreateInstance, nullptr);
}

}  // namespace
