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
  // The read buffer is whole 2 MiB pages (8 MiB here); the kernel may grant fewer of them
  // than asked (transparent huge pages off, or memory fragmented), never more.
  EXPECT_EQ(Number(r.out, "bandwidth_buffer_bytes"), 8.0 * 1024 * 1024) << r.out;
  EXPECT_GE(Number(r.out, "bandwidth_huge_bytes"), 0) << r.out;
  EXPECT_LE(Number(r.out, "bandwidth_huge_bytes"), 8.0 * 1024 * 1024) << r.out;
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

// --kernel: every layout's m = 1 kernel on two small shapes (a tail block, an odd group count),
// a row per shape and thread count; bad layouts and shapes are usage errors.
TEST(BenchKernel, EveryLayoutPrintsItsRows) {
  for (const char* layout : {"q4", "q4sym", "q4cb", "q3", "q4sp24"}) {
    const ToolRun r = Bench({"--kernel", layout, "--kernel-shapes", "40x96,16x2048", "-t", "2",
                             "-r", "1", "--bw-mib", "1"});
    ASSERT_EQ(r.exit_code, 0) << layout << ": " << r.err;
    EXPECT_TRUE(Contains(r.out, std::string("kernel alone, m = 1: ") + layout)) << r.out;
    for (const char* row : {"\n40x96         1 ", "\n40x96         2 ", "\n16x2048       1 "}) {
      EXPECT_TRUE(Contains(r.out, row)) << layout << ": " << row << " in " << r.out;
    }
  }
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--kernel", "q5"},
        std::vector<std::string>{"--kernel", "q4", "--kernel-shapes", "2048"},
        std::vector<std::string>{"--kernel", "q4", "--kernel-shapes", "0x64"},
        std::vector<std::string>{"--kernel-shapes", "64x64", "-m", "x.kite"}}) {
    const ToolRun e = Bench(bad);
    EXPECT_EQ(e.exit_code, 2) << bad.back() << ": " << e.err;
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

// The rows of a --sweep --json document, in run order (a document without them fails).
std::vector<kite::json::Value> SweepRows(const kite::json::Value& doc) {
  const kite::json::Value* rows = doc.Find("sweep");
  EXPECT_TRUE(rows != nullptr && rows->is_array());
  return rows != nullptr ? rows->array() : std::vector<kite::json::Value>{};
}

TEST(BenchSweep, JsonRowsForEachPromptThenLongContext) {
  const ToolRun r = Bench({"-m", Model(), "--sweep", "--sweep-prompts", "16,1,4,4",
                           "--sweep-threads", "1", "-n", "4", "-r", "2", "--warmup", "0",
                           "--long-context", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;  // one line
  const kite::json::Value doc = kite::test::ParseJson(r.out);
  // The long-context session (C = min(2048, max_seq_len 512)) is the widest.
  EXPECT_EQ(kite::test::JsonNumber(doc, "context"), 512);
  EXPECT_EQ(kite::test::JsonNumber(doc, "long_context"), 512);
  EXPECT_EQ(doc.Find("roofs"), nullptr);  // only with --roofline
  const std::vector<kite::json::Value> rows = SweepRows(doc);
  ASSERT_EQ(rows.size(), 4u) << r.out;  // sorted, repeats dropped, then the long context
  const double prompts[] = {1, 4, 16, 450};  // 450 = 512 * 1800 / 2048
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(kite::test::JsonNumber(rows[i], "prompt_tokens"), prompts[i]);
    EXPECT_EQ(kite::test::JsonNumber(rows[i], "threads"), 1);
    ASSERT_NE(rows[i].Find("long_context"), nullptr);
    EXPECT_EQ(rows[i].Find("long_context")->boolean(), i == 3);
    for (const char* key : {"prefill_tok_s", "prefill_tok_s_min", "prefill_tok_s_max",
                            "prefill_ms", "decode_tok_s", "decode_ms",
                            "decode_bytes_per_token", "prefill_ops_per_token"}) {
      EXPECT_GT(kite::test::JsonNumber(rows[i], key), 0) << key << " in row " << i;
    }
    EXPECT_EQ(rows[i].Find("decode_roof_fraction"), nullptr);
  }
  // The long-context decode reads 450+ positions of KV: more bytes per token.
  EXPECT_GT(kite::test::JsonNumber(rows[3], "decode_bytes_per_token"),
            kite::test::JsonNumber(rows[2], "decode_bytes_per_token") +
                400 * kite::test::JsonNumber(doc, "kv_bytes_per_position"));
}

TEST(BenchSweep, RoofsPerThreadCount) {
  const ToolRun r = Bench({"-m", Model(), "--sweep", "--sweep-prompts", "2,8", "--sweep-threads",
                           "1", "-n", "2", "-r", "1", "--roofline", "--bw-mib", "8", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const kite::json::Value doc = kite::test::ParseJson(r.out);
  const kite::json::Value* roofs = doc.Find("roofs");
  ASSERT_TRUE(roofs != nullptr && roofs->is_array()) << r.out;
  ASSERT_EQ(roofs->array().size(), 1u);
  EXPECT_EQ(kite::test::JsonNumber(roofs->array()[0], "threads"), 1);
  EXPECT_GT(kite::test::JsonNumber(roofs->array()[0], "bandwidth_gb_s"), 0);
  EXPECT_GE(kite::test::JsonNumber(roofs->array()[0], "int8_gops"), 0);
  const std::vector<kite::json::Value> rows = SweepRows(doc);
  ASSERT_EQ(rows.size(), 2u);
  for (const kite::json::Value& row : rows) {
    EXPECT_GT(kite::test::JsonNumber(row, "decode_roof_tok_s"), 0) << r.out;
    EXPECT_GT(kite::test::JsonNumber(row, "decode_roof_fraction"), 0) << r.out;
    EXPECT_GE(kite::test::JsonNumber(row, "prefill_roof_fraction"), 0) << r.out;
  }
}

// Without lists: prompts 1, 8, 32, 128 and the longest that leaves room for -n (512 - 8),
// threads 1, 2, 4, ... and the online CPUs; one table row per pair.
TEST(BenchSweep, DefaultListsAndTable) {
  const ToolRun r = Bench({"-m", Model(), "--sweep", "-n", "8", "-r", "1", "--warmup", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* word : {"prompt", "threads", "prefill tok/s", "prefill ms", "int8 roof",
                           "decode tok/s", "bw roof", "context 512"}) {
    EXPECT_TRUE(Contains(r.out, word)) << word << " in " << r.out;
  }
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  size_t thread_counts = 1;
  for (long t = 1; t < cpus; t *= 2) ++thread_counts;
  size_t rows = 0;
  for (const char* prompt : {"\n       1 ", "\n       8 ", "\n      32 ", "\n     128 ",
                             "\n     504 "}) {
    size_t found = 0;
    for (size_t at = r.out.find(prompt); at != std::string::npos;
         at = r.out.find(prompt, at + 1)) {
      ++found;
    }
    EXPECT_EQ(found, thread_counts) << "rows for prompt" << prompt << " in " << r.out;
    rows += found;
  }
  EXPECT_EQ(rows, 5 * thread_counts);
}

TEST(BenchSweep, BadListsAndLengthsAreUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{"--sweep", "--sweep-prompts", "0"},
       "--sweep-prompts must be a comma-separated list of integers in [1, 1048576], not '0'"},
      {{"--sweep", "--sweep-prompts", "8,,16"}, "not '8,,16'"},
      {{"--sweep", "--sweep-prompts", "99999999999"}, "not '99999999999'"},
      {{"--sweep", "--sweep-threads", "0"},
       "--sweep-threads must be a comma-separated list of integers in [1, 1024], not '0'"},
      {{"--sweep", "--sweep-threads", "1,-2"}, "not '1,-2'"},
      {{"--sweep-prompts", "8"}, "--sweep-prompts needs --sweep"},
      {{"--sweep-threads", "1"}, "--sweep-threads needs --sweep"},
      {{"--sweep", "--sweep-prompts", "600"},
       "the sweep (longest prompt 600 + -n 64): context 664 exceeds the model's max_seq_len 512"},
      {{"--sweep", "--sweep-prompts", "1000000"}, "exceeds the model's max_seq_len 512"},
      {{"--sweep", "-c", "100", "--sweep-prompts", "64,128"},
       "-c 100 is too small for the sweep prompt 128 + -n 64 = 192 tokens"},
      {{"--sweep", "-c", "40"}, "the context 40 leaves no room for a prompt and -n 64"},
      {{"--sweep", "--sweep-threads", "1025"}, "in [1, 1024], not '1025'"},
      {{"--long-context", "-n", "100"},
       "--long-context: position 450 + -n 100 does not fit in the context 512"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"-m", Model()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const ToolRun r = Bench(args);
    EXPECT_EQ(r.exit_code, 2) << c.message;
    EXPECT_TRUE(Contains(r.err, c.message)) << r.err;
  }
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus >= 1 && cpus < 1024) {
    const ToolRun r = Bench({"-m", Model(), "--sweep", "--sweep-threads",
                             "1," + std::to_string(cpus + 1)});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(Contains(r.err, "--sweep-threads " + std::to_string(cpus + 1) +
                                    " is more than the " + std::to_string(cpus) + " online CPU"))
        << r.err;
  }
}

// Without --sweep, --long-context adds its decode figure to the table and the JSON.
TEST(BenchSweep, LongContextInTheSingleRun) {
  ToolRun r = Bench({"-m", Model(), "-p", "8", "-n", "4", "-r", "1", "-t", "1", "-c", "64",
                     "--long-context", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const kite::json::Value doc = kite::test::ParseJson(r.out);
  EXPECT_EQ(kite::test::JsonNumber(doc, "context"), 64);
  const kite::json::Value* lc = doc.Find("long_context");
  ASSERT_TRUE(lc != nullptr && lc->is_object()) << r.out;
  EXPECT_EQ(kite::test::JsonNumber(*lc, "context"), 64);        // -c
  EXPECT_EQ(kite::test::JsonNumber(*lc, "prompt_tokens"), 56);  // 64 * 1800 / 2048
  EXPECT_GT(kite::test::JsonNumber(*lc, "decode_tok_s"), 0);
  EXPECT_GT(kite::test::JsonNumber(*lc, "decode_bytes_per_token"),
            kite::test::JsonNumber(doc, "decode_bytes_per_token"));
  r = Bench({"-m", Model(), "-p", "4", "-n", "4", "-r", "1", "--long-context", "--roofline",
             "--bw-mib", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "(after 450 of 512 positions)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "at 452.5 positions")) << r.out;  // 450 + (4 + 1) / 2
}

TEST(BenchSmoke, ErrorsAndHelp) {
  ToolRun r = Bench({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : {"--roofline", "--json", "-p", "-n", "-t", "-b", "-r", "-c", "--warmup",
                           "time to first token", "Gops", "renaming it", "SIGBUS",
                           "capped at their count", "--sweep", "--sweep-prompts",
                           "--sweep-threads", "--long-context"}) {
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
