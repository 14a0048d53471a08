// Vulkan results as kite::Status: the one place that names VkResult codes and decides which
// Error kind each maps to.
#pragma once

#include "sdk/backends/vulkan/loader.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Name of a VkResult ("VK_ERROR_DEVICE_LOST", ...); "VkResult <n>" codes it does not know
/// are returned as "unknown VkResult". Static string; thread-safe.
const char* VkResultName(VkResult result);

/// Ok for VK_SUCCESS; otherwise a Status "`what` failed: <VkResult name>". Out-of-memory
/// results map to Error::kOutOfMemory, a missing driver, layer, extension or feature to
/// Error::kUnsupported, everything else (device lost, timeout, ...) to Error::kInternal.
/// `what` names the call or object (e.g. "vkCreateInstance"). Thread-safe.
Status VkCheck(VkResult result, const char* what);

}  // namespace kite::vulkan
