// Vulkan device choice and the requirement check: the refusal messages name what is
// missing, and "no device" / "no driver" / "only a CPU device" are clear statuses, never a
// crash.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "sdk/backends/vulkan/command_stream.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/requirements.h"
#include "sdk/backends/vulkan/vk_status.h"

namespace {

namespace vk = kite::vulkan;
using kite::Error;

vk::DeviceFacts GoodFacts() {
  vk::DeviceFacts f;
  f.name = "test GPU";
  f.api_version = VK_API_VERSION_1_1;
  f.type = VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU;
  f.has_compute_queue = true;
  f.max_shared_memory_bytes = 16384;
  f.max_workgroup_invocations = 256;
  f.max_workgroup_size_x = 256;
  f.max_storage_buffers = 8;
  return f;
}

// True when a Vulkan GPU (not a CPU device) is present: then the "only a CPU device" case
// cannot be observed on this machine.
bool HasGpu() {
  vk::Functions fn;
  if (!vk::LoadGlobalFunctions(&fn).ok()) return false;
  VkApplicationInfo app = {};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo info = {};
  info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  info.pApplicationInfo = &app;
  VkInstance instance;
  if (fn.CreateInstance(&info, nullptr, &instance) != VK_SUCCESS) return false;
  if (!vk::LoadInstanceFunctions(instance, &fn).ok()) return false;
  VkPhysicalDevice devices[16];
  uint32_t count = 16;
  fn.EnumeratePhysicalDevices(instance, &count, devices);
  bool gpu = false;
  for (uint32_t i = 0; i < count; ++i) {
    VkPhysicalDeviceProperties p;
    fn.GetPhysicalDeviceProperties(devices[i], &p);
    gpu = gpu || p.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU;
  }
  fn.DestroyInstance(instance, nullptr);
  return gpu;
}

TEST(VulkanRequirements, BaselineDevicePasses) {
  EXPECT_TRUE(vk::CheckRequirements(GoodFacts()).ok());
}

TEST(VulkanRequirements, RefusalNamesEveryMissingRequirement) {
  vk::DeviceFacts f = GoodFacts();
  f.api_version = VK_MAKE_API_VERSION(0, 1, 0, 3);
  f.has_compute_queue = false;
  f.max_shared_memory_bytes = 8192;
  f.max_workgroup_invocations = 32;
  f.max_storage_buffers = 4;
  const kite::Status s = vk::CheckRequirements(f);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Error::kUnsupported);
  const std::string m = s.message();
  EXPECT_NE(m.find("'test GPU'"), std::string::npos) << m;
  EXPECT_NE(m.find("Vulkan 1.1 (has 1.0.3)"), std::string::npos) << m;
  EXPECT_NE(m.find("a compute queue"), std::string::npos) << m;
  EXPECT_NE(m.find("16384 bytes of compute shared memory (has 8192)"), std::string::npos) << m;
  EXPECT_NE(m.find("workgroups of 64 invocations (has 32)"), std::string::npos) << m;
  EXPECT_NE(m.find("5 storage buffers per shader (has 4)"), std::string::npos) << m;
}

TEST(VulkanRequirements, OneMissingRequirementAlone) {
  vk::DeviceFacts f = GoodFacts();
  f.api_version = VK_API_VERSION_1_0;
  const kite::Status s = vk::CheckRequirements(f);
  ASSERT_FALSE(s.ok());
  EXPECT_STREQ(s.message(), "Vulkan device 'test GPU' lacks: Vulkan 1.1 (has 1.0.0)");
}

TEST(VulkanRequirements, WorkgroupSizeWithinDeviceLimits) {
  vk::DeviceFacts f = GoodFacts();
  f.max_workgroup_invocations = 1024;
  f.max_workgroup_size_x = 1024;
  EXPECT_EQ(vk::MaxWorkgroupSize(f), 256u);  // the shaders' own limit
  f.max_workgroup_invocations = 192;
  EXPECT_EQ(vk::MaxWorkgroupSize(f), 128u);
  f.max_workgroup_size_x = 64;
  EXPECT_EQ(vk::MaxWorkgroupSize(f), 64u);
}

