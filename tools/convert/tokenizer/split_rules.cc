#include "tools/convert/tokenizer/split_rules.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/common/quote_name.h"
#include "tools/convert/tokenizer/split_regex_compiler.h"

namespace kite::convert {

const char kGpt2SplitRegex[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// The split patterns of the published tokenizers (their tokenizer.json files; llama.cpp's
// src/llama-vocab.cpp lists the same ones per pre-tokenizer name).
constexpr char kLlama3Regex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr char kQwen2Regex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen3.5: Qwen2's split with combining marks (\p{M}) inside words, not punctuation.
constexpr char kQwen35Regex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N})"
    R"(| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// K2-Horizon (the MBZUAI-IFM llama.cpp fork's pre-tokenizer): Llama 3's split with marks and
// the zero-width (non-)joiners U+200C/U+200D inside words.
constexpr char kK2HorizonRegex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}|\p{M}|\x{200C}|\x{200D})+)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// EXAONE MoE: words with their marks, runs of words joined by single spaces forming one piece,
// one optional line break or '/' after punctuation, one line break per piece.
constexpr char kExaoneMoeRegex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+)"
    R"(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)";
// Tiny Aya: digit runs cut into groups of three from the right, when no word character follows
// the run (\d is Unicode Nd, \b Oniguruma's word boundary, as in Hugging Face's tokenizers).
constexpr char kTinyAyaDigits[] = R"(\d{1,3}(?=(?:\d{3})*\b))";
// Laguna: lines and runs of line breaks first, then Qwen2's split.
constexpr char kLines[] = R"([^\n]+|[\n]+)";
constexpr char kDigit[] = R"(\p{N})";
constexpr char kDigits[] = R"(\p{N}+)";
// DeepSeek LLM: line breaks, cased-letter words, ASCII/full-width punctuation, trailing
// space, CJK/Hangul runs, numbers (non-ASCII characters as \x{..} escapes).
constexpr char kDeepSeekLetters[] =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})"
    R"(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})"
    R"(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF})"
    R"(\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
    R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D})"
    R"(\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})"
    R"(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})"
    R"(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})"
    R"(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F})"
    R"(\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})"
    R"(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
    R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3})"
    R"(\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF})"
    R"(\x{1E900}-\x{1E943}]+)";
constexpr char kLineBreak[] = R"([\r\n])";
constexpr char kDeepSeekPunct[] =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";
constexpr char kTrailingSpace[] = R"(\s+$)";
constexpr char kCjkHangul[] = R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
constexpr char kDeepSeekV3Words[] =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+)"
    R"(| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Falcon: Hugging Face's Punctuation (Unicode P, plus the ASCII symbols Rust counts as
// punctuation), then GPT-2, then runs of three ASCII digits.
constexpr char kFalconPunct[] = R"([\p{P}\$\+<=>\^~\|`]+)";
constexpr char kThreeDigits[] = R"([0-9][0-9][0-9])";
constexpr char kBloom[] = R"( ?[^(\s|.,!?…。，、।۔،)]+)";
constexpr char kTekken[] =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr char kGpt4o[] =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+)"
    R"([\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr char kSeedCoder[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1})"
    R"(| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Kimi K2 (tokenization_kimi.py): Han runs alone, and letter classes that exclude Han by
// class intersection; otherwise GPT-4o's split.
constexpr char kKimiK2[] =
    R"([\p{Han}]+)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*)"
    R"([\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+)"
    R"([\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Bailing MoE's tokenizer.json has possessive quantifiers; like llama.cpp, greedy ones.
constexpr char kBailing[] =
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*)"
    R"(|\s*[\r\n]|\s+(?!\S)|\s+)";

// SuperBPE (tokenizer.json, llama.cpp's list): number runs, then cuts where a multiple of three
// digits ends the run: "1234567" -> "1", "234", "567" (empty matches are boundaries).
constexpr char kSuperBpeGroups[] = R"((?=(\d{3})+(?!\d)))";
// AFMoE: llama.cpp's custom digit splitter cuts each number run into groups of three from the
// right, the text before the run joining the first group ("ab1234" -> "ab1", "234"); as a
// pattern, right-aligned groups merged with what precedes them.
constexpr char kAfmoeDigits[] = R"(\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N})))";
// AFMoE's runs of CJK, kana, Thai (from U+0E40, as llama.cpp writes it), Lao, Khmer, Myanmar
// and Hangul.
constexpr char kAfmoeAsian[] =
    R"([\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\u3040-\u309f\u30a0-\u30ff\uff65-\uff9f)"
    R"(\u2f00-\u2fdf\u0e40-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f\uaa60-\uaa7f)"
    R"(\ua9e0-\ua9ff\uac00-\ud7af\u1100-\u11ff]+)";

// One stage of a table entry: a pattern and its behavior (Isolated unless given).
struct TableStage {
  TableStage(const char* p, SplitBehavior b = SplitBehavior::ISOLATED) : pattern(p), behavior(b) {}
  const char* pattern;
  SplitBehavior behavior;
};

struct TableEntry {
  std::vector<const char*> names;
  std::vector<TableStage> patterns;  // stages, in order
  bool ignore_merges;
};

