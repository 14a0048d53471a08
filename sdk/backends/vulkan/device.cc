#include "sdk/backends/vulkan/device.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "sdk/backends/vulkan/command_stream.h"
#include "sdk/backends/vulkan/fma_probe.h"
#include "sdk/backends/vulkan/vk_status.h"

namespace kite::vulkan {

namespace {

// More physical devices than any machine has; the rest are ignored.
constexpr uint32_t kMaxPhysicalDevices = 16;
constexpr uint32_t kMaxQueueFamilies = 32;

// Lower is better: discrete, integrated, virtual, other GPU, then CPU.
int Rank(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 4;
    default: return 3;
  }
}

// The first queue family with compute, preferring one without graphics (a dedicated
// compute queue); -1 when there is none.
int ComputeQueueFamily(const Functions& vk, VkPhysicalDevice physical) {
  VkQueueFamilyProperties families[kMaxQueueFamilies];
  uint32_t count = kMaxQueueFamilies;
  vk.GetPhysicalDeviceQueueFamilyProperties(physical, &count, families);
  int any = -1;
  for (uint32_t i = 0; i < count; ++i) {
    if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) == 0 || families[i].queueCount == 0) {
      continue;
    }
    if ((families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) == 0) return static_cast<int>(i);
    if (any < 0) any = static_cast<int>(i);
  }
  return any;
}

DeviceFacts FactsOf(const VkPhysicalDeviceProperties& p, bool has_compute_queue) {
  DeviceFacts f;
  f.name = p.deviceName;
  f.api_version = p.apiVersion;
  f.type = p.deviceType;
  f.has_compute_queue = has_compute_queue;
  f.max_shared_memory_bytes = p.limits.maxComputeSharedMemorySize;
  f.max_workgroup_invocations = p.limits.maxComputeWorkGroupInvocations;
  f.max_workgroup_size_x = p.limits.maxComputeWorkGroupSize[0];
  f.max_storage_buffers = p.limits.maxPerStageDescriptorStorageBuffers;
  return f;
}

// A zeroed Vulkan input/output struct with its sType and pNext set.
template <class T>
T Chained(VkStructureType type, void* next) {
  T t = {};
  t.sType = type;
  t.pNext = next;
  return t;
}

// True when the device lists the extension `name` (false when the query fails).
bool HasExtension(const Functions& vk, VkPhysicalDevice physical, const char* name) {
  uint32_t count = 0;
  if (vk.EnumerateDeviceExtensionProperties(physical, nullptr, &count, nullptr) != VK_SUCCESS) {
    return false;
  }
  std::vector<VkExtensionProperties> extensions(count);
  if (vk.EnumerateDeviceExtensionProperties(physical, nullptr, &count, extensions.data()) !=
      VK_SUCCESS) {
    return false;
  }
  for (uint32_t i = 0; i < count; ++i) {
    if (std::strcmp(extensions[i].extensionName, name) == 0) return true;
  }
  return false;
}

// Fills facts->integer_dot_product and integer_dot_accelerated
// (VK_KHR_shader_integer_dot_product; its feature and property structs are read through the
// Vulkan 1.1 *2 queries).
void QueryIntegerDot(const Functions& vk, VkPhysicalDevice physical, DeviceFacts* facts) {
  if (!HasExtension(vk, physical, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME)) return;
  auto features = Chained<VkPhysicalDeviceShaderIntegerDotProductFeatures>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES, nullptr);
  auto features2 =
      Chained<VkPhysicalDeviceFeatures2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &features);
  vk.GetPhysicalDeviceFeatures2(physical, &features2);
  auto properties = Chained<VkPhysicalDeviceShaderIntegerDotProductProperties>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES, nullptr);
  auto properties2 = Chained<VkPhysicalDeviceProperties2>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &properties);
  vk.GetPhysicalDeviceProperties2(physical, &properties2);
  facts->integer_dot_product = features.shaderIntegerDotProduct == VK_TRUE;
  facts->integer_dot_accelerated =
      facts->integer_dot_product &&
      properties.integerDotProduct4x8BitPackedSignedAccelerated == VK_TRUE;
}

