// kite-convert command line parsing, input format detection and tokenizer discovery.
#include "tools/convert/cli_options.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tools/convert/recipes.h"
#include "tools/convert/source/input_files.h"

namespace kite::convert {
namespace {

using Args = std::vector<std::string>;

std::string UsageError(const Args& args) {
  auto r = ParseCommandLine(args);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.ok() || absl::IsInvalidArgument(r.status()));
  return r.ok() ? std::string() : std::string(r.status().message());
}

TEST(CliOptions, Defaults) {
  auto o = ParseCommandLine({"in.bin", "-o", "out.kite"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->help);
  EXPECT_EQ(o->input, "in.bin");
  EXPECT_EQ(o->output, "out.kite");
  EXPECT_EQ(o->tokenizer, "");
  EXPECT_EQ(o->convert.quant, QuantMode::kF32);
  EXPECT_EQ(o->convert.group_size, 32u);
}

TEST(CliOptions, AllOptionsBothSpellings) {
  auto o = ParseCommandLine(
      {"--quant", "q4", "--group-size=64", "in.bin", "--tokenizer=tok.bin", "--output", "x.kite"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->input, "in.bin");
  EXPECT_EQ(o->output, "x.kite");
  EXPECT_EQ(o->tokenizer, "tok.bin");
  EXPECT_EQ(o->convert.quant, QuantMode::kQ4);
  EXPECT_EQ(o->convert.group_size, 64u);
  EXPECT_EQ(OptionsForProvenance(*o),
            "--quant q4 --group-size 64 --q4-groups asym --keep-8bit tok_embeddings,output "
            "--tokenizer tok.bin");
}

TEST(CliOptions, Q4GroupsAndKeep8Bit) {
  auto o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--q4-groups", "sym",
                             "--keep-8bit", "none"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->convert.q4_asymmetric);
  EXPECT_TRUE(o->convert.keep_8bit.empty());
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--keep-8bit", "output,layers.0.attention.wq"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->convert.keep_8bit, (std::vector<std::string>{"output", "layers.0.attention.wq"}));
  EXPECT_FALSE(ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--q4-groups", "odd"}).ok());
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--q4-groups", "sym-maxabs"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->convert.q4_asymmetric);
  EXPECT_EQ(o->convert.q4_scale_rule, ScaleRule::kMaxAbs);
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q8"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->convert.quant, QuantMode::kQ8);
  EXPECT_FALSE(ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q8", "--keep-8bit", "none"}).ok());
  EXPECT_FALSE(ParseCommandLine({"m.bin", "-o", "x.kite", "--keep-8bit", "output"}).ok());
  EXPECT_FALSE(ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--keep-8bit", "a,,b"}).ok());
}

TEST(CliOptions, Help) {
  for (const char* flag : {"-h", "--help"}) {
    auto h = ParseCommandLine({"in.bin", flag});
    ASSERT_TRUE(h.ok()) << flag;
    EXPECT_TRUE(h->help) << flag;
  }
  const std::string text = HelpText();
  for (const char* word : {"--tokenizer", "--quant", "--group-size", "--output", "-o",
                           "Default: f32", "Default: 32", "Example"}) {
    EXPECT_NE(text.find(word), std::string::npos) << word;
  }
}

TEST(CliOptions, RecipesExpandToTheirOptionsAndYieldToTheUsers) {
  auto o = ParseCommandLine({"m.bin", "-o", "x.kite", "--recipe", "4.5bpw", "--calib", "c.txt"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->recipe, "4.5bpw");
  EXPECT_EQ(o->convert.quant, QuantMode::kQ4);
  EXPECT_TRUE(o->convert.q4_offset_free);
  EXPECT_EQ(o->convert.group_size, 64u);
  EXPECT_EQ(o->convert.group_size_for,
            (std::vector<std::pair<std::string, uint32_t>>{{"tok_embeddings", 32},
                                                           {"output", 32}}));
  EXPECT_EQ(o->calib_tokens, 65536u);
  EXPECT_TRUE(o->distill);
  EXPECT_TRUE(o->convert.keep_8bit.empty());
  const std::string provenance = OptionsForProvenance(*o);
  EXPECT_NE(provenance.find("--q4-groups sym-compact"), std::string::npos) << provenance;
  EXPECT_NE(provenance.find("--q4-g32 tok_embeddings,output"), std::string::npos) << provenance;
  EXPECT_NE(provenance.find(" (recipe 4.5bpw)"), std::string::npos) << provenance;

  // The user's own options win, whichever side of --recipe they are on.
  o = ParseCommandLine({"m.bin", "--distill-steps", "7", "-o", "x.kite", "--recipe=2:4",
                        "--calib", "c.txt", "--calib-tokens", "1000"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->prune, PruneMethod::k24SparseGpt);
  EXPECT_TRUE(o->convert.sparse_24);
  EXPECT_EQ(o->calib_tokens, 1000u);
  EXPECT_EQ(o->distill_options.steps, 7u);

  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--recipe", "4.5bpw"}).find("add --calib FILE"),
            std::string::npos);
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--recipe", "4bpw", "--calib", "c"}),
            "--recipe must be one of 4.5bpw, 2:4, 3.5bpw, not '4bpw'");
  // The progress line names the options and warns when the recipe took over 10 minutes.
  const std::string start = RecipeStartLine(*FindRecipe("4.5bpw"));
  EXPECT_EQ(start.rfind("recipe 4.5bpw: --quant q4 ", 0), 0u) << start;
  EXPECT_NE(RecipeStartLine(*FindRecipe("2:4")).find("takes over 10 minutes"),
            std::string::npos);
  Recipe quick{"quick", "", {"--quant", "q8"}, "", 2};
  EXPECT_EQ(RecipeStartLine(quick),
            "recipe quick: --quant q8; about 2 minutes on 2 cores for stories260K, longer for "
            "larger models");
  // 3.5bpw: 3-bit groups chosen by the budget, then distillation.
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--recipe", "3.5bpw", "--calib", "c.txt"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->bpw, 3.5);
  EXPECT_TRUE(o->convert.bpw_q3);
  EXPECT_TRUE(o->distill);
  EXPECT_FALSE(o->convert.q4_asymmetric);
  EXPECT_TRUE(o->convert.q4_offset_free);
  EXPECT_NE(OptionsForProvenance(*o).find(" (recipe 3.5bpw)"), std::string::npos);
  // 3-bit groups: --q3 names matrices, --bpw-3bit lets --bpw choose them.
  o = ParseCommandLine({"m.bin", "-o", "x", "--quant", "q4", "--q3", "a,b"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->convert.q3, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(o->convert.bpw_q3);
  o = ParseCommandLine({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--bpw", "4",
                        "--bpw-3bit"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->convert.bpw_q3);
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--bpw-3bit"}),
            "--bpw-3bit needs --bpw B");
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--q3", "a"}), "--q3 only applies to --quant q4");
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--q3", "a,,b"})
                .find("q3 has an empty name in 'a,,b'"),
            std::string::npos);
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--bpw", "4",
                        "--q3", "a"}),
            "--q3 does not combine with --sparse 2:4 or --bpw (use --bpw-3bit)");
  // --q3-g64 names matrices for 3-bit groups of 64, under the same rules.
  o = ParseCommandLine({"m.bin", "-o", "x", "--quant", "q4", "--q3-g64", "c,d", "--q3", "a"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->convert.q3_g64, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(o->convert.q3, (std::vector<std::string>{"a"}));
  EXPECT_NE(OptionsForProvenance(*o).find(" --q3 a --q3-g64 c,d"), std::string::npos);
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--q3-g64", "a"}),
            "--q3-g64 only applies to --quant q4");
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--q3-g64", ",a"})
                .find("q3-g64 has an empty name in ',a'"),
            std::string::npos);
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--bpw", "3",
                        "--q3-g64", "a"}),
            "--q3-g64 does not combine with --sparse 2:4 or --bpw (use --bpw-3bit)");
  // --q4-g32 and --q4-g64 name matrices for 4-bit groups of 32 or 64 whatever --group-size
  // says (a --bpw choice converted again; the embedding finer than the rest).
  o = ParseCommandLine({"m.bin", "-o", "x", "--quant", "q4", "--group-size", "64", "--q4-g64",
                        "a", "--q4-g32", "g", "--q4-g64", "e,f"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->convert.group_size_for,
            (std::vector<std::pair<std::string, uint32_t>>{{"g", 32}, {"e", 64}, {"f", 64}}));
  EXPECT_NE(OptionsForProvenance(*o).find(" --q4-g32 g --q4-g64 e,f"), std::string::npos)
      << OptionsForProvenance(*o);
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--q4-g64", "a"}),
            "--q4-g32 and --q4-g64 only apply to --quant q4");
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--q4-g32", "a,"})
                .find("q4-g32 has an empty name in 'a,'"),
            std::string::npos);
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--bpw", "4.5",
                        "--q4-g64", "a"}),
            "--q4-g32 and --q4-g64 do not combine with --sparse 2:4 or --bpw (--bpw chooses "
            "them)");
  // --keep-f32 leaves the named matrices unquantized (sensitivity tables).
  o = ParseCommandLine({"m.bin", "-o", "x", "--quant", "q4", "--keep-f32", "a,b"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->convert.keep_f32, (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(OptionsForProvenance(*o).find(" --keep-f32 a,b"), std::string::npos)
      << OptionsForProvenance(*o);
  EXPECT_EQ(OptionsForProvenance(*ParseCommandLine({"m.bin", "-o", "x", "--quant", "q4"}))
                .find("keep-f32"),
            std::string::npos);
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--keep-f32", "a"}),
            "--keep-f32 only applies to --quant q4");
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--bpw", "4.5",
                        "--keep-f32", "a"}),
            "--keep-f32 does not combine with --bpw (--bpw chooses the precisions)");
  // --gptq-embedding on: GPTQ for the tied embedding too.
  o = ParseCommandLine({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--gptq-embedding",
                        "on"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->convert.gptq_tied_embedding);
  EXPECT_NE(OptionsForProvenance(*o).find(" --gptq on --gptq-embedding on"), std::string::npos)
      << OptionsForProvenance(*o);
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--gptq-embedding", "on"}),
            "--gptq-embedding needs --quant q4, --calib FILE and GPTQ on");
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--gptq", "off",
                        "--gptq-embedding", "on"}),
            "--gptq-embedding needs --quant q4, --calib FILE and GPTQ on");
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--recipe", "2:4", "--recipe", "2:4"}),
            "--recipe is given twice");
  EXPECT_EQ(UsageError({"m.bin", "-o", "x", "--recipe"}), "--recipe needs a value (4.5bpw, 2:4 or 3.5bpw)");
  // After "--" it is an input name, not an option.
  o = ParseCommandLine({"-o", "x", "--", "--recipe"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->input, "--recipe");
  EXPECT_EQ(o->recipe, "");
  EXPECT_NE(HelpText().find("= --quant q4 --q4-groups sym-compact --group-size 64"),
            std::string::npos);
}

