// kite-generate as a user runs it: --json with greedy decoding reproduces the golden ids;
// bad options exit 2 with a message.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "test/common/json_lite.h"
#include "test/common/test_paths.h"

namespace {

// Runs `args` through the shell; returns the exit code and stdout+stderr in *out.
int RunGenerate(const std::string& args, std::string* out) {
  const std::string cmd = std::string(KITE_GENERATE_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(GenerateCli, JsonGreedyMatchesGolden) {
  std::string golden;
  ASSERT_TRUE(kite::test::ReadWholeFile(
      kite::test::SharedModel("goldens/stories260K-greedy-the_little_dog.json"), &golden));
  std::vector<int64_t> prompt_ids, generated_ids, got_prompt, got_generated;
  ASSERT_TRUE(kite::test::JsonIntArray(golden, "prompt_token_ids", &prompt_ids));
  ASSERT_TRUE(kite::test::JsonIntArray(golden, "generated_token_ids", &generated_ids));
  std::string out;
  ASSERT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-f32.kite") +
                    " -p 'The little dog' -n 64 --temp 0 --json",
                &out),
            0)
      << out;
  ASSERT_TRUE(kite::test::JsonIntArray(out, "prompt_token_ids", &got_prompt)) << out;
  ASSERT_TRUE(kite::test::JsonIntArray(out, "generated_token_ids", &got_generated)) << out;
  EXPECT_EQ(got_prompt, prompt_ids);
  EXPECT_EQ(got_generated, generated_ids);
  std::string text;
  EXPECT_TRUE(kite::test::JsonString(out, "text", &text));
  EXPECT_FALSE(text.empty());
  EXPECT_NE(out.find("\"decode_tok_s\""), std::string::npos);
}

TEST(GenerateCli, StreamsText) {
  std::string out;
  ASSERT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-q4.kite") + " -p 'Once upon a time' -n 30 --seed 3",
                &out),
            0)
      << out;
  EXPECT_EQ(out.rfind("Once upon a time", 0), 0u) << out;
  EXPECT_NE(out.find("tokens generated"), std::string::npos) << out;
}

TEST(GenerateCli, BadOptionsExit2WithMessage) {
  std::string out;
  EXPECT_EQ(RunGenerate("-p hi", &out), 2);
  EXPECT_NE(out.find("model is required"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("-m x.kite --temp -1", &out), 2);
  EXPECT_NE(out.find("--temp"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("-m x.kite -n abc", &out), 2);
  EXPECT_EQ(RunGenerate("-m x.kite --top-p 0", &out), 2);
  EXPECT_EQ(RunGenerate("-m x.kite --bogus", &out), 2);
  EXPECT_NE(out.find("unknown option '--bogus'"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("-m /nonexistent.kite", &out), 1);
  EXPECT_NE(out.find("/nonexistent.kite"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-q4.kite") + " -c 100000", &out), 1);
  EXPECT_NE(out.find("max_context"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("--help", &out), 0);
  EXPECT_NE(out.find("--max-tokens"), std::string::npos);
}

}  // namespace