TEST(VulkanRequirements, Q4WorkgroupSizeFromTheSubgroupSize) {
  vk::DeviceFacts f = GoodFacts();
  f.max_workgroup_invocations = 1024;
  f.max_workgroup_size_x = 1024;
  // Unknown, smaller than the least workgroup, or equal to it: 64.
  for (uint32_t subgroup : {0u, 1u, 8u, 32u, 64u}) {
    f.subgroup_size = subgroup;
    EXPECT_EQ(vk::Q4WorkgroupSize(f), 64u) << subgroup;
  }
  f.subgroup_size = 128;  // a whole subgroup per workgroup
  EXPECT_EQ(vk::Q4WorkgroupSize(f), 128u);
  f.subgroup_size = 100;  // not a power of two: the next one
  EXPECT_EQ(vk::Q4WorkgroupSize(f), 128u);
  f.subgroup_size = 1024;  // within the shaders' and the device's limits
  EXPECT_EQ(vk::Q4WorkgroupSize(f), 256u);
  f.max_workgroup_invocations = 128;
  EXPECT_EQ(vk::Q4WorkgroupSize(f), 128u);
}

TEST(VulkanStatus, ResultsMapToErrorKinds) {
  EXPECT_TRUE(vk::VkCheck(VK_SUCCESS, "x").ok());
  EXPECT_EQ(vk::VkCheck(VK_ERROR_OUT_OF_DEVICE_MEMORY, "x").code(), Error::kOutOfMemory);
  EXPECT_EQ(vk::VkCheck(VK_ERROR_INCOMPATIBLE_DRIVER, "x").code(), Error::kUnsupported);
  const kite::Status lost = vk::VkCheck(VK_ERROR_DEVICE_LOST, "vkQueueSubmit");
  EXPECT_EQ(lost.code(), Error::kInternal);
  EXPECT_STREQ(lost.message(), "vkQueueSubmit failed: VK_ERROR_DEVICE_LOST (-4)");
}

TEST(VulkanDevice, AllowCpuOnlyFromTheEnvironmentValueOne) {
  setenv(vk::kAllowCpuEnv, "1", 1);
  EXPECT_TRUE(vk::DeviceOptionsFromEnvironment().allow_cpu);
  setenv(vk::kAllowCpuEnv, "yes", 1);
  EXPECT_FALSE(vk::DeviceOptionsFromEnvironment().allow_cpu);
  unsetenv(vk::kAllowCpuEnv);
  EXPECT_FALSE(vk::DeviceOptionsFromEnvironment().allow_cpu);
}

TEST(VulkanDevice, CpuDeviceRefusedUnlessAllowed) {
  if (HasGpu()) GTEST_SKIP() << "this machine has a Vulkan GPU; the refusal needs a CPU-only one";
  unsetenv(vk::kAllowCpuEnv);
  kite::Result<vk::Device> d = vk::Device::Create(vk::DeviceOptionsFromEnvironment());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Error::kUnsupported);
  const std::string m = d.status().message();
  EXPECT_EQ(m.rfind("no suitable Vulkan device: '", 0), 0u) << m;
  EXPECT_NE(m.find("is a CPU device (KITE_VULKAN_ALLOW_CPU=1 allows it)"), std::string::npos)
      << m;
}

TEST(VulkanDevice, CpuDeviceChosenWhenAllowed) {
  setenv(vk::kAllowCpuEnv, "1", 1);
  kite::Result<vk::Device> d = vk::Device::Create(vk::DeviceOptionsFromEnvironment());
  unsetenv(vk::kAllowCpuEnv);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_GE(d->properties().apiVersion, VK_API_VERSION_1_1);
  EXPECT_STREQ(d->facts().name, d->properties().deviceName);
  EXPECT_GE(d->max_workgroup_size(), vk::kMinWorkgroupSize);
  // The subgroup size is read (Vulkan 1.1 core): a power of two (lavapipe: 8).
  const uint32_t subgroup = d->facts().subgroup_size;
  EXPECT_TRUE(subgroup >= 1 && (subgroup & (subgroup - 1)) == 0) << subgroup;
  EXPECT_EQ(vk::Q4WorkgroupSize(d->facts()), subgroup <= 64 ? 64u : subgroup);
  // A command buffer with no work submits and completes.
  kite::Result<VkCommandBuffer> commands = d->Begin();
  ASSERT_TRUE(commands.ok()) << commands.status().message();
  EXPECT_TRUE(d->SubmitAndWait(1000000000ull).ok());
}

