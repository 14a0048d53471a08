#include "platform/input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sdk/base/quote.h"

namespace kite {

const char* FileKindName(unsigned st_mode) {
  const mode_t m = static_cast<mode_t>(st_mode);
  if (S_ISREG(m)) return "a regular file";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISLNK(m)) return "a symbolic link";
  return "a special file";
}

Result<int> OpenRegularFile(const char* path, uint64_t* size, int* os_error) {
  if (os_error != nullptr) *os_error = 0;
  if (path == nullptr || path[0] == '\0') {
    return Status::Make(Error::kInvalidArgument, "input path is empty");
  }
  // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer forever.
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (os_error != nullptr) *os_error = err;
    return Status::Make(Error::kIo, "cannot open %s: %s", Quoted(path).c_str(), strerror(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    if (os_error != nullptr) *os_error = err;
    return Status::Make(Error::kIo, "cannot stat %s: %s", Quoted(path).c_str(), strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Status::Make(Error::kIo, "%s is %s, not a regular file", Quoted(path).c_str(),
                        FileKindName(st.st_mode));
  }
  // Regular files never block; clear the flag so later reads behave as usual.
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const int err = errno;
    close(fd);
    return Status::Make(Error::kIo, "cannot use %s: %s", Quoted(path).c_str(), strerror(err));
  }
  *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

}  // namespace kite
