// Replacing the output path safely (issue 18, defects 1 and 2): only a regular file or
// nothing is replaced; the temporary is unique, never followed through a link, and gone
// after a failure or a SIGTERM; two conversions to one path both end with a valid file.
// Unit tests of CheckOutputReplaceable and PendingOutputFile, then kite-convert itself.
#include "tools/common/output_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"

namespace kite::convert {

using tools::CheckOutputReplaceable;
using tools::PendingOutputFile;

namespace {

using kite::test::ReadText;

// A fresh folder per test.
std::string NewDir(const std::string& name) { return kite::test::MakeScratchDir(name); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

mode_t TypeOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

// The names in `dir` that end in ".tmp".
std::vector<std::string> Temporaries(const std::string& dir) {
  std::vector<std::string> found;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return found;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) found.push_back(name);
  }
  closedir(d);
  return found;
}

TEST(CheckOutputReplaceable, AcceptsNothingOrARegularFile) {
  const std::string dir = NewDir("out_check");
  EXPECT_TRUE(CheckOutputReplaceable(dir + "/new.kite").ok());
  WriteText(dir + "/old.kite", "old");
  EXPECT_TRUE(CheckOutputReplaceable(dir + "/old.kite").ok());
}

TEST(CheckOutputReplaceable, RefusesDevNullByStatOnly) {
  const absl::Status s = CheckOutputReplaceable("/dev/null");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(std::string(s.message()), "/dev/null")) << s;
  EXPECT_TRUE(Contains(std::string(s.message()), "character device")) << s;
  EXPECT_EQ(TypeOf("/dev/null"), static_cast<mode_t>(S_IFCHR));
}

TEST(CheckOutputReplaceable, RefusesFifoDirectoryAndSymlink) {
  const std::string dir = NewDir("out_check_kinds");
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  absl::Status s = CheckOutputReplaceable(fifo);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(std::string(s.message()), fifo + " is a FIFO")) << s;
  s = CheckOutputReplaceable(dir);
  EXPECT_TRUE(Contains(std::string(s.message()), "is a directory")) << s;
  // A link is refused even when it points at a regular file (or nowhere).
  WriteText(dir + "/target", "t");
  ASSERT_EQ(symlink((dir + "/target").c_str(), (dir + "/link").c_str()), 0);
  s = CheckOutputReplaceable(dir + "/link");
  EXPECT_TRUE(Contains(std::string(s.message()), "symbolic link")) << s;
  ASSERT_EQ(symlink((dir + "/nowhere").c_str(), (dir + "/dangling").c_str()), 0);
  EXPECT_FALSE(CheckOutputReplaceable(dir + "/dangling").ok());
}

TEST(PendingOutputFile, UniqueTemporariesCommitAndDiscard) {
  const std::string dir = NewDir("out_pending");
  const std::string path = dir + "/model.kite";
  const mode_t mask = umask(022);
  {
    PendingOutputFile a(path), b(path);
    ASSERT_TRUE(a.Open().ok());
    ASSERT_TRUE(b.Open().ok());
    EXPECT_NE(a.temporary_path(), b.temporary_path());
    EXPECT_EQ(a.temporary_path().rfind(path + ".", 0), 0u) << a.temporary_path();
    EXPECT_EQ(Temporaries(dir).size(), 2u);
    struct stat st;
    ASSERT_EQ(stat(a.temporary_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    a.Write("first", 5);
    b.Write("second", 6);
    ASSERT_TRUE(a.Commit().ok());
    EXPECT_EQ(ReadText(path), "first");
    // b is dropped without Commit: its temporary goes.
  }
  umask(mask);
  EXPECT_TRUE(Temporaries(dir).empty());
  EXPECT_EQ(ReadText(path), "first");
}

TEST(PendingOutputFile, CommitChecksThePathAgain) {
  const std::string dir = NewDir("out_recheck");
  const std::string path = dir + "/model.kite";
  PendingOutputFile out(path);
  ASSERT_TRUE(out.Open().ok());
  out.Write("data", 4);
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);  // appears while the file is written
  const absl::Status s = out.Commit();
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(std::string(s.message()), path)) << s;
  EXPECT_EQ(TypeOf(path), static_cast<mode_t>(S_IFIFO));
  EXPECT_TRUE(Temporaries(dir).empty());
}

TEST(PendingOutputFile, RefusesToStartOnAFifo) {
  const std::string dir = NewDir("out_fifo_unit");
  const std::string path = dir + "/fifo.kite";
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  PendingOutputFile out(path);
  EXPECT_FALSE(out.Open().ok());
  EXPECT_TRUE(Temporaries(dir).empty());
}

// --- kite-convert ---

