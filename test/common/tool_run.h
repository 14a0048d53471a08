// Running a command-line tool from a test: its exit code, stdout and stderr, and a scratch
// folder for its outputs. Test code only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace kite::test {

/// What a tool run produced.
struct ToolRun {
  int exit_code = -1;  ///< -1 when the tool did not exit normally
  std::string out, err;
};

/// The whole file at `path` ("" when it cannot be read).
inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// `s` single-quoted for the shell.
inline std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// A fresh folder under the test temp dir, named after `prefix`, made once per process
/// for each call site that keeps the result (e.g. in a function-local static).
inline std::string MakeScratchDir(const std::string& prefix) {
  std::string templ = ::testing::TempDir() + "/" + prefix + "_XXXXXX";
  const char* made = mkdtemp(templ.data());
  return made != nullptr ? std::string(made) : std::string("/tmp");
}

/// The command that runs `word` when it is a program of this build folder in a cross build
/// (KITE_TEST_EMULATOR: toolchains/qemu-run.sh with its arguments, shell-quoted, as ctest
/// runs the tests themselves), else "".
inline std::string EmulatorFor(const std::string& word) {
#if defined(KITE_TEST_EMULATOR) && defined(KITE_BINARY_DIR)
  if (word.rfind(std::string(KITE_BINARY_DIR) + "/", 0) == 0 && access(word.c_str(), X_OK) == 0) {
    return KITE_TEST_EMULATOR;
  }
#endif
  return "";
}

/// Runs `binary` with `args` (no shell expansion of either), capturing stdout and stderr
/// through files in `scratch_dir`. In a cross build the first of `binary` and `args` that is
/// a program of the build folder runs through the emulator (EmulatorFor), also when a host
/// program starts it (`timeout 60 BINARY ...`).
inline ToolRun RunTool(const std::string& binary, const std::vector<std::string>& args,
                       const std::string& scratch_dir) {
  std::string cmd = EmulatorFor(binary);
  bool emulated = !cmd.empty();
  cmd += ShellQuote(binary);
  for (const std::string& a : args) {
    const std::string emulator = emulated ? "" : EmulatorFor(a);
    emulated = emulated || !emulator.empty();
    cmd += " " + emulator + ShellQuote(a);
  }
  const std::string out = scratch_dir + "/stdout.txt";
  const std::string err = scratch_dir + "/stderr.txt";
  cmd += " >" + ShellQuote(out) + " 2>" + ShellQuote(err);
  ToolRun r;
  const int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadText(out);
  r.err = ReadText(err);
  return r;
}

}  // namespace kite::test
