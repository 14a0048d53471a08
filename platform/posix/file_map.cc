#include "platform/file_map.h"

#include "platform/input_file.h"
#include "sdk/base/quote.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kite {
namespace {

// Maps `fd` after checking it is a non-empty regular file; `what` names it in errors.
Result<FileMap> MapDescriptor(int fd, const char* what, FileMap (*wrap)(const void*, size_t)) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return Status::Make(Error::kIo, "cannot stat %s: %s", what, strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::Make(Error::kIo, "%s is %s, not a regular file", what, FileKindName(st.st_mode));
  }
  if (st.st_size == 0) return Status::Make(Error::kInvalidFormat, "%s is empty (0 bytes)", what);
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    return Status::Make(Error::kIo, "cannot map %s (%lld bytes): %s", what,
                        static_cast<long long>(st.st_size), strerror(errno));
  }
#ifdef MADV_HUGEPAGE
  // A hint, ignored where unsupported: pages read in through this mapping come in 2 MiB
  // page-cache folios (on file systems with large folios, e.g. ext4 on Linux >= 6.16), and
  // such folios are mapped with 2 MiB pages. Decode streams every weight once per token,
  // and 4 KiB pages cost one TLB miss each: measured up to 1.6x slower on one thread.
  madvise(p, static_cast<size_t>(st.st_size), MADV_HUGEPAGE);
#endif
  return wrap(p, static_cast<size_t>(st.st_size));
}

}  // namespace

FileMap::FileMap(FileMap&& other) { *this = static_cast<FileMap&&>(other); }

FileMap& FileMap::operator=(FileMap&& other) {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    mapped_size_ = other.mapped_size_;
    mapped_ = other.mapped_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.mapped_size_ = 0;
    other.mapped_ = false;
  }
  return *this;
}

FileMap::~FileMap() { Release(); }

void FileMap::Release() {
  if (mapped_ && data_ != nullptr) munmap(const_cast<uint8_t*>(data_), mapped_size_);
  data_ = nullptr;
  size_ = 0;
  mapped_size_ = 0;
  mapped_ = false;
}

FileMap FileMap::Borrow(const void* data, size_t size) {
  FileMap m;
  m.data_ = static_cast<const uint8_t*>(data);
  m.size_ = size;
  m.mapped_ = false;
  return m;
}

Result<FileMap> FileMap::OpenPath(const char* path) {
  if (path == nullptr || path[0] == '\0') return Status::Make(Error::kInvalidArgument, "model path is empty");
  uint64_t size = 0;
  KITE_ASSIGN_OR_RETURN(const int fd, OpenRegularFile(path, &size));
  (void)size;
  Result<FileMap> r = MapDescriptor(fd, Quoted(path).c_str(), [](const void* p, size_t n) {
    FileMap m = Borrow(p, n);
    m.mapped_ = true;
    m.mapped_size_ = n;
    return m;
  });
  close(fd);
  return r;
}

Result<FileMap> FileMap::OpenFd(int fd) {
  if (fd < 0) return Status::Make(Error::kInvalidArgument, "file descriptor %d is invalid", fd);
  return MapDescriptor(fd, "the model file descriptor", [](const void* p, size_t n) {
    FileMap m = Borrow(p, n);
    m.mapped_ = true;
    m.mapped_size_ = n;
    return m;
  });
}

Result<FileMap> FileMap::ReadPathToHugePages(const char* path) {
  if (path == nullptr || path[0] == '\0') return Status::Make(Error::kInvalidArgument, "model path is empty");
  uint64_t file_size = 0;
  KITE_ASSIGN_OR_RETURN(const int fd, OpenRegularFile(path, &file_size));
  if (file_size == 0) {
    close(fd);
    return Status::Make(Error::kInvalidFormat, "%s is empty (0 bytes)", Quoted(path).c_str());
  }
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t size = static_cast<size_t>(file_size);
  const size_t rounded = (size + kHuge - 1) / kHuge * kHuge;
  // Over-allocate by one huge page so the buffer can start on a 2 MiB boundary.
  void* raw = mmap(nullptr, rounded + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    close(fd);
    return Status::Make(Error::kOutOfMemory, "cannot allocate %zu bytes to load %s: %s", rounded,
                        Quoted(path).c_str(), strerror(errno));
  }
  uint8_t* base = static_cast<uint8_t*>(raw);
  const size_t lead = (kHuge - reinterpret_cast<uintptr_t>(base) % kHuge) % kHuge;
  if (lead != 0) munmap(base, lead);
  munmap(base + lead + rounded, kHuge - lead);
  base += lead;
  madvise(base, rounded, MADV_HUGEPAGE);  // a hint: without THP this is plain memory
  // read() rather than copying from a mapping: the page cache is not mapped into this
  // process, so its resident size holds one copy of the weights, not two.
  size_t done = 0;
  while (done < size) {
    const ssize_t got = read(fd, base + done, size - done);
    if (got <= 0) {
      const int err = got < 0 ? errno : EIO;
      close(fd);
      munmap(base, rounded);
      return Status::Make(Error::kIo, "cannot read %s at byte %zu: %s", Quoted(path).c_str(), done,
                          strerror(err));
    }
    done += static_cast<size_t>(got);
  }
  close(fd);
  FileMap m;
  m.data_ = base;
  m.size_ = size;
  m.mapped_size_ = rounded;
  m.mapped_ = true;
  return m;
}

}  // namespace kite
