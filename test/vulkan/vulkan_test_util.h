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
#include "sdk/backends/vulkan/op.h"
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

/// The arguments of a 4-bit matvec (op.h) for calls of up to `max_tokens` tokens at
/// position 0, with the given shape and buffers (`xsum` may be null where the op reads none;
/// the Q4_ROW_GROUPS fields are set by the caller).
inline Q4MatvecArgs MakeQ4MatvecArgs(uint32_t max_tokens, uint32_t rows, uint32_t groups,
                                     RowAddress y_at, const Buffer* w, const Buffer* xq,
                                     const Buffer* xscale, const Buffer* xsum, const Buffer* y) {
  Q4MatvecArgs a;
  a.max_tokens = max_tokens;
  a.rows = rows;
  a.groups = groups;
  a.y_at = y_at;
  a.w = w;
  a.xq = xq;
  a.xscale = xscale;
  a.xsum = xsum;
  a.y = y;
  return a;
}

/// Where a matvec test's output rows go: `m` token rows of `rows` floats from `start`,
/// `stride` apart, in a buffer of `size` floats (kUntouched elsewhere, 5 past the end). A
/// call at position `pos` writes at y_offset + pos * y_pos_stride; y_pos_stride 0 is the
/// call's own rows (3 floats apart between several tokens, to see that gaps stay untouched).
struct OutputRows {
  size_t m, rows, start, stride, size;
  uint32_t y_offset, y_pos_stride;  // the RowAddress's offset and pos_stride
};
inline OutputRows MakeOutputRows(size_t m, size_t rows, uint32_t pos, uint32_t y_offset,
                                 uint32_t y_pos_stride) {
  const size_t stride = y_pos_stride != 0 ? y_pos_stride : m > 1 ? rows + 3 : rows;
  const size_t start = y_offset + static_cast<size_t>(pos) * y_pos_stride;
  return {m, rows, start, stride, start + (m - 1) * stride + rows + 5, y_offset, y_pos_stride};
}

/// Runs 4-bit matvec `op` (op.h) for o.m tokens at position `pos`, on buffers holding `w`,
/// `params` (none when empty), `xq` and `xscale` and a y buffer of o.size kUntouched floats
/// at the RowAddress of `o`; `args` gives the rest (max_tokens = o.m, max_pos = pos).
/// Returns y's floats in `got`.
template <class Op>
::testing::AssertionResult RunQ4Matvec(Device& device, const Op& op, Q4MatvecArgs args,
                                       const std::vector<uint8_t>& w,
                                       const std::vector<uint16_t>& params,
                                       const std::vector<int8_t>& xq,
                                       const std::vector<float>& xscale, const OutputRows& o,
                                       uint32_t pos, std::vector<float>* got) {
  Buffer bw = Upload(device, w, "w");
  Buffer bp = Upload(device, params.empty() ? std::vector<uint16_t>(2) : params, "params");
  Buffer bxq = Upload(device, xq, "xq");
  Buffer bxs = Upload(device, xscale, "xscale");
  Buffer by = Upload(device, std::vector<float>(o.size, kUntouched), "y");
  args.max_tokens = static_cast<uint32_t>(o.m);
  args.max_pos = pos;
  args.rows = static_cast<uint32_t>(o.rows);
  args.y_at = {o.y_offset, o.y_pos_stride, static_cast<uint32_t>(o.stride)};
  args.w = &bw;
  args.params = params.empty() ? nullptr : &bp;
  args.xq = &bxq;
  args.xscale = &bxs;
  args.y = &by;
  ::testing::AssertionResult ran = RunOp(device, op, args, static_cast<uint32_t>(o.m), pos);
  const float* y = static_cast<const float*>(by.data());
  got->assign(y, y + o.size);
  return ran;
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

/// True when the device runs the integer-dot shaders (VK_KHR_shader_integer_dot_product);
/// lavapipe (llvmpipe) must, so that the integer-dot tests do not skip silently where CI
/// runs them (a failed expectation there).
inline bool HasIntegerDot(const Device& device) {
  const DeviceFacts& f = device.facts();
  if (IsCpuDevice(f.type) && std::strstr(f.name, "llvmpipe") != nullptr) {
    EXPECT_TRUE(f.integer_dot_product) << f.name << " reports no integer dot products";
  }
  return f.integer_dot_product;
}

}  // namespace kite::vulkan::test

/// Declares `Device* d` = TheDevice() and fails the test (with the reason) when null.
#define REQUIRE_DEVICE(d)                                                                    \
  ::kite::vulkan::Device* d = ::kite::vulkan::test::TheDevice();                             \
  ASSERT_NE(d, nullptr) << "no Vulkan device (install mesa-vulkan-drivers: lavapipe): "    \
                        << ::kite::vulkan::Device::Create(::kite::vulkan::DeviceOptions{true}) \
                               .status()                                                    \
                               .message()