// Fills facts->subgroup_size (VkPhysicalDeviceSubgroupProperties) and
// max_memory_allocation_size (VkPhysicalDeviceMaintenance3Properties), both core in Vulkan
// 1.1, which the device passed CheckRequirements for.
void QueryCoreProperties(const Functions& vk, VkPhysicalDevice physical, DeviceFacts* facts) {
  auto maintenance3 = Chained<VkPhysicalDeviceMaintenance3Properties>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, nullptr);
  auto subgroup = Chained<VkPhysicalDeviceSubgroupProperties>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, &maintenance3);
  auto properties2 = Chained<VkPhysicalDeviceProperties2>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &subgroup);
  vk.GetPhysicalDeviceProperties2(physical, &properties2);
  facts->subgroup_size = subgroup.subgroupSize;
  facts->max_memory_allocation_size = maintenance3.maxMemoryAllocationSize;
}

// Fills facts->storage_buffer_16bit (VkPhysicalDevice16BitStorageFeatures, Vulkan 1.1 core).
void QueryStorage16(const Functions& vk, VkPhysicalDevice physical, DeviceFacts* facts) {
  auto storage16 = Chained<VkPhysicalDevice16BitStorageFeatures>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES, nullptr);
  auto features2 =
      Chained<VkPhysicalDeviceFeatures2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &storage16);
  vk.GetPhysicalDeviceFeatures2(physical, &features2);
  facts->storage_buffer_16bit = storage16.storageBuffer16BitAccess == VK_TRUE;
}

// Fills facts->external_memory_host and min_imported_host_pointer_alignment
// (VK_EXT_external_memory_host; its property struct through the Vulkan 1.1 *2 query).
void QueryExternalMemoryHost(const Functions& vk, VkPhysicalDevice physical, DeviceFacts* facts) {
  if (!HasExtension(vk, physical, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME)) return;
  auto host = Chained<VkPhysicalDeviceExternalMemoryHostPropertiesEXT>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT, nullptr);
  auto properties2 = Chained<VkPhysicalDeviceProperties2>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &host);
  vk.GetPhysicalDeviceProperties2(physical, &properties2);
  const uint64_t align = host.minImportedHostPointerAlignment;
  // The import arithmetic needs a power of two (the specification guarantees one).
  if (align == 0 || (align & (align - 1)) != 0) return;
  facts->external_memory_host = true;
  facts->min_imported_host_pointer_alignment = align;
}

// Appends "; " (after the first note) and a printf-style note to `buf` of capacity `cap`,
// truncating.
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void AppendNote(char* buf, size_t cap, const char* format, ...) {
  size_t len = std::strlen(buf);
  if (len > 0 && len + 2 < cap) {
    buf[len++] = ';';
    buf[len++] = ' ';
    buf[len] = '\0';
  }
  if (len + 1 >= cap) return;
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf + len, cap - len, format, args);
  va_end(args);
}

}  // namespace

bool ParseFmaMode(const char* text, FmaMode* mode) {
  if (text == nullptr || std::strcmp(text, "auto") == 0) {
    *mode = FmaMode::kAuto;
  } else if (std::strcmp(text, "emulate") == 0) {
    *mode = FmaMode::kEmulate;
  } else if (std::strcmp(text, "native") == 0) {
    *mode = FmaMode::kNative;
  } else {
    return false;
  }
  return true;
}

DeviceOptions DeviceOptionsFromEnvironment() {
  DeviceOptions options;
  const char* allow = std::getenv(kAllowCpuEnv);
  options.allow_cpu = allow != nullptr && std::strcmp(allow, "1") == 0;
  const char* fma = std::getenv(kFmaEnv);
  if (!ParseFmaMode(fma, &options.fma)) options.bad_fma = fma;
  return options;
}