TEST(CliOptions, Distill) {
  auto o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--calib", "c.txt",
                             "--distill", "--distill-steps", "50", "--distill-lr=0.004"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->distill);
  EXPECT_EQ(o->distill_options.steps, 50u);
  EXPECT_DOUBLE_EQ(o->distill_options.learning_rate, 0.004);
  EXPECT_NE(OptionsForProvenance(*o).find("--distill --distill-steps 50 --distill-lr 0.004"),
            std::string::npos);
  EXPECT_EQ(o->distill_options.threads, 0u);  // one per CPU
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--calib", "c.txt",
                        "--distill", "--threads", "2"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->distill_options.threads, 2u);
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q8", "--calib", "c.txt", "--distill"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->distill_options.steps, DistillOptions{}.steps);
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4"});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->distill);
  EXPECT_EQ(OptionsForProvenance(*o).find("distill"), std::string::npos);
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--distill"}).find("--calib"),
            std::string::npos);
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--calib", "c.txt", "--distill"}).find("q4 or q8"),
            std::string::npos);
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--distill-steps", "5"})
                .find("need --distill"),
            std::string::npos);
  for (const char* bad : {"0", "-3", "x"}) {
    EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--distill",
                          "--distill-steps", bad})
                  .find("--distill-steps must be"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--distill",
                        "--distill-lr", "0.5"})
                .find("--distill-lr must be"),
            std::string::npos);
}