// A running kite-convert: its stderr is a pipe read by the test, its stdout is discarded.
struct Child {
  pid_t pid = -1;
  int err_fd = -1;
  std::string err;

  // Reads what stderr has (waits up to `ms`); false at end of file.
  bool Read(int ms) {
    pollfd p{err_fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return true;
    char buf[4096];
    const ssize_t n = read(err_fd, buf, sizeof(buf));
    if (n <= 0) return false;
    err.append(buf, static_cast<size_t>(n));
    return true;
  }
  // Reads stderr to the end and waits; returns the wait status. Kills the child after
  // `timeout_s` seconds (a test that would hang fails instead).
  int Finish(int timeout_s = 60) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (Read(100)) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "kite-convert did not finish in " << timeout_s << " s; killed";
        kill(pid, SIGKILL);
        break;
      }
    }
    close(err_fd);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  }
};

// Starts kite-convert with `args`. `file_size_limit` > 0 caps the files it may write
// (RLIMIT_FSIZE, with SIGXFSZ ignored so a write past it fails with EFBIG).
Child Start(const std::vector<std::string>& args, rlim_t file_size_limit = 0) {
  int fds[2];
  Child c;
  if (pipe(fds) != 0) return c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    if (file_size_limit > 0) {
      const rlimit limit{file_size_limit, file_size_limit};
      setrlimit(RLIMIT_FSIZE, &limit);
      signal(SIGXFSZ, SIG_IGN);
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(KITE_CONVERT_BIN));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(KITE_CONVERT_BIN, argv.data());
    _exit(127);
  }
  close(fds[1]);
  c.err_fd = fds[0];
  return c;
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

std::vector<std::string> Stories(const std::string& out) {
  return {kite::test::SharedModel("stories260K.bin"), "--tokenizer",
          kite::test::SharedModel("tok512.bin"), "--quant", "q8", "-o", out};
}

TEST(ConvertOutput, FifoIsRefusedBeforeAnyWorkAndStaysAFifo) {
  const std::string dir = NewDir("out_cli_fifo");
  const std::string fifo = dir + "/model.kite";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Child c = Start(Stories(fifo));
  const int status = c.Finish(30);
  EXPECT_EQ(ExitCode(status), 1) << c.err;
  EXPECT_TRUE(Contains(c.err, fifo + " is a FIFO")) << c.err;
  EXPECT_FALSE(Contains(c.err, "reading")) << "work started before the check:\n" << c.err;
  EXPECT_EQ(TypeOf(fifo), static_cast<mode_t>(S_IFIFO));
  EXPECT_TRUE(Temporaries(dir).empty());
}

TEST(ConvertOutput, SymlinkOutputIsRefusedAndItsTargetKept) {
  const std::string dir = NewDir("out_cli_link");
  WriteText(dir + "/target", "precious");
  const std::string link = dir + "/model.kite";
  ASSERT_EQ(symlink((dir + "/target").c_str(), link.c_str()), 0);
  Child c = Start(Stories(link));
  EXPECT_EQ(ExitCode(c.Finish()), 1) << c.err;
  EXPECT_TRUE(Contains(c.err, "symbolic link")) << c.err;
  EXPECT_EQ(TypeOf(link), static_cast<mode_t>(S_IFLNK));
  EXPECT_EQ(ReadText(dir + "/target"), "precious");
}

// The --distill-log TSV, written while training: a FIFO or a link there is refused before
// any work, and neither is touched.
TEST(ConvertOutput, DistillLogOnAFifoOrLinkIsRefusedBeforeAnyWork) {
  const std::string dir = NewDir("out_cli_distill_log");
  WriteText(dir + "/calib.txt", "Once upon a time there was a cat.\n");
  WriteText(dir + "/target", "precious");
  const std::string fifo = dir + "/log.fifo";
  const std::string link = dir + "/log.tsv";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(symlink((dir + "/target").c_str(), link.c_str()), 0);
  for (const std::string& log : {fifo, link}) {
    std::vector<std::string> args = Stories(dir + "/model.kite");
    args.insert(args.end(), {"--calib", dir + "/calib.txt", "--distill", "--distill-steps", "1",
                             "--distill-log", log});
    Child c = Start(args);
    EXPECT_EQ(ExitCode(c.Finish(30)), 1) << c.err;
    EXPECT_TRUE(Contains(c.err, log)) << c.err;
    EXPECT_FALSE(Contains(c.err, "reading")) << "work started before the check:\n" << c.err;
  }
  EXPECT_EQ(TypeOf(fifo), static_cast<mode_t>(S_IFIFO));
  EXPECT_EQ(TypeOf(link), static_cast<mode_t>(S_IFLNK));
  EXPECT_EQ(ReadText(dir + "/target"), "precious");
  EXPECT_NE(access((dir + "/model.kite").c_str(), F_OK), 0);
}

