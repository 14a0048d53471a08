#include "tools/convert/cli_options.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/convert/tokenizer/chat_detect.h"
#include "tools/convert/compress/quantize.h"
#include "tools/convert/recipes.h"
#include "tools/convert/source/synthetic.h"
#include "tools/common/flags.h"

namespace kite::convert {
namespace {

absl::Status Usage(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

}  // namespace

const std::vector<std::string>& ConvertTargets() {
  static const std::vector<std::string> targets = {
      "x86-avx2", "x86-avx512", "aarch64", "aarch64-dotprod", "aarch64-i8mm", "armv7", "generic"};
  return targets;
}

namespace {

// --gptq and --q4-groups values, applied to ConvertOptions after parsing.
enum class Gptq { kOn, kOff, kActOrder };
enum class Q4Groups { kAsym, kSym, kSymCompact, kSymMaxAbs, kCodebook };

// Fills `out` from the comma-separated tensor names of flag `name`; an error message, or ""
// when every name is non-empty.
std::string ParseNames(const std::string& name, const std::string& value,
                       std::vector<std::string>* out) {
  out->clear();
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    if (part.empty()) return absl::StrCat(name, " has an empty name in '", value, "'");
    out->emplace_back(part);
  }
  return "";
}

// Parses a --q4-g32/--q4-g64 LIST into (name, group) pairs of `out`, replacing the pairs of
// that group size an earlier use of the option gave.
std::string ParseGroupNames(const std::string& name, const std::string& value, uint32_t group,
                            std::vector<std::pair<std::string, uint32_t>>* out) {
  std::vector<std::string> names;
  const std::string error = ParseNames(name, value, &names);
  out->erase(std::remove_if(out->begin(), out->end(),
                            [group](const auto& p) { return p.second == group; }),
             out->end());
  for (const std::string& n : names) out->emplace_back(n, group);
  return error;
}

// The --recipe help: every recipe with what it gives and the options it stands for.
std::string RecipeHelp() {
  std::string help =
      "With --calib: run the documented pipeline for a size\n"
      "budget (docs/compression.md). Options given as well\n"
      "override the recipe's.";
  for (const Recipe& r : Recipes()) {
    absl::StrAppend(&help, "\n  ", r.name);
    for (absl::string_view line : absl::StrSplit(r.summary, '\n')) {
      absl::StrAppend(&help, "\n    ", line);
    }
    // The options it stands for, wrapped at the summary's width.
    std::string line = "    =";
    for (const std::string& arg : r.args) {
      if (line.size() + 1 + arg.size() > 56) {
        absl::StrAppend(&help, "\n", line);
        line = "     ";
      }
      absl::StrAppend(&line, " ", arg);
    }
    if (!r.args.empty()) absl::StrAppend(&help, "\n", line);
  }
  return help;
}

// The kite-convert flag table, writing into *o and *gptq, *groups, *keep_named.
flags::FlagSpec MakeSpec(CliOptions* o, Gptq* gptq, Q4Groups* groups, bool* keep_named) {
  flags::FlagSpec spec;
  spec.program = "kite-convert";
  spec.help_column = 24;
  spec.header =
      "Usage: kite-convert INPUT [options] -o OUT.kite\n"
      "       kite-convert --synthetic NAME [--vocab N] [--seed S] [options] -o OUT.kite\n"
      "\n"
      "Converts a model checkpoint into a .kite file for the Kite runtime, or makes a\n"
      "model with random weights at a real model's shape (for benchmarks).\n"
      "\n"
      "INPUT\n"
      "  A llama2.c legacy checkpoint (.bin with the 7-integer header), or a Hugging\n"
      "  Face model folder (config.json with LlamaForCausalLM or Qwen2ForCausalLM, and\n"
      "  model.safetensors or model-*.safetensors shards with\n"
      "  model.safetensors.index.json; F32, F16 or BF16), or a GGUF file (llama\n"
      "  architecture; F32, F16, BF16 or Q8_0 tensors; its vocabulary becomes the\n"
      "  tokenizer). llama2.c v1/v2 exports are recognized but not supported yet.\n"
      "\n";
  spec.footer =
      "\n"
      "Progress goes to stderr; a per-tensor table (shape, dtype, bytes, relative RMS\n"
      "error) and totals go to stdout.\n"
      "The runtime memory-maps .kite files: to replace one that may be in use, write\n"
      "the new file elsewhere and rename it over the old one (kite-convert itself\n"
      "writes OUT.kite.tmp and renames it); never rewrite or truncate it in place, as\n"
      "that kills every process that has it mapped (SIGBUS).\n"
      "Exit status: 0 success, 1 conversion failed, 2 bad command line.\n"
      "\n"
      "Example\n"
      "  kite-convert stories260K.bin --tokenizer tok512.bin --quant q4 -o stories260K-q4.kite\n"
      "  kite-convert --synthetic tinyllama-1.1b --quant q4 -o tinyllama-q4.kite\n"
      "  kite-convert stories260K.gguf --quant f32 -o stories260K-f32.kite\n"
      "  kite-convert --vocab-only ggml-vocab-gpt-2.gguf -o gpt2-vocab.kite\n";
  std::vector<flags::Choice<std::string>> targets;
  for (const std::string& t : ConvertTargets()) targets.push_back({t, t});
  const DistillOptions distill_defaults;
  spec.flags = {
      flags::Heading("Tokenizer only\n"),
      flags::Switch(0, "vocab-only", &o->vocab_only,
                    "Write just the tokenizer of INPUT: a GGUF file (also a\n"
                    "vocabulary-only one), a Hugging Face tokenizer.json or a\n"
                    "folder holding one. The .kite file has no weights; it\n"
                    "works with kite-tokenize and kite_tokenize(), not for\n"
                    "generation."),
      flags::Heading("\nSynthetic models (no INPUT, nothing downloaded)\n"),
      flags::String(0, "synthetic", "NAME", &o->synthetic,
                    "Generate deterministic pseudo-random weights (roughly\n"
                    "normal, std 0.02; norms 1.0) and a synthetic tokenizer\n"
                    "(<unk> <s> </s>, 256 byte tokens, then printable filler\n"
                    "pieces) at the shape NAME. The text it generates is\n"
                    "gibberish: these files measure speed and memory only.\n"
                    "Shapes:"),
      flags::Heading(SyntheticModelTable()),
      flags::Int<int64_t>(0, "vocab", "N", &o->vocab, kSyntheticMinVocab, kSyntheticMaxVocab,
                          absl::StrCat("Vocabulary size instead of the shape's own (",
                                       kSyntheticMinVocab, "..", kSyntheticMaxVocab,
                                       "),\ne.g. smollm-135m --vocab 32000.")),
      flags::Int<uint64_t>(0, "seed", "S", &o->seed, 0, UINT64_MAX,
                           "Seed of the weights (an unsigned integer). Default: 0.\n"
                           "The same NAME, --vocab, --seed and options always give\n"
                           "the same file."),
      flags::Int<unsigned>(0, "threads", "N", &o->threads, 1, 1024,
                           "Tensors generated and quantized at once (also the\n"
                           "threads of --distill, --bpw and --awq), 1..1024.\n"
                           "Default: one per CPU."),
      flags::Heading("\nOptions\n"),
      flags::String('o', "output", "PATH", &o->output,
                    "The .kite file to write (required): a new path or a\n"
                    "regular file (never a link, FIFO or device). It is\n"
                    "written to a unique PATH.XXXXXX.tmp beside it first and\n"
                    "renamed when complete (removed on failure or Ctrl-C)."),
      flags::String(0, "tokenizer", "PATH", &o->tokenizer,
                    "The llama2.c tokenizer file. Default: tok<vocab>.bin or\n"
                    "tokenizer.bin in the folder of INPUT (a Hugging Face\n"
                    "folder: its tokenizer.json)."),
      flags::Enum<QuantMode>(0, "quant", "f32|q8|q4", &o->convert.quant,
                             {{"f32", QuantMode::kF32},
                              {"q8", QuantMode::kQ8},
                              {"q4", QuantMode::kQ4},
                              {"q8_c", QuantMode::kQ8, /*alias=*/true},
                              {"q4_g", QuantMode::kQ4, /*alias=*/true}},
                             "How to store the weights. Default: f32.\n"
                             "  f32  every tensor as 32-bit float\n"
                             "  q8   2-D weights as int8 with one f32 scale per row\n"
                             "       (Q8_C), norm vectors as f32\n"
                             "  q4   2-D weights as 4-bit groups with an f16 scale\n"
                             "       (Q4_G), norm vectors as f32"),
      flags::Enum<uint32_t>(0, "group-size", "N", &o->convert.group_size,
                            {{"32", 32}, {"64", 64}, {"128", 128}},
                            absl::StrCat(
                                "Q4_G group size along the input dimension: 32, 64 or\n"
                                "128. Default: ",
                                kDefaultGroupSize,
                                ". Only with --quant q4. Sizes other than 32\n"
                                "store the unpacked Q4_ROW_GROUPS layout. A matrix with\n"
                                "at most N/2 columns gets the smallest size covering\n"
                                "its rows (64 columns: groups of 64).")),
      flags::Enum<Q4Groups>(0, "q4-groups", "asym|sym|sym-compact|sym-maxabs|codebook", groups,
                            {{"asym", Q4Groups::kAsym},
                             {"sym", Q4Groups::kSym},
                             {"sym-compact", Q4Groups::kSymCompact},
                             {"sym-maxabs", Q4Groups::kSymMaxAbs},
                             {"codebook", Q4Groups::kCodebook}},
                            "With --quant q4: 'asym' stores an f16 scale and an f16\n"
                            "offset per group (5 bits/weight, lower error; default),\n"
                            "'sym' a scale only (stored with o = -8d in the packed\n"
                            "layout, so also 5 bits/weight), both with a searched\n"
                            "scale; 'sym-compact' like sym in the offset-free layout\n"
                            "Q4_R16_G32_SYM (4.5 bits/weight); 'sym-maxabs' the plain\n"
                            "max-abs scale (the naive baseline, for comparisons);\n"
                            "'codebook' the layout Q4_R16_G32_CB (4.5 bits/weight):\n"
                            "a learned 16-entry int8 codebook per matrix (k-means,\n"
                            "weighted by --calib's input E[x^2] when given, then\n"
                            "GPTQ codes against it unless --gptq off)."),
      flags::Custom(
          0, "keep-8bit", "LIST",
          [o, keep_named](const std::string& name, const std::string& value) -> std::string {
            *keep_named = true;
            o->convert.keep_8bit.clear();
            if (value == "none") return "";
            return ParseNames(name, value, &o->convert.keep_8bit);
          },
          "With --quant q4: comma-separated tensor names stored as\n"
          "8-bit (int8, one f32 scale per row) instead of 4-bit, or\n"
          "'none'. Default: tok_embeddings,output (the embedding is\n"
          "also the classifier when tied; both are the most\n"
          "sensitive weights)."),
      flags::Custom(
          0, "keep-f32", "LIST",
          [o](const std::string& name, const std::string& value) -> std::string {
            return ParseNames(name, value, &o->convert.keep_f32);
          },
          "With --quant q4: comma-separated 2-D tensor names stored\n"
          "as f32, unquantized; wins over every other precision\n"
          "option. For sensitivity tables: quantize one tensor\n"
          "with all others f32, or all but one."),
      flags::Custom(
          0, "q3", "LIST",
          [o](const std::string& name, const std::string& value) -> std::string {
            return ParseNames(name, value, &o->convert.q3);
          },
          "With --quant q4: comma-separated 2-D tensor names stored\n"
          "as 3-bit symmetric groups of 32 (Q3_R16_G32, 3.5\n"
          "bits/weight; GPTQ with --calib). --keep-8bit wins.\n"
          "--bpw --bpw-3bit chooses them itself."),
      flags::Custom(
          0, "q3-g64", "LIST",
          [o](const std::string& name, const std::string& value) -> std::string {
            return ParseNames(name, value, &o->convert.q3_g64);
          },
          "With --quant q4: comma-separated 2-D tensor names stored\n"
          "as 3-bit symmetric groups of 64 (Q3_R16_G64, 3.25\n"
          "bits/weight; GPTQ with --calib). Wins over --q3;\n"
          "--keep-8bit wins over both. --bpw --bpw-3bit chooses\n"
          "them itself when 3.5 bits/weight do not fit."),
      flags::Custom(
          0, "q4-g32", "LIST",
          [o](const std::string& name, const std::string& value) -> std::string {
            return ParseGroupNames(name, value, 32, &o->convert.group_size_for);
          },
          "With --quant q4: comma-separated 2-D tensor names stored\n"
          "in 4-bit groups of 32 (the --q4-groups layout) whatever\n"
          "--group-size says, e.g. the embedding with --group-size 64.\n"
          "--q3, --q3-g64 and --keep-8bit win."),
      flags::Custom(
          0, "q4-g64", "LIST",
          [o](const std::string& name, const std::string& value) -> std::string {
            return ParseGroupNames(name, value, 64, &o->convert.group_size_for);
          },
          "With --quant q4: comma-separated 2-D tensor names stored\n"
          "in 4-bit groups of 64 (Q4_ROW_GROUPS, 4.25 bits/weight)\n"
          "whatever --group-size says: what --bpw chooses for the\n"
          "least sensitive matrices, so that a choice it printed\n"
          "can be converted again without measuring. --q3,\n"
          "--q3-g64 and --keep-8bit win."),
      flags::Custom(
          0, "chat-format", "NAME",
          [o](const std::string&, const std::string& value) -> std::string {
            absl::StatusOr<ChatFormat> format = ParseChatFormatName(value);
            if (!format.ok()) return std::string(format.status().message());
            o->chat_format = ChatFormatName(*format);
            return "";
          },
          "Prompt format for chat (kite-generate --chat):\n"
          "none, llama2, llama3, chatml, phi3 or gemma. Default:\n"
          "detected from the source's chat template or special\n"
          "tokens (none when there are neither)."),
      flags::Enum<std::string>(0, "target", "NAME", &o->target, targets,
                               "The CPU the file is meant for: x86-avx2, x86-avx512,\n"
                               "aarch64, aarch64-dotprod, aarch64-i8mm, armv7 or\n"
                               "generic. Today every target gets the same layout\n"
                               "(q4: Q4_R16_G32), which the kernels of every CPU read,\n"
                               "so any file runs anywhere; the name is recorded in the\n"
                               "file's provenance. Default: not recorded."),
      flags::Heading(
          "\n"
          "Calibration, GPTQ, pruning and mixed precision\n"
          "  These work on every input format. They hold the whole model in f32 in memory\n"
          "  (4 bytes per parameter) and run it in float on the host, which suits\n"
          "  small models.\n"),
      flags::Custom(0, "recipe", "NAME",
                    // Expanded by ExpandRecipe before parsing; this row is its help.
                    [](const std::string&, const std::string&) { return std::string(); },
                    RecipeHelp()),
      flags::String(0, "calib", "FILE", &o->calib,
                    "Calibration text (UTF-8; documents separated by blank\n"
                    "lines), tokenized with the model's own tokenizer and run\n"
                    "through the f32 model to collect each linear layer's\n"
                    "input statistics. Enables GPTQ for --quant q4, Wanda\n"
                    "pruning and --bpw. Use text that is not your evaluation\n"
                    "text (tools/make-calib-text.sh makes some)."),
      flags::Int<size_t>(0, "calib-tokens", "N", &o->calib_tokens, 2, 1000000,
                         absl::StrCat("At most N calibration tokens (2..1000000). Default: ",
                                      kDefaultCalibTokens, ".")),
      flags::Enum<Gptq>(0, "gptq", "on|off|act-order", gptq,
                        {{"on", Gptq::kOn}, {"off", Gptq::kOff}, {"act-order", Gptq::kActOrder}},
                        "With --calib: quantize every 4-bit matrix (not the token\n"
                        "embedding) with GPTQ error compensation, and make up\n"
                        "for pruned weights the same way (SparseGPT-style, on\n"
                        "the mask --prune chose). Default: on with --calib.\n"
                        "'act-order' quantizes columns by decreasing input\n"
                        "energy, with group scales fitted before compensation."),
      flags::Enum<bool>(0, "gptq-embedding", "on|off", &o->convert.gptq_tied_embedding,
                        {{"on", true}, {"off", false}},
                        "With --calib and GPTQ on: quantize a tied token embedding\n"
                        "with GPTQ too, against the classifier's input statistics\n"
                        "(the lookup has none). Default: off."),
      flags::Enum<bool>(0, "awq", "on|off", &o->awq, {{"on", true}, {"off", false}},
                        "With --quant q4 and --calib: activation-aware scaling\n"
                        "(AWQ-style) before GPTQ. Each layer's input channels get\n"
                        "scales E[x_j^2]^(a/2), the exponent a in [0,1] searched\n"
                        "per group of matrices for the least 4-bit output error\n"
                        "on the calibration text; the weight columns are\n"
                        "multiplied and the scales divided out of the norm\n"
                        "weights (wq/wk/wv, w1/w3), the value rows (wo) and\n"
                        "w3's rows (w2), so the f32 model is unchanged. The\n"
                        "embedding and head are not scaled. Not with --prune\n"
                        "or --sparse. Default: off."),
      flags::Enum<PruneMethod>(0, "prune", "METHOD", &o->prune,
                               {{"magnitude", PruneMethod::kMagnitude},
                                {"wanda", PruneMethod::kWanda},
                                {"2:4", PruneMethod::k24},
                                {"2:4-wanda", PruneMethod::k24Wanda},
                                {"2:4-sparsegpt", PruneMethod::k24SparseGpt}},
                               "Prune the layers' weight matrices (not the embedding or\n"
                               "head) before quantizing:\n"
                               "  magnitude  the lowest |W| of each output row\n"
                               "  wanda      the lowest |W| * ||X_j|| (needs --calib)\n"
                               "  2:4        2 of every 4 weights along the input, by |W|\n"
                               "  2:4-wanda  2:4 by |W| * ||X_j|| (needs --calib)\n"
                               "  2:4-sparsegpt\n"
                               "             2:4 chosen column group by column group\n"
                               "             while compensating (SparseGPT: lowest\n"
                               "             w^2 / [H^-1]_jj; needs --calib; always\n"
                               "             compensates)\n"
                               "With --calib, the kept weights compensate (see --gptq).\n"
                               "With --quant q4, 2:4 methods also store the 2:4 sparse\n"
                               "layout (as --sparse 2:4)."),
      flags::Number<float>(0, "sparsity", "S", &o->sparsity, 0.0, 1.0, flags::Ends::kOpen,
                           "Fraction pruned per row by magnitude/wanda, 0 < S < 1\n"
                           "(required for them; 2:4 is always 0.5)."),
      flags::Enum<bool>(0, "sparse", "2:4", &o->convert.sparse_24, {{"2:4", true}},
                        "With --quant q4: store the layers' weight matrices 2:4\n"
                        "sparse (Q4_G_SP24: 3.25 bits/weight, faster\n"
                        "decode). Matrices not 2:4 yet are pruned by |W| (or by\n"
                        "a --prune 2:4 method first); kept values get a\n"
                        "symmetric 4-bit scale search. Also for --synthetic."),
      flags::Number<double>(0, "bpw", "B", &o->bpw, 0.0, 32.0, flags::Ends::kOpenLow,
                            "With --quant q4 and --calib: measure each matrix's\n"
                            "sensitivity (KL of the model output on the calibration\n"
                            "text with only that matrix at 4 bits) and keep the most\n"
                            "sensitive ones at 8 bits while all tensor bytes stay\n"
                            "within B bits per parameter, 0 < B <= 32. Combines with\n"
                            "--keep-8bit (those always stay 8-bit; default none when\n"
                            "--bpw is given). Prints the measurements and the choice."),
      flags::Switch(0, "bpw-3bit", &o->convert.bpw_q3,
                    "With --bpw: the budget may also store matrices as\n"
                    "3-bit groups of 32 (Q3_R16_G32, 3.5 bits/weight): each\n"
                    "is measured at 3 bits too, and the choice starting\n"
                    "from all 3-bit is kept when its KL is lower. When even\n"
                    "all 3-bit does not fit, every matrix is also measured\n"
                    "in 3-bit groups of 64 (Q3_R16_G64, 3.25 bits/weight)\n"
                    "and the choice starts from those."),
      flags::Switch(0, "distill", &o->distill,
                    "With --calib (q4 or q8): after quantization (and pruning),\n"
                    "tune the RMSNorm weights, the quantization scales and\n"
                    "offsets and (see --distill-codes) the 4-bit codes with\n"
                    "Adam so that the model's next-token distribution\n"
                    "matches the f32 model's on the calibration text (mean\n"
                    "KL). Prints the KL as it goes.\n"
                    "After --prune it first tunes the kept f32 weights the\n"
                    "same way (pruned ones stay 0). Uses --calib-tokens\n"
                    "tokens: give it more (e.g. 65536) to generalize."),
      flags::Int<size_t>(0, "distill-steps", "N", &o->distill_options.steps, 1, 100000,
                         absl::StrCat("Adam steps (--distill-batch windows each),\n"
                                      "1..100000. Default: ",
                                      distill_defaults.steps)),
      flags::Number<double>(0, "distill-lr", "X", &o->distill_options.learning_rate, 0.0, 0.1,
                            flags::Ends::kOpenLow,
                            absl::StrCat("Peak relative change per step, cosine-decayed,\n"
                                         "0 < X <= 0.1. Default: ",
                                         distill_defaults.learning_rate)),
      flags::Enum<bool>(0, "distill-codes", "on|off", &o->distill_options.train_codes,
                        {{"on", true}, {"off", false}},
                        absl::StrCat("With --distill: 'on' also trains the codes of the\n"
                                     "4-bit matrices (quantization-aware training: a latent\n"
                                     "real copy of each code, starting at the f32 weight's\n"
                                     "place on the grid, rounded in the forward pass,\n"
                                     "straight-through gradient); 'off' keeps the codes as\n"
                                     "quantized. 2:4 sparse matrices train the codes of\n"
                                     "their kept values (the pattern stays); codebook\n"
                                     "matrices train their codes (the nearest entry; see\n"
                                     "--distill-codebook for the entries). 8-bit codes and\n"
                                     "pruned weights stay fixed. Default: ",
                                     distill_defaults.train_codes ? "on" : "off")),
      flags::Number<double>(0, "distill-code-lr", "X", &o->distill_options.code_learning_rate,
                            0.0, 1.0, flags::Ends::kOpenLow,
                            absl::StrCat("With --distill-codes on: peak step of a latent code per\n"
                                         "Adam step, in code units, 0 < X <= 1. Default: ",
                                         distill_defaults.code_learning_rate)),
      flags::Enum<bool>(0, "distill-codebook", "on|off", &o->distill_options.train_codebook,
                        {{"on", true}, {"off", false}},
                        absl::StrCat("With --distill and --q4-groups codebook: 'on' also\n"
                                     "trains the 16 entries of every codebook (a real copy\n"
                                     "of each, kept in [-127, 127] and ascending, rounded\n"
                                     "to int8 at the end); 'off' keeps them as k-means\n"
                                     "found them. Default: ",
                                     distill_defaults.train_codebook ? "on" : "off")),
      flags::Number<double>(0, "distill-codebook-lr", "X",
                            &o->distill_options.codebook_learning_rate, 0.0, 1.0,
                            flags::Ends::kOpenLow,
                            absl::StrCat("With --distill-codebook on: peak step of an entry\n"
                                         "per Adam step, in units of the codebook's mean gap\n"
                                         "(max - min) / 15, 0 < X <= 1. Default: ",
                                         distill_defaults.codebook_learning_rate)),
      flags::Int<size_t>(0, "distill-batch", "N", &o->distill_options.sequences_per_step, 1,
                         1024,
                         absl::StrCat("Calibration windows (of 256 tokens) per Adam step, run\n"
                                      "on --threads threads at once, 1..1024. Default: ",
                                      distill_defaults.sequences_per_step)),
      flags::Int<size_t>(0, "distill-warmup", "N", &o->distill_options.warmup_steps, 0, 100000,
                         absl::StrCat("Steps of linear learning-rate warmup before the\n"
                                      "cosine decay, 0..100000. Default: ",
                                      distill_defaults.warmup_steps)),
      flags::String(0, "distill-log", "FILE", &o->distill_log,
                    "Write the KL curve to FILE (TSV: stage, step, seconds,\n"
                    "tokens, train KL, held-out KL) at every progress line.\n"
                    "Holds out every 10th calibration window (see\n"
                    "--distill-heldout) so the held-out KL is measured on text\n"
                    "not trained on."),
      flags::Int<size_t>(0, "distill-heldout", "K", &o->distill_options.heldout_every, 0, 1000,
                         "Hold every K-th calibration window out of training and\n"
                         "report its KL at every progress line, 0..1000 (0: none).\n"
                         "Default: 10 with --distill-log, 0 otherwise."),
      flags::Int<size_t>(0, "distill-log-every", "N", &o->distill_options.log_every, 1, 100000,
                         absl::StrCat("Steps between progress lines (and --distill-log rows),\n"
                                      "1..100000. Default: ",
                                      distill_defaults.log_every)),
  };
  return spec;
}

}  // namespace

std::string HelpText() {
  CliOptions o;
  Gptq gptq = Gptq::kOn;
  Q4Groups groups = Q4Groups::kAsym;
  bool keep_named = false;
  return flags::HelpText(MakeSpec(&o, &gptq, &groups, &keep_named));
}

absl::StatusOr<CliOptions> ParseCommandLine(const std::vector<std::string>& args) {
  CliOptions o;
  Gptq gptq = Gptq::kOn;
  Q4Groups groups = Q4Groups::kAsym;
  bool keep_named = false;
  std::vector<std::string> expanded;
  const std::string recipe_error = ExpandRecipe(args, &expanded, &o.recipe);
  if (!recipe_error.empty()) return Usage(recipe_error);
  const flags::ParsedArgs parsed =
      flags::Parse(MakeSpec(&o, &gptq, &groups, &keep_named), expanded);
  if (!parsed.ok()) return Usage(parsed.error);
  if (parsed.help) {
    o.help = true;
    return o;
  }
  if (parsed.positionals.size() > 1) {
    return Usage(absl::StrCat("more than one input given: '", parsed.positionals[0], "' and '",
                              parsed.positionals[1],
                              "' (kite-convert converts one model at a time)"));
  }
  if (!parsed.positionals.empty()) o.input = parsed.positionals[0];
  if (!o.recipe.empty() && o.calib.empty()) {
    return Usage(absl::StrCat("--recipe ", o.recipe,
                              " calibrates on text: add --calib FILE (text that is not your "
                              "evaluation text; tools/make-calib-text.sh makes some)"));
  }
  // The cross-flag checks below look at what was given, not only at the values.
  const bool quant_set = parsed.Given("quant");
  const bool group_size_set = parsed.Given("group-size");
  const bool keep_set = parsed.Given("keep-8bit") || parsed.Given("q4-groups");
  const bool vocab_set = parsed.Given("vocab");
  const bool seed_set = parsed.Given("seed");
  const bool threads_set = parsed.Given("threads");
  const bool calib_tokens_set = parsed.Given("calib-tokens");
  const bool gptq_set = parsed.Given("gptq");
  const bool sparsity_set = parsed.Given("sparsity");
  const bool distill_set = parsed.Given("distill-steps") || parsed.Given("distill-lr") ||
                           parsed.Given("distill-codes") || parsed.Given("distill-code-lr") ||
                           parsed.Given("distill-codebook") ||
                           parsed.Given("distill-codebook-lr") ||
                           parsed.Given("distill-batch") || parsed.Given("distill-warmup") ||
                           parsed.Given("distill-log") || parsed.Given("distill-heldout") ||
                           parsed.Given("distill-log-every");
  if (!o.distill_log.empty() && !parsed.Given("distill-heldout")) {
    o.distill_options.heldout_every = kDistillLogHeldoutEvery;
  }
  if (gptq_set) {
    o.convert.gptq = gptq != Gptq::kOff;
    o.convert.gptq_act_order = gptq == Gptq::kActOrder;
  }
  if (parsed.Given("q4-groups")) {
    o.convert.q4_asymmetric = groups == Q4Groups::kAsym;
    o.convert.q4_offset_free = groups == Q4Groups::kSymCompact;
    o.convert.q4_codebook = groups == Q4Groups::kCodebook;
    o.convert.q4_scale_rule =
        groups == Q4Groups::kSymMaxAbs ? ScaleRule::kMaxAbs : ScaleRule::kSearch;
  }
  if (!o.synthetic.empty()) {
    if (!o.input.empty()) {
      return Usage(absl::StrCat("give either an input checkpoint or --synthetic, not both ('",
                                o.input, "' and --synthetic ", o.synthetic, ")"));
    }
    if (!o.tokenizer.empty()) {
      return Usage("--tokenizer does not apply to --synthetic (it makes its own tokenizer)");
    }
    absl::StatusOr<SourceConfig> config = SyntheticConfig(o.synthetic, o.vocab);
    if (!config.ok()) return Usage(std::string(config.status().message()));
  } else if (vocab_set || seed_set) {
    return Usage("--vocab and --seed only apply to --synthetic NAME");
  } else if (threads_set && !o.distill && !(o.bpw > 0.0) && !o.awq) {
    return Usage("--threads only applies to --synthetic NAME, --distill, --bpw and --awq");
  } else if (threads_set) {
    o.distill_options.threads = o.threads;
  }
  if (o.vocab_only && (!o.synthetic.empty() || quant_set || group_size_set || keep_set ||
                       !o.tokenizer.empty())) {
    return Usage("--vocab-only takes only an input and -o (no --synthetic, --tokenizer, "
                 "--quant or q4 options)");
  }
  if (o.input.empty() && o.synthetic.empty()) {
    return Usage("no input checkpoint given (or --synthetic NAME; see --help)");
  }
  if (o.output.empty()) return Usage("no output file given: add -o OUT.kite");
  if (group_size_set && o.convert.quant != QuantMode::kQ4) {
    return Usage(quant_set ? "--group-size only applies to --quant q4"
                           : "--group-size only applies to --quant q4 (the default is f32)");
  }
  if (keep_set && o.convert.quant != QuantMode::kQ4) {
    return Usage("--keep-8bit and --q4-groups only apply to --quant q4");
  }
  const bool q4 = o.convert.quant == QuantMode::kQ4;
  const bool has_calib = !o.calib.empty();
  if (!o.synthetic.empty() && (has_calib || o.prune != PruneMethod::kNone || o.bpw > 0.0)) {
    return Usage("--calib, --prune and --bpw do not apply to --synthetic models");
  }
  if (calib_tokens_set && !has_calib) return Usage("--calib-tokens needs --calib FILE");
  if (distill_set && !o.distill) {
    return Usage("--distill-steps, --distill-lr, --distill-codes and the other --distill-*"
                 " options need --distill");
  }
  if (o.distill && o.convert.quant == QuantMode::kF32) {
    return Usage("--distill tunes quantization scales: use --quant q4 or q8");
  }
  if (o.distill && !has_calib) {
    return Usage("--distill trains on calibration text: add --calib FILE");
  }
  if (gptq_set && !q4 && o.prune == PruneMethod::kNone) {
    return Usage("--gptq only applies to --quant q4 or --prune");
  }
  if (gptq_set && o.convert.gptq && !has_calib) {
    return Usage("--gptq on needs calibration data: add --calib FILE");
  }
  if (o.convert.gptq_tied_embedding && !(q4 && has_calib && o.convert.gptq)) {
    return Usage("--gptq-embedding needs --quant q4, --calib FILE and GPTQ on");
  }
  if (o.awq && !q4) return Usage("--awq only applies to --quant q4");
  if (o.awq && !has_calib) {
    return Usage("--awq searches its scales on calibration text: add --calib FILE");
  }
  if (o.awq && (o.prune != PruneMethod::kNone || o.convert.sparse_24)) {
    return Usage("--awq does not combine with --prune or --sparse 2:4");
  }
  if (PruneNeedsCalibration(o.prune) && !has_calib) {
    return Usage(absl::StrCat("--prune ", PruneMethodName(o.prune),
                              o.prune == PruneMethod::k24SparseGpt
                                  ? " chooses its mask from calibration statistics: add --calib FILE"
                                  : " scores weights with activation norms: add --calib FILE"));
  }
  const bool structured = PruneIsTwoFour(o.prune);
  if (sparsity_set && o.prune == PruneMethod::kNone) {
    return Usage("--sparsity needs --prune magnitude or --prune wanda");
  }
  if (sparsity_set && structured && o.sparsity != 0.5f) {
    return Usage("2:4 pruning is always 50% sparse: drop --sparsity");
  }
  if (structured) o.sparsity = 0.5f;
  // 2:4 with 4-bit weights: store the layers' matrices in the sparse layout.
  if (structured && q4) o.convert.sparse_24 = true;
  if (!sparsity_set && !structured && o.prune != PruneMethod::kNone) {
    return Usage(absl::StrCat("--prune ", PruneMethodName(o.prune), " needs --sparsity S"));
  }
  if (o.convert.sparse_24) {
    if (!q4) return Usage("--sparse 2:4 needs --quant q4");
    if (o.prune == PruneMethod::kMagnitude || o.prune == PruneMethod::kWanda) {
      return Usage("--sparse 2:4 combines with the --prune 2:4 methods only");
    }
  }
  if (o.bpw > 0.0 && !q4) return Usage("--bpw only applies to --quant q4");
  if (o.convert.bpw_q3 && !(o.bpw > 0.0)) return Usage("--bpw-3bit needs --bpw B");
  if (!o.convert.q3.empty() && !q4) return Usage("--q3 only applies to --quant q4");
  if (!o.convert.q3.empty() && (o.convert.sparse_24 || o.bpw > 0.0)) {
    return Usage("--q3 does not combine with --sparse 2:4 or --bpw (use --bpw-3bit)");
  }
  if (!o.convert.group_size_for.empty() && !q4) {
    return Usage("--q4-g32 and --q4-g64 only apply to --quant q4");
  }
  if (!o.convert.group_size_for.empty() && (o.convert.sparse_24 || o.bpw > 0.0)) {
    return Usage(
        "--q4-g32 and --q4-g64 do not combine with --sparse 2:4 or --bpw (--bpw chooses them)");
  }
  if (!o.convert.keep_f32.empty() && !q4) return Usage("--keep-f32 only applies to --quant q4");
  if (!o.convert.keep_f32.empty() && o.bpw > 0.0) {
    return Usage("--keep-f32 does not combine with --bpw (--bpw chooses the precisions)");
  }
  if (!o.convert.q3_g64.empty() && !q4) return Usage("--q3-g64 only applies to --quant q4");
  if (!o.convert.q3_g64.empty() && (o.convert.sparse_24 || o.bpw > 0.0)) {
    return Usage("--q3-g64 does not combine with --sparse 2:4 or --bpw (use --bpw-3bit)");
  }
  if (o.convert.bpw_q3 && o.convert.sparse_24) {
    return Usage("--bpw-3bit does not combine with --sparse 2:4");
  }
  if (o.bpw > 0.0 && !has_calib) {
    return Usage("--bpw measures sensitivities on calibration text: add --calib FILE");
  }
  // --bpw decides what stays 8-bit; only tensors named explicitly are forced.
  if (o.bpw > 0.0 && !keep_named) o.convert.keep_8bit.clear();
  if (has_calib && !q4 && o.prune == PruneMethod::kNone && !o.distill) {
    return Usage("--calib is used by --quant q4 (GPTQ, --bpw), --prune and --distill only");
  }
  if (!has_calib) o.convert.gptq = false;
  return o;
}

std::string OptionsForProvenance(const CliOptions& o) {
  std::string s = absl::StrCat("--quant ", QuantModeName(o.convert.quant));
  if (o.convert.quant == QuantMode::kQ4) {
    absl::StrAppend(&s, " --group-size ", o.convert.group_size, " --q4-groups ",
                    o.convert.q4_asymmetric                          ? "asym"
                    : o.convert.q4_scale_rule == ScaleRule::kMaxAbs ? "sym-maxabs"
                    : o.convert.q4_offset_free                       ? "sym-compact"
                    : o.convert.q4_codebook                          ? "codebook"
                                                                      : "sym",
                    " --keep-8bit ",
                    o.convert.keep_8bit.empty() ? "none" : absl::StrJoin(o.convert.keep_8bit, ","));
  }
  if (!o.calib.empty()) {
    absl::StrAppend(&s, " --calib ", o.calib, " --calib-tokens ", o.calib_tokens);
    if (o.convert.quant == QuantMode::kQ4 || o.prune != PruneMethod::kNone) {
      absl::StrAppend(&s, " --gptq ",
                      !o.convert.gptq ? "off" : o.convert.gptq_act_order ? "act-order" : "on");
    }
  }
  if (o.convert.gptq_tied_embedding) absl::StrAppend(&s, " --gptq-embedding on");
  if (o.awq) absl::StrAppend(&s, " --awq on");
  if (o.prune != PruneMethod::kNone) {
    absl::StrAppend(&s, " --prune ", PruneMethodName(o.prune));
    if (o.prune == PruneMethod::kMagnitude || o.prune == PruneMethod::kWanda) {
      absl::StrAppend(&s, " --sparsity ", o.sparsity);
    }
  }
  if (o.convert.sparse_24) absl::StrAppend(&s, " --sparse 2:4");
  if (o.bpw > 0.0) absl::StrAppend(&s, " --bpw ", o.bpw);
  if (o.convert.bpw_q3) absl::StrAppend(&s, " --bpw-3bit");
  if (!o.convert.keep_f32.empty()) {
    absl::StrAppend(&s, " --keep-f32 ", absl::StrJoin(o.convert.keep_f32, ","));
  }
  if (!o.convert.q3.empty()) absl::StrAppend(&s, " --q3 ", absl::StrJoin(o.convert.q3, ","));
  if (!o.convert.q3_g64.empty()) {
    absl::StrAppend(&s, " --q3-g64 ", absl::StrJoin(o.convert.q3_g64, ","));
  }
  for (const uint32_t group : {32u, 64u}) {
    std::vector<std::string> names;
    for (const auto& [name, size] : o.convert.group_size_for) {
      if (size == group) names.push_back(name);
    }
    if (!names.empty()) absl::StrAppend(&s, " --q4-g", group, " ", absl::StrJoin(names, ","));
  }
  if (o.distill) {
    absl::StrAppend(&s, " --distill --distill-steps ", o.distill_options.steps, " --distill-lr ",
                    o.distill_options.learning_rate, " --distill-codes ",
                    o.distill_options.train_codes ? "on" : "off");
    if (o.distill_options.train_codes) {
      absl::StrAppend(&s, " --distill-code-lr ", o.distill_options.code_learning_rate);
    }
    // Options that change the result, only when they differ from the defaults (so files
    // made without them keep their provenance).
    const DistillOptions defaults;
    if (o.distill_options.sequences_per_step != defaults.sequences_per_step) {
      absl::StrAppend(&s, " --distill-batch ", o.distill_options.sequences_per_step);
    }
    if (o.convert.q4_codebook) {
      absl::StrAppend(&s, " --distill-codebook ", o.distill_options.train_codebook ? "on" : "off");
      if (o.distill_options.train_codebook) {
        absl::StrAppend(&s, " --distill-codebook-lr ", o.distill_options.codebook_learning_rate);
      }
    }
    if (o.distill_options.warmup_steps != defaults.warmup_steps) {
      absl::StrAppend(&s, " --distill-warmup ", o.distill_options.warmup_steps);
    }
    if (o.distill_options.heldout_every != defaults.heldout_every) {
      absl::StrAppend(&s, " --distill-heldout ", o.distill_options.heldout_every);
    }
  }
  if (!o.tokenizer.empty()) absl::StrAppend(&s, " --tokenizer ", o.tokenizer);
  if (!o.chat_format.empty()) absl::StrAppend(&s, " --chat-format ", o.chat_format);
  if (o.vocab_only) s = "--vocab-only";
  if (!o.synthetic.empty()) {
    absl::StrAppend(&s, " --synthetic ", o.synthetic, " --seed ", o.seed);
    if (o.vocab > 0) absl::StrAppend(&s, " --vocab ", o.vocab);
  }
  if (!o.target.empty()) absl::StrAppend(&s, " --target ", o.target);
  // The recipe's options are all above; its name says which pipeline they came from.
  if (!o.recipe.empty()) absl::StrAppend(&s, " (recipe ", o.recipe, ")");
  return s;
}

}  // namespace kite::convert
