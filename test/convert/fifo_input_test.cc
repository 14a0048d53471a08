// Issue 18 defect 3, reader by reader: every converter input opened on a FIFO fails at
// once with a message naming the path and saying it is a FIFO. Before the fix each call
// blocked in open()/fopen() forever; the alarm turns a hang into a failed test.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tools/common/input_file.h"
#include "tools/common/json.h"
#include "tools/convert/compress/calibration.h"
#include "tools/convert/source/gguf_reader.h"
#include "tools/convert/source/input_files.h"
#include "tools/convert/source/llama2c_checkpoint.h"
#include "tools/convert/source/safetensors_reader.h"
#include "tools/convert/tokenizer/hf_tokenizer.h"
#include "tools/convert/tokenizer/llama2c_tokenizer.h"

namespace kite::convert {
namespace {

class ConvertFifoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/convert_fifo_XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    fifo_ = dir_ + "/input.fifo";
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
    alarm(30);  // a blocked open kills the test binary instead of hanging ctest
  }
  void TearDown() override {
    alarm(0);
    unlink(fifo_.c_str());
    rmdir(dir_.c_str());
  }

  void ExpectFifoError(const absl::Status& s) {
    EXPECT_FALSE(s.ok());
    const std::string m(s.message());
    EXPECT_NE(m.find(fifo_), std::string::npos) << m;
    EXPECT_NE(m.find("is a FIFO, not a regular file"), std::string::npos) << m;
  }

  std::string dir_, fifo_;
};

TEST_F(ConvertFifoTest, EveryReaderFailsFast) {
  ExpectFifoError(DetectInputFormat(fifo_).status());
  ExpectFifoError(ReadLlama2cHeader(fifo_).status());
  ExpectFifoError(ReadLlama2cCheckpoint(fifo_).status());
  ExpectFifoError(ReadLlama2cTokenizer(fifo_, 512).status());
  ExpectFifoError(ReadTextFile(fifo_).status());
  ExpectFifoError(ReadGgufFile(fifo_).status());
  ExpectFifoError(SafetensorsFile::Open(fifo_).status());
  ExpectFifoError(json::ParseFile(fifo_).status());
  ExpectFifoError(LoadHfTokenizerFromPath(fifo_).status());
  ExpectFifoError(tools::ReadInputFile(fifo_).status());
}

TEST_F(ConvertFifoTest, MissingFileKeepsNotFound) {
  const absl::StatusOr<std::string> r = tools::ReadInputFile(dir_ + "/missing");
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  // The OS's reason once, not twice ("...: No such file or directory: No such file ...").
  const std::string m(r.status().message());
  const std::string reason = std::strerror(ENOENT);
  ASSERT_NE(m.find(reason), std::string::npos) << m;
  EXPECT_EQ(m.find(reason, m.find(reason) + reason.size()), std::string::npos) << m;
}

TEST_F(ConvertFifoTest, DeviceAndDirectoryAreNamed) {
  const absl::StatusOr<std::string> dev = tools::ReadInputFile("/dev/null");
  EXPECT_NE(std::string(dev.status().message()).find("is a character device"), std::string::npos)
      << dev.status();
  const absl::StatusOr<std::string> folder = tools::ReadInputFile(dir_);
  EXPECT_NE(std::string(folder.status().message()).find("is a directory"), std::string::npos)
      << folder.status();
}

}  // namespace
}  // namespace kite::convert
