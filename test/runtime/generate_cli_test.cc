// kite-generate as a user runs it: --json with greedy decoding reproduces the golden ids;
// bad options exit 2 with a message; the sampling flags, --stop, --logit-bias, -f,
// --prompt-cache and --context-shift.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "test/common/json_fixture.h"
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

// The --json object in `out` (the line that starts with '{'; stderr lines may surround it).
kite::json::Value JsonLine(const std::string& out) {
  size_t at = out.rfind("\n{");
  at = out.compare(0, 1, "{") == 0 ? 0 : at == std::string::npos ? at : at + 1;
  if (at == std::string::npos) {
    ADD_FAILURE() << "no JSON line in: " << out;
    return kite::json::Value();
  }
  const size_t end = out.find('\n', at);
  return kite::test::ParseJson(out.substr(at, end == std::string::npos ? end : end - at));
}

TEST(GenerateCli, JsonGreedyMatchesGolden) {
  const kite::json::Value golden =
      kite::test::LoadJson(kite::test::SharedModel("goldens/stories260K-greedy-the_little_dog.json"));
  std::vector<int64_t> prompt_ids, generated_ids, got_prompt, got_generated;
  ASSERT_TRUE(kite::test::JsonIntArray(golden, "prompt_token_ids", &prompt_ids));
  ASSERT_TRUE(kite::test::JsonIntArray(golden, "generated_token_ids", &generated_ids));
  std::string out;
  ASSERT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-f32.kite") +
                    " -p 'The little dog' -n 64 --temp 0 --json",
                &out),
            0)
      << out;
  const kite::json::Value got = JsonLine(out);
  ASSERT_TRUE(kite::test::JsonIntArray(got, "prompt_token_ids", &got_prompt)) << out;
  ASSERT_TRUE(kite::test::JsonIntArray(got, "generated_token_ids", &got_generated)) << out;
  EXPECT_EQ(got_prompt, prompt_ids);
  EXPECT_EQ(got_generated, generated_ids);
  std::string text;
  EXPECT_TRUE(kite::test::JsonString(got, "text", &text));
  EXPECT_FALSE(text.empty());
  ASSERT_NE(got.Find("timings"), nullptr) << out;
  EXPECT_TRUE(got.Find("timings")->Find("decode_tok_s")->is_number()) << out;
}

TEST(GenerateCli, ThreadsDefaultToTheCpusAtMostFour) {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  const long want = cpus < 1 ? 1 : cpus > 4 ? 4 : cpus;
  // An explicit -t is kept (1 differs from the default on any machine with 2 CPUs or more).
  for (const char* threads : {"", " -t 1"}) {
    std::string out;
    ASSERT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-q4.kite") +
                              " -p 'Once' -n 4 --temp 0 --json" + threads,
                          &out),
              0)
        << out;
    EXPECT_EQ(kite::test::JsonNumber(JsonLine(out), "threads"), threads[0] == '\0' ? want : 1)
        << out;
  }
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

// "[turn T: fed F new tokens, generated G, context C of M]" lines of a --chat run.
struct TurnLine {
  int fed = 0, generated = 0, context = 0;
};
std::vector<TurnLine> TurnLines(const std::string& out) {
  std::vector<TurnLine> turns;
  for (size_t at = out.find("[turn "); at != std::string::npos; at = out.find("[turn ", at + 1)) {
    int t = 0, max = 0;
    TurnLine l;
    if (std::sscanf(out.c_str() + at, "[turn %d: fed %d new tokens, generated %d, context %d of %d]",
                    &t, &l.fed, &l.generated, &l.context, &max) == 5) {
      turns.push_back(l);
    }
  }
  return turns;
}

