// kite-bench, run as a user would on a tiny synthetic model (made here with
// kite-convert --synthetic stories260k): the JSON fields exist and are positive, the table
// prints, and bad options / bad models fail with the documented exit codes. No timing
// assertions: performance is measured by kite-bench, never asserted by a test.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/common/json_fixture.h"
#include "test/common/tool_run.h"

namespace {

const std::string& WorkDir() {
  static const std::string dir = kite::test::MakeScratchDir("kite_bench_smoke");
  return dir;
}

std::string Out(const std::string& name) { return WorkDir() + "/" + name; }

using kite::test::ToolRun;

ToolRun RunTool(const char* binary, const std::vector<std::string>& args) {
  return kite::test::RunTool(binary, args, WorkDir());
}

ToolRun Bench(const std::vector<std::string>& args) { return RunTool(KITE_BENCH_BIN, args); }

// The synthetic stories260k model, converted once.
const std::string& Model() {
  static const std::string path = [] {
    const std::string p = Out("synthetic-stories260k-q4.kite");
    const ToolRun r =
        RunTool(KITE_CONVERT_BIN, {"--synthetic", "stories260k", "--quant", "q4", "-o", p});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return p;
  }();
  return path;
}

// The number member `key` of the JSON object in `json`, or -1 when it is missing or not a
// number (a document that is not JSON fails the test).
double Number(const std::string& json, const std::string& key) {
  const double v = kite::test::JsonNumber(kite::test::ParseJson(json), key);
  return std::isnan(v) ? -1 : v;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(BenchSmoke, JsonFieldsArePositive) {
  const ToolRun r = Bench({"-m", Model(), "-p", "8", "-n", "8", "-r", "2", "-t", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // One JSON object on one line.
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.front(), '{');
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  for (const char* key : {"prefill_tok_s", "prefill_tok_s_min", "prefill_tok_s_max",
                          "decode_tok_s", "decode_tok_s_min", "decode_tok_s_max", "ttft_ms",
                          "load_ms", "peak_rss_bytes", "model_bytes", "arena_bytes",
                          "weight_bytes_per_token", "decode_bytes_per_token",
                          "prefill_ops_per_token"}) {
    EXPECT_GT(Number(r.out, key), 0) << key << " in " << r.out;
  }
  EXPECT_EQ(Number(r.out, "prompt_tokens"), 8);
  EXPECT_EQ(Number(r.out, "gen_tokens"), 8);
  EXPECT_EQ(Number(r.out, "repetitions"), 2);
  EXPECT_EQ(Number(r.out, "threads"), 1);
  EXPECT_EQ(Number(r.out, "context"), 16);
  EXPECT_EQ(Number(r.out, "prefill_chunk"), 64);
  // Present, and at most everything resident (0 when the page cache has no 2 MiB folios).
  EXPECT_GE(Number(r.out, "huge_mapped_bytes"), 0) << r.out;
  EXPECT_LE(Number(r.out, "huge_mapped_bytes"), Number(r.out, "peak_rss_bytes")) << r.out;
  EXPECT_LE(Number(r.out, "decode_tok_s_min"), Number(r.out, "decode_tok_s"));
  EXPECT_GE(Number(r.out, "decode_tok_s_max"), Number(r.out, "decode_tok_s"));
  EXPECT_FALSE(Contains(r.out, "bandwidth_gb_s"));  // only with --roofline
}

TEST(BenchSmoke, PrefillChunk) {
  // -b 3 runs the 8-token prompt as chunks of 3, 3 and 2 tokens.
  const ToolRun r = Bench({"-m", Model(), "-p", "8", "-n", "2", "-r", "1", "-b", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Number(r.out, "prefill_chunk"), 3);
  EXPECT_GT(Number(r.out, "prefill_tok_s"), 0) << r.out;
  for (const char* bad : {"0", "1025", "x"}) {
    const ToolRun e = Bench({"-m", Model(), "-b", bad});
    EXPECT_EQ(e.exit_code, 2) << bad;
    EXPECT_TRUE(Contains(e.err, "-b must be an integer in [1, 1024]")) << e.err;
  }
}

TEST(BenchSmoke, RooflineFields) {
  const ToolRun r = Bench({"-m", Model(), "-p", "8", "-n", "8", "-r", "2", "-t", "2", "--json",
                           "--roofline", "--bw-mib", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(Number(r.out, "bandwidth_gb_s"), 0) << r.out;
  EXPECT_GT(Number(r.out, "decode_roof_tok_s"), 0) << r.out;
  EXPECT_GT(Number(r.out, "decode_roof_fraction"), 0) << r.out;
  EXPECT_GE(Number(r.out, "int8_gops"), 0) << r.out;  // 0 on CPUs without an int8 dot loop
  EXPECT_GE(Number(r.out, "prefill_roof_fraction"), 0) << r.out;
  std::string isa;
  EXPECT_TRUE(kite::test::JsonString(kite::test::ParseJson(r.out), "int8_isa", &isa)) << r.out;
}

TEST(BenchSmoke, HumanTable) {
  const ToolRun r = Bench({"-m", Model(), "-p", "4", "-n", "4", "-r", "1", "--warmup", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* word : {"prefill (tok/s)", "decode (tok/s)", "ttft (ms)", "load (ms)",
                           "peak RSS", "median", "in 2 MiB pages"}) {
    EXPECT_TRUE(Contains(r.out, word)) << word << " in " << r.out;
  }
}

// -t above the online CPUs is capped at their count, with a warning on stderr.
TEST(BenchSmoke, ThreadsAboveTheCpusAreCapped) {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1 || cpus >= 1024) GTEST_SKIP() << "needs fewer than 1024 CPUs (-t is at most 1024)";
  const ToolRun r = Bench({"-m", Model(), "-p", "4", "-n", "2", "-r", "1", "--warmup", "0", "-t",
                           std::to_string(cpus + 1), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Number(r.out, "threads"), cpus) << r.out;
  EXPECT_TRUE(Contains(r.err, "kite-bench: warning: -t " + std::to_string(cpus + 1) +
                                  " is more than the " + std::to_string(cpus) + " online CPU"))
      << r.err;
}

TEST(BenchSmoke, ErrorsAndHelp) {
  ToolRun r = Bench({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : {"--roofline", "--json", "-p", "-n", "-t", "-b", "-r", "-c", "--warmup",
                           "time to first token", "Gops", "renaming it", "SIGBUS",
                           "capped at their count"}) {
    EXPECT_TRUE(Contains(r.out, word)) << word;
  }
  r = Bench({"-m", Model(), "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "unknown option '--frobnicate'")) << r.err;
  r = Bench({"-m", Model(), "-p", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "-p must be an integer in [1, 1048576], not '0'")) << r.err;
  r = Bench({"-m", Model(), "--reps=x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "--reps must be an integer in [1, 100000], not 'x'")) << r.err;
  r = Bench({"-m", Model(), "--jsn"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "did you mean '--json'")) << r.err;
  r = Bench({"-m", Model(), "extra"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "unexpected argument 'extra'")) << r.err;
  r = Bench({"-m", Model(), "-p", "abc"});
  EXPECT_EQ(r.exit_code, 2);
  r = Bench({"-p", "8"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "no model")) << r.err;
  r = Bench({"-m", Model(), "-p", "8", "-n", "8", "-c", "10"});
  EXPECT_EQ(r.exit_code, 2);
  r = Bench({"-m", Model(), "-p", "500", "-n", "100"});  // beyond max_seq_len 512
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "max_seq_len")) << r.err;

  r = Bench({"-m", Out("missing.kite")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "missing.kite")) << r.err;
  std::ofstream(Out("garbage.kite"), std::ios::binary) << std::string(40000, 'x');
  r = Bench({"-m", Out("garbage.kite")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "cannot open")) << r.err;
}

}  // namespace
