// Issue 18 defect 3: a FIFO (or another non-regular file) given as an input must fail fast
// with a message naming it, in every tool and for every input kind. Before the fix each
// run below blocked in open() forever (the `timeout` wrapper turned that into exit 124).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "test/common/test_paths.h"
#include "test/common/tool_run.h"

namespace kite::test {
namespace {

class FifoInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("fifo_input");
    fifo_ = dir_ + "/input.fifo";
    unlink(fifo_.c_str());
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
  }

  // Runs `binary args...` under a 20 s timeout; expects a prompt failure naming the FIFO.
  void ExpectFastFailure(const std::string& binary, const std::vector<std::string>& args,
                         const std::string& named) {
    std::vector<std::string> full = {"20", binary};
    full.insert(full.end(), args.begin(), args.end());
    const ToolRun r = RunTool("timeout", full, dir_);
    SCOPED_TRACE(binary + " " + (args.empty() ? "" : args[0]) + "\nstderr: " + r.err);
    EXPECT_NE(r.exit_code, 124) << "timed out: the tool blocked on the FIFO";
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(named), std::string::npos);
    EXPECT_NE(r.err.find("is a FIFO"), std::string::npos);
  }

  std::string dir_, fifo_;
};

TEST_F(FifoInputTest, InspectNamesTheFileOnce) {
  const ToolRun r = RunTool("timeout", {"20", KITE_INSPECT_BIN, fifo_}, dir_);
  const size_t first = r.err.find(fifo_);
  ASSERT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(fifo_, first + 1), std::string::npos) << r.err;
}

TEST_F(FifoInputTest, ModelFileInEveryTool) {
  ExpectFastFailure(KITE_INSPECT_BIN, {fifo_}, fifo_);
  ExpectFastFailure(KITE_GENERATE_BIN, {"-m", fifo_, "-p", "Once"}, fifo_);
  ExpectFastFailure(KITE_EVAL_BIN, {"-m", fifo_, "--text", fifo_}, fifo_);
  ExpectFastFailure(KITE_TOKENIZE_BIN, {"-m", fifo_, "--text", "hello"}, fifo_);
}

TEST_F(FifoInputTest, TextInputs) {
  const std::string model = std::string(KITE_TEST_MODELS_DIR) + "/stories260K-q4.kite";
  ExpectFastFailure(KITE_EVAL_BIN, {"-m", model, "--text", fifo_}, fifo_);
  ExpectFastFailure(KITE_EVAL_BIN, {"-m", model, "--tokens", fifo_}, fifo_);
  ExpectFastFailure(KITE_TOKENIZE_BIN, {"-m", model, "--file", fifo_}, fifo_);
}

TEST_F(FifoInputTest, EveryConverterInput) {
  const std::string models = KITE_SHARED_MODELS;
  const std::string out = dir_ + "/out.kite";
  // The checkpoint itself (format detection reads its first bytes).
  ExpectFastFailure(KITE_CONVERT_BIN, {fifo_, "-o", out}, fifo_);
  // A llama2.c tokenizer.bin.
  ExpectFastFailure(KITE_CONVERT_BIN,
                    {models + "/stories260K.bin", "--tokenizer", fifo_, "-o", out}, fifo_);
  // Calibration text.
  ExpectFastFailure(KITE_CONVERT_BIN,
                    {models + "/stories260K.bin", "--tokenizer", models + "/tok512.bin", "--quant",
                     "q4", "--calib", fifo_, "-o", out},
                    fifo_);
  // A file of a Hugging Face folder: the weights, then config.json.
  for (const char* victim : {"model.safetensors", "config.json"}) {
    const std::string hf = dir_ + "/hf_" + victim;
    ASSERT_EQ(mkdir(hf.c_str(), 0700), 0);
    const std::string src = models + "/hf/stories260K-hf-bf16/";
    for (const char* name : {"config.json", "model.safetensors"}) {
      const std::string dst = hf + "/" + name;
      if (std::string(name) == victim) {
        ASSERT_EQ(mkfifo(dst.c_str(), 0600), 0);
      } else {
        ASSERT_EQ(std::system(("cp " + ShellQuote(src + name) + " " + ShellQuote(dst)).c_str()), 0);
      }
    }
    const std::string fifo_file = hf + "/" + victim;
    std::vector<std::string> full = {
        "20", KITE_CONVERT_BIN, hf, "--tokenizer", models + "/tok512.bin", "-o", out};
    const ToolRun r = RunTool("timeout", full, dir_);
    SCOPED_TRACE(std::string(victim) + "\nstderr: " + r.err);
    EXPECT_NE(r.exit_code, 124) << "timed out: the converter blocked on the FIFO";
    EXPECT_NE(r.exit_code, 0);
    // config.json as a FIFO makes the folder not a model folder; either way it is named.
    EXPECT_NE(r.err.find(victim), std::string::npos);
  }
}

TEST_F(FifoInputTest, CharacterDeviceAndDirectoryAreNamed) {
  const ToolRun dev = RunTool("timeout", {"20", KITE_INSPECT_BIN, "/dev/zero"}, dir_);
  EXPECT_NE(dev.exit_code, 0);
  EXPECT_NE(dev.err.find("is a character device"), std::string::npos) << dev.err;
  const ToolRun folder = RunTool("timeout", {"20", KITE_INSPECT_BIN, dir_}, dir_);
  EXPECT_NE(folder.exit_code, 0);
  EXPECT_NE(folder.err.find("is a directory"), std::string::npos) << folder.err;
}

}  // namespace
}  // namespace kite::test