TEST(GenerateCli, ChatFeedsOnlyEachNewTurn) {
  // Two user lines on stdin; the model (no chat format: "role: content" lines) answers each.
  const std::string input = ::testing::TempDir() + "/kite_chat_input.txt";
  FILE* f = std::fopen(input.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("Once upon a time\nThe little dog\n", f);
  std::fclose(f);
  std::string out;
  ASSERT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-hf-f32.kite") +
                            " --chat --system 'Tell a story.' -n 8 --temp 0 < " + input,
                        &out),
            0)
      << out;
  const std::vector<TurnLine> turns = TurnLines(out);
  ASSERT_EQ(turns.size(), 2u) << out;
  // Turn 1 feeds the whole prompt; turn 2 only what follows the context (the second user
  // message and the headers), so the context grows by exactly what was fed and generated.
  EXPECT_EQ(turns[0].context, turns[0].fed + turns[0].generated) << out;
  EXPECT_EQ(turns[1].context, turns[0].context + turns[1].fed + turns[1].generated) << out;
  EXPECT_LT(turns[1].fed, turns[0].fed + 10) << out;

  // -p with --chat: a single turn.
  ASSERT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-hf-f32.kite") +
                            " --chat -p 'Once upon a time' -n 4 --temp 0 < /dev/null",
                        &out),
            0)
      << out;
  EXPECT_EQ(TurnLines(out).size(), 1u) << out;
  EXPECT_EQ(RunGenerate("-m x.kite --system hi", &out), 2);
  EXPECT_NE(out.find("--system needs --chat"), std::string::npos) << out;
}

// -t above the online CPUs made every parallel step wait on threads that have no core
// (prefill ~1000x slower): it is capped at the CPU count, with a warning on stderr.
TEST(GenerateCli, ThreadsAboveTheCpusAreCapped) {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1 || cpus >= 256) GTEST_SKIP() << "needs fewer than 256 CPUs (-t is at most 256)";
  std::string out;
  ASSERT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-q4.kite") +
                            " -p 'Once' -n 4 --temp 0 --json -t " + std::to_string(cpus + 1),
                        &out),
            0)
      << out;
  EXPECT_EQ(kite::test::JsonNumber(JsonLine(out), "threads"), cpus) << out;
  EXPECT_NE(out.find("warning: -t " + std::to_string(cpus + 1) + " is more than the " +
                     std::to_string(cpus) + " online CPU"),
            std::string::npos)
      << out;
  ASSERT_EQ(RunGenerate("--help", &out), 0);
  EXPECT_NE(out.find("capped at their count"), std::string::npos) << out;
}

// A prompt that cannot fit the context fails before any of it is printed.
TEST(GenerateCli, PromptLongerThanTheContextIsNotEchoed) {
  std::string prompt;
  for (int i = 0; i < 20; ++i) prompt += "The zebra ate a purple muffin. ";
  std::string out;
  EXPECT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-q4.kite") + " -c 16 -p '" +
                            prompt + "' -n 4 --temp 0",
                        &out),
            1);
  EXPECT_EQ(out.find("zebra"), std::string::npos) << out;
  EXPECT_NE(out.find("more than the context of 16 tokens"), std::string::npos) << out;

  // The edge the first check lets through (it counts without BOS): the session refuses the
  // prompt, and still nothing of it is printed.
  prompt = "The zebra ate a purple muffin.";
  ASSERT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-q4.kite") + " -p '" + prompt +
                            "' -n 1 --temp 0 --json",
                        &out),
            0)
      << out;
  std::vector<int64_t> ids;
  ASSERT_TRUE(kite::test::JsonIntArray(JsonLine(out), "prompt_token_ids", &ids)) << out;
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-q4.kite") + " -c " +
                            std::to_string(ids.size() - 1) + " -p '" + prompt + "' -n 4 --temp 0",
                        &out),
            1);
  EXPECT_EQ(out.find("zebra"), std::string::npos) << out;
  EXPECT_NE(out.find("generation failed"), std::string::npos) << out;

  // A prompt that fits is still echoed, also when nothing is generated.
  ASSERT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-q4.kite") + " -p '" + prompt +
                            "' -n 0 --temp 0",
                        &out),
            0)
      << out;
  EXPECT_EQ(out.rfind(prompt + "\n", 0), 0u) << out;
}

