#include "platform/dynamic_library.h"

#include <dlfcn.h>

#include "sdk/base/quote.h"

namespace kite {

Result<DynamicLibrary> DynamicLibrary::Open(const char* name) {
  KITE_CHECK_OR_RETURN(name != nullptr && name[0] != '\0', Error::kInvalidArgument,
                       "the shared library name is empty");
  DynamicLibrary lib;
  lib.handle_ = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (lib.handle_ == nullptr) {
    const char* why = dlerror();
    return Status::Make(Error::kUnsupported, "cannot load %s: %s", Quoted(name).c_str(),
                        why != nullptr ? why : "unknown dlopen error");
  }
  return Result<DynamicLibrary>(static_cast<DynamicLibrary&&>(lib));
}

DynamicLibrary::DynamicLibrary(DynamicLibrary&& other) : handle_(other.handle_) {
  other.handle_ = nullptr;
}

DynamicLibrary& DynamicLibrary::operator=(DynamicLibrary&& other) {
  if (this != &other) {
    Close();
    handle_ = other.handle_;
    other.handle_ = nullptr;
  }
  return *this;
}

DynamicLibrary::~DynamicLibrary() { Close(); }

void DynamicLibrary::Close() {
  if (handle_ != nullptr) dlclose(handle_);
  handle_ = nullptr;
}

void* DynamicLibrary::Symbol(const char* name) const {
  return handle_ != nullptr ? dlsym(handle_, name) : nullptr;
}

}  // namespace kite
