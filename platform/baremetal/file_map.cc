// FileMap for bare-metal targets: there is no file system, so only caller memory (a model
// linked into flash, or loaded into RAM by the application) can back a model.
#include "platform/file_map.h"

namespace kite {

FileMap::FileMap(FileMap&& other) { *this = static_cast<FileMap&&>(other); }

FileMap& FileMap::operator=(FileMap&& other) {
  if (this != &other) {
    data_ = other.data_;
    size_ = other.size_;
    mapped_size_ = 0;
    mapped_ = false;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

FileMap::~FileMap() { Release(); }

// Nothing is ever owned here: Borrow is the only way to get bytes.
void FileMap::Release() {
  data_ = nullptr;
  size_ = 0;
}

FileMap FileMap::Borrow(const void* data, size_t size) {
  FileMap m;
  m.data_ = static_cast<const uint8_t*>(data);
  m.size_ = size;
  return m;
}

Result<FileMap> FileMap::OpenPath(const char* path) {
  return Status::Make(Error::kUnsupported,
                      "cannot open '%s': this bare-metal build has no file system; open the "
                      "model from memory (kite_model_open_memory)",
                      path != nullptr ? path : "(null)");
}

Result<FileMap> FileMap::OpenFd(int fd) {
  return Status::Make(Error::kUnsupported,
                      "cannot map file descriptor %d: this bare-metal build has no file system; "
                      "open the model from memory (kite_model_open_memory)",
                      fd);
}

Result<FileMap> FileMap::ReadPathToHugePages(const char* path) { return OpenPath(path); }

}  // namespace kite