TEST(CliOptions, DistillCodes) {
  // Code training, its step size, and the offset-free layout.
  auto o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--q4-groups",
                             "sym-compact", "--calib", "c.txt", "--distill", "--distill-codes",
                             "on", "--distill-code-lr=0.02"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->distill_options.train_codes);
  EXPECT_DOUBLE_EQ(o->distill_options.code_learning_rate, 0.02);
  EXPECT_TRUE(o->convert.q4_offset_free);
  EXPECT_NE(OptionsForProvenance(*o).find("--distill-codes on --distill-code-lr 0.02"),
            std::string::npos);
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--calib", "c.txt",
                        "--distill", "--distill-codes", "off"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->distill_options.train_codes);
  EXPECT_NE(OptionsForProvenance(*o).find("--distill-codes off"), std::string::npos);
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--calib", "c.txt", "--distill"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->distill_options.train_codes);  // the default
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--distill",
                        "--distill-codes", "yes"})
                .find("--distill-codes must be on or off"),
            std::string::npos);
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--distill",
                        "--distill-code-lr", "0"})
                .find("--distill-code-lr must be"),
            std::string::npos);
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--distill-codes",
                        "on"})
                .find("need --distill"),
            std::string::npos);
}

TEST(CliOptions, DistillScheduleAndLog) {
  // Defaults: no held-out windows, and the provenance of older files.
  auto o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--calib", "c.txt",
                             "--distill"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->distill_options.heldout_every, 0u);
  EXPECT_EQ(o->distill_options.warmup_steps, 0u);
  EXPECT_EQ(OptionsForProvenance(*o).find("--distill-batch"), std::string::npos);
  EXPECT_EQ(OptionsForProvenance(*o).find("--distill-heldout"), std::string::npos);
  // --distill-log holds out every 10th window unless --distill-heldout says otherwise.
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--calib", "c.txt",
                        "--distill", "--distill-log", "kl.tsv", "--distill-batch", "4",
                        "--distill-warmup", "20", "--distill-log-every", "10"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->distill_log, "kl.tsv");
  EXPECT_EQ(o->distill_options.heldout_every, kDistillLogHeldoutEvery);
  EXPECT_EQ(o->distill_options.sequences_per_step, 4u);
  EXPECT_EQ(o->distill_options.warmup_steps, 20u);
  EXPECT_EQ(o->distill_options.log_every, 10u);
  EXPECT_NE(OptionsForProvenance(*o).find("--distill-batch 4 --distill-warmup 20 "
                                          "--distill-heldout 10"),
            std::string::npos);
  o = ParseCommandLine({"m.bin", "-o", "x.kite", "--quant", "q4", "--calib", "c.txt",
                        "--distill", "--distill-log", "kl.tsv", "--distill-heldout", "0"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->distill_options.heldout_every, 0u);
  EXPECT_NE(UsageError({"m.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--distill-log",
                        "kl.tsv"})
                .find("need --distill"),
            std::string::npos);
}

