#include "sdk/backends/vulkan/loader.h"

#include <cstdlib>
#include <mutex>

#include "platform/dynamic_library.h"

namespace kite::vulkan {
namespace {

// The loaded libvulkan and its vkGetInstanceProcAddr, kept for the life of the process once
// one loads (the Devices' tables point into it).
std::mutex g_mutex;
DynamicLibrary g_library;
PFN_vkGetInstanceProcAddr g_get_instance_proc_addr = nullptr;

// Opens the loader and resolves vkGetInstanceProcAddr into the globals (g_mutex held).
Status OpenLoader() {
  const char* override_name = std::getenv(kLoaderEnv);
  const bool overridden = override_name != nullptr && override_name[0] != '\0';
  DynamicLibrary library;
  const char* name = overridden ? override_name : kLoaderNames[0];
  if (overridden) {
    Result<DynamicLibrary> opened = DynamicLibrary::Open(override_name);
    if (opened.ok()) library = static_cast<DynamicLibrary&&>(opened.value());
  } else {
    for (const char* candidate : kLoaderNames) {
      Result<DynamicLibrary> opened = DynamicLibrary::Open(candidate);
      if (opened.ok()) {
        library = static_cast<DynamicLibrary&&>(opened.value());
        name = candidate;
        break;
      }
    }
  }
  KITE_CHECK_OR_RETURN(library.is_open(), Error::kUnsupported,
                       "Vulkan loader %s not found: install libvulkan1 (the Vulkan loader) "
                       "and a Vulkan driver, or use the CPU backend",
                       name);
  auto get = reinterpret_cast<PFN_vkGetInstanceProcAddr>(
      library.Symbol("vkGetInstanceProcAddr"));
  KITE_CHECK_OR_RETURN(get != nullptr, Error::kUnsupported,
                       "%s is not a Vulkan loader: it has no vkGetInstanceProcAddr", name);
  g_library = static_cast<DynamicLibrary&&>(library);
  g_get_instance_proc_addr = get;
  return Status::Ok();
}

// Resolves `name` through `get` (vkGetInstanceProcAddr or vkGetDeviceProcAddr) for
// `handle` into *fn; `from` names what lacks it in the message.
template <typename Get, typename Handle, typename Fn>
Status Resolve(Get get, Handle handle, const char* name, const char* from, Fn* fn) {
  *fn = reinterpret_cast<Fn>(get(handle, name));
  KITE_CHECK_OR_RETURN(*fn != nullptr, Error::kUnsupported, "%s has no %s", from, name);
  return Status::Ok();
}

// Resolves member `name` of *vk with the `get`, `handle` and `from` in scope.
#define KITE_VK_LOAD(name) KITE_RETURN_IF_ERROR(Resolve(get, handle, "vk" #name, from, &vk->name));

}  // namespace

// The body of a function filling the functions of `list` through `get_fn` for `handle_value`.
#define KITE_VK_LOAD_LIST(list, get_fn, handle_value, from_text) \
  const auto get = get_fn;                                        \
  const auto handle = handle_value;                               \
  const char* from = from_text;                                   \
  list(KITE_VK_LOAD) return Status::Ok();

Status LoadGlobalFunctions(Functions* vk) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_get_instance_proc_addr == nullptr) KITE_RETURN_IF_ERROR(OpenLoader());
    vk->GetInstanceProcAddr = g_get_instance_proc_addr;
  }
  KITE_VK_LOAD_LIST(KITE_VK_GLOBAL_FUNCTIONS, vk->GetInstanceProcAddr, VkInstance{VK_NULL_HANDLE},
                    "the Vulkan loader")
}

Status LoadInstanceFunctions(VkInstance instance, Functions* vk) {
  KITE_VK_LOAD_LIST(KITE_VK_INSTANCE_FUNCTIONS, vk->GetInstanceProcAddr, instance,
                    "the Vulkan instance")
}

Status LoadDeviceFunctions(VkDevice device, Functions* vk) {
#define KITE_VK_LOAD_OPTIONAL(name) \
  vk->name = reinterpret_cast<PFN_vk##name>(vk->GetDeviceProcAddr(device, "vk" #name));
  KITE_VK_OPTIONAL_DEVICE_FUNCTIONS(KITE_VK_LOAD_OPTIONAL)
#undef KITE_VK_LOAD_OPTIONAL
  KITE_VK_LOAD_LIST(KITE_VK_DEVICE_FUNCTIONS, vk->GetDeviceProcAddr, device, "the Vulkan device")
}

#undef KITE_VK_LOAD_LIST
#undef KITE_VK_LOAD

}  // namespace kite::vulkan