Result<Device> Device::Create(const DeviceOptions& options) {
  KITE_CHECK_OR_RETURN(options.bad_fma == nullptr, Error::kInvalidArgument,
                       "%s='%s': expected auto, emulate or native", kFmaEnv, options.bad_fma);
  Device d;
  Functions& vk = *d.vk_;
  KITE_RETURN_IF_ERROR(LoadGlobalFunctions(&vk));
  VkApplicationInfo app = {};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "kite";
  app.pEngineName = "kite";
  app.apiVersion = kRequiredApiVersion;
  VkInstanceCreateInfo instance_info = {};
  instance_info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  instance_info.pApplicationInfo = &app;
  VkResult r = vk.CreateInstance(&instance_info, nullptr, &d.instance_);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
    return Status::Make(Error::kUnsupported,
                        "no Vulkan 1.1 driver is installed (vkCreateInstance: %s)",
                        VkResultName(r));
  }
  KITE_RETURN_IF_ERROR(VkCheck(r, "vkCreateInstance"));
  KITE_RETURN_IF_ERROR(LoadInstanceFunctions(d.instance_, &vk));

  VkPhysicalDevice physicals[kMaxPhysicalDevices];
  uint32_t count = kMaxPhysicalDevices;
  r = vk.EnumeratePhysicalDevices(d.instance_, &count, physicals);
  if (r != VK_INCOMPLETE) KITE_RETURN_IF_ERROR(VkCheck(r, "vkEnumeratePhysicalDevices"));
  if (count == 0) {
    return Status::Make(Error::kUnsupported,
                        "no Vulkan device: the Vulkan loader found no driver with a device");
  }

  // Why each device was passed over, for the message when none is chosen.
  char skipped[Status::kMaxMessage];
  skipped[0] = '\0';
  int best = -1;
  int best_rank = 0;
  int best_family = -1;
  for (uint32_t i = 0; i < count; ++i) {
    VkPhysicalDeviceProperties p;
    vk.GetPhysicalDeviceProperties(physicals[i], &p);
    const int family = ComputeQueueFamily(*d.vk_, physicals[i]);
    const DeviceFacts facts = FactsOf(p, family >= 0);
    if (IsCpuDevice(p.deviceType) && !options.allow_cpu) {
      AppendNote(skipped, sizeof(skipped), "'%s' is a CPU device (%s=1 allows it)", p.deviceName,
                 kAllowCpuEnv);
      continue;
    }
    const Status fit = CheckRequirements(facts);
    if (!fit.ok()) {
      AppendNote(skipped, sizeof(skipped), "%s", fit.message());
      continue;
    }
    if (best < 0 || Rank(p.deviceType) < best_rank) {
      best = static_cast<int>(i);
      best_rank = Rank(p.deviceType);
      best_family = family;
    }
  }
  if (best < 0) {
    return Status::Make(Error::kUnsupported, "no suitable Vulkan device: %s", skipped);
  }

  d.physical_ = physicals[best];
  d.queue_->family = static_cast<uint32_t>(best_family);
  vk.GetPhysicalDeviceProperties(d.physical_, &d.properties_);
  vk.GetPhysicalDeviceMemoryProperties(d.physical_, &d.memory_);
  d.facts_ = FactsOf(d.properties_, true);
  QueryIntegerDot(*d.vk_, d.physical_, &d.facts_);
  QueryCoreProperties(*d.vk_, d.physical_, &d.facts_);
  QueryExternalMemoryHost(*d.vk_, d.physical_, &d.facts_);
  QueryStorage16(*d.vk_, d.physical_, &d.facts_);
  std::memcpy(d.queue_->device_name, d.properties_.deviceName, sizeof(d.queue_->device_name));

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info = {};
  queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  queue_info.queueFamilyIndex = d.queue_->family;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;
  VkDeviceCreateInfo device_info = {};
  device_info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  device_info.queueCreateInfoCount = 1;
  device_info.pQueueCreateInfos = &queue_info;
  // The optional extensions, enabled where present: integer dot products with their feature
  // (the integer-dot Q4R16Matvec needs them) and host memory import (host_import.h).
  const char* extensions[2];
  uint32_t extension_count = 0;
  auto integer_dot = Chained<VkPhysicalDeviceShaderIntegerDotProductFeatures>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES, nullptr);
  integer_dot.shaderIntegerDotProduct = VK_TRUE;
  if (d.facts_.integer_dot_product) {
    extensions[extension_count++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
    device_info.pNext = &integer_dot;
  }
  // f16 reads from storage buffers (the f16 weights' matvec), a core feature.
  auto storage16 = Chained<VkPhysicalDevice16BitStorageFeatures>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
      const_cast<void*>(device_info.pNext));
  storage16.storageBuffer16BitAccess = VK_TRUE;
  if (d.facts_.storage_buffer_16bit) device_info.pNext = &storage16;
  if (d.facts_.external_memory_host) {
    extensions[extension_count++] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
  }
  device_info.enabledExtensionCount = extension_count;
  device_info.ppEnabledExtensionNames = extension_count != 0 ? extensions : nullptr;
  KITE_RETURN_IF_ERROR(
      VkCheck(vk.CreateDevice(d.physical_, &device_info, nullptr, &d.device_), "vkCreateDevice"));
  KITE_RETURN_IF_ERROR(LoadDeviceFunctions(d.device_, &vk));
  // Without the entry point the extension is of no use.
  if (vk.GetMemoryHostPointerPropertiesEXT == nullptr) d.facts_.external_memory_host = false;
  vk.GetDeviceQueue(d.device_, d.queue_->family, 0, &d.queue_->queue);
  KITE_ASSIGN_OR_RETURN(CommandStream stream, CommandStream::Create(d));
  d.stream_.reset(new CommandStream(std::move(stream)));
  if (options.fma == FmaMode::kAuto) {
    // An inconsistent answer keeps the emulation, exact everywhere.
    KITE_ASSIGN_OR_RETURN(const FmaProbeAnswer fma, ProbeFma(d));
    d.fma_native_ = fma == FmaProbeAnswer::kFused;
  } else {
    d.fma_native_ = options.fma == FmaMode::kNative;
  }
  return Result<Device>(std::move(d));
}

