// Runs the kite-convert and kite-inspect binaries as a user would: stories260K.bin to f32 and
// q4 .kite files, usage errors, unsupported inputs, corrupted outputs.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/common/tool_run.h"

namespace {

// A scratch folder for this test binary's outputs.
const std::string& WorkDir() {
  static const std::string dir = kite::test::MakeScratchDir("kite_convert_e2e");
  return dir;
}

using kite::test::ReadText;
using kite::test::ToolRun;

ToolRun RunTool(const char* binary, const std::vector<std::string>& args) {
  return kite::test::RunTool(binary, args, WorkDir());
}

ToolRun Convert(const std::vector<std::string>& args) { return RunTool(KITE_CONVERT_BIN, args); }
ToolRun Inspect(const std::vector<std::string>& args) { return RunTool(KITE_INSPECT_BIN, args); }

std::string Shared(const std::string& name) { return std::string(KITE_SHARED_MODELS) + "/" + name; }
std::string Out(const std::string& name) { return WorkDir() + "/" + name; }

long long FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

constexpr long long kF32WeightBytes = 260032LL * 4;  // stories260K parameters, 4 bytes each

TEST(ConvertEndToEnd, Stories260KF32) {
  const std::string out = Out("stories260K-f32.kite");
  const ToolRun r = Convert({Shared("stories260K.bin"), "--tokenizer", Shared("tok512.bin"),
                         "--quant", "f32", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const long long size = FileSize(out);
  // Weights + one 16 KiB metadata page + at most 63 bytes of padding per tensor/segment.
  EXPECT_GE(size, kF32WeightBytes + 16384);
  EXPECT_LE(size, kF32WeightBytes + 16384 + 64 * 60);
  EXPECT_TRUE(Contains(r.out, "parameters:   260032")) << r.out;
  EXPECT_TRUE(Contains(r.out, "file bytes:   " + std::to_string(size))) << r.out;
  EXPECT_TRUE(Contains(r.out, "layers.4.feed_forward.w2")) << r.out;
  EXPECT_TRUE(Contains(r.err, "[47/47] norm 64 f32 ... done")) << r.err;
  EXPECT_EQ(FileSize(out + ".tmp"), -1);
}

TEST(ConvertEndToEnd, Stories260KQ4IsMuchSmaller) {
  const std::string out = Out("stories260K-q4.kite");
  const ToolRun r = Convert({Shared("stories260K.bin"), "--tokenizer", Shared("tok512.bin"),
                         "--quant", "q4", "--group-size", "32", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const long long size = FileSize(out);
  // 4 bits + an f16 scale per 32 weights (4.5 bits/weight) plus f32 norms.
  EXPECT_GT(size, 260032LL * 9 / 16);
  EXPECT_LT(size, kF32WeightBytes / 4 + 16384 + 64 * 60);
  EXPECT_TRUE(Contains(r.out, "q4_g")) << r.out;
  EXPECT_TRUE(Contains(r.err, "layers.0.attention.wq 64x64 q4_g ... done")) << r.err;
}

TEST(ConvertEndToEnd, FindsTheTokenizerBesideTheInput) {
  const std::string out = Out("auto-tok.kite");
  const ToolRun r = Convert({Shared("stories260K.bin"), "--output=" + out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "using tokenizer " + Shared("tok512.bin"))) << r.err;
}

TEST(ConvertEndToEnd, InspectAndVerifyTheOutputs) {
  for (const char* quant : {"f32", "q4"}) {
    const std::string out = Out(std::string("inspect-") + quant + ".kite");
    ASSERT_EQ(Convert({Shared("stories260K.bin"), "--quant", quant, "-o", out}).exit_code, 0);
    const ToolRun r = Inspect({out, "--verify"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Contains(r.out, "checksums: OK")) << r.out;
    EXPECT_TRUE(Contains(r.out, "source stories260K.bin (llama2c)")) << r.out;
    EXPECT_TRUE(Contains(r.out, "vocab 512, bos 1, eos 2")) << r.out;
    EXPECT_TRUE(Contains(r.out, "segments (6)")) << r.out;
    // -m FILE, as with the other tools.
    const ToolRun m = Inspect({"-m", out});
    ASSERT_EQ(m.exit_code, 0) << m.err;
    EXPECT_TRUE(Contains(m.out, "segments (6)")) << m.out;
    const ToolRun j = Inspect({out, "--json"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    EXPECT_TRUE(Contains(j.out, "\"name\": \"layers.4.feed_forward.w3\"")) << j.out;
  }
}

// Writes two short stories, separated by a blank line, to Out(name); returns the path.
std::string WriteCalibText(const std::string& name) {
  const std::string path = Out(name);
  std::ofstream f(path);
  f << "Once upon a time, there was a little girl named Lily. She liked to play in the "
       "park with her dog. One day, the dog ran away.\n\n"
       "Tom had a big red ball. He gave it to his friend Sue, and they played all day.\n";
  return path;
}

TEST(ConvertEndToEnd, CalibratedPruningAndBudget) {
  const std::string calib = WriteCalibText("calib.txt");
  const std::string out = Out("wanda-bpw.kite");
  const ToolRun r = Convert({Shared("stories260K.bin"), "--quant", "q4", "--calib", calib,
                             "--prune", "wanda", "--sparsity", "0.5", "--bpw", "6", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "calibration: ")) << r.err;
  EXPECT_TRUE(Contains(r.err, "tokens in 2 sequences")) << r.err;
  EXPECT_TRUE(Contains(r.err, "pruned (wanda, compensated): 50.00%")) << r.err;
  EXPECT_TRUE(Contains(r.out, "KL q4 only")) << r.out;
  EXPECT_TRUE(Contains(r.out, "combined KL on the calibration text")) << r.out;
  EXPECT_TRUE(Contains(r.out, "q8_c")) << r.out;  // the budget kept something at 8 bits
  const ToolRun v = Inspect({out, "--verify"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_TRUE(Contains(v.out, "--prune wanda --sparsity 0.5 --bpw 6")) << v.out;

  // Wanda without calibration text is a usage error; a missing text fails the conversion.
  EXPECT_EQ(Convert({Shared("stories260K.bin"), "--quant", "q4", "--prune", "wanda",
                     "--sparsity", "0.5", "-o", Out("x.kite")}).exit_code, 2);
  const ToolRun missing = Convert({Shared("stories260K.bin"), "--quant", "q4", "--calib",
                                   Out("no-such-calib.txt"), "-o", Out("y.kite")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(Contains(missing.err, "cannot open")) << missing.err;
  EXPECT_EQ(FileSize(Out("y.kite")), -1);
}

// Calibration (GPTQ here) runs on every input format: the llama2.c checkpoint, the same
// weights as a sharded f32 Hugging Face folder and as GGUF give byte-identical weights.
TEST(ConvertEndToEnd, CalibrationWorksOnEveryInputFormat) {
  const std::string calib = WriteCalibText("formats-calib.txt");
  const std::vector<std::pair<std::string, std::vector<std::string>>> inputs = {
      {"llama2c", {Shared("stories260K.bin")}},
      {"hf", {Shared("hf/stories260K-hf-f32-sharded"), "--tokenizer", Shared("tok512.bin")}},
      {"gguf", {Shared("stories260K.gguf")}},
  };
  std::vector<std::string> weights;
  for (const auto& [name, args] : inputs) {
    std::vector<std::string> a = args;
    const std::string out = Out("calib-" + name + ".kite");
    a.insert(a.end(), {"--quant", "q4", "--calib", calib, "-o", out});
    const ToolRun r = Convert(a);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, "calibration: ")) << name << ": " << r.err;
    std::ifstream f(out, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 16384u) << name;
    weights.push_back(bytes.substr(16384));  // the weight segments, after the metadata page
  }
  EXPECT_TRUE(weights[0] == weights[1]) << "Hugging Face input gave other weights";
  EXPECT_TRUE(weights[0] == weights[2]) << "GGUF input gave other weights";
}

// --distill end to end: prints its progress and the KL before and after, which drops, and
// writes a file that verifies and records the options.
TEST(ConvertEndToEnd, Distill) {
  const std::string calib = Out("distill-calib.txt");
  {
    std::ofstream f(calib);
    f << "Once upon a time, there was a little girl named Lily. She liked to play in the "
         "park with her dog. One day, the dog ran away. Lily was sad and looked for him.\n\n"
         "Tom had a big red ball. He gave it to his friend Sue, and they played all day.\n";
  }
  const std::string out = Out("distill.kite");
  const ToolRun r = Convert({Shared("stories260K.bin"), "--quant", "q4", "--calib", calib,
                             "--gptq", "off", "--distill", "--distill-steps", "25", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "step 25/25  KL ")) << r.err;
  const size_t at = r.err.find("KL on the calibration text ");
  ASSERT_NE(at, std::string::npos) << r.err;
  double before = 0.0, after = 0.0;
  ASSERT_EQ(std::sscanf(r.err.c_str() + at, "KL on the calibration text %lf -> %lf", &before,
                        &after),
            2)
      << r.err;
  EXPECT_GT(before, 0.0);
  EXPECT_LT(after, before);
  const ToolRun v = Inspect({out, "--verify"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_TRUE(Contains(v.out, "--distill --distill-steps 25")) << v.out;
}

// --distill gives the same bytes for any --threads (the windows of a step, the weight
// rebuild and the Adam update are split over the threads; every sum keeps its order), and
// --distill-log writes the KL curve with a held-out KL, while stderr shows the speed.
TEST(ConvertEndToEnd, DistillIsByteIdenticalForAnyThreadCountAndLogsItsCurve) {
  std::vector<std::string> files;
  for (const char* threads : {"1", "2"}) {
    const std::string out = Out(std::string("distill-threads") + threads + ".kite");
    const std::string log = Out(std::string("distill-threads") + threads + ".tsv");
    const ToolRun r = Convert(
        {Shared("stories260K.bin"), "--quant", "q4", "--calib",
         Shared("eval/stories260K-samples-dev.txt"), "--calib-tokens", "3000", "--gptq", "off",
         "--distill", "--distill-steps", "4", "--distill-batch", "3", "--distill-warmup", "1",
         "--distill-log", log, "--distill-heldout", "4", "--distill-log-every", "2",
         "--threads", threads, "-o", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Contains(r.err, "steps/s")) << r.err;
    EXPECT_TRUE(Contains(r.err, "held-out KL")) << r.err;
    const std::string tsv = ReadText(log);
    EXPECT_EQ(tsv.rfind("stage\tstep\tseconds\ttokens\ttrain_kl\theldout_kl\n", 0), 0u) << tsv;
    for (const char* step : {"stored\t0\t", "stored\t2\t", "stored\t4\t"}) {
      const size_t at = tsv.find(step);
      ASSERT_NE(at, std::string::npos) << tsv;
      const std::string row = tsv.substr(at, tsv.find('\n', at) - at);
      std::vector<std::string> cells(1);
      for (char ch : row) {
        if (ch == '\t') {
          cells.emplace_back();
        } else {
          cells.back() += ch;
        }
      }
      ASSERT_EQ(cells.size(), 6u) << row;
      EXPECT_GT(std::stod(cells[4]), 0.0) << row;  // train KL
      EXPECT_GT(std::stod(cells[5]), 0.0) << row;  // held-out KL
    }
    files.push_back(ReadText(out));
    const ToolRun v = Inspect({out, "--verify"});
    EXPECT_TRUE(Contains(v.out, "--distill-batch 3 --distill-warmup 1 --distill-heldout 4"))
        << v.out;
  }
  EXPECT_TRUE(files[0] == files[1]) << "--threads 2 gave other bytes than --threads 1";
}

TEST(ConvertEndToEnd, InspectReportsCorruption) {
  const std::string out = Out("corrupt.kite");
  ASSERT_EQ(Convert({Shared("stories260K.bin"), "-o", out}).exit_code, 0);
  std::string bytes = ReadText(out);
  ASSERT_GT(bytes.size(), 20000u);
  bytes[bytes.size() - 100] ^= 0x01;  // inside the last segment (layer 4)
  std::ofstream(out, std::ios::binary | std::ios::trunc) << bytes;
  ToolRun r = Inspect({out, "--verify"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "segment 5")) << r.err;
  EXPECT_TRUE(Contains(r.out, "checksums: FAILED")) << r.out;
  EXPECT_EQ(Inspect({out}).exit_code, 0);  // without --verify only the metadata is checked

  bytes.resize(bytes.size() - 1000);
  std::ofstream(out, std::ios::binary | std::ios::trunc) << bytes;
  r = Inspect({out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "truncated")) << r.err;
}

TEST(ConvertEndToEnd, UsageErrorsExitWithTwo) {
  ToolRun r = Convert({Shared("stories260K.bin"), "-o", Out("x.kite"), "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "unknown option '--bogus'")) << r.err;
  EXPECT_TRUE(Contains(r.err, "--help")) << r.err;

  r = Convert({Shared("stories260K.bin"), "-o"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "needs a value")) << r.err;

  r = Convert({Shared("stories260K.bin"), "--quant", "q4", "--group-size", "7", "-o", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "--group-size must be 32, 64 or 128")) << r.err;

  r = Convert({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "no input")) << r.err;

  r = Convert({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.out, "--group-size")) << r.out;

  EXPECT_TRUE(Contains(r.out, "rename it over the old one")) << r.out;

  EXPECT_EQ(Inspect({}).exit_code, 2);
  r = Inspect({"a.kite", "--frob"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "unknown option '--frob'")) << r.err;
  for (const std::vector<std::string>& two : {std::vector<std::string>{"a.kite", "b.kite"},
                                              std::vector<std::string>{"a.kite", "-m", "b.kite"}}) {
    r = Inspect(two);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(Contains(r.err, "give exactly one FILE")) << r.err;
  }
  r = Inspect({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.out, "--verify")) << r.out;
  EXPECT_TRUE(Contains(r.out, "renaming")) << r.out;
  EXPECT_TRUE(Contains(r.out, "SIGBUS")) << r.out;
}

TEST(ConvertEndToEnd, FailuresExitWithOneAndWriteNothing) {
  ToolRun r = Convert({Out("missing.bin"), "-o", Out("missing.kite")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "missing.bin")) << r.err;

  // A recognized but unsupported input (a llama2.c version 1/2 export, magic "ak42"; GGUF
  // and Hugging Face folders convert now).
  std::ofstream(Out("export.bin"), std::ios::binary) << std::string("24ka\x02\0\0\0", 8)
                                                     << std::string(256, '\0');
  r = Convert({Out("export.bin"), "-o", Out("export.kite")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "version 1/2 export")) << r.err;
  EXPECT_TRUE(Contains(r.err, "not supported yet")) << r.err;
  EXPECT_EQ(FileSize(Out("export.kite")), -1);

  // A truncated checkpoint: the error gives both sizes, and an existing output survives.
  std::string ckpt = ReadText(Shared("stories260K.bin"));
  ckpt.resize(ckpt.size() - 40);
  std::ofstream(Out("short.bin"), std::ios::binary) << ckpt;
  std::ofstream(Out("keep.kite"), std::ios::binary) << "previous";
  r = Convert({Out("short.bin"), "--tokenizer", Shared("tok512.bin"), "-o", Out("keep.kite")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "truncated")) << r.err;
  EXPECT_TRUE(Contains(r.err, "1056540")) << r.err;
  EXPECT_TRUE(Contains(r.err, "1056500")) << r.err;
  EXPECT_EQ(ReadText(Out("keep.kite")), "previous");
  EXPECT_EQ(FileSize(Out("keep.kite.tmp")), -1);

  // No tokenizer beside the input and none given.
  r = Convert({Out("short.bin"), "-o", Out("notok.kite")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "--tokenizer")) << r.err;

  // A tokenizer of the wrong vocabulary size.
  r = Convert({Shared("stories260K.bin"), "--tokenizer", Shared("tokenizer-llama2-32k.bin"), "-o",
               Out("wrongtok.kite")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(FileSize(Out("wrongtok.kite")), -1);

  // Refuses to overwrite its own input.
  std::ofstream(Out("self.bin"), std::ios::binary) << ReadText(Shared("stories260K.bin"));
  r = Convert({Out("self.bin"), "--tokenizer", Shared("tok512.bin"), "-o", Out("self.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "overwrite an input")) << r.err;
}

}  // namespace
