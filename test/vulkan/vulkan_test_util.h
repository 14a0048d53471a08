// Helpers of the Vulkan tests: one device per test binary (lavapipe allowed), buffers
// filled from vectors, and the "no device" failure message.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/pipeline.h"

namespace kite::vulkan::test {

/// Longest wait for one submission: lavapipe on a busy CI machine.
inline constexpr uint64_t kTimeoutNs = 10000000000ull;

/// What tests fill output buffers with, to see that the elements outside an op's rows (gaps
/// between rows, other positions) stay untouched.
inline constexpr float kUntouched = -12345.0f;

/// Prepares `op` (a Q4R16Matvec, RmsNorm, ...) with `args` from a pool of its own, records
/// it for `n_tokens` tokens at position `pos` into a new command buffer of `device`,
/// submits it and waits: success, or the failing step with its message.
template <class Op, class Args>
::testing::AssertionResult RunOp(Device& device, const Op& op, const Args& args,
                                 uint32_t n_tokens, uint32_t pos = 0) {
  Result<DescriptorPool> pool = DescriptorPool::Create(device, 1, kMaxBindings);
  if (!pool.ok()) return ::testing::AssertionFailure() << "pool: " << pool.status().message();
  Result<Dispatch> dispatch = op.Prepare(*pool, args);
  if (!dispatch.ok()) {
    return ::testing::AssertionFailure() << "Prepare: " << dispatch.status().message();
  }
  Result<VkCommandBuffer> commands = device.Begin();
  if (!commands.ok()) {
    return ::testing::AssertionFailure() << "Begin: " << commands.status().message();
  }
  dispatch->Record(*commands, n_tokens, pos);
  Status s = device.SubmitAndWait(kTimeoutNs);
  if (!s.ok()) return ::testing::AssertionFailure() << "SubmitAndWait: " << s.message();
  return ::testing::AssertionSuccess();
}

/// The binary's device, created on first use with KITE_VULKAN_ALLOW_CPU=1 (set here) and
/// destroyed at exit (so the asan preset's leak checker sees it released); null when
/// there is none.
inline Device* TheDevice() {
  static Result<Device> device = [] {
    setenv(kAllowCpuEnv, "1", 1);
    return Device::Create(DeviceOptionsFromEnvironment());
  }();
  return device.ok() ? &device.value() : nullptr;
}

/// Prepares `op` with `args` from a pool of its own and returns the status (for tests of
/// the shape checks).
template <class Op, class Args>
Status PrepareStatus(const Device& device, const Op& op, const Args& args) {
  Result<DescriptorPool> pool = DescriptorPool::Create(device, 1, kMaxBindings);
  if (!pool.ok()) return pool.status();
  Result<Dispatch> dispatch = op.Prepare(*pool, args);
  return dispatch.ok() ? Status::Ok() : dispatch.status();
}

/// A buffer holding a copy of `data`; stops the test binary when it cannot be created.
template <typename T>
Buffer Upload(const Device& device, const std::vector<T>& data, const char* what) {
  Result<Buffer> b = Buffer::Create(device, data.size() * sizeof(T), what);
  if (!b.ok()) {  // no Buffer to return: stop here rather than use an empty Result
    std::fprintf(stderr, "Buffer::Create(%s): %s\n", what, b.status().message());
    std::abort();
  }
  std::memcpy(b->data(), data.data(), data.size() * sizeof(T));
  return std::move(b.value());
}

/// Expects every element of `got` (the output buffer, `size` floats) outside the rows a
/// call wrote to be kUntouched: rows t < m of `rows` floats starting at start + t * stride.
inline void ExpectOnlyRowsWritten(const float* got, size_t size, size_t start, size_t stride,
                                  size_t m, size_t rows) {
  for (size_t i = 0; i < size; ++i) {
    const bool in_row = i >= start && (i - start) / stride < m && (i - start) % stride < rows;
    if (!in_row) EXPECT_EQ(got[i], kUntouched) << "element " << i << " outside the rows written";
  }
}

}  // namespace kite::vulkan::test

/// Declares `Device* d` = TheDevice() and fails the test (with the reason) when null.
#define REQUIRE_DEVICE(d)                                                                    \
  ::kite::vulkan::Device* d = ::kite::vulkan::test::TheDevice();                             \
  ASSERT_NE(d, nullptr) << "no Vulkan device (install mesa-vulkan-drivers: lavapipe): "    \
                        << ::kite::vulkan::Device::Create(::kite::vulkan::DeviceOptions{true}) \
                               .status()                                                    \
                               .message()