const std::vector<TableEntry>& Table() {
  static const std::vector<TableEntry> table = {
      {{"default", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
        "jina-v2-de", "jina-v1-en", "jina-v2-code", "roberta-bpe", "a.x-4.0", "mellum", "mpt",
        "olmo", "jais", "trillion", "granite-docling", "exaone4"},
       {kGpt2SplitRegex},
       false},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
        "lfm2"},
       {kLlama3Regex},
       true},
      {{"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"}, {kLlama3Regex}, false},
      {{"qwen2", "deepseek-r1-qwen", "kormo", "stablelm2", "hunyuan", "megrez", "grok-2",
        "solar-open"},
       {kQwen2Regex},
       false},
      {{"qwen35"}, {kQwen35Regex}, false},
      {{"laguna"}, {kLines, kQwen2Regex}, false},
      {{"k2-horizon"}, {kK2HorizonRegex}, false},
      {{"exaone-moe"}, {kExaoneMoeRegex}, false},
      {{"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b",
        "mellum2"},
       {kDigit, kGpt2SplitRegex},
       false},
      {{"deepseek-llm"},
       {kLineBreak, kDeepSeekLetters, kDeepSeekPunct, kTrailingSpace, kCjkHangul, kDigits},
       false},
      {{"deepseek-coder"},
       {kLineBreak, R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjkHangul, kDigit},
       false},
      {{"deepseek-v3", "hunyuan-dense", "joyai-llm"},
       {R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
        kDeepSeekV3Words},
       false},
      {{"falcon"}, {kFalconPunct, kGpt2SplitRegex, kThreeDigits}, false},
      {{"poro-chat", "bloom", "gpt3-finnish"}, {kBloom}, false},
      {{"viking"}, {kBloom, kDigit}, false},
      {{"tekken"}, {kTekken}, true},
      {{"gpt-4o", "llama4", "minimax-m2"}, {kGpt4o}, false},
      {{"tiny_aya", "cohere2moe"}, {kTinyAyaDigits, kGpt4o}, false},
      {{"chameleon"},
       {R"(<sentinel:[0-9]+>)", R"((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)",
        R"(([\t\n]|    |  ))", kDigit, R"([\p{P}!-/:-@\[-`{-~])", kGpt2SplitRegex},
       false},
      {{"seed-coder"}, {kSeedCoder}, false},
      {{"bailingmoe", "bailingmoe2", "llada-moe"}, {kBailing}, false},
      {{"kimi-k2"}, {kKimiK2}, false},
      {{"superbpe"}, {kDigits, kSuperBpeGroups}, false},
      {{"afmoe"},
       {{kAfmoeDigits, SplitBehavior::MERGED_WITH_PREVIOUS}, kAfmoeAsian, kDeepSeekV3Words},
       false},
  };
  return table;
}

std::vector<SplitStageSource> Isolated(const std::vector<const char*>& patterns) {
  std::vector<SplitStageSource> stages;
  for (const char* p : patterns) stages.push_back({p, SplitBehavior::ISOLATED, false});
  return stages;
}

std::vector<SplitStageSource> Stages(const std::vector<TableStage>& patterns) {
  std::vector<SplitStageSource> stages;
  for (const TableStage& p : patterns) stages.push_back({p.pattern, p.behavior, false});
  return stages;
}

bool Same(const std::vector<SplitStageSource>& a, const std::vector<SplitStageSource>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].pattern != b[i].pattern || a[i].behavior != b[i].behavior ||
        a[i].invert != b[i].invert) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<PreTokenizerChoice> ChoosePreTokenizer(
    const std::vector<SplitStageSource>& stages, bool builtin_allowed) {
  PreTokenizerChoice choice;
  if (stages.empty()) return choice;
  const std::pair<PreTokenizerType, std::vector<const char*>> builtins[] = {
      {PreTokenizerType::GPT2, {kGpt2SplitRegex}},
      {PreTokenizerType::LLAMA3, {kLlama3Regex}},
      {PreTokenizerType::QWEN2, {kQwen2Regex}},
      {PreTokenizerType::SMOLLM, {kDigit, kGpt2SplitRegex}},
  };
  for (const auto& [kind, patterns] : builtins) {
    if (builtin_allowed && Same(stages, Isolated(patterns))) {
      choice.kind = kind;
      return choice;
    }
  }
  if (stages.size() > kMaxSplitStages) {
    return absl::UnimplementedError(absl::StrCat("the pre-tokenizer has ", stages.size(),
                                                 " split stages, more than the ",
                                                 kMaxSplitStages, " Kite supports"));
  }
  choice.kind = PreTokenizerType::SPLIT;
  for (size_t i = 0; i < stages.size(); ++i) {
    absl::StatusOr<std::vector<uint32_t>> program = CompileSplitPattern(stages[i].pattern);
    if (!program.ok()) {
      return absl::Status(program.status().code(),
                          absl::StrCat("split stage ", i, ": ", program.status().message()));
    }
    choice.rules.push_back({*std::move(program), stages[i].behavior, stages[i].invert});
  }
  return choice;
}

absl::StatusOr<GgufPreTokenizer> GgufPreTokenizerStages(const std::string& name) {
  for (const TableEntry& e : Table()) {
    for (const char* n : e.names) {
      if (name == n) return GgufPreTokenizer{Stages(e.patterns), e.ignore_merges};
    }
  }
  return absl::UnimplementedError(absl::StrCat("tokenizer.ggml.pre ", tools::QuoteName(name),
                                               " is not supported (supported: ",
                                               absl::StrJoin(GgufPreTokenizerNames(), ", "),
                                               ")"));
}

std::vector<std::string> GgufPreTokenizerNames() {
  std::vector<std::string> names;
  for (const TableEntry& e : Table()) {
    for (const char* n : e.names) names.push_back(n);
  }
  return names;
}

}  // namespace kite::convert