TEST(CliOptions, UsageErrors) {
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--frobnicate"}).find("unknown option '--frobnicate'"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o"}).find("-o needs a value"), std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant"}).find("--quant needs a value"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant", "q3"}).find("f32, q8 or q4"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant", "q4", "--group-size", "33"})
                .find("32, 64 or 128"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant", "q4", "--group-size", "-32"})
                .find("32, 64 or 128"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant", "q4", "--group-size", "1e9"})
                .find("32, 64 or 128"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--group-size", "64"}).find("--quant q4"),
            std::string::npos);
  EXPECT_NE(UsageError({"-o", "x"}).find("no input"), std::string::npos);
  EXPECT_NE(UsageError({"in.bin"}).find("no output"), std::string::npos);
  EXPECT_NE(UsageError({"a.bin", "b.bin", "-o", "x"}).find("more than one input"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "--output=", "x"}).find("non-empty"), std::string::npos);
  // The shared parser's conventions (tools/common/flags.h).
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--qaunt", "q4"}).find("did you mean '--quant'?"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--distill=on"}).find("--distill takes no value"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--seed", "-1", "--synthetic", "stories260k"})
                .find("--seed must be an integer >= 0, not '-1'"),
            std::string::npos);
  auto dashed = ParseCommandLine({"-o", "x.kite", "--", "-model.bin"});
  ASSERT_TRUE(dashed.ok()) << dashed.status();
  EXPECT_EQ(dashed->input, "-model.bin");
}

