// tools/common/flags: the table-driven parser every tool uses (spellings, typed values,
// errors, generated help, thread capping).
#include "tools/common/flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kite::flags {
namespace {

enum class Color { kRed, kGreen, kBlue };

// A small tool: every kind of row once.
struct Options {
  std::string model;
  std::string prompt = "default";
  uint32_t threads = 2;
  int64_t offset = 0;
  uint64_t seed = 7;
  double temp = 0.8;
  float mass = 0.9f;
  bool json = false;
  Color color = Color::kRed;
  std::vector<std::string> items;
};

FlagSpec MakeSpec(Options* o) {
  FlagSpec spec;
  spec.program = "kite-test";
  spec.header = "Usage: kite-test -m FILE\n\nOptions\n";
  spec.footer = "\nExit status: 0 success.\n";
  spec.help_column = 22;
  spec.flags = {
      String('m', "model", "PATH", &o->model, "The model."),
      String('p', "prompt", "TEXT", &o->prompt, "Prompt text.").AllowEmpty(),
      Int<uint32_t>('t', "threads", "N", &o->threads, 1, 256, "Threads.\nSecond line."),
      Int<int64_t>(0, "offset", "N", &o->offset, -5, 5, "Offset."),
      Int<uint64_t>(0, "seed", "S", &o->seed, 0, UINT64_MAX, "Seed."),
      Number<double>(0, "temp", "T", &o->temp, 0.0, 100.0, Ends::kClosed, "Temperature."),
      Number<float>(0, "mass", "P", &o->mass, 0.0, 1.0, Ends::kOpenLow, "Mass."),
      Heading("\nOutput\n"),
      Switch(0, "json", &o->json, "JSON."),
      Enum<Color>(0, "color", "red|green|blue", &o->color,
                  {{"red", Color::kRed}, {"green", Color::kGreen}, {"blue", Color::kBlue},
                   {"b", Color::kBlue, /*alias=*/true}},
                  "A color."),
      Custom('i', "", "ITEM",
             [o](const std::string& name, const std::string& value) -> std::string {
               if (value == "bad") return name + " refuses 'bad'";
               o->items.push_back(value);
               return "";
             },
             "An item (repeatable)."),
  };
  return spec;
}

ParsedArgs ParseArgs(Options* o, const std::vector<std::string>& args) {
  return Parse(MakeSpec(o), args);
}

std::string Error(const std::vector<std::string>& args) {
  Options o;
  const ParsedArgs r = ParseArgs(&o, args);
  EXPECT_FALSE(r.ok());
  return r.error;
}

TEST(Flags, AllSpellings) {
  Options o;
  const ParsedArgs r =
      ParseArgs(&o, {"-m", "a.kite", "--threads=3", "in1", "--offset", "-4", "--seed",
                     "18446744073709551615", "--temp=0", "--mass", "1", "--json", "--color", "b",
                     "-i", "x", "-i", "y", "-", "--", "-t", "--json"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(r.help);
  EXPECT_EQ(o.model, "a.kite");
  EXPECT_EQ(o.threads, 3u);
  EXPECT_EQ(o.offset, -4);
  EXPECT_EQ(o.seed, UINT64_MAX);
  EXPECT_EQ(o.temp, 0.0);
  EXPECT_EQ(o.mass, 1.0f);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.color, Color::kBlue);
  EXPECT_EQ(o.items, (std::vector<std::string>{"x", "y"}));
  // "-" and everything after "--" are positional.
  EXPECT_EQ(r.positionals, (std::vector<std::string>{"in1", "-", "-t", "--json"}));
  EXPECT_TRUE(r.Given("model"));
  EXPECT_TRUE(r.Given("i"));
  EXPECT_FALSE(r.Given("prompt"));
}

TEST(Flags, ValuesMayLookLikeFlagsAndRepeatsKeepTheLast) {
  Options o;
  ParsedArgs r = ParseArgs(&o, {"-p", "-t", "-t", "4", "-t", "5", "--prompt="});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(o.prompt, "");  // AllowEmpty
  EXPECT_EQ(o.threads, 5u);
}

TEST(Flags, HelpStopsParsing) {
  for (const char* help : {"-h", "--help"}) {
    Options o;
    const ParsedArgs r = ParseArgs(&o, {"-t", "3", help, "--bogus", "-t", "x"});
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_TRUE(r.help);
    EXPECT_EQ(o.threads, 3u);
  }
  // An error before -h is still an error.
  Options o;
  EXPECT_FALSE(ParseArgs(&o, {"--bogus", "-h"}).ok());
}

TEST(Flags, Errors) {
  EXPECT_EQ(Error({"--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(Error({"--thread", "2"}), "unknown option '--thread' (did you mean '--threads'?)");
  EXPECT_EQ(Error({"--jsno"}), "unknown option '--jsno' (did you mean '--json'?)");
  EXPECT_EQ(Error({"-x"}), "unknown option '-x'");
  EXPECT_EQ(Error({"-t4"}), "unknown option '-t4'");
  EXPECT_EQ(Error({"-m"}), "option -m needs a value");
  EXPECT_EQ(Error({"--model"}), "option --model needs a value");
  EXPECT_EQ(Error({"--model="}), "option --model needs a non-empty value");
  EXPECT_EQ(Error({"-m", ""}), "option -m needs a non-empty value");
  EXPECT_EQ(Error({"--json=yes"}), "option --json takes no value (not 'yes')");
  EXPECT_EQ(Error({"-t", "0"}), "-t must be an integer in [1, 256], not '0'");
  EXPECT_EQ(Error({"--threads", "257"}), "--threads must be an integer in [1, 256], not '257'");
  for (const char* bad : {"x", "2x", " 2", "2.0", "-1", "99999999999999999999999"}) {
    EXPECT_EQ(Error({"-t", bad}), std::string("-t must be an integer in [1, 256], not '") + bad +
                                      "'");
  }
  EXPECT_EQ(Error({"--offset", "-6"}), "--offset must be an integer in [-5, 5], not '-6'");
  EXPECT_EQ(Error({"--seed", "-1"}), "--seed must be an integer >= 0, not '-1'");
  EXPECT_EQ(Error({"--temp", "100.5"}), "--temp must be a number in [0, 100], not '100.5'");
  for (const char* bad : {"nan", "inf", "x", "0.5y"}) {
    EXPECT_EQ(Error({"--temp", bad}),
              std::string("--temp must be a number in [0, 100], not '") + bad + "'");
  }
  EXPECT_EQ(Error({"--mass", "0"}), "--mass must be a number in (0, 1], not '0'");
  EXPECT_EQ(Error({"--color", "pink"}), "--color must be red, green or blue, not 'pink'");
  EXPECT_EQ(Error({"-i", "bad"}), "-i refuses 'bad'");
}

TEST(Flags, HelpTextFromTheTable) {
  Options o;
  const std::string help = HelpText(MakeSpec(&o));
  EXPECT_EQ(help,
            "Usage: kite-test -m FILE\n\nOptions\n"
            "  -m, --model PATH    The model.\n"
            "  -p, --prompt TEXT   Prompt text.\n"
            "  -t, --threads N     Threads.\n"
            "                      Second line.\n"
            "      --offset N      Offset.\n"
            "      --seed S        Seed.\n"
            "      --temp T        Temperature.\n"
            "      --mass P        Mass.\n"
            "\nOutput\n"
            "      --json          JSON.\n"
            "      --color red|green|blue\n"
            "                      A color.\n"
            "  -i ITEM             An item (repeatable).\n"
            "  -h, --help          Show this help.\n"
            "\nExit status: 0 success.\n");
}

TEST(Flags, UsageErrorAndOrList) {
  EXPECT_EQ(UsageError("kite-x", "bad"), "kite-x: bad\nRun 'kite-x --help' for usage.\n");
  EXPECT_EQ(OrList({"a"}), "a");
  EXPECT_EQ(OrList({"a", "b"}), "a or b");
  EXPECT_EQ(OrList({"a", "b", "c"}), "a, b or c");
}

TEST(Flags, CapThreadsAtTheCpus) {
  uint32_t threads = 4;
  EXPECT_EQ(CapThreads("-t", &threads, 4), "");
  EXPECT_EQ(threads, 4u);
  long many = 64;
  const std::string warning = CapThreads("-t", &many, 2);
  EXPECT_EQ(many, 2);
  EXPECT_NE(warning.find("-t 64 is more than the 2 online CPUs: using 2"), std::string::npos)
      << warning;
  EXPECT_GE(OnlineCpus(), 1u);
}

}  // namespace
}  // namespace kite::flags