Device::Device() : vk_(new Functions), queue_(new SharedQueue) { queue_->vk = vk_.get(); }

Device::Device(Device&& other)
    : vk_(std::move(other.vk_)),
      instance_(other.instance_),
      physical_(other.physical_),
      device_(other.device_),
      queue_(std::move(other.queue_)),
      stream_(std::move(other.stream_)),
      properties_(other.properties_),
      memory_(other.memory_),
      facts_(other.facts_),
      fma_native_(other.fma_native_) {
  facts_.name = properties_.deviceName;
  other.instance_ = VK_NULL_HANDLE;
  other.device_ = VK_NULL_HANDLE;
}

Device::~Device() { Release(); }

void Device::Release() {
  if (!vk_) return;  // moved from
  const Functions& vk = *vk_;
  if (device_ != VK_NULL_HANDLE) {
    stream_.reset();
    // After a timeout the queue may still be busy; a lost device returns at once.
    vk.DeviceWaitIdle(device_);
    vk.DestroyDevice(device_, nullptr);
  }
  if (instance_ != VK_NULL_HANDLE) vk.DestroyInstance(instance_, nullptr);
  instance_ = VK_NULL_HANDLE;
  device_ = VK_NULL_HANDLE;
}

int Device::FindMemoryType(uint32_t type_bits, VkMemoryPropertyFlags flags) const {
  int found = -1;
  for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    if ((type_bits & (1u << i)) == 0) continue;
    const VkMemoryPropertyFlags has = memory_.memoryTypes[i].propertyFlags;
    if ((has & flags) != flags) continue;
    if ((has & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) != 0) return static_cast<int>(i);
    if (found < 0) found = static_cast<int>(i);
  }
  return found;
}

Status SharedQueue::Submit(const VkSubmitInfo& submit, VkFence fence) {
  std::lock_guard<std::mutex> lock(mutex);
  return VkCheck(vk->QueueSubmit(queue, 1, &submit, fence), "vkQueueSubmit");
}

Result<VkCommandBuffer> Device::Begin() { return stream_->Begin(); }

Status Device::SubmitAndWait(uint64_t timeout_ns) { return stream_->SubmitAndWait(timeout_ns); }

}  // namespace kite::vulkan
