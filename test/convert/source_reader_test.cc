// OpenSource picks the reader by input format, every reader describes stories260K the
// same way and yields the same tensors, and kite-convert refuses an output that is a file
// the reader found on its own (the tokenizer beside a llama2.c checkpoint).
#include "tools/convert/source/source_reader.h"

#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"

namespace kite::convert {
namespace {

using kite::test::SharedModel;

CliOptions Options(const std::vector<std::string>& args) {
  absl::StatusOr<CliOptions> o = ParseCommandLine(args);
  EXPECT_TRUE(o.ok()) << o.status();
  return o.ok() ? *o : CliOptions();
}

std::unique_ptr<SourceReader> Open(const std::vector<std::string>& args) {
  absl::StatusOr<std::unique_ptr<SourceReader>> r = OpenSource(Options(args));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(*r) : nullptr;
}

TEST(OpenSource, ChoosesTheReaderByFormat) {
  std::unique_ptr<SourceReader> llama2c = Open({SharedModel("stories260K.bin"), "-o", "x"});
  ASSERT_NE(llama2c, nullptr);
  EXPECT_EQ(llama2c->description().source_format, "llama2c");
  EXPECT_EQ(llama2c->description().source, "stories260K.bin");
  EXPECT_EQ(llama2c->description().tokenizer_path, SharedModel("tok512.bin"));  // found beside
  EXPECT_TRUE(llama2c->HoldsWholeModel());
  EXPECT_FALSE(llama2c->ParallelLoads());

  std::unique_ptr<SourceReader> gguf = Open({SharedModel("stories260K.gguf"), "-o", "x"});
  ASSERT_NE(gguf, nullptr);
  EXPECT_EQ(gguf->description().source_format, "gguf");
  EXPECT_TRUE(gguf->HoldsWholeModel());
  EXPECT_TRUE(gguf->description().tokenizer_path.empty());

  std::unique_ptr<SourceReader> hf = Open({SharedModel("hf/stories260K-hf-f32-sharded"),
                                           "--tokenizer", SharedModel("tok512.bin"), "-o", "x"});
  ASSERT_NE(hf, nullptr);
  EXPECT_EQ(hf->description().source_format, "huggingface");
  EXPECT_EQ(hf->description().source, "stories260K-hf-f32-sharded");
  EXPECT_FALSE(hf->HoldsWholeModel());
  EXPECT_GE(hf->description().input_files.size(), 3u);  // the tokenizer and two shards

  std::unique_ptr<SourceReader> synthetic = Open({"--synthetic", "stories260k", "-o", "x"});
  ASSERT_NE(synthetic, nullptr);
  EXPECT_EQ(synthetic->description().source, "synthetic:stories260k");
  EXPECT_TRUE(synthetic->ParallelLoads());
  EXPECT_FALSE(synthetic->description().detect_chat_format);

  std::unique_ptr<SourceReader> vocab =
      Open({"--vocab-only", SharedModel("stories260K.gguf"), "-o", "x"});
  ASSERT_NE(vocab, nullptr);
  EXPECT_TRUE(vocab->description().vocab_only);
  EXPECT_TRUE(vocab->tensors().empty());
  EXPECT_EQ(vocab->description().config.vocab_size, 512u);

  absl::StatusOr<std::unique_ptr<SourceReader>> folder =
      OpenSource(Options({SharedModel("goldens"), "-o", "x"}));
  ASSERT_FALSE(folder.ok());
  EXPECT_NE(folder.status().message().find("is a directory"), std::string::npos)
      << folder.status();
}

// llama2.c, GGUF and the f32 Hugging Face folder hold the same stories260K weights.
TEST(OpenSource, EveryFormatYieldsTheSameModel) {
  std::unique_ptr<SourceReader> readers[] = {
      Open({SharedModel("stories260K.bin"), "-o", "x"}),
      Open({SharedModel("stories260K.gguf"), "-o", "x"}),
      Open({SharedModel("hf/stories260K-hf-f32-sharded"), "--tokenizer",
            SharedModel("tok512.bin"), "-o", "x"})};
  for (const auto& r : readers) ASSERT_NE(r, nullptr);
  absl::StatusOr<SourceModel> reference = readers[0]->TakeModel();
  ASSERT_TRUE(reference.ok()) << reference.status();
  for (size_t k = 1; k < 3; ++k) {
    const SourceReader& r = *readers[k];
    EXPECT_EQ(r.description().config.dim, reference->config.dim);
    EXPECT_EQ(r.description().tokenizer.pieces.size(), 512u);
    ASSERT_EQ(r.tensors().size(), reference->tensors.size());
    for (size_t i = 0; i < r.tensors().size(); ++i) {
      SourceTensor t;
      ASSERT_TRUE(r.Load(i, &t).ok());
      EXPECT_EQ(t.name, reference->tensors[i].name);
      EXPECT_EQ(t.shape, reference->tensors[i].shape);
      EXPECT_EQ(t.data, reference->tensors[i].data) << k << " " << t.name;
    }
  }
}

TEST(InputUsageProblem, GgufWithTokenizerAndOutputOverInput) {
  EXPECT_NE(InputUsageProblem(Options({SharedModel("stories260K.gguf"), "--tokenizer",
                                       SharedModel("tok512.bin"), "-o", "x"}))
                .find("does not apply to GGUF"),
            std::string::npos);
  EXPECT_NE(InputUsageProblem(Options({SharedModel("stories260K.bin"), "--tokenizer",
                                       SharedModel("tok512.bin"), "-o",
                                       SharedModel("tok512.bin")}))
                .find("would overwrite an input file"),
            std::string::npos);
  EXPECT_EQ(InputUsageProblem(Options({SharedModel("stories260K.bin"), "-o", "x.kite"})), "");
}

// The tokenizer found beside a checkpoint is an input too: -o naming it is refused (the
// old path checked only --tokenizer and overwrote it).
TEST(ConvertCli, OutputOverTheTokenizerFoundBesideTheInputIsRefused) {
  const std::string dir = kite::test::MakeScratchDir("kite_source_reader");
  const std::string tokenizer = kite::test::ReadText(SharedModel("tok512.bin"));
  std::ofstream(dir + "/model.bin", std::ios::binary)
      << kite::test::ReadText(SharedModel("stories260K.bin"));
  std::ofstream(dir + "/tok512.bin", std::ios::binary) << tokenizer;
  const kite::test::ToolRun r = kite::test::RunTool(
      KITE_CONVERT_BIN, {dir + "/model.bin", "-o", dir + "/tok512.bin"}, dir);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("would overwrite an input file"), std::string::npos) << r.err;
  EXPECT_EQ(kite::test::ReadText(dir + "/tok512.bin"), tokenizer);
}

}  // namespace
}  // namespace kite::convert
