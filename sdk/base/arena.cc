#include "sdk/base/arena.h"

namespace kite {

Arena& Arena::operator=(Arena&& other) {
  if (this != &other) {
    Free();
    data_ = other.data_;
    size_ = other.size_;
    used_ = other.used_;
    alignment_ = other.alignment_;
    owned_ = other.owned_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.used_ = 0;
    other.owned_ = false;
  }
  return *this;
}

void Arena::Free() {
  if (owned_ && data_ != nullptr) ::operator delete(data_, std::align_val_t(alignment_));
  data_ = nullptr;
  size_ = 0;
  used_ = 0;
  owned_ = false;
}

Result<Arena> Arena::Borrow(void* storage, size_t size, size_t alignment, const char* what) {
  KITE_CHECK_OR_RETURN(storage != nullptr, Error::kInvalidArgument, "%s is null", what);
  KITE_CHECK_OR_RETURN(reinterpret_cast<uintptr_t>(storage) % alignment == 0,
                       Error::kInvalidArgument, "%s must be %zu-byte aligned", what, alignment);
  Arena a;
  a.data_ = static_cast<uint8_t*>(storage);
  a.size_ = size;
  return a;
}

Result<Arena> Arena::Allocate(size_t size, size_t alignment, const char* what) {
  Arena a;
  if (size == 0) return a;
  void* p = ::operator new(size, std::align_val_t(alignment), std::nothrow);
  KITE_CHECK_OR_RETURN(p != nullptr, Error::kOutOfMemory, "cannot allocate %zu bytes for %s", size,
                       what);
  a.data_ = static_cast<uint8_t*>(p);
  a.size_ = size;
  a.alignment_ = alignment;
  a.owned_ = true;
  return a;
}

void* Arena::Take(size_t bytes, size_t alignment) {
  // Align the address, not the offset: borrowed storage may be less aligned than asked.
  const uintptr_t base = reinterpret_cast<uintptr_t>(data_);
  const uintptr_t at = (base + used_ + alignment - 1) & ~static_cast<uintptr_t>(alignment - 1);
  const size_t offset = static_cast<size_t>(at - base);
  if (data_ == nullptr || offset > size_ || bytes > size_ - offset) return nullptr;
  used_ = offset + bytes;
  return data_ + offset;
}

}  // namespace kite
