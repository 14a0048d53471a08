// A command stream: one command pool, command buffer and fence of a Device, for one thread
// at a time. Each session (VulkanForward) and each upload owns one, so several threads can
// record and submit to one device at once; the device serialises only the queue submission
// itself (SharedQueue::Submit).
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/device.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Move-only owner of a command pool, its one primary command buffer and a fence. The
/// Device must outlive it. Not thread-safe: one thread at a time per stream; different
/// streams of one device may be used on different threads concurrently.
class CommandStream {
 public:
  /// Creates the pool (resettable buffers, the device's compute queue family), the buffer
  /// and the fence. Errors: Vulkan failures per VkCheck.
  static Result<CommandStream> Create(const Device& device);

  CommandStream(CommandStream&& other);
  CommandStream(const CommandStream&) = delete;
  CommandStream& operator=(const CommandStream&) = delete;
  CommandStream& operator=(CommandStream&&) = delete;
  /// Waits for the stream's last submission (at most its fence; never hangs after a
  /// timeout: a failed stream's work is abandoned) and releases the objects.
  ~CommandStream();

  /// Resets the command buffer and begins recording into it (one-time submit). The buffer
  /// belongs to the stream; record into it, then call SubmitAndWait. After a failure (see
  /// SubmitAndWait) returns that failure.
  Result<VkCommandBuffer> Begin();

  /// Ends the command buffer, submits it to the device's queue (SharedQueue::Submit, which
  /// serialises submissions across threads) and waits for it at most `timeout_ns`. A
  /// timeout or a lost device returns an error and marks the stream failed: every later
  /// Begin/SubmitAndWait returns the same error (no hang, no crash). Out of memory does not
  /// mark it failed.
  Status SubmitAndWait(uint64_t timeout_ns);

  /// Not ok once a submission timed out or the device was lost.
  const Status& failed() const { return failed_; }

 private:
  CommandStream() = default;

  const Functions* vk_ = nullptr;  // the Device's entry points
  VkDevice device_ = VK_NULL_HANDLE;
  SharedQueue* queue_ = nullptr;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer commands_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  bool pending_ = false;  ///< submitted and not yet waited for successfully
  Status failed_;
};

}  // namespace kite::vulkan
