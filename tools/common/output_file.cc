#include "tools/common/output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"

namespace kite::tools {
namespace {

// With a 2 MiB buffer, stdio writes whole 2 MiB blocks at 2 MiB-aligned offsets, so the
// page cache can hold the new file in 2 MiB folios, which the runtime's mapping then maps
// with huge pages (far fewer TLB misses while decode streams the weights). (glibc ignores
// the size unless it is given the buffer.)
constexpr size_t kWriteBlock = size_t{2} << 20;

// The temporaries the signal handler removes. A slot is free (0), being filled (1) or
// armed (2); the handler reads only armed slots, whose path no longer changes.
constexpr int kCleanupSlots = 16;
constexpr size_t kMaxCleanupPath = 4096;
struct CleanupSlot {
  std::atomic<int> state{0};
  char path[kMaxCleanupPath];
};
CleanupSlot g_cleanup[kCleanupSlots];
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP};

void RemoveTemporariesAndReraise(int sig) {
  const int saved_errno = errno;
  for (CleanupSlot& slot : g_cleanup) {
    if (slot.state.load() == 2) unlink(slot.path);
  }
  errno = saved_errno;
  // SA_RESETHAND restored the default action; the signal is blocked until we return, and
  // then kills the process as if no handler had run.
  raise(sig);
}

// Arms a free slot with `path`; returns its index, or -1 when none is free or the path is
// too long (the temporary then survives a signal, nothing worse).
int ArmCleanup(const std::string& path) {
  if (path.size() >= kMaxCleanupPath) return -1;
  for (int i = 0; i < kCleanupSlots; ++i) {
    int expected = 0;
    if (!g_cleanup[i].state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_cleanup[i].path, path.c_str(), path.size() + 1);
    g_cleanup[i].state.store(2);
    return i;
  }
  return -1;
}

void DisarmCleanup(int slot) {
  if (slot >= 0) g_cleanup[slot].state.store(0);
}

// Blocks the cleanup signals for its lifetime, so that creating (or renaming) a temporary
// and arming (or disarming) its slot happen as one step for the handler.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kCleanupSignals) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &saved_);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t saved_;
};

std::string RandomSuffix() {
  static constexpr char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::uniform_int_distribution<int> pick(0, sizeof(kChars) - 2);
  std::string s(6, ' ');
  for (char& c : s) c = kChars[pick(device)];
  return s;
}

const char* FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

absl::Status CheckOutputReplaceable(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("the output path is empty");
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
  }
  if (S_ISREG(st.st_mode)) return absl::OkStatus();
  if (S_ISLNK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the output ", path, " is a symbolic link, which is neither written through nor replaced: "
        "pass the path it points to, or remove it"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the output ", path, " is ", FileTypeName(st.st_mode),
      "; only a regular file is replaced"));
}

void InstallTemporaryCleanupHandlers() {
  for (int sig : kCleanupSignals) {
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL ||
        (old.sa_flags & SA_SIGINFO) != 0) {
      continue;
    }
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = RemoveTemporariesAndReraise;
    sigemptyset(&action.sa_mask);
    for (int other : kCleanupSignals) sigaddset(&action.sa_mask, other);
    action.sa_flags = SA_RESETHAND;
    sigaction(sig, &action, nullptr);
  }
}

PendingOutputFile::PendingOutputFile(std::string final_path) : final_(std::move(final_path)) {}

PendingOutputFile::~PendingOutputFile() {
  if (!committed_) Discard();
}

absl::Status PendingOutputFile::Open() {
  if (absl::Status s = CheckOutputReplaceable(final_); !s.ok()) return s;
  int fd = -1;
  std::string name;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    name = absl::StrCat(final_, ".", RandomSuffix(), ".tmp");
    const SignalBlock block;
    fd = open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) {
      return absl::ErrnoToStatus(errno, absl::StrCat(name, ": cannot create"));
    }
    if (fd >= 0) {
      tmp_ = name;
      cleanup_slot_ = ArmCleanup(tmp_);
    }
  }
  if (fd < 0) return absl::AlreadyExistsError(absl::StrCat(final_, ": no free temporary name"));
  file_ = fdopen(fd, "wb");
  if (file_ == nullptr) {
    const int e = errno;
    close(fd);
    Discard();
    return absl::ErrnoToStatus(e, absl::StrCat(tmp_, ": cannot open"));
  }
  buffer_.reset(new char[kWriteBlock]);
  setvbuf(file_, buffer_.get(), _IOFBF, kWriteBlock);
  return absl::OkStatus();
}

void PendingOutputFile::Write(const void* data, size_t size) {
  if (size == 0 || !ok_) return;
  if (file_ == nullptr || std::fwrite(data, 1, size, file_) != size) SetError();
  written_ += size;
}

absl::Status PendingOutputFile::Commit() {
  if (file_ == nullptr) return absl::FailedPreconditionError("the output file is not open");
  if (ok_ && std::fflush(file_) != 0) SetError();
  if (ok_ && fsync(fileno(file_)) != 0) SetError();
  const int close_rc = std::fclose(file_);
  file_ = nullptr;
  if (ok_ && close_rc != 0) SetError();
  absl::Status status;
  if (!ok_) {
    status = absl::ErrnoToStatus(errno_, absl::StrCat(tmp_, ": write failed"));
  } else {
    // The path may have changed while the file was written.
    status = CheckOutputReplaceable(final_);
  }
  if (status.ok()) {
    const SignalBlock block;
    if (std::rename(tmp_.c_str(), final_.c_str()) != 0) {
      status = absl::ErrnoToStatus(errno, absl::StrCat("cannot rename ", tmp_, " to ", final_));
    } else {
      committed_ = true;
      DisarmCleanup(cleanup_slot_);
      cleanup_slot_ = -1;
    }
  }
  if (!status.ok()) Discard();
  return status;
}

void PendingOutputFile::SetError() {
  ok_ = false;
  errno_ = errno;
}

void PendingOutputFile::Discard() {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
  if (!tmp_.empty()) {
    const SignalBlock block;
    unlink(tmp_.c_str());
    DisarmCleanup(cleanup_slot_);
    cleanup_slot_ = -1;
    tmp_.clear();
  }
}

}  // namespace kite::tools