TEST(CliOptions, Target) {
  auto none = ParseCommandLine({"in.bin", "-o", "x.kite", "--quant", "q4"});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->target, "");
  EXPECT_EQ(OptionsForProvenance(*none).find("--target"), std::string::npos);
  ASSERT_EQ(ConvertTargets().size(), 7u);
  for (const std::string& target : ConvertTargets()) {
    auto o = ParseCommandLine({"in.bin", "-o", "x.kite", "--quant", "q4", "--target", target});
    ASSERT_TRUE(o.ok()) << target << ": " << o.status();
    EXPECT_EQ(o->target, target);
    // Same options otherwise: the target changes nothing but the provenance record.
    EXPECT_EQ(o->convert.group_size, none->convert.group_size);
    EXPECT_EQ(OptionsForProvenance(*o), OptionsForProvenance(*none) + " --target " + target);
  }
  auto eq = ParseCommandLine({"in.bin", "-o", "x.kite", "--target=aarch64-dotprod"});
  ASSERT_TRUE(eq.ok()) << eq.status();
  EXPECT_EQ(eq->target, "aarch64-dotprod");
  const std::string bad = UsageError({"in.bin", "-o", "x", "--target", "riscv"});
  EXPECT_NE(bad.find("--target must be x86-avx2, "), std::string::npos) << bad;
  EXPECT_NE(bad.find("not 'riscv'"), std::string::npos) << bad;
  for (const char* name : {"x86-avx2", "x86-avx512", "aarch64-i8mm", "armv7", "generic"}) {
    EXPECT_NE(bad.find(name), std::string::npos) << name << " missing from: " << bad;
  }
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--target"}).find("--target needs a value"),
            std::string::npos);
  EXPECT_NE(HelpText().find("--target NAME"), std::string::npos);
}

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/kite_cli_" + name;
  mkdir(dir.c_str(), 0755);
  return dir;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(CliOptions, ActivationAwareScaling) {
  auto o = ParseCommandLine({"in.bin", "-o", "o.kite", "--quant", "q4", "--q4-groups",
                             "sym-compact", "--calib", "c.txt", "--awq", "on", "--threads", "2"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->awq);
  EXPECT_EQ(o->threads, 2u);
  EXPECT_NE(OptionsForProvenance(*o).find(" --gptq on --awq on"), std::string::npos)
      << OptionsForProvenance(*o);
  // Off by default, and then absent from the provenance (files stay byte-identical).
  o = ParseCommandLine({"in.bin", "-o", "o.kite", "--quant", "q4", "--calib", "c.txt"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->awq);
  EXPECT_EQ(OptionsForProvenance(*o).find("awq"), std::string::npos);
  o = ParseCommandLine(
      {"in.bin", "-o", "o.kite", "--quant", "q4", "--calib", "c.txt", "--awq=off"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->awq);

  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant", "q4", "--awq", "on"}).find("add --calib"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant", "q8", "--calib", "c", "--distill",
                        "--awq", "on"})
                .find("--awq only applies to --quant q4"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--awq", "on",
                        "--prune", "2:4"})
                .find("does not combine"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant", "q4", "--calib", "c", "--awq", "maybe"})
                .find("awq"),
            std::string::npos);
  EXPECT_NE(UsageError({"in.bin", "-o", "x", "--quant", "q4", "--threads", "2"}).find("--awq"),
            std::string::npos);
}