TEST(ConvertOutput, SymlinkPlantedAtTheOldTemporaryNameIsNotFollowed) {
  const std::string dir = NewDir("out_cli_planted");
  WriteText(dir + "/victim", "precious");
  const std::string out = dir + "/model.kite";
  ASSERT_EQ(symlink((dir + "/victim").c_str(), (out + ".tmp").c_str()), 0);
  Child c = Start(Stories(out));
  ASSERT_EQ(ExitCode(c.Finish()), 0) << c.err;
  EXPECT_EQ(ReadText(dir + "/victim"), "precious");
  EXPECT_EQ(TypeOf(out + ".tmp"), static_cast<mode_t>(S_IFLNK));
  EXPECT_EQ(TypeOf(out), static_cast<mode_t>(S_IFREG));
  EXPECT_EQ(ReadText(out).substr(8, 4), "KITE");  // the FlatBuffer identifier
}

TEST(ConvertOutput, FailedWriteLeavesNoTemporaryAndKeepsTheOldFile) {
  const std::string dir = NewDir("out_cli_fail");
  const std::string out = dir + "/model.kite";
  WriteText(out, "previous");
  // stories260K in q8 is about 300 KB: a 100 KB file size limit fails the write midway.
  Child c = Start(Stories(out), 100 * 1024);
  EXPECT_EQ(ExitCode(c.Finish()), 1) << c.err;
  EXPECT_TRUE(Contains(c.err, "write failed")) << c.err;
  EXPECT_TRUE(Temporaries(dir).empty());
  EXPECT_EQ(ReadText(out), "previous");
}

TEST(ConvertOutput, TwoConversionsToOnePathBothSucceed) {
  const std::string dir = NewDir("out_cli_race");
  const std::string out = dir + "/model.kite";
  auto synthetic = [&](const char* seed, const std::string& path) {
    // About 28 MB each, so that the two writes overlap.
    return std::vector<std::string>{"--synthetic", "stories260k", "--vocab", "100000",
                                    "--quant",     "f32",         "--seed",  seed,
                                    "-o",          path};
  };
  Child a = Start(synthetic("1", dir + "/one.kite"));
  Child b = Start(synthetic("2", dir + "/two.kite"));
  ASSERT_EQ(ExitCode(a.Finish()), 0) << a.err;
  ASSERT_EQ(ExitCode(b.Finish()), 0) << b.err;
  const std::string one = ReadText(dir + "/one.kite"), two = ReadText(dir + "/two.kite");
  ASSERT_NE(one, two);
  for (int round = 0; round < 2; ++round) {
    a = Start(synthetic("1", out));
    b = Start(synthetic("2", out));
    EXPECT_EQ(ExitCode(a.Finish()), 0) << a.err;
    EXPECT_EQ(ExitCode(b.Finish()), 0) << b.err;
    const std::string got = ReadText(out);
    EXPECT_TRUE(got == one || got == two) << "round " << round << ": a mixed or broken file";
    EXPECT_TRUE(Temporaries(dir).empty());
  }
}

TEST(ConvertOutput, SigtermWhileWritingLeavesNoTemporary) {
  const std::string dir = NewDir("out_cli_sigterm");
  const std::string out = dir + "/model.kite";
  // About 110 MB written: long enough to catch the temporary on disk.
  const std::vector<std::string> args = {"--synthetic", "smollm-135m", "--vocab", "300",
                                         "--quant",     "q8",          "-o",      out};
  bool killed_while_writing = false;
  for (int attempt = 0; attempt < 3 && !killed_while_writing; ++attempt) {
    Child c = Start(args);
    bool eof = false;
    while (!eof && !Contains(c.err, "writing ")) eof = !c.Read(100);
    while (!eof && Temporaries(dir).empty()) {
      eof = !c.Read(0);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (!eof && kill(c.pid, SIGTERM) == 0) killed_while_writing = true;
    const int status = c.Finish();
    if (!killed_while_writing) {
      // The write finished before the temporary was seen: try again.
      std::remove(out.c_str());
      continue;
    }
    if (WIFEXITED(status)) {
      // The rename won the race with the signal: a complete file, and no temporary.
      EXPECT_EQ(WEXITSTATUS(status), 0) << c.err;
      killed_while_writing = false;
      std::remove(out.c_str());
      continue;
    }
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGTERM);  // the handler re-raised the signal
    EXPECT_EQ(TypeOf(out), 0u) << "an output appeared";
  }
  EXPECT_TRUE(killed_while_writing) << "never caught kite-convert while it wrote";
  EXPECT_TRUE(Temporaries(dir).empty()) << Temporaries(dir).front();
}

}  // namespace
}  // namespace kite::convert