TEST(GenerateCli, HelpSaysToReplaceModelsByRename) {
  std::string out;
  ASSERT_EQ(RunGenerate("--help", &out), 0);
  EXPECT_NE(out.find("renaming it"), std::string::npos) << out;
  EXPECT_NE(out.find("SIGBUS"), std::string::npos) << out;
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
  EXPECT_EQ(RunGenerate("-m x.kite --temp=2 --thread 2", &out), 2);
  EXPECT_NE(out.find("did you mean '--threads'"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("-m x.kite -t 0", &out), 2);
  EXPECT_NE(out.find("-t must be an integer in [1, 256], not '0'"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("-m x.kite stray", &out), 2);
  EXPECT_NE(out.find("unexpected argument 'stray'"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("-m /nonexistent.kite", &out), 1);
  EXPECT_NE(out.find("/nonexistent.kite"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("-m " + kite::test::TestModel("stories260K-q4.kite") + " -c 100000", &out), 1);
  EXPECT_NE(out.find("max_context"), std::string::npos) << out;
  EXPECT_EQ(RunGenerate("--help", &out), 0);
  EXPECT_NE(out.find("--max-tokens"), std::string::npos);
}

// The string `key` of a JSON object ("" when missing).
std::string StringField(const kite::json::Value& object, const char* key) {
  std::string s;
  EXPECT_TRUE(kite::test::JsonString(object, key, &s)) << key;
  return s;
}

// The sampling flags reach kite_generate: --stop ends the text before the stop string,
// --logit-bias -inf bans a token, --repeat-penalty changes greedy output, and -f reads the
// prompt from a file.
TEST(GenerateCli, SamplingFlagsStopStringsAndPromptFile) {
  const std::string base = "-m " + kite::test::TestModel("stories260K-q4.kite") + " -n 40 --temp 0 --json";
  std::string out;
  ASSERT_EQ(RunGenerate(base + " -p 'Once upon a time'", &out), 0) << out;
  const kite::json::Value plain = JsonLine(out);
  const std::string text = StringField(plain, "text");
  std::vector<int64_t> ids;
  ASSERT_TRUE(kite::test::JsonIntArray(plain, "generated_token_ids", &ids));
  ASSERT_GT(text.size(), 20u);
  const std::string stop = text.substr(15, 5);
  ASSERT_EQ(RunGenerate(base + " -p 'Once upon a time' --stop 'never' --stop '" + stop + "'", &out),
            0)
      << out;
  const kite::json::Value stopped = JsonLine(out);
  EXPECT_EQ(StringField(stopped, "stop_reason"), "stop_string");
  EXPECT_EQ(StringField(stopped, "text"), text.substr(0, text.find(stop)));

  ASSERT_EQ(RunGenerate(base + " -p 'Once upon a time' --logit-bias " + std::to_string(ids[0]) +
                            "=-inf",
                        &out),
            0)
      << out;
  std::vector<int64_t> banned;
  ASSERT_TRUE(kite::test::JsonIntArray(JsonLine(out), "generated_token_ids", &banned));
  for (int64_t t : banned) EXPECT_NE(t, ids[0]);

  ASSERT_EQ(RunGenerate(base + " -p 'Once upon a time' --repeat-penalty 100 --repeat-last-n 1024",
                        &out),
            0)
      << out;
  EXPECT_NE(StringField(JsonLine(out), "text"), text);

  const std::string file = ::testing::TempDir() + "generate_cli_prompt.txt";
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("Once upon a time", f);
  std::fclose(f);
  ASSERT_EQ(RunGenerate(base + " -f " + file, &out), 0) << out;
  EXPECT_EQ(StringField(JsonLine(out), "text"), text);
  std::remove(file.c_str());
}

TEST(GenerateCli, BadSamplingFlagsFailWithMessage) {
  const std::string model = kite::test::TestModel("stories260K-q4.kite");
  struct Case {
    std::string args;
    int exit_code;
    const char* message;
  };
  const Case cases[] = {
      {"-m x.kite --min-p 1.5", 2, "--min-p must be a number in [0, 1]"},
      {"-m x.kite --repeat-penalty 0", 2, "--repeat-penalty must be a number in (0, 100]"},
      {"-m x.kite --repeat-last-n 1025", 2, "--repeat-last-n must be an integer in [0, 1024]"},
      {"-m x.kite --frequency-penalty -1", 2, "--frequency-penalty"},
      {"-m x.kite --presence-penalty nan", 2, "--presence-penalty"},
      {"-m x.kite --logit-bias 5", 2, "--logit-bias must be ID=BIAS"},
      {"-m x.kite --logit-bias=-1=2", 2, "--logit-bias must be ID=BIAS"},
      {"-m x.kite --logit-bias 3=inf", 2, "--logit-bias must be ID=BIAS"},
      {"-m x.kite --stop ''", 2, "--stop"},
      {"-m x.kite --stop a --stop b --stop c --stop d --stop e --stop f --stop g --stop h"
       " --stop i",
       2, "--stop may be given at most 8 times"},
      {"-m x.kite -p hi -f prompt.txt", 2, "-p and -f cannot be combined"},
      // -f reads regular files only, and says which file it could not read.
      {"-m x.kite -f /nonexistent-prompt.txt", 1, "/nonexistent-prompt.txt"},
      {"-m x.kite -f /tmp", 1, "not a regular file"},
      // An id outside the vocabulary is refused by the library, naming the field.
      {"-m " + model + " -n 2 --logit-bias 99999=1", 1, "logit_bias[0].token"},
  };
  for (const Case& c : cases) {
    std::string out;
    EXPECT_EQ(RunGenerate(c.args, &out), c.exit_code) << c.args << "\n" << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << c.args << "\n" << out;
  }
}


// --prompt-cache: the first run saves the prompt's state, the second restores it (and says
// so), a longer prompt starting the same way processes only the rest, a corrupted file is
// refused and replaced; every run prints the ids of a run without the cache.
TEST(GenerateCli, PromptCacheGivesTheSameOutputAndIsUsedTheSecondTime) {
  const std::string cache = ::testing::TempDir() + "/kite_prompt_cache_test.state";
  std::remove(cache.c_str());
  const std::string base = "-m " + kite::test::TestModel("stories260K-q4.kite") +
                           " -n 24 --temp 0.8 --seed 7 --json";
  const std::string cached = base + " --prompt-cache " + cache;
  const std::string once = " -p 'Once upon a time'", longer = " -p 'Once upon a time there was'";
  // Runs kite-generate with `args`: the generated ids; *out gets stdout and stderr.
  std::string out;
  const auto ids = [&out](const std::string& args) {
    std::vector<int64_t> got;
    EXPECT_EQ(RunGenerate(args, &out), 0) << out;
    EXPECT_TRUE(kite::test::JsonIntArray(JsonLine(out), "generated_token_ids", &got)) << out;
    return got;
  };
  const std::vector<int64_t> plain = ids(base + once), plain_long = ids(base + longer);

  EXPECT_EQ(ids(cached + once), plain);
  EXPECT_NE(out.find("no saved state yet"), std::string::npos) << out;
  EXPECT_NE(out.find("saved"), std::string::npos) << out;
  EXPECT_EQ(ids(cached + once), plain);
  EXPECT_NE(out.find("used: restored"), std::string::npos) << out;
  EXPECT_EQ(ids(cached + longer), plain_long);
  EXPECT_NE(out.find("used: restored 5 tokens, processed 2 more"), std::string::npos) << out;

  // Flip a byte in the middle of the saved state: refused (CRC), run in full, saved again.
  FILE* f = std::fopen(cache.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, size / 2, SEEK_SET);
  const int c = std::fgetc(f);
  std::fseek(f, size / 2, SEEK_SET);
  std::fputc(c ^ 0x40, f);
  std::fclose(f);
  EXPECT_EQ(ids(cached + once), plain);
  EXPECT_NE(out.find("CRC-32C"), std::string::npos) << out;
  EXPECT_EQ(ids(cached + once), plain);
  EXPECT_NE(out.find("used: restored"), std::string::npos) << out;

  EXPECT_EQ(RunGenerate(base + " --chat --prompt-cache " + cache + " -p hi", &out), 2) << out;
  std::remove(cache.c_str());
}


// --context-shift N_KEEP: 10x the context without stopping; without it the context fills.
TEST(GenerateCli, ContextShiftRunsPastTheContext) {
  const std::string base = "-m " + kite::test::TestModel("stories260K-q4.kite") +
                           " -p 'Once upon a time' -c 64 -n 640 --temp 0.8 --seed 3 --json";
  std::string out;
  ASSERT_EQ(RunGenerate(base + " --context-shift 5", &out), 0) << out;
  std::vector<int64_t> ids;
  ASSERT_TRUE(kite::test::JsonIntArray(JsonLine(out), "generated_token_ids", &ids)) << out;
  EXPECT_EQ(ids.size(), 640u) << out;
  ASSERT_EQ(RunGenerate(base, &out), 0) << out;
  std::string reason;
  EXPECT_TRUE(kite::test::JsonString(JsonLine(out), "stop_reason", &reason)) << out;
  EXPECT_EQ(reason, "context_full");
  EXPECT_EQ(RunGenerate(base + " --context-shift 63", &out), 1) << out;
  EXPECT_NE(out.find("n_keep 63 is too large"), std::string::npos) << out;
}

}  // namespace
