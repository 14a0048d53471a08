#include "tools/common/input_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "platform/input_file.h"
#include "sdk/base/quote.h"

namespace kite::tools {

absl::StatusOr<int> OpenInputFile(const std::string& path, uint64_t* size) {
  int os_error = 0;
  kite::Result<int> fd = kite::OpenRegularFile(path.c_str(), size, &os_error);
  if (fd.ok()) return fd.value();
  const char* message = fd.status().message();
  // The message already ends with the OS's reason; keep only its code from errno.
  if (os_error != 0) return absl::Status(absl::ErrnoToStatusCode(os_error), message);
  return absl::InvalidArgumentError(message);
}

absl::StatusOr<std::string> ReadInputFile(const std::string& path) {
  uint64_t size = 0;
  absl::StatusOr<int> fd = OpenInputFile(path, &size);
  if (!fd.ok()) return fd.status();
  std::string bytes;
  bytes.reserve(static_cast<size_t>(size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = read(*fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(*fd);
      return absl::ErrnoToStatus(
          err, absl::StrCat("cannot read ", kite::Quoted(path.data(), path.size()).c_str()));
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  close(*fd);
  return bytes;
}

}  // namespace kite::tools