TEST(CliOptions, CalibrationPruningAndBudget) {
  auto o = ParseCommandLine({"in.bin", "-o", "o.kite", "--quant", "q4", "--calib", "c.txt",
                             "--calib-tokens", "4096", "--prune", "wanda", "--sparsity",
                             "0.5", "--bpw", "5.5"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->calib, "c.txt");
  EXPECT_EQ(o->calib_tokens, 4096u);
  EXPECT_TRUE(o->convert.gptq);
  EXPECT_EQ(o->prune, PruneMethod::kWanda);
  EXPECT_FLOAT_EQ(o->sparsity, 0.5f);
  EXPECT_DOUBLE_EQ(o->bpw, 5.5);
  EXPECT_TRUE(o->convert.keep_8bit.empty());  // --bpw decides
  EXPECT_FALSE(o->convert.sparse_24);
  EXPECT_EQ(OptionsForProvenance(*o),
            "--quant q4 --group-size 32 --q4-groups asym --keep-8bit none --calib c.txt "
            "--calib-tokens 4096 --gptq on --prune wanda --sparsity 0.5 --bpw 5.5");

  o = ParseCommandLine({"in.bin", "-o", "o.kite", "--quant", "q4", "--calib=c.txt",
                        "--gptq=off", "--prune", "2:4"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->convert.gptq);
  EXPECT_EQ(o->prune, PruneMethod::k24);
  EXPECT_FLOAT_EQ(o->sparsity, 0.5f);
  EXPECT_TRUE(o->convert.sparse_24);
  EXPECT_EQ(o->convert.keep_8bit, DefaultKeep8Bit());

  o = ParseCommandLine({"in.bin", "-o", "o.kite", "--quant", "q4", "--calib", "c.txt",
                        "--prune", "2:4-sparsegpt"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->prune, PruneMethod::k24SparseGpt);
  EXPECT_FLOAT_EQ(o->sparsity, 0.5f);
  EXPECT_TRUE(o->convert.sparse_24);
  EXPECT_NE(OptionsForProvenance(*o).find("--prune 2:4-sparsegpt"), std::string::npos);
  const absl::StatusOr<CliOptions> no_calib =
      ParseCommandLine({"in.bin", "-o", "o.kite", "--prune", "2:4-sparsegpt"});
  ASSERT_FALSE(no_calib.ok());
  EXPECT_NE(no_calib.status().message().find("add --calib"), std::string::npos);

  // Without --calib nothing is calibrated; magnitude pruning of an f32 model is fine.
  o = ParseCommandLine({"in.bin", "-o", "o.kite", "--prune", "magnitude", "--sparsity", "0.3"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->convert.gptq);
  EXPECT_FALSE(o->convert.sparse_24);
  o = ParseCommandLine({"in.bin", "-o", "o.kite", "--quant", "q4", "--bpw", "6", "--calib",
                        "c.txt", "--keep-8bit", "tok_embeddings"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->convert.keep_8bit, std::vector<std::string>{"tok_embeddings"});
}

TEST(CliOptions, CalibrationPruningAndBudgetErrors) {
  const Args base = {"in.bin", "-o", "o.kite"};
  auto with = [&](Args extra) {
    Args a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return UsageError(a);
  };
  EXPECT_NE(with({"--prune", "wanda", "--sparsity", "0.5"}).find("--calib"), std::string::npos);
  EXPECT_NE(with({"--prune", "2:4-wanda"}).find("--calib"), std::string::npos);
  EXPECT_NE(with({"--prune", "magnitude", "--sparsity", "1.5"}).find("must be a number in (0, 1)"),
            std::string::npos);
  EXPECT_NE(with({"--prune", "magnitude", "--sparsity", "0"}).find("must be a number in (0, 1)"),
            std::string::npos);
  EXPECT_NE(with({"--prune", "magnitude", "--sparsity", "nan"}).find("must be a number in (0, 1)"),
            std::string::npos);
  EXPECT_NE(with({"--prune", "magnitude"}).find("needs --sparsity"), std::string::npos);
  EXPECT_NE(with({"--sparsity", "0.5"}).find("needs --prune"), std::string::npos);
  EXPECT_NE(with({"--prune", "2:4", "--sparsity", "0.7"}).find("2:4"), std::string::npos);
  EXPECT_NE(with({"--prune", "half"}).find("--prune must be"), std::string::npos);
  EXPECT_NE(with({"--quant", "q4", "--gptq", "on"}).find("--calib"), std::string::npos);
  EXPECT_NE(with({"--quant", "q4", "--gptq", "maybe", "--calib", "c"}).find("on, off or act-order"),
            std::string::npos);
  EXPECT_NE(with({"--calib", "c.txt"}).find("--calib is used by"), std::string::npos);
  EXPECT_NE(with({"--calib-tokens", "100"}).find("needs --calib"), std::string::npos);
  EXPECT_NE(with({"--quant", "q4", "--calib", "c", "--calib-tokens", "1"}).find("[2, 1000000]"),
            std::string::npos);
  EXPECT_NE(with({"--quant", "q4", "--bpw", "5"}).find("--calib"), std::string::npos);
  EXPECT_NE(with({"--quant", "q8", "--calib", "c", "--bpw", "5"}).find("--quant q4"),
            std::string::npos);
  EXPECT_NE(with({"--quant", "q4", "--calib", "c", "--bpw", "0"}).find("(0, 32]"),
            std::string::npos);
  EXPECT_NE(with({"--quant", "q4", "--calib", "c", "--bpw", "-3"}).find("(0, 32]"),
            std::string::npos);
  EXPECT_NE(UsageError({"--synthetic", "stories260k", "-o", "o.kite", "--prune", "2:4"})
                .find("--synthetic"),
            std::string::npos);
}

TEST(InputFiles, DetectsFormats) {
  const std::string dir = TempDir("detect");
  auto detect = [](const std::string& p) {
    auto f = DetectInputFormat(p);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *f : InputFormat::kDirectory;
  };
  EXPECT_EQ(detect(std::string(KITE_SHARED_MODELS) + "/stories260K.bin"), InputFormat::kLlama2c);
  EXPECT_EQ(detect(std::string(KITE_SHARED_MODELS) + "/stories260K.gguf"), InputFormat::kGguf);
  WriteFile(dir + "/a.kite", std::string("\x10\0\0\0\x08\0\0\0KITE", 12));
  EXPECT_EQ(detect(dir + "/a.kite"), InputFormat::kKite);
  WriteFile(dir + "/v1.bin", std::string("24ka\x01\0\0\0", 8));
  EXPECT_EQ(detect(dir + "/v1.bin"), InputFormat::kLlama2cExport);
  WriteFile(dir + "/m.safetensors", std::string("\x20\0\0\0\0\0\0\0{\"a\":1}", 15));
  EXPECT_EQ(detect(dir + "/m.safetensors"), InputFormat::kSafetensors);
  EXPECT_EQ(detect(dir), InputFormat::kDirectory);
  const std::string hf = TempDir("detect_hf");
  WriteFile(hf + "/config.json", "{}");
  EXPECT_EQ(detect(hf), InputFormat::kHuggingFaceDir);

  auto missing = DetectInputFormat(dir + "/nope.bin");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_NE(missing.status().message().find("nope.bin"), std::string::npos);
}

TEST(InputFiles, FindsTokenizerBeside) {
  auto found = FindTokenizerBeside(std::string(KITE_SHARED_MODELS) + "/stories260K.bin", 512);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, std::string(KITE_SHARED_MODELS) + "/tok512.bin");

  const std::string dir = TempDir("tok");
  std::remove((dir + "/tokenizer.bin").c_str());
  auto none = FindTokenizerBeside(dir + "/model.bin", 32000);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("tok32000.bin"), std::string::npos);
  EXPECT_NE(none.status().message().find("--tokenizer"), std::string::npos);

  WriteFile(dir + "/tokenizer.bin", "x");
  auto generic = FindTokenizerBeside(dir + "/model.bin", 32000);
  ASSERT_TRUE(generic.ok());
  EXPECT_EQ(*generic, dir + "/tokenizer.bin");
  std::remove((dir + "/tokenizer.bin").c_str());
}

}  // namespace
}  // namespace kite::convert