// Command streams of one device on several threads at once: each submits and waits on its
// own fence; the queue submissions are serialised by the device.
TEST(VulkanCommandStream, StreamsOnSeveralThreads) {
  setenv(vk::kAllowCpuEnv, "1", 1);
  kite::Result<vk::Device> d = vk::Device::Create(vk::DeviceOptionsFromEnvironment());
  ASSERT_TRUE(d.ok()) << d.status().message();
  bool ok[4] = {};
  std::thread threads[4];
  for (int i = 0; i < 4; ++i) {
    threads[i] = std::thread([&, i] {
      kite::Result<vk::CommandStream> s = vk::CommandStream::Create(*d);
      if (!s.ok()) return;
      bool all = true;
      for (int round = 0; round < 50 && all; ++round) {
        all = s->Begin().ok() && s->SubmitAndWait(10000000000ull).ok();
      }
      ok[i] = all;
    });
  }
  for (std::thread& t : threads) t.join();
  for (bool b : ok) EXPECT_TRUE(b);
}

// A submission that does not finish in time fails its stream (every later call returns
// the same error, without hanging); the device's other streams work once the queue moves
// on (they share it, so they wait behind the stuck work).
TEST(VulkanCommandStream, TimeoutFailsOnlyThatStream) {
  setenv(vk::kAllowCpuEnv, "1", 1);
  kite::Result<vk::Device> d = vk::Device::Create(vk::DeviceOptionsFromEnvironment());
  ASSERT_TRUE(d.ok()) << d.status().message();
  VkEventCreateInfo info = {};
  info.sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO;
  VkEvent event = VK_NULL_HANDLE;
  ASSERT_EQ(d->vk().CreateEvent(d->handle(), &info, nullptr, &event), VK_SUCCESS);
  {
    kite::Result<vk::CommandStream> stuck = vk::CommandStream::Create(*d);
    ASSERT_TRUE(stuck.ok()) << stuck.status().message();
    kite::Result<VkCommandBuffer> cmd = stuck->Begin();
    ASSERT_TRUE(cmd.ok());
    // Waits for an event the host sets only after the timeout.
    d->vk().CmdWaitEvents(*cmd, 1, &event, VK_PIPELINE_STAGE_HOST_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, nullptr, 0, nullptr, 0, nullptr);
    const kite::Status s = stuck->SubmitAndWait(20000000ull);  // 20 ms
    ASSERT_FALSE(s.ok());
    EXPECT_NE(std::string(s.message()).find("did not finish its work within 20 ms"),
              std::string::npos)
        << s.message();
    EXPECT_STREQ(stuck->Begin().status().message(), s.message());
    EXPECT_STREQ(stuck->SubmitAndWait(1000000000ull).message(), s.message());

    // Let the stuck work end (the stream's destructor would wait for it).
    ASSERT_EQ(d->vk().SetEvent(d->handle(), event), VK_SUCCESS);
    kite::Result<vk::CommandStream> other = vk::CommandStream::Create(*d);
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(other->Begin().ok());
    EXPECT_TRUE(other->SubmitAndWait(10000000000ull).ok());
    EXPECT_STREQ(stuck->Begin().status().message(), s.message());
  }
  d->vk().DestroyEvent(d->handle(), event, nullptr);
}

TEST(VulkanDevice, NoDriverIsAStatus) {
  // Point the loader at a driver list that does not exist: no device at all.
  setenv("VK_DRIVER_FILES", "/nonexistent/kite-no-driver.json", 1);
  setenv("VK_ICD_FILENAMES", "/nonexistent/kite-no-driver.json", 1);
  vk::DeviceOptions options;
  options.allow_cpu = true;
  kite::Result<vk::Device> d = vk::Device::Create(options);
  unsetenv("VK_DRIVER_FILES");
  unsetenv("VK_ICD_FILENAMES");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Error::kUnsupported);
  const std::string m = d.status().message();
  EXPECT_TRUE(m.rfind("no Vulkan", 0) == 0) << m;
}

}  // namespace
