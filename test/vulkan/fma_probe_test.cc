// The fma probe (sdk/backends/vulkan/fma_probe.h): its operations' expected results, the
// decision over read-back values, the KITE_VULKAN_FMA switch, and the probe on the device
// (lavapipe rounds fma() twice: "not fused").
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/fma_probe.h"

namespace {

namespace vk = kite::vulkan;
using kite::Error;

bool SameBits(float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; }

// The table against the host: std::fma rounds once; a product stored to a volatile float
// and then added rounds twice.
TEST(VulkanFmaProbe, CasesRoundOnceAndTwiceAsStated) {
  const vk::FmaProbeCase* cases = vk::FmaProbeCases();
  for (uint32_t i = 0; i < vk::kFmaProbeCases; ++i) {
    SCOPED_TRACE(i);
    const vk::FmaProbeCase& c = cases[i];
    EXPECT_TRUE(SameBits(std::fma(c.a, c.b, c.c), c.fused));
    volatile float product = c.a * c.b;
    volatile float sum = product + c.c;
    EXPECT_TRUE(SameBits(sum, c.rounded_twice));
    // Every case but the first tells the two apart.
    EXPECT_EQ(SameBits(c.fused, c.rounded_twice), i == 0);
  }
}

TEST(VulkanFmaProbe, DecisionOverReadBackValues) {
  const vk::FmaProbeCase* cases = vk::FmaProbeCases();
  float fused[vk::kFmaProbeCases], twice[vk::kFmaProbeCases];
  for (uint32_t i = 0; i < vk::kFmaProbeCases; ++i) {
    fused[i] = cases[i].fused;
    twice[i] = cases[i].rounded_twice;
  }
  EXPECT_EQ(vk::DecideFma(fused), vk::FmaProbeAnswer::kFused);
  EXPECT_EQ(vk::DecideFma(twice), vk::FmaProbeAnswer::kNotFused);
  // Mixed: one operation rounded once, the others twice (and the reverse).
  float mixed[vk::kFmaProbeCases];
  std::memcpy(mixed, twice, sizeof(mixed));
  mixed[2] = fused[2];
  EXPECT_EQ(vk::DecideFma(mixed), vk::FmaProbeAnswer::kInconsistent);
  std::memcpy(mixed, fused, sizeof(mixed));
  mixed[4] = twice[4];
  EXPECT_EQ(vk::DecideFma(mixed), vk::FmaProbeAnswer::kInconsistent);
  // A result that is neither (a dispatch that did not run leaves NaNs; a -0 is not +0).
  std::memcpy(mixed, twice, sizeof(mixed));
  mixed[0] = std::nanf("");
  EXPECT_EQ(vk::DecideFma(mixed), vk::FmaProbeAnswer::kInconsistent);
  std::memcpy(mixed, twice, sizeof(mixed));
  mixed[1] = -0.0f;
  EXPECT_EQ(vk::DecideFma(mixed), vk::FmaProbeAnswer::kInconsistent);
}

TEST(VulkanFmaProbe, ModeFromTheEnvironment) {
  vk::FmaMode mode = vk::FmaMode::kNative;
  EXPECT_TRUE(vk::ParseFmaMode(nullptr, &mode));
  EXPECT_EQ(mode, vk::FmaMode::kAuto);
  EXPECT_TRUE(vk::ParseFmaMode("emulate", &mode));
  EXPECT_EQ(mode, vk::FmaMode::kEmulate);
  EXPECT_TRUE(vk::ParseFmaMode("native", &mode));
  EXPECT_EQ(mode, vk::FmaMode::kNative);
  EXPECT_TRUE(vk::ParseFmaMode("auto", &mode));
  EXPECT_EQ(mode, vk::FmaMode::kAuto);
  EXPECT_FALSE(vk::ParseFmaMode("fused", &mode));

  setenv(vk::kFmaEnv, "native", 1);
  EXPECT_EQ(vk::DeviceOptionsFromEnvironment().fma, vk::FmaMode::kNative);
  EXPECT_EQ(vk::DeviceOptionsFromEnvironment().bad_fma, nullptr);
  setenv(vk::kFmaEnv, "1", 1);
  vk::DeviceOptions bad = vk::DeviceOptionsFromEnvironment();
  unsetenv(vk::kFmaEnv);
  ASSERT_NE(bad.bad_fma, nullptr);
  bad.allow_cpu = true;
  kite::Result<vk::Device> d = vk::Device::Create(bad);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Error::kInvalidArgument);
  EXPECT_STREQ(d.status().message(), "KITE_VULKAN_FMA='1': expected auto, emulate or native");
  EXPECT_EQ(vk::DeviceOptionsFromEnvironment().fma, vk::FmaMode::kAuto);
}

// The probe on the device: lavapipe (Mesa's llvmpipe) rounds fma() twice, so the
// emulation stays; a forced mode skips the probe.
TEST(VulkanFmaProbe, ProbeOnTheDevice) {
  vk::DeviceOptions options;
  options.allow_cpu = true;
  kite::Result<vk::Device> d = vk::Device::Create(options);
  if (!d.ok()) GTEST_SKIP() << "no Vulkan device: " << d.status().message();
  kite::Result<vk::FmaProbeAnswer> answer = vk::ProbeFma(*d);
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ(d->fma_native(), *answer == vk::FmaProbeAnswer::kFused);
  const std::string name = d->properties().deviceName;
  std::printf("%s: fma() %s\n", name.c_str(),
              *answer == vk::FmaProbeAnswer::kFused      ? "fused"
              : *answer == vk::FmaProbeAnswer::kNotFused ? "not fused"
                                                         : "inconsistent");
  if (name.rfind("llvmpipe", 0) == 0) {
    EXPECT_EQ(*answer, vk::FmaProbeAnswer::kNotFused);
    EXPECT_FALSE(d->fma_native());
  }
  // The device still works after the probe.
  ASSERT_TRUE(d->Begin().ok());
  EXPECT_TRUE(d->SubmitAndWait(10000000000ull).ok());

  options.fma = vk::FmaMode::kNative;
  kite::Result<vk::Device> native = vk::Device::Create(options);
  ASSERT_TRUE(native.ok()) << native.status().message();
  EXPECT_TRUE(native->fma_native());
  options.fma = vk::FmaMode::kEmulate;
  kite::Result<vk::Device> emulate = vk::Device::Create(options);
  ASSERT_TRUE(emulate.ok()) << emulate.status().message();
  EXPECT_FALSE(emulate->fma_native());
}

}  // namespace
